// Helpers of the server's unit tests: a temporary image root, and running a reply to its end.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <variant>
#include <vector>

#include "pipit/jpp.hpp"
#include "server/jpip_handler.hpp"
#include "test_data.hpp"

namespace pipit::server::testing {

namespace fs = std::filesystem;

inline fs::path corpus() { return {PIPIT_CORPUS_DIR}; }

// tests/data/NAME (throws, naming the path, when the fixture is missing).
inline fs::path data_file(const std::string& name) { return pipit::testing::data_path(name); }

inline std::vector<std::uint8_t> read_bytes(const fs::path& p) {
  return pipit::testing::read_file(p);
}

// A fresh folder under the system temp dir, removed at the end of the test.
struct temp_root {
  fs::path dir;
  temp_root() {
    dir = fs::temp_directory_path() / ("pipit-srv-" + std::to_string(::getpid()) + "-" +
                                       std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    fs::remove_all(dir);
    fs::create_directories(dir / "root");
  }
  ~temp_root() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  fs::path root() const { return dir / "root"; }
  void add(const fs::path& src, const std::string& name) const {
    fs::create_directories((root() / name).parent_path());
    fs::copy_file(src, root() / name, fs::copy_options::overwrite_existing);
  }
};

// The whole body of a reply (all chunks).
inline std::vector<std::uint8_t> drain(const reply& r) {
  std::vector<std::uint8_t> out;
  if (!r.body) return out;
  while (r.body->next(out)) {
  }
  return out;
}

struct parsed_stream {
  std::vector<jpp_message> messages;
  std::vector<std::vector<std::uint8_t>> bodies;  // owned copies of the message bodies
  int eor = -1;                                   // reason, -1 when missing
  bool ok = false;
};

inline parsed_stream parse(const std::vector<std::uint8_t>& bytes) {
  parsed_stream p;
  jpp_reader reader;
  reader.feed(bytes);
  for (;;) {
    auto ev = reader.next();
    if (!ev) return p;
    if (auto* m = std::get_if<jpp_message>(&*ev)) {
      p.bodies.emplace_back(m->body.begin(), m->body.end());
      p.messages.push_back(*m);
      continue;
    }
    if (auto* e = std::get_if<jpp_eor>(&*ev)) {
      p.eor = static_cast<int>(e->reason);
      p.ok = reader.buffered() == 0;
    }
    break;
  }
  for (std::size_t i = 0; i < p.messages.size(); ++i) p.messages[i].body = bytes_view(p.bodies[i]);
  return p;
}

}  // namespace pipit::server::testing
