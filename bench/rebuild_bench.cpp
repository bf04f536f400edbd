// rebuild_bench: rebuilding a codestream from a full data-bin cache and decoding a 1024x1024
// window of it, beside decoding the same window of the original file, in one process and one run.
//
// Setup (untimed), per file: the file is read into memory and indexed; the core composes the
// JPP-stream of the whole image at full quality for a client with an empty cache (one response,
// ends with EOR "image done"); a jpp_reader parses it and every message goes into a
// databin_cache. That cache is "full": every bin complete.
//
// Timed, per window (interleaved A, B, A, B, ... over every window; best of the rounds):
//   A  Pipit       rebuild_codestream(cache) (or rebuild_jp2 for a JP2 file), then an in-process
//                  OpenJPEG decode of the window from the rebuilt bytes in memory.
//   B  reference   the same decode of the same window from the original file's bytes in memory.
// A decode is: opj_create_decompress, opj_setup_decoder (cp_reduce = d), opj_codec_set_threads,
// a memory opj_stream (read/skip/seek callbacks, 1 MiB chunks), opj_read_header,
// opj_set_decode_area, opj_decode, opj_end_decompress, destruction of image, stream and codec.
// OpenJPEG's library is called directly: opj_decompress understates its speed
// (docs/architecture.md, Dependencies).
//
// Windows are 1024x1024 on the grid reduced by 2^d (clipped to the image), for d in
// --reductions; positions: the origin, a tile-aligned window inside the image, the same moved by
// half a tile (crossing four tiles), and the bottom-right corner. Duplicates are dropped.
//
// Columns: pipit ms = best of (rebuild + decode) over the rounds; rebuild and decode are the best
// of each alone (the release of the rebuilt buffer counts as rebuild); rebuild% = rebuild over
// rebuild + decode; ref ms the best reference decode; ratio = pipit / ref; target <= 1.2x.
// dec-pre, for information: the same decode from a rebuilt codestream made once before the timed
// rounds (no rebuild just before it), which separates the rebuild's cost from its side effects
// on the decode that follows (caches, allocator state).
// Correctness: A and B must give identical images (every component's geometry and samples);
// otherwise the program exits with 2. With --strict a MISS makes the exit status 1.
#include <openjpeg.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "bench_util.hpp"
#include "opj_memory_stream.hpp"  // src/client/opj (pipit_opj_stream)
#include "pipit/cache_model.hpp"
#include "pipit/databin_cache.hpp"
#include "pipit/databins.hpp"
#include "pipit/image_index.hpp"
#include "pipit/jpp.hpp"
#include "pipit/rebuild.hpp"
#include "pipit/response.hpp"
#include "pipit/window.hpp"

