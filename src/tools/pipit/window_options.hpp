// View-window options shared by `pipit stream` and `pipit rebuild`, and writing a result file.
// The options are JPIP request fields, so they are parsed exactly as the server parses them.
#pragma once

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "pipit/request.hpp"

namespace pipit::tools {

struct window_options {
  std::string fsiz, roff, rsiz, comps;
  int layers = -1;  // -1: not given

  void add_to(CLI::App* sub, const char* what) {
    sub->add_option("--fsiz", fsiz,
                    std::string(what) + ": frame size W,H[,round-up|round-down|closest]");
    sub->add_option("--roff", roff, "region offset X,Y (with --fsiz)");
    sub->add_option("--rsiz", rsiz, "region size W,H (with --fsiz)");
    sub->add_option("--comps", comps, "components, e.g. 0,2-3");
  }
  bool any() const { return !fsiz.empty() || !roff.empty() || !rsiz.empty() || !comps.empty(); }

  // The options as a request query ("fsiz=...&roff=..."), parsed.
  result<jpip_request> request() const {
    std::string q;
    auto add = [&](const char* name, const std::string& v) {
      if (v.empty()) return;
      if (!q.empty()) q += '&';
      q += name;
      q += '=';
      q += v;
    };
    add("fsiz", fsiz);
    add("roff", roff);
    add("rsiz", rsiz);
    add("comps", comps);
    if (layers >= 0) add("layers", std::to_string(layers));
    return parse_request(q);
  }
};

// Writes `bytes` to `path`; false when the file cannot be written.
inline bool write_file(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(f);
}

}  // namespace pipit::tools
