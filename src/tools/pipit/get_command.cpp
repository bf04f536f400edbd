// `pipit get URL [window] -o OUT`: fetch a view-window with the JPIP client and write its samples
// as PGX files (OUT_0.pgx, OUT_1.pgx, ... one per component, like opj_decompress).
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "commands.hpp"
#include "pipit/client.hpp"

namespace pipit::tools {
namespace {

struct get_options {
  std::string url, out, region, comps, cache_dir, ca_file;
  unsigned level = 0, layers = 0;
  std::uint64_t max_len = 0;
  bool insecure = false, stateless = false, stats = false;
};

bool parse_numbers(const std::string& s, std::vector<std::uint32_t>& out) {
  std::size_t pos = 0;
  while (pos < s.size()) {
    std::size_t end = s.find(',', pos);
    if (end == std::string::npos) end = s.size();
    try {
      out.push_back(static_cast<std::uint32_t>(std::stoul(s.substr(pos, end - pos))));
    } catch (...) {
      return false;
    }
    pos = end + 1;
  }
  return true;
}

bool write_pgx(const std::string& path, const client::decoded_window::plane& p, const client::component_info& ci) {
  std::ofstream f(path, std::ios::binary);
  f << "PG ML " << (ci.is_signed ? "- " : "+ ") << int(ci.precision) << " " << p.width << " " << p.height << "\n";
  const int bytes = ci.precision <= 8 ? 1 : ci.precision <= 16 ? 2 : 4;
  std::vector<char> buf(p.samples.size() * bytes);
  for (std::size_t i = 0; i < p.samples.size(); ++i) {
    const auto v = static_cast<std::uint32_t>(p.samples[i]);
    for (int b = 0; b < bytes; ++b) buf[i * bytes + b] = static_cast<char>(v >> (8 * (bytes - 1 - b)));
  }
  f.write(buf.data(), static_cast<std::streamsize>(buf.size()));
  return static_cast<bool>(f);
}

int run_get(const get_options& o) {
  client::client_options co;
  co.cache_dir = o.cache_dir;
  co.transport.verify_tls = !o.insecure;
  co.transport.ca_file = o.ca_file;
  co.use_session = !o.stateless;
  if (o.max_len > 0) {
    co.max_len = o.max_len;
    co.window_len = std::min(co.window_len, o.max_len);
  }
  auto c = client::jpip_client::open(o.url, co);
  if (!c) {
    std::fprintf(stderr, "pipit get: %s\n", c.error().to_string().c_str());
    return 1;
  }
  const auto& info = (*c)->info();
  client::window w;
  w.discard_levels = o.level;
  w.layers = o.layers;
  if (o.level > info.levels) {
    std::fprintf(stderr, "pipit get: the image has %u levels\n", info.levels);
    return 2;
  }
  w.w = info.width_at(o.level);
  w.h = info.height_at(o.level);
  if (!o.region.empty()) {
    std::vector<std::uint32_t> r;
    if (!parse_numbers(o.region, r) || r.size() != 4) {
      std::fprintf(stderr, "pipit get: --region wants X,Y,W,H\n");
      return 2;
    }
    w.x = r[0]; w.y = r[1]; w.w = r[2]; w.h = r[3];
  }
  if (!o.comps.empty() && !parse_numbers(o.comps, w.comps)) {
    std::fprintf(stderr, "pipit get: --comps wants C,C,...\n");
    return 2;
  }
  auto h = (*c)->request(w);
  auto st = h->status();
  while (st.state == client::window_state::pending) st = h->wait(st.generation, std::chrono::seconds(1));
  if (st.state != client::window_state::complete) {
    std::fprintf(stderr, "pipit get: %s\n", st.failure.to_string().c_str());
    return 1;
  }
  auto d = (*c)->decode(w);
  if (!d) {
    std::fprintf(stderr, "pipit get: %s\n", d.error().to_string().c_str());
    return 1;
  }
  (*c)->close();
  for (const auto& p : d->planes) {
    const std::string path = o.out + "_" + std::to_string(p.component) + ".pgx";
    if (!write_pgx(path, p, info.components[p.component])) {
      std::fprintf(stderr, "pipit get: cannot write %s\n", path.c_str());
      return 1;
    }
  }
  if (o.stats) {
    const auto s = (*c)->stats();
    std::printf("{\"requests\": %llu, \"body_bytes\": %llu, \"sessions\": %llu, \"reconnects\": %llu, "
                "\"cached_bytes\": %llu, \"loaded_from_disk\": %s, \"stateless\": %s}\n",
                static_cast<unsigned long long>(s.requests), static_cast<unsigned long long>(s.body_bytes),
                static_cast<unsigned long long>(s.sessions), static_cast<unsigned long long>(s.reconnects),
                static_cast<unsigned long long>(s.cached_bytes), s.loaded_from_disk ? "true" : "false",
                s.stateless ? "true" : "false");
  }
  return 0;
}

}  // namespace

command register_get(CLI::App& app) {
  auto o = std::make_shared<get_options>();
  auto* sub = app.add_subcommand("get", "Fetch a view-window from a JPIP server and write it as PGX files");
  sub->add_option("url", o->url, "jpip://host:port/path or jpips://...")->required();
  sub->add_option("-o,--output", o->out, "output prefix: OUT_<component>.pgx")->required();
  sub->add_option("--level", o->level, "resolution levels to discard");
  sub->add_option("--region", o->region, "X,Y,W,H in the frame at --level");
  sub->add_option("--layers", o->layers, "quality layers (0: all)");
  sub->add_option("--comps", o->comps, "components, e.g. 0,2");
  sub->add_option("--cache-dir", o->cache_dir, "persistent cache folder");
  sub->add_option("--ca-file", o->ca_file, "PEM file of trusted certificates");
  sub->add_option("--max-len", o->max_len, "largest len of a request");
  sub->add_flag("--insecure", o->insecure, "do not verify TLS certificates");
  sub->add_flag("--stateless", o->stateless, "do not open a session");
  sub->add_flag("--stats", o->stats, "print transfer statistics as JSON");
  return command{sub, [o] { return run_get(*o); }};
}

}  // namespace pipit::tools
