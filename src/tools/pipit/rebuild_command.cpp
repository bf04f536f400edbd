// `pipit rebuild IN.jpp [...] -o OUT.j2k|OUT.jp2`: JPP- or JPT-streams into a cache, then a
// codestream (from precinct data-bins, or from the tile data-bins of a JPT-stream).
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <initializer_list>
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

// What a file that is not a JPP- or JPT-stream starts with, when it is recognisable.
std::string what_file_is(const std::vector<std::uint8_t>& d) {
  auto starts = [&](std::initializer_list<std::uint8_t> p) {
    return d.size() >= p.size() && std::equal(p.begin(), p.end(), d.begin());
  };
  if (starts({0, 0, 0, 0x0C, 'j', 'P', ' ', ' ', 0x0D, 0x0A, 0x87, 0x0A}))
    return "a JP2/JPX file (it starts with the JP2 signature box)";
  if (starts({0xFF, 0x4F, 0xFF, 0x51}))
    return "a raw JPEG 2000 codestream (it starts with SOC, SIZ)";
  if (starts({'H', 'T', 'T', 'P', '/'}))
    return "an HTTP response with its headers (keep only the body)";
  if (starts({'<'})) return "HTML or XML text";
  return "";
}

std::string first_bytes(const std::vector<std::uint8_t>& d) {
  std::string s;
  char b[4];
  for (std::size_t i = 0; i < std::min<std::size_t>(d.size(), 8); ++i) {
    std::snprintf(b, sizeof b, "%s%02X", i ? " " : "", d[i]);
    s += b;
  }
  return s.empty() ? "nothing (an empty file)" : s;
}

// The data-bin messages of the inputs, by the kind of stream they make.
struct stream_kinds {
  std::uint64_t jpp = 0;      // precinct and tile header messages (classes 0, 1, 2)
  std::uint64_t jpt = 0;      // tile messages (classes 4, 5)
  std::uint64_t headers = 0;  // main header and metadata messages (both kinds)
};

// Feeds one file: a sequence of responses, each ending in EOR (a missing final EOR is allowed).
result<std::uint64_t> feed(const std::string& path, databin_cache& cache, stream_kinds& kinds) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return fail(errc::not_found, no_offset, path + ": cannot open");
  std::vector<std::uint8_t> data((std::istreambuf_iterator<char>(f)),
                                 std::istreambuf_iterator<char>());
  if (const std::string what = what_file_is(data); !what.empty())
    return fail(errc::corrupt, 0, path + ": not a JPP- or JPT-stream: " + what);
  jpp_reader reader;
  reader.feed(data);
  std::uint64_t messages = 0;
  while (true) {
    auto ev = reader.next();
    if (!ev) {
      if (messages == 0)
        return fail(ev.error().code, ev.error().offset,
                    path + ": not a JPP- or JPT-stream (it starts with " + first_bytes(data) +
                        "): " + ev.error().message);
      return fail(ev.error().code, ev.error().offset, path + ": " + ev.error().message);
    }
    if (std::holds_alternative<jpp_need_more>(*ev)) {
      if (reader.buffered() != 0)
        return fail(errc::truncated, reader.stream_offset(),
                    path + ": the stream ends inside a message");
      if (messages == 0)
        return fail(errc::corrupt, 0,
                    path +
                        ": not a JPP- or JPT-stream: no data-bin message in it (it starts with " +
                        first_bytes(data) + ")");
      return messages;
    }
    if (std::holds_alternative<jpp_eor>(*ev)) {
      reader.begin_response();
      continue;
    }
    const auto& m = std::get<jpp_message>(*ev);
    const bin_kind k = m.bin().kind;
    if (k == bin_kind::tile)
      ++kinds.jpt;
    else if (k == bin_kind::precinct || k == bin_kind::tile_header)
      ++kinds.jpp;
    else
      ++kinds.headers;
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
  stream_kinds kinds;
  for (const auto& in : o.inputs) {
    auto n = feed(in, cache, kinds);
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
  std::fprintf(stderr, "%s: %zu bytes from %zu bins of a %s\n", o.out.c_str(), out->size(),
               cache.bin_count(), kinds.jpt > 0 ? "JPT-stream" : "JPP-stream");
  return 0;
}

}  // namespace

command register_rebuild(CLI::App& app) {
  auto o = std::make_shared<rebuild_cli>();
  auto* sub =
      app.add_subcommand("rebuild", "Rebuild a codestream (or JP2) from JPP- or JPT-streams");
  sub->add_option("inputs", o->inputs, "JPP- or JPT-stream files")->required();
  sub->add_option("-o,--output", o->out, "output .j2k or .jp2")->required();
  sub->add_option("--layers", o->layers, "keep at most this many quality layers");
  sub->add_option("--stream", o->csn, "codestream number (JPX)");
  o->window.add_to(sub, "copy only the precincts of this window");
  return command{sub, [o] { return run_rebuild(*o); }};
}

}  // namespace pipit::tools
