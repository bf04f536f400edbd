// ht_decode_bench: the client's decode of a 1024x1024 window of an HTJ2K codestream with OpenJPH
// beside the same decode with OpenJPEG, in one process and one run.
//
// Setup (untimed), per file: the file is read and indexed; the core composes the whole-image
// JPP-stream for an empty cache and every message goes into the client's data-bin cache (full).
//
// Timed, per window and decoder thread count (interleaved, the order alternating between rounds;
// best of the rounds): a new window_decoder (src/client, so an empty decoded-tile cache) and its
// decode(window): the rebuild of what the missing tiles need from the cache, their decode, and
// the cut of the window out of them. A decodes with OpenJPH (decoder_options::openjph = true,
// each tile from its own codestream), B with OpenJPEG only (openjph = false; the windowed rebuild
// and OpenJPEG's decode of the tiles, as for classic files). Both the process's CPU time (every
// thread) and the wall time are kept; the verdict is on the CPU time, B / A >= 3: on a shared,
// loaded machine the wall time mostly measures waiting for a core, the CPU time the decoder.
//
// Correctness: A and B must give the same samples (exit 2 otherwise), and A must have decoded
// every tile component with OpenJPH (exit 2 otherwise: the file is not one OpenJPH takes, e.g.
// 9/7). With --strict a MISS makes the exit status 1.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "bench_util.hpp"
#include "pipit/databins.hpp"
#include "pipit/image_index.hpp"
#include "pipit/jpp.hpp"
#include "pipit/response.hpp"
#include "session.hpp"         // src/client: shared_cache
#include "window_decoder.hpp"  // src/client

