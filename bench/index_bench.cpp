// index_bench: the indexing rate of the codestream model beside the rate of reading the same file.
//
// For each file given, in one process and one run:
//   read      the reference: read() of the whole file into a buffer allocated and touched once
//             beforehand (warm page cache; the highest rate a reader of the file gets).
//   mmap-sum  for information: a 64-bit sum over the bytes of a fresh mapping (mmap + page faults).
//   PLT       mapped_file::open + image_index::build with use_pointer_markers = true; only for a
//             file that carries PLT (or PLM) markers.
//   parse     the same with use_pointer_markers = false: every packet header is decoded.
// Each index run opens a fresh mapping and drops it afterwards, so page faults, allocation of the
// index and its destruction are all inside the timed region, as a server pays them.
//
// The measurements are interleaved (read, mmap-sum, PLT, parse, read, ...) and the best of the
// rounds is kept (at least --runs rounds, more until --min-seconds have passed), so a burst of
// load from other processes hits every measurement alike.
// Rates are in MB/s with MB = 10^6 bytes, of the whole file size.
//
// Columns: /read is the index rate over the read rate (the ratio the targets apply to); /mmap is
// the index rate over the mmap-sum rate, for information.
// Targets: PLT >= 0.9 x read; parse >= 0.5 x read. With --strict a MISS makes the exit status 1.
// The PLT file and its parsed index must agree packet by packet; a disagreement exits with 2.

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "pipit/image_index.hpp"

namespace {

using bench::clock_type;
using bench::die;
using bench::seconds_since;

constexpr double plt_target = 0.9;
constexpr double parse_target = 0.5;

// Reads the whole file into `buf` (already sized and touched); returns the seconds taken.
double time_read(const std::string& path, std::vector<std::uint8_t>& buf) {
  auto t0 = clock_type::now();
  bench::read_into(path, buf);
  return seconds_since(t0);
}

volatile std::uint64_t sink;  // keeps the checksum alive

double time_mmap_sum(const std::string& path) {
  auto t0 = clock_type::now();
  auto file = pipit::mapped_file::open(path);
  if (!file) die(file.error().to_string());
  auto b = file->bytes();
  std::uint64_t sum = 0;
  std::size_t i = 0;
  for (; i + 8 <= b.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, b.data() + i, 8);
    sum += w;
  }
  for (; i < b.size(); ++i) sum += b[i];
  sink = sum;
  return seconds_since(t0);
}

struct index_summary {
  std::uint64_t packets = 0;
  bool headers_parsed = false;
  bool has_pointer_markers = false;  // PLT or PLM somewhere
};

index_summary summarize(const pipit::image_index& ix) {
  index_summary s;
  for (const auto& cs : ix.codestreams) {
    s.packets += cs.packets.size();
    s.headers_parsed = s.headers_parsed || cs.headers_parsed;
    s.has_pointer_markers =
        s.has_pointer_markers || cs.has_marker(pipit::PLT) || cs.has_marker(pipit::PLM);
  }
  return s;
}

double time_index(const std::string& path, bool use_pointer_markers, index_summary* out) {
  pipit::index_options o;
  o.use_pointer_markers = use_pointer_markers;
  auto t0 = clock_type::now();
  {
    auto file = pipit::mapped_file::open(path);
    if (!file) die(file.error().to_string());
    auto ix = pipit::image_index::build(file->bytes(), o);
    if (!ix) die(path + ": " + ix.error().to_string());
    if (out) *out = summarize(*ix);
  }  // unmapping and freeing the index are timed too
  return seconds_since(t0);
}

// The index taken from PLT and the one decoded from the packet headers must agree.
void check_agreement(const std::string& path) {
  auto file = pipit::mapped_file::open(path);
  if (!file) die(file.error().to_string());
  pipit::index_options with, without;
  with.use_pointer_markers = true;
  without.use_pointer_markers = false;
  auto a = pipit::image_index::build(file->bytes(), with);
  auto b = pipit::image_index::build(file->bytes(), without);
  if (!a || !b) die(path + ": index failed");
  if (a->codestreams.size() != b->codestreams.size()) die(path + ": codestream counts differ");
  for (std::size_t c = 0; c < a->codestreams.size(); ++c) {
    const auto& pa = a->codestreams[c].packets;
    const auto& pb = b->codestreams[c].packets;
    if (pa.size() != pb.size()) die(path + ": packet counts differ between PLT and parse");
    for (std::size_t i = 0; i < pa.size(); ++i) {
      if (pa[i].offset != pb[i].offset || pa[i].length != pb[i].length ||
          pa[i].tile != pb[i].tile || pa[i].layer != pb[i].layer ||
          pa[i].component != pb[i].component || pa[i].resolution != pb[i].resolution ||
          pa[i].precinct != pb[i].precinct)
        die(path + ": packet " + std::to_string(i) + " differs between PLT and parse");
    }
  }
}