namespace {

using bench::clock_type;
using bench::die;
using bench::read_file;
using bench::seconds_since;

volatile std::uint8_t sink;  // keeps copies alive

constexpr double target_ratio = 1.2;
constexpr std::uint32_t window_side = 1024;

// ---- OpenJPEG, in process, from memory
// -----------------------------------------------------------

// The client's in-memory stream, so both decodes read the same way.
using namespace pipit::client::opj;

// A decode area on the full-resolution reference grid, and the reduction.
struct decode_area {
  std::uint32_t d = 0;
  pipit::rect area;
};

// Decodes `area` of the JPEG 2000 codestream or JP2 file in `bytes`; dies on failure.
image_ptr decode(pipit::bytes_view bytes, bool jp2, const decode_area& area, int threads,
                 std::uint64_t* bytes_read = nullptr) {
  std::string messages;
  codec_ptr codec(opj_create_decompress(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K));
  if (!codec) die("OpenJPEG: cannot create a decoder");
  collect_errors(codec.get(), messages);
  opj_dparameters_t params;
  opj_set_default_decoder_parameters(&params);
  params.cp_reduce = area.d;
  if (!opj_setup_decoder(codec.get(), &params)) die("OpenJPEG: setup failed: " + messages);
  if (threads > 1 && !opj_codec_set_threads(codec.get(), threads))
    die("OpenJPEG: opj_codec_set_threads failed (library built without thread support?)");

  memory_stream ms{bytes.data(), bytes.size()};
  stream_ptr stream = open_memory_stream(ms, 1 << 20);
  if (!stream) die("OpenJPEG: cannot create a stream");

  opj_image_t* raw = nullptr;
  if (!opj_read_header(stream.get(), codec.get(), &raw)) {
    if (raw) opj_image_destroy(raw);
    die("OpenJPEG: cannot read the header: " + messages);
  }
  image_ptr image(raw);
  const pipit::rect& a = area.area;
  if (!opj_set_decode_area(codec.get(), image.get(), static_cast<OPJ_INT32>(a.x0),
                           static_cast<OPJ_INT32>(a.y0), static_cast<OPJ_INT32>(a.x1),
                           static_cast<OPJ_INT32>(a.y1)))
    die("OpenJPEG: bad decode area: " + messages);
  if (!opj_decode(codec.get(), stream.get(), image.get()) ||
      !opj_end_decompress(codec.get(), stream.get()))
    die("OpenJPEG: decoding failed: " + messages);
  if (bytes_read) *bytes_read = ms.bytes_read;
  return image;
}

// Empty when equal, else what differs.
std::string compare(const opj_image_t& a, const opj_image_t& b) {
  if (a.numcomps != b.numcomps) return "component counts differ";
  if (a.x0 != b.x0 || a.y0 != b.y0 || a.x1 != b.x1 || a.y1 != b.y1) return "image areas differ";
  for (OPJ_UINT32 c = 0; c < a.numcomps; ++c) {
    const auto &ca = a.comps[c], &cb = b.comps[c];
    const std::string k = "component " + std::to_string(c) + ": ";
    if (ca.w != cb.w || ca.h != cb.h || ca.x0 != cb.x0 || ca.y0 != cb.y0 || ca.dx != cb.dx ||
        ca.dy != cb.dy || ca.factor != cb.factor)
      return k + "geometry differs";
    if (ca.prec != cb.prec || ca.sgnd != cb.sgnd) return k + "precision or sign differs";
    if (!ca.data || !cb.data) return k + "not decoded";
    if (ca.w == 0 || ca.h == 0) return k + "empty";
    const std::size_t n = std::size_t{ca.w} * ca.h;
    if (std::memcmp(ca.data, cb.data, n * sizeof(OPJ_INT32)) != 0) {
      std::size_t i = 0;
      while (ca.data[i] == cb.data[i]) ++i;
      return k + "sample (" + std::to_string(i % ca.w) + ", " + std::to_string(i / ca.w) + ") is " +
             std::to_string(ca.data[i]) + " vs " + std::to_string(cb.data[i]);
    }
  }
  return {};
}

// ---- The full cache
// ------------------------------------------------------------------------------

struct setup_info {
  std::uint64_t jpp_bytes = 0;
  std::uint64_t messages = 0;
  std::size_t bins = 0;
  std::uint64_t cache_bytes = 0;
  double seconds = 0;
};

pipit::databin_cache make_full_cache(pipit::bytes_view file, const pipit::image_index& ix,
                                     setup_info& info) {
  const auto t0 = clock_type::now();
  pipit::databin_cache cache("rebuild-bench");
  for (std::uint32_t csn = 0; csn < ix.codestreams.size(); ++csn) {
    const auto& siz = ix.codestreams[csn].siz;
    pipit::databin_source src(file, ix);
    pipit::stream_model model(ix);
    pipit::window_spec whole;
    whole.region = siz.image_rect();
    pipit::response_options ro;
    ro.csn = csn;
    ro.send_metadata = ix.is_jp2 && csn == 0;
    std::vector<std::uint8_t> jpp;
    const auto summary = pipit::compose_response(src, whole, model, ro, jpp);
    if (summary.reason != pipit::eor_reason::image_done)
      die(std::string("the whole-image response ended with EOR ") +
          pipit::eor_reason_name(summary.reason) + ", not image-done");
    info.jpp_bytes += jpp.size();

    pipit::jpp_reader reader;
    reader.feed(jpp);
    jpp.clear();
    jpp.shrink_to_fit();
    for (bool done = false; !done;) {
      auto ev = reader.next();
      if (!ev) die("JPP-stream: " + ev.error().to_string());
      if (auto* m = std::get_if<pipit::jpp_message>(&*ev)) {
        auto r = cache.add(m->bin(), m->msg_offset, m->body, m->is_last);
        if (!r) die("databin_cache::add: " + r.error().to_string());
        ++info.messages;
      } else {
        done = true;  // EOR (or, impossibly, need-more: the whole stream was fed)
        if (!std::holds_alternative<pipit::jpp_eor>(*ev)) die("JPP-stream ends without EOR");
      }
    }
  }
  info.bins = cache.bin_count();
  info.cache_bytes = cache.bytes_held();
  info.seconds = seconds_since(t0);
  return cache;
}

// ---- Windows
// -------------------------------------------------------------------------------------

struct window_case {
  std::string name;   // e.g. "r0 1024x1024+512+512"
  std::string where;  // "origin", "aligned", "crossing", "corner"
  decode_area area;
  std::uint32_t tiles = 0;  // tiles the window meets
  // best times, seconds
  double rebuild = std::numeric_limits<double>::infinity();
  double decode = std::numeric_limits<double>::infinity();
  double pipit = std::numeric_limits<double>::infinity();
  double ref = std::numeric_limits<double>::infinity();
  double decode_prebuilt = std::numeric_limits<double>::infinity();
  std::uint64_t read_pipit = 0, read_ref = 0;  // bytes OpenJPEG read through the stream
};

std::vector<window_case> make_windows(const pipit::image_size& siz,
                                      const std::vector<std::uint32_t>& reductions) {
  std::vector<window_case> out;
  for (std::uint32_t d : reductions) {
    // The frame at reduction d (B-15 with the image origin).
    const auto fx0 = static_cast<std::uint64_t>(pipit::ceil_div_pow2(siz.XOsiz, d));
    const auto fy0 = static_cast<std::uint64_t>(pipit::ceil_div_pow2(siz.YOsiz, d));
    const std::uint64_t fw = siz.width_at(d), fh = siz.height_at(d);
    const std::uint64_t ww = std::min<std::uint64_t>(window_side, fw);
    const std::uint64_t wh = std::min<std::uint64_t>(window_side, fh);
    const std::uint64_t tw = std::max<std::uint64_t>(1, siz.XTsiz >> d);
    const std::uint64_t th = std::max<std::uint64_t>(1, siz.YTsiz >> d);
    // Offsets in the frame, clamped so that the window stays inside.
    auto clamp_x = [&](std::uint64_t x) { return std::min(x, fw - ww); };
    auto clamp_y = [&](std::uint64_t y) { return std::min(y, fh - wh); };
    // A tile-aligned window about a third into the image.
    const std::uint64_t ax = clamp_x(fw / 3 / tw * tw), ay = clamp_y(fh / 3 / th * th);
    struct pos {
      const char* where;
      std::uint64_t x, y;
    };
    const pos positions[] = {
        {"origin", 0, 0},
        {"aligned", ax, ay},
        {"crossing", clamp_x(ax + tw / 2), clamp_y(ay + th / 2)},
        {"corner", fw - ww, fh - wh},
    };
    for (const auto& p : positions) {
      window_case w;
      w.where = p.where;
      w.area.d = d;
      const std::uint64_t rx0 = fx0 + p.x, ry0 = fy0 + p.y;
      const pipit::rect reduced{static_cast<std::int64_t>(rx0), static_cast<std::int64_t>(ry0),
                                static_cast<std::int64_t>(rx0 + ww),
                                static_cast<std::int64_t>(ry0 + wh)};
      w.area.area = pipit::intersect(pipit::scale_up(reduced, d), siz.image_rect());
      bool dup = false;
      for (const auto& o : out) dup = dup || (o.area.d == d && o.area.area == w.area.area);
      if (dup) continue;
      for (std::uint32_t t = 0; t < siz.num_tiles(); ++t) {
        const auto r = siz.tile_rect(t);
        if (!pipit::intersect(r, w.area.area).empty()) ++w.tiles;
      }
      char name[96];  // snprintf: GCC 12 warns falsely (-Wrestrict) on "r" + std::to_string
      std::snprintf(name, sizeof name, "r%u %" PRIu64 "x%" PRIu64 "+%" PRIu64 "+%" PRIu64, d, ww,
                    wh, p.x, p.y);
      w.name = name;
      out.push_back(std::move(w));
    }
  }
  return out;
}

// ---- The two sides
// -------------------------------------------------------------------------------

// The rebuild a client makes for a view: only the precincts the window needs (all of them when
// `area` is null).
std::vector<std::uint8_t> rebuild(const pipit::databin_cache& cache, bool jp2,
                                  pipit::rebuild_stats* stats = nullptr,
                                  const decode_area* area = nullptr) {
  pipit::rebuild_options o;
  if (area) {
    pipit::window_spec w;
    w.discard_levels = area->d;
    const unsigned d = area->d;
    const pipit::rect& a = area->area;
    w.region = pipit::rect{pipit::floor_div_pow2(a.x0, d), pipit::floor_div_pow2(a.y0, d),
                           pipit::ceil_div_pow2(a.x1, d), pipit::ceil_div_pow2(a.y1, d)};
    o.window = w;
  }
  auto r = jp2 ? pipit::rebuild_jp2(cache, o) : pipit::rebuild_codestream(cache, o, stats);
  if (!r) die("rebuild: " + r.error().to_string());
  return std::move(*r);
}

struct pipit_times {
  double rebuild = 0, decode = 0;
};

pipit_times time_pipit(const pipit::databin_cache& cache, bool jp2, const decode_area& a,
                       int threads) {
  pipit_times t;
  const auto t0 = clock_type::now();
  {
    auto cs = rebuild(cache, jp2, nullptr, &a);
    const auto t1 = clock_type::now();
    auto img = decode(cs, jp2, a, threads);
    img.reset();
    t.decode = seconds_since(t1);
  }  // the rebuilt buffer's release is counted as rebuild time
  const double total = seconds_since(t0);
  t.rebuild = total - t.decode;
  return t;
}

// The floor of any rebuild that copies the whole image: a fresh buffer (page faults included)
// and one memcpy of the file's bytes into it, then its release.
double time_copy_floor(pipit::bytes_view file) {
  const auto t0 = clock_type::now();
  {
    std::unique_ptr<std::uint8_t[]> buf(new std::uint8_t[file.size()]);
    std::memcpy(buf.get(), file.data(), file.size());
    sink = buf[file.size() / 2];
  }
  return seconds_since(t0);
}

double time_ref(pipit::bytes_view file, bool jp2, const decode_area& a, int threads) {
  const auto t0 = clock_type::now();
  auto img = decode(file, jp2, a, threads);
  img.reset();
  return seconds_since(t0);
}

std::vector<std::uint32_t> parse_list(const std::string& s) {
  std::vector<std::uint32_t> v;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    const std::string item = s.substr(i, j - i);
    char* end = nullptr;
    const unsigned long x = std::strtoul(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || x > 32) die("bad --reductions item '" + item + "'");
    v.push_back(static_cast<std::uint32_t>(x));
    i = j + 1;
  }
  return v;
}