namespace {

using bench::clock_type;
using bench::die;
using bench::read_file;
using namespace pipit;

constexpr double target_ratio = 3.0;
constexpr std::uint32_t window_side = 1024;

void fill_cache(bytes_view file, const image_index& ix, databin_cache& cache) {
  const auto& siz = ix.codestreams[0].siz;
  databin_source src(file, ix);
  stream_model model(ix);
  window_spec whole;
  whole.region = siz.image_rect();
  std::vector<std::uint8_t> jpp;
  if (compose_response(src, whole, model, response_options{}, jpp).reason != eor_reason::image_done)
    die("the whole-image response is not complete");
  jpp_reader reader;
  reader.feed(jpp);
  for (;;) {
    auto ev = reader.next();
    if (!ev) die("JPP-stream: " + ev.error().to_string());
    auto* m = std::get_if<jpp_message>(&*ev);
    if (m == nullptr) break;
    if (auto r = cache.add(m->bin(), m->msg_offset, m->body, m->is_last); !r)
      die("databin_cache::add: " + r.error().to_string());
  }
}

// The client's image_info of a raw codestream: its headers-only index (client.cpp holds the same).
client::image_info info_of(const codestream_index& ix) {
  client::image_info info;
  info.codestream = std::make_shared<const codestream_index>(ix);
  return info;
}

double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

struct result_row {
  double best = 1e30;      // wall
  double best_cpu = 1e30;  // CPU time of the process (every thread)
  std::uint64_t cells = 0, cells_openjph = 0;
  client::decoded_window pixels;
};

void run_once(const client::image_info& info, client::shared_cache& cache, const client::window& w,
              int threads, bool openjph, result_row& row) {
  client::decoder_options o;
  o.threads = threads;
  o.openjph = openjph;
  const double c0 = cpu_seconds();
  const auto t0 = clock_type::now();
  client::window_decoder dec(info, cache, o);
  auto out = dec.decode(w);
  const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
  const double cpu = cpu_seconds() - c0;
  if (!out) die("decode: " + out.error().to_string());
  row.best = std::min(row.best, s);
  row.best_cpu = std::min(row.best_cpu, cpu);
  row.cells = dec.stats().cells_decoded;
  row.cells_openjph = dec.stats().cells_decoded_openjph;
  row.pixels = std::move(*out);
}

bool same(const client::decoded_window& a, const client::decoded_window& b) {
  if (a.planes.size() != b.planes.size()) return false;
  for (std::size_t k = 0; k < a.planes.size(); ++k)
    if (a.planes[k].width != b.planes[k].width || a.planes[k].height != b.planes[k].height ||
        a.planes[k].samples != b.planes[k].samples)
      return false;
  return true;
}

std::vector<int> parse_list(const char* s) {
  std::vector<int> v;
  for (const char* p = s; *p;) {
    v.push_back(std::atoi(p));
    while (*p && *p != ',') ++p;
    if (*p == ',') ++p;
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  bench::program = "ht_decode_bench";
  int runs = 5;
  bool strict = false;
  std::vector<int> thread_counts{1, 2};
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--runs" && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--threads" && i + 1 < argc) {
      thread_counts = parse_list(argv[++i]);
    } else if (a == "--strict") {
      strict = true;
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr,
                   "usage: ht_decode_bench [--runs N] [--threads 1,2] [--strict] FILE...\n");
      return 2;
    } else {
      files.push_back(a);
    }
  }
  if (files.empty()) die("no file given");
  bool missed = false;
  std::printf("%d rounds; A = the client's decode with OpenJPH, B = with OpenJPEG 2.5 only\n\n",
              runs);
  std::printf("%-20s %-30s %5s %7s %9s %9s %7s %-6s %9s %9s %7s %s\n", "file",
              "window (reduced grid)", "tiles", "threads", "A cpu ms", "B cpu ms", "B/A", ">=3x",
              "A wall ms", "B wall ms", "B/A", "OpenJPH cells");
  for (const auto& path : files) {
    const auto bytes = read_file(path);
    auto ix = image_index::build(bytes);
    if (!ix) die(path + ": " + ix.error().to_string());
    client::shared_cache cache;
    fill_cache(bytes, *ix, cache.cache);
    const client::image_info info = info_of(ix->codestreams[0]);
    struct wcase {
      const char* where;
      client::window w;
    };
    std::vector<wcase> cases;
    auto add = [&](const char* where, std::uint32_t d, std::uint32_t x, std::uint32_t y) {
      client::window w;
      w.discard_levels = d;
      const std::uint32_t x0 = std::min(x, info.width_at(d) - 1);
      const std::uint32_t y0 = std::min(y, info.height_at(d) - 1);
      w.region = rect{x0, y0, std::int64_t{x0} + std::min(window_side, info.width_at(d) - x0),
                      std::int64_t{y0} + std::min(window_side, info.height_at(d) - y0)};
      cases.push_back({where, w});
    };
    add("origin", 0, 0, 0);
    add("crossing", 0, info.siz().XTsiz / 2, info.siz().YTsiz / 2);
    add("origin", 1, 0, 0);
    std::string base = path.substr(path.find_last_of('/') + 1);
    for (const auto& c : cases) {
      for (int threads : thread_counts) {
        result_row a, b;
        for (int r = 0; r < runs; ++r) {
          if (r % 2 == 0) {
            run_once(info, cache, c.w, threads, true, a);
            run_once(info, cache, c.w, threads, false, b);
          } else {
            run_once(info, cache, c.w, threads, false, b);
            run_once(info, cache, c.w, threads, true, a);
          }
        }
        if (!same(a.pixels, b.pixels)) die(base + ": OpenJPH and OpenJPEG samples differ");
        if (a.cells_openjph != a.cells || b.cells_openjph != 0)
          die(base + ": OpenJPH did not decode every tile (not a 5/3 HT-only file?)");
        const double ratio = b.best_cpu / a.best_cpu;
        const bool pass = ratio >= target_ratio;
        missed = missed || !pass;
        const rect& wr = c.w.region;
        const std::int64_t tx0 =
            (info.siz().XOsiz + (wr.x0 << c.w.discard_levels) - info.siz().XTOsiz) /
            info.siz().XTsiz;
        const std::int64_t tx1 =
            (info.siz().XOsiz + (wr.x1 << c.w.discard_levels) - 1 - info.siz().XTOsiz) /
            info.siz().XTsiz;
        const std::int64_t ty0 =
            (info.siz().YOsiz + (wr.y0 << c.w.discard_levels) - info.siz().YTOsiz) /
            info.siz().YTsiz;
        const std::int64_t ty1 =
            (info.siz().YOsiz + (wr.y1 << c.w.discard_levels) - 1 - info.siz().YTOsiz) /
            info.siz().YTsiz;
        const auto tiles = static_cast<unsigned long long>(tx1 - tx0 + 1) *
                           static_cast<unsigned long long>(ty1 - ty0 + 1);
        char name[64];
        std::snprintf(name, sizeof name, "r%u %lldx%lld+%lld+%lld %s", c.w.discard_levels,
                      static_cast<long long>(wr.width()), static_cast<long long>(wr.height()),
                      static_cast<long long>(wr.x0), static_cast<long long>(wr.y0), c.where);
        std::printf("%-20s %-30s %5llu %7d %9.1f %9.1f %7.2f %-6s %9.1f %9.1f %7.2f %llu/%llu\n",
                    base.c_str(), name, tiles, threads, a.best_cpu * 1e3, b.best_cpu * 1e3, ratio,
                    pass ? "PASS" : "MISS", a.best * 1e3, b.best * 1e3, b.best / a.best,
                    static_cast<unsigned long long>(a.cells_openjph),
                    static_cast<unsigned long long>(a.cells));
        std::fflush(stdout);
      }
    }
  }
  return strict && missed ? 1 : 0;
}
