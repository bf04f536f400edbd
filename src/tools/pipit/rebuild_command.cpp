// `pipit rebuild IN.jpp [...] -o OUT.j2k|OUT.jp2`: JPP-streams into a cache, then a codestream.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "commands.hpp"
#include "pipit/jpp.hpp"
#include "pipit/rebuild.hpp"
#include "pipit/request.hpp"
#include "window_options.hpp"

namespace pipit::tools {
namespace {

struct rebuild_cli {
  std::vector<std::string> inputs;
  std::string out;
  unsigned layers = 0;
  unsigned csn = 0;
  window_options window;  // when given: copy only the precincts the window needs
};

// Feeds one file: a sequence of responses, each ending in EOR (a missing final EOR is allowed).
result<std::uint64_t> feed(const std::string& path, databin_cache& cache) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return fail(errc::not_found, no_offset, path + ": cannot open");
  std::vector<std::uint8_t> data((std::istreambuf_iterator<char>(f)),
                                 std::istreambuf_iterator<char>());
  jpp_reader reader;
  reader.feed(data);
  std::uint64_t messages = 0;
  while (true) {
    auto ev = reader.next();
    if (!ev) return fail(ev.error().code, ev.error().offset, path + ": " + ev.error().message);
    if (std::holds_alternative<jpp_need_more>(*ev)) {
      if (reader.buffered() != 0)
        return fail(errc::truncated, reader.stream_offset(),
                    path + ": the stream ends inside a message");
      return messages;
    }
    if (std::holds_alternative<jpp_eor>(*ev)) {
      reader.begin_response();
      continue;
    }
    const auto& m = std::get<jpp_message>(*ev);
    auto r = cache.add(m.bin(), m.msg_offset, m.body, m.is_last);
    if (!r)
      return fail(r.error().code, reader.last_event_offset(), path + ": " + r.error().message);
    ++messages;
  }
}

bool ends_with(const std::string& s, const char* e) {
  const std::string x(e);
  return s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0;
}

int run_rebuild(const rebuild_cli& o) {
  databin_cache cache;
  for (const auto& in : o.inputs) {
    auto n = feed(in, cache);
    if (!n) {
      std::fprintf(stderr, "pipit rebuild: %s\n", n.error().to_string().c_str());
      return 1;
    }
  }
  rebuild_options ro;
  ro.csn = o.csn;
  ro.max_layers = o.layers;
  if (o.window.any()) {
    auto rq = o.window.request();
    if (!rq) {
      std::fprintf(stderr, "pipit rebuild: %s\n", rq.error().message.c_str());
      return 2;
    }
    auto sk = codestream_skeleton::build(cache, o.csn);
    if (!sk) {
      std::fprintf(stderr, "pipit rebuild: %s\n", sk.error().to_string().c_str());
      return 1;
    }
    ro.window = window_from_request(sk->index(), *rq);
  }
  rebuild_stats stats;
  result<std::vector<std::uint8_t>> out = ends_with(o.out, ".jp2") || ends_with(o.out, ".jpx")
                                              ? rebuild_jp2(cache, ro)
                                              : rebuild_codestream(cache, ro, &stats);
  if (!out) {
    std::fprintf(stderr, "pipit rebuild: %s\n", out.error().to_string().c_str());
    return 1;
  }
  if (!write_file(o.out, *out)) {
    std::fprintf(stderr, "pipit rebuild: cannot write %s\n", o.out.c_str());
    return 1;
  }
  std::fprintf(stderr, "%s: %zu bytes from %zu bins\n", o.out.c_str(), out->size(),
               cache.bin_count());
  return 0;
}

}  // namespace

command register_rebuild(CLI::App& app) {
  auto o = std::make_shared<rebuild_cli>();
  auto* sub = app.add_subcommand("rebuild", "Rebuild a codestream (or JP2) from JPP-streams");
  sub->add_option("inputs", o->inputs, "JPP-stream files")->required();
  sub->add_option("-o,--output", o->out, "output .j2k or .jp2")->required();
  sub->add_option("--layers", o->layers, "keep at most this many quality layers");
  sub->add_option("--stream", o->csn, "codestream number (JPX)");
  o->window.add_to(sub, "copy only the precincts of this window");
  return command{sub, [o] { return run_rebuild(*o); }};
}

}  // namespace pipit::tools