std::string base_name(const std::string& path) {
  auto k = path.find_last_of('/');
  return k == std::string::npos ? path : path.substr(k + 1);
}

void usage() {
  std::fprintf(stderr,
               "usage: rebuild_bench [--runs N] [--min-seconds S] [--threads N]\n"
               "                     [--reductions D,D...] [--strict] FILE...\n"
               "  For 1024x1024 windows of each JPEG 2000 file (J2K or JP2): the time to rebuild\n"
               "  the codestream from a full data-bin cache and decode the window (OpenJPEG, in\n"
               "  process), beside decoding the same window of the original file. Best of at\n"
               "  least N interleaved rounds (default 5), continued until S seconds per file\n"
               "  have passed (default 20). --threads: OpenJPEG threads on both sides (default:\n"
               "  the number of CPUs). --reductions: default 0,1.\n"
               "  --strict: exit 1 when a ratio misses the target (pipit <= %.1fx reference).\n",
               target_ratio);
}

}  // namespace

int main(int argc, char** argv) {
  bench::program = "rebuild_bench";
  int runs = 5;
  double min_seconds = 20.0;
  constexpr int max_rounds = 1000;
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::uint32_t> reductions{0, 1};
  bool strict = false;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--runs" && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--min-seconds" && i + 1 < argc) {
      min_seconds = std::atof(argv[++i]);
    } else if (a == "--threads" && i + 1 < argc) {
      threads = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--reductions" && i + 1 < argc) {
      reductions = parse_list(argv[++i]);
    } else if (a == "--strict") {
      strict = true;
    } else if (a == "-h" || a == "--help") {
      usage();
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      usage();
      return 2;
    } else {
      files.push_back(a);
    }
  }
  if (files.empty() || reductions.empty()) {
    usage();
    return 2;
  }

  std::printf(
      "rebuild_bench: best of >= %d interleaved rounds (>= %.1f s per file); OpenJPEG %s,"
      " %d thread%s on both sides\n",
      runs, min_seconds, opj_version(), threads, threads == 1 ? "" : "s");
  std::printf(
      "pipit = rebuild_codestream(full cache, window) + in-process decode of the window from the "
      "rebuilt bytes\n");
  std::printf(
      "ref   = the same in-process decode of the same window from the original file's "
      "bytes in memory\n");

  bool missed = false;
  for (const auto& path : files) {
    const auto file = read_file(path);
    auto ix = pipit::image_index::build(file);
    if (!ix) die(path + ": " + ix.error().to_string());
    if (ix->codestreams.empty()) die(path + ": no codestream");
    const bool jp2 = ix->is_jp2;
    const auto& siz = ix->codestreams[0].siz;

    setup_info si;
    const auto cache = make_full_cache(file, *ix, si);
    pipit::rebuild_stats rs;
    auto rebuilt = rebuild(cache, false, &rs);
    if (rs.packets != rs.packets_present)
      die(path + ": the full cache lacks packets: " + std::to_string(rs.packets_present) + " of " +
          std::to_string(rs.packets));

    std::printf("\n%s: %s, %.1f MB, %ux%u, %u components, %u tiles of %ux%u\n",
                base_name(path).c_str(), jp2 ? "JP2" : "J2K", file.size() / 1e6, siz.width(),
                siz.height(), static_cast<unsigned>(siz.components.size()), siz.num_tiles(),
                siz.XTsiz, siz.YTsiz);
    std::printf("full cache (setup, untimed): JPP-stream %.1f MB in %" PRIu64
                " messages -> %zu bins,"
                " %.1f MB held, %.2f s; rebuilt codestream %.1f MB, %" PRIu64 " packets\n",
                si.jpp_bytes / 1e6, si.messages, si.bins, si.cache_bytes / 1e6, si.seconds,
                rebuilt.size() / 1e6, rs.packets);

    // For the `dec-pre` column: the rebuilt bytes made once, outside the timed region.
    const std::vector<std::uint8_t> prebuilt = jp2 ? rebuild(cache, true) : std::move(rebuilt);

    auto windows = make_windows(siz, reductions);
    // Correctness first (this also warms caches and the allocator).
    for (auto& w : windows) {
      const auto windowed = rebuild(cache, jp2, nullptr, &w.area);
      auto a = decode(windowed, jp2, w.area, threads, &w.read_pipit);
      auto b = decode(file, jp2, w.area, threads, &w.read_ref);
      const std::string diff = compare(*a, *b);
      if (!diff.empty())
        // NOLINTNEXTLINE(performance-inefficient-string-concatenation): once, before dying
        die(path + ": window " + w.name + ": pipit and reference differ: " + diff);
    }

    const auto t_start = clock_type::now();
    double copy_floor = std::numeric_limits<double>::infinity();
    int rounds = 0;
    for (; rounds < runs || (seconds_since(t_start) < min_seconds && rounds < max_rounds);
         ++rounds) {
      copy_floor = std::min(copy_floor, time_copy_floor(file));
      for (auto& w : windows) {
        // The order alternates between rounds so that neither side always runs first.
        if (rounds % 2 == 1) w.ref = std::min(w.ref, time_ref(file, jp2, w.area, threads));
        const auto p = time_pipit(cache, jp2, w.area, threads);
        w.rebuild = std::min(w.rebuild, p.rebuild);
        w.decode = std::min(w.decode, p.decode);
        w.pipit = std::min(w.pipit, p.rebuild + p.decode);
        w.decode_prebuilt = std::min(w.decode_prebuilt, time_ref(prebuilt, jp2, w.area, threads));
        if (rounds % 2 == 0) w.ref = std::min(w.ref, time_ref(file, jp2, w.area, threads));
      }
    }

    double best_rebuild = std::numeric_limits<double>::infinity();
    for (const auto& w : windows) best_rebuild = std::min(best_rebuild, w.rebuild);
    std::printf(
        "%d rounds; rebuild alone (best over all windows) %.1f ms; floor of a whole-image"
        " rebuild (new buffer + memcpy of %.1f MB) %.1f ms\n\n",
        rounds, best_rebuild * 1e3, file.size() / 1e6, copy_floor * 1e3);
    std::printf("%-24s %-8s %5s %9s %9s %9s %8s %9s %6s %-5s %9s  %s\n", "window (reduced grid)",
                "where", "tiles", "pipit ms", "rebuild", "decode", "rebuild%", "ref ms", "ratio",
                "<=1.2", "dec-pre", "read MB A/B");
    for (const auto& w : windows) {
      const double ratio = w.pipit / w.ref;
      const bool pass = ratio <= target_ratio;
      missed = missed || !pass;
      std::printf("%-24s %-8s %5u %9.1f %9.1f %9.1f %7.0f%% %9.1f %6.2f %-5s %9.1f  %.1f/%.1f\n",
                  w.name.c_str(), w.where.c_str(), w.tiles, w.pipit * 1e3, w.rebuild * 1e3,
                  w.decode * 1e3, 100.0 * w.rebuild / (w.rebuild + w.decode), w.ref * 1e3, ratio,
                  pass ? "PASS" : "MISS", w.decode_prebuilt * 1e3, w.read_pipit / 1e6,
                  w.read_ref / 1e6);
    }
  }
  return strict && missed ? 1 : 0;
}