std::string base_name(const std::string& path) {
  auto k = path.find_last_of('/');
  return k == std::string::npos ? path : path.substr(k + 1);
}

void usage() {
  std::fprintf(stderr,
               "usage: index_bench [--runs N] [--min-seconds S] [--strict] FILE...\n"
               "  Prints the read rate of each JPEG 2000 file and the rate of indexing it with\n"
               "  PLT (when present) and by parsing packet headers; best of at least N rounds\n"
               "  (default 5), continued until S seconds per file have passed (default 5).\n"
               "  --strict: exit 1 when a target is missed (PLT >= %.1fx read, parse >= %.1fx).\n",
               plt_target, parse_target);
}

}  // namespace

int main(int argc, char** argv) {
  bench::program = "index_bench";
  int runs = 5;
  double min_seconds = 5.0;
  constexpr int max_rounds = 1000;
  bool strict = false;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--runs" && i + 1 < argc) {
      runs = std::atoi(argv[++i]);
      if (runs < 1) runs = 1;
    } else if (a == "--min-seconds" && i + 1 < argc) {
      min_seconds = std::atof(argv[++i]);
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
  if (files.empty()) {
    usage();
    return 2;
  }

  std::printf(
      "index_bench: best of >= %d interleaved rounds (>= %.1f s per file); MB = 10^6 bytes;"
      " warm page cache\n",
      runs, min_seconds);
  std::printf("reference: read = read() of the whole file into a pre-touched buffer\n");
  std::printf("index = mapped_file::open + image_index::build + unmap (page faults included)\n\n");
  std::printf("%-28s %8s %9s %9s  %-6s %9s %6s %6s %7s %-5s %9s\n", "file", "size MB", "read MB/s",
              "mmap MB/s", "index", "MB/s", "/read", "/mmap", "target", "", "packets");

  bool missed = false;
  for (const auto& path : files) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) die(path + ": " + std::strerror(errno));
    const auto size = static_cast<std::size_t>(st.st_size);
    const double mb = static_cast<double>(size) / 1e6;

    std::vector<std::uint8_t> buf(size, 1);  // allocated and touched outside the timed region
    index_summary plt_sum, parse_sum;
    time_index(path, true, &plt_sum);  // warms the page cache and tells whether PLT is there
    const bool has_plt = plt_sum.has_pointer_markers;
    if (has_plt) check_agreement(path);

    const double inf = std::numeric_limits<double>::infinity();
    double t_read = inf, t_mmap = inf, t_plt = inf, t_parse = inf;
    // At least `runs` rounds, and more (up to max_rounds) until min_seconds have been spent, so
    // that small files get enough samples for the best one to be free of preemption.
    const auto t_start = clock_type::now();
    for (int r = 0; r < runs || (seconds_since(t_start) < min_seconds && r < max_rounds); ++r) {
      t_read = std::min(t_read, time_read(path, buf));
      t_mmap = std::min(t_mmap, time_mmap_sum(path));
      if (has_plt) t_plt = std::min(t_plt, time_index(path, true, &plt_sum));
      t_parse = std::min(t_parse, time_index(path, false, &parse_sum));
    }
    const double read_rate = mb / t_read;

    auto row = [&](const char* mode, double t, double target, const index_summary& s) {
      const double rate = mb / t;
      const double ratio = rate / read_rate;
      const bool pass = ratio >= target;
      missed = missed || !pass;
      std::printf("%-28s %8.1f %9.0f %9.0f  %-6s %9.0f %6.2f %6.2f %6.1fx %-5s %9" PRIu64 "%s\n",
                  base_name(path).c_str(), mb, read_rate, mb / t_mmap, mode, rate, ratio,
                  rate / (mb / t_mmap), target, pass ? "PASS" : "MISS", s.packets,
                  (std::string(mode) == "PLT" && s.headers_parsed) ? "  (headers parsed!)" : "");
    };
    if (has_plt) row("PLT", t_plt, plt_target, plt_sum);
    row("parse", t_parse, parse_target, parse_sum);
  }
  return strict && missed ? 1 : 0;
}
