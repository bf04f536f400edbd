#include "window_decoder.hpp"

#include <algorithm>
#include <cstring>
#include <exception>
#include <mutex>
#include <numeric>
#include <thread>

#include "decoder.hpp"
#include "ht_decoder.hpp"
#include "pipit/databins.hpp"
#include "pipit/window.hpp"

namespace pipit::client {
namespace {

// What a stamp records of one bin: 2 * (contiguous prefix length) + (1 if complete).
std::uint64_t bin_state(const databin_cache& cache, const bin_id& b) {
  return cache.contiguous_prefix(b).size() * 2 + (cache.is_complete(b) ? 1 : 0);
}

// Samples on a component's grid at the level: [x0, x0 + width) x [y0, y0 + height).
struct sample_view {
  std::uint64_t x0 = 0, y0 = 0;
  std::uint64_t width = 0, height = 0;
  std::uint64_t stride = 0;
  const std::int32_t* data = nullptr;
};

// Copies what `src` holds of the plane whose first sample is (px0, py0).
void copy_overlap(const sample_view& src, decoded_window::plane& dst, std::uint64_t px0,
                  std::uint64_t py0) {
  const std::uint64_t x0 = std::max(src.x0, px0),
                      x1 = std::min(src.x0 + src.width, px0 + dst.width);
  const std::uint64_t y0 = std::max(src.y0, py0),
                      y1 = std::min(src.y0 + src.height, py0 + dst.height);
  if (x1 <= x0 || y1 <= y0) return;
  for (std::uint64_t y = y0; y < y1; ++y)
    std::memcpy(dst.samples.data() + (y - py0) * dst.width + (x0 - px0),
                src.data + (y - src.y0) * src.stride + (x0 - src.x0),
                (x1 - x0) * sizeof(std::int32_t));
}

sample_view view_of(const cell_plane& p, std::uint64_t x0, std::uint64_t y0) {
  return sample_view{x0, y0, p.width, p.height, p.width, p.samples.data()};
}

}  // namespace

struct window_decoder::cell_state {
  std::uint32_t i = 0, j = 0;
  bool missing = false;
  std::vector<std::shared_ptr<const data_stamp>> stamps;  // per component of plan::decoded
  std::vector<std::shared_ptr<const cell_plane>> found;   // per component of plan::wanted
  std::vector<std::uint8_t> tile_stream;  // with plan::openjph, the missing tile's codestream
};

struct window_decoder::plan {
  const cell_grid* grid = nullptr;
  rect area;  // the window on the full-resolution grid
  std::uint32_t d = 0;
  std::uint32_t layers = 0;              // as asked (0: all)
  std::uint32_t layers_key = 0;          // 0 when every layer is asked for
  std::vector<std::uint32_t> wanted;     // components of the result, ascending
  std::vector<std::uint32_t> decoded;    // wanted plus the components a transform joins to them
  std::vector<cell_state> cells;         // the non-empty cells the window meets
  std::vector<std::uint8_t> codestream;  // rebuilt for the missing cells (empty: none)
  bool openjph = false;  // missing cells are tiles decoded by OpenJPH, from cell_state::tile_stream
  bool any_missing = false;
};

window_decoder::window_decoder(const image_info& info, shared_cache& cache, decoder_options options)
    : info_(info), cache_(cache), options_(options), cells_(options.cache_bytes) {
  for (std::uint32_t d = 0; d <= info_.levels(); ++d)
    grids_.push_back(make_cell_grid(info_.siz(), info_.ht(), d));
}

decoder_stats window_decoder::stats() const {
  const tile_cache_stats s = cells_.stats();
  return decoder_stats{cells_decoded_.load(), cells_decoded_openjph_.load(), s.hits, s.bytes};
}

std::shared_ptr<const data_stamp> window_decoder::stamp_of(
    const codestream_index& ix, const cell_grid& g, std::uint32_t i, std::uint32_t j,
    const std::vector<std::uint32_t>& comps) const {
  auto s = std::make_shared<data_stamp>();
  const databin_cache& cache = cache_.cache;
  const std::uint32_t d = g.discard_levels;
  auto add = [&](std::uint32_t tile, std::uint32_t slot) {
    s->push_back(
        bin_state(cache, bin_id{bin_kind::precinct, info_.csn, precinct_id_of(ix, tile, slot)}));
  };
  if (options_.jpt) {
    // The tile data-bins of the tiles the cell meets hold all its samples come from.
    if (g.tiles) {
      s->push_back(bin_state(cache, bin_id{bin_kind::tile, 0, g.cell(i, j)}));
      return s;
    }
    window_spec spec;
    spec.discard_levels = d;
    spec.region = scale_down(cell_area(g, i, j), d);
    for (std::uint32_t t : window_tiles(ix, spec))
      s->push_back(bin_state(cache, bin_id{bin_kind::tile, 0, t}));
    return s;
  }
  if (g.tiles) {
    // A whole tile at level d: its header and every precinct of resolutions 0..levels-d of its
    // components.
    const std::uint32_t t = g.cell(i, j);
    s->push_back(bin_state(cache, bin_id{bin_kind::tile_header, info_.csn, t}));
    const tile_entry& te = ix.tiles[t];
    for (std::uint32_t c : comps) {
      const unsigned levels = te.coding.components[c].levels;
      const unsigned rmax = d >= levels ? 0 : levels - d;
      for (unsigned r = 0; r <= rmax; ++r) {
        const auto& ri = te.res(c, r);
        for (std::uint64_t p = 0; p < ri.grid.count(); ++p)
          add(t, ri.slot_base + static_cast<std::uint32_t>(p));
      }
    }
  } else {
    window_spec spec;
    spec.discard_levels = d;
    spec.region = scale_down(cell_area(g, i, j), d);
    spec.comps = comps;
    // A block: the headers of the tiles it meets, and the precincts its samples need.
    for (std::uint32_t t : window_tiles(ix, spec))
      s->push_back(bin_state(cache, bin_id{bin_kind::tile_header, info_.csn, t}));
    for (const auto& wp : window_precincts(ix, spec)) add(wp.tile, wp.slot);
  }
  return s;
}

result<void> window_decoder::make_plan(const window& w, plan& p) {
  const auto n = static_cast<std::uint32_t>(info_.num_components());
  p.d = w.discard_levels;
  p.grid = &grids_.at(p.d);
  p.area = window_area(info_.siz(), w);
  p.layers = w.layers;
  p.layers_key = w.layers >= info_.layers() ? 0 : w.layers;
  p.wanted = w.comps;
  if (p.wanted.empty()) {
    p.wanted.resize(n);
    std::iota(p.wanted.begin(), p.wanted.end(), 0u);
  }
  std::sort(p.wanted.begin(), p.wanted.end());
  p.wanted.erase(std::unique(p.wanted.begin(), p.wanted.end()), p.wanted.end());
  // OpenJPEG applies the inverse MCT only when it decodes every component: a decode of a subset
  // (opj_set_decoded_components), even of components 0-2 together, leaves them untransformed.
  // So a window that wants one of components 0-2 of a transformed image decodes all of them,
  // and every component's samples come from a decode of that same kind whichever subset asked.
  const bool joined = info_.mct() && n >= 3;
  p.decoded = p.wanted;
  if (joined && p.wanted.front() < 3) {
    p.decoded.resize(n);
    std::iota(p.decoded.begin(), p.decoded.end(), 0u);
  }
  auto group_of = [&](std::uint32_t c) {
    return joined && c < 3 ? std::vector<std::uint32_t>{0, 1, 2} : std::vector<std::uint32_t>{c};
  };

  const cell_grid& g = *p.grid;
  const cell_range range = cells_meeting(g, p.area);
  std::lock_guard lock(cache_.mutex);
  if (epoch_ != cache_.epoch) {  // the target changed: every sample held is void
    cells_.clear();
    epoch_ = cache_.epoch;
  }
  auto sk = cache_.skeleton();
  if (!sk) return fail(sk.error().code, sk.error().offset, "rebuild: " + sk.error().message);
  const codestream_skeleton& skeleton = **sk;
  const codestream_index& ix = skeleton.index();
  // OpenJPH decodes whole tiles, every component: all of them are decoded and kept.
  p.openjph = options_.openjph && !options_.jpt && g.tiles && ht_decodable(ix);
  if (p.openjph && p.decoded.size() < n) {
    p.decoded.resize(n);
    std::iota(p.decoded.begin(), p.decoded.end(), 0u);
  }
  cell_range missing{range.i1, range.j1, range.i0, range.j0};  // bounding box of the missing cells
  for (std::uint32_t j = range.j0; j < range.j1; ++j) {
    for (std::uint32_t i = range.i0; i < range.i1; ++i) {
      if (cell_empty(g, i, j)) continue;
      cell_state cs;
      cs.i = i;
      cs.j = j;
      for (std::size_t k = 0; k < p.decoded.size(); ++k) {
        const std::uint32_t c = p.decoded[k];
        // Components of one group share a stamp: the first of the group computes it.
        if (joined && c < 3 && k > 0 && p.decoded[k - 1] < 3)
          cs.stamps.push_back(cs.stamps.back());
        else
          cs.stamps.push_back(stamp_of(ix, g, i, j, group_of(c)));
      }
      for (std::uint32_t c : p.wanted) {
        const auto k = std::lower_bound(p.decoded.begin(), p.decoded.end(), c) - p.decoded.begin();
        auto plane = cells_.find(cell_key{g.cell(i, j), p.d, p.layers_key, c},
                                 *cs.stamps[static_cast<std::size_t>(k)]);
        cs.missing = cs.missing || !plane;
        cs.found.push_back(std::move(plane));
      }
      if (cs.missing && p.openjph)
        cs.tile_stream = skeleton.tile_codestream(cache_.cache, g.cell(i, j), w.layers);
      if (cs.missing) {
        p.any_missing = true;
        missing.i0 = std::min(missing.i0, i);
        missing.j0 = std::min(missing.j0, j);
        missing.i1 = std::max(missing.i1, i + 1);
        missing.j1 = std::max(missing.j1, j + 1);
      }
      p.cells.push_back(std::move(cs));
    }
  }
  if (missing.i0 < missing.i1 && !p.openjph) {
    window_spec spec;
    spec.discard_levels = p.d;
    spec.region = scale_down(cell_area(g, missing), p.d);
    if (p.decoded.size() < n) spec.comps = p.decoded;
    spec.layers = w.layers;
    p.codestream = skeleton.codestream(cache_.cache, w.layers, nullptr, &spec);
  }
  return {};
}

result<void> window_decoder::decode_missing(plan& p, decoded_window& out) {
  const cell_grid& g = *p.grid;
  const std::uint32_t d = p.d;
  std::vector<bool> missing(std::size_t{g.cols()} * g.rows(), false);
  std::vector<std::uint32_t> state_of(missing.size(), 0);
  for (std::uint32_t k = 0; k < p.cells.size(); ++k) {
    const auto& cs = p.cells[k];
    if (!cs.missing) continue;
    missing[g.cell(cs.i, cs.j)] = true;
    state_of[g.cell(cs.i, cs.j)] = k;
  }
  const auto threads = static_cast<std::uint32_t>(std::max(1, options_.threads));
  std::vector<cell_range> jobs;
  if (p.openjph) {  // one tile per job: OpenJPH decodes a tile's own codestream
    for (const auto& cs : p.cells)
      if (cs.missing) jobs.push_back(cell_range{cs.i, cs.j, cs.i + 1, cs.j + 1});
  } else {
    jobs = decode_jobs(g, missing, threads > 1 ? 2 * threads : 1);
  }
  const auto workers = std::min<std::uint32_t>(threads, static_cast<std::uint32_t>(jobs.size()));
  const int codec_threads = jobs.size() >= threads ? 1 : static_cast<int>(threads / jobs.size());

  std::atomic<std::uint64_t> cached_bytes{0};  // what this call put in the tile cache
  std::mutex failure_mutex;
  std::optional<error> failure;

  auto decode_job = [&](const cell_range& r) {
    area_request rq;
    rq.area = cell_area(g, r);
    rq.discard_levels = d;
    rq.layers = p.layers;
    if (p.decoded.size() < info_.num_components()) rq.comps = p.decoded;
    rq.threads = codec_threads;
    bytes_view stream(p.codestream.data(), p.codestream.size());
    result<decoded_area> a;
    bool by_openjph = false;
    if (p.openjph) {
      const auto& ts = p.cells[state_of[g.cell(r.i0, r.j0)]].tile_stream;
      stream = bytes_view(ts.data(), ts.size());
      a = decode_tile_openjph(stream, info_.siz(), rq.area, d);
      by_openjph = a.has_value();
    }
    // OpenJPEG, also where OpenJPH failed.
    if (!by_openjph) a = decode_area(stream, info_.siz(), rq);
    if (!a) {
      std::lock_guard lock(failure_mutex);
      if (!failure) failure = a.error();
      return;
    }
    for (std::uint32_t j = r.j0; j < r.j1; ++j) {
      for (std::uint32_t i = r.i0; i < r.i1; ++i) {
        if (!missing[g.cell(i, j)]) continue;
        const cell_state& cs = p.cells[state_of[g.cell(i, j)]];
        for (const auto& pl : a->planes) {
          const auto& ci = info_.component(pl.component);
          const rect c = at_level(cell_area(g, i, j), ci.XRsiz, ci.YRsiz, d);
          if (c.empty()) continue;
          const auto cx0 = static_cast<std::uint64_t>(c.x0), cy0 = static_cast<std::uint64_t>(c.y0);
          sample_view cell{cx0,
                           cy0,
                           static_cast<std::uint64_t>(c.width()),
                           static_cast<std::uint64_t>(c.height()),
                           pl.stride,
                           pl.samples + (cy0 - pl.y0) * pl.stride + (cx0 - pl.x0)};
          cells_decoded_.fetch_add(1, std::memory_order_relaxed);
          if (by_openjph) cells_decoded_openjph_.fetch_add(1, std::memory_order_relaxed);
          const auto k =
              std::lower_bound(p.wanted.begin(), p.wanted.end(), pl.component) - p.wanted.begin();
          if (k < static_cast<std::ptrdiff_t>(p.wanted.size()) &&
              p.wanted[static_cast<std::size_t>(k)] == pl.component) {
            auto& dst = out.planes[static_cast<std::size_t>(k)];
            const rect a = at_level(p.area, ci.XRsiz, ci.YRsiz, d);
            copy_overlap(cell, dst, a.x0, a.y0);
          }
          // Keep the cell, unless this call has already filled the cache (it would evict its own).
          const std::uint64_t bytes = cell.width * cell.height * sizeof(std::int32_t);
          if (cached_bytes.fetch_add(bytes) + bytes > options_.cache_bytes) continue;
          auto cp = std::make_shared<cell_plane>();
          cp->width = static_cast<std::uint32_t>(cell.width);
          cp->height = static_cast<std::uint32_t>(cell.height);
          cp->samples.resize(cell.width * cell.height);
          for (std::uint64_t y = 0; y < cell.height; ++y)
            std::memcpy(cp->samples.data() + y * cell.width, cell.data + y * cell.stride,
                        cell.width * sizeof(std::int32_t));
          const auto kd = std::lower_bound(p.decoded.begin(), p.decoded.end(), pl.component) -
                          p.decoded.begin();
          cells_.insert(cell_key{g.cell(i, j), d, p.layers_key, pl.component},
                        cs.stamps[static_cast<std::size_t>(kd)], std::move(cp));
        }
      }
    }
  };

  auto run_job = [&](const cell_range& r) {
    try {
      decode_job(r);
    } catch (
        const std::exception& e) {  // std::bad_alloc above all: fail this decode, not the process
      std::lock_guard lock(failure_mutex);
      if (!failure) failure = error{errc::limit, no_offset, std::string("decoding: ") + e.what()};
    }
  };
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t k; (k = next.fetch_add(1)) < jobs.size();) run_job(jobs[k]);
  };
  std::vector<std::thread> pool;
  for (std::uint32_t t = 1; t < workers; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (failure) return fail(*failure);
  return {};
}

result<decoded_window> window_decoder::decode(const window& w) {
  plan p;
  PIPIT_TRY(make_plan(w, p));
  const std::uint32_t d = p.d;
  decoded_window out;
  for (std::uint32_t c : p.wanted) {
    const auto& ci = info_.component(c);
    decoded_window::plane pl;
    pl.component = c;
    const rect a = at_level(p.area, ci.XRsiz, ci.YRsiz, d);
    pl.width = static_cast<std::uint32_t>(a.width());
    pl.height = static_cast<std::uint32_t>(a.height());
    pl.samples.resize(std::size_t{pl.width} * pl.height);
    out.planes.push_back(std::move(pl));
  }
  const cell_grid& g = *p.grid;
  for (const auto& cs : p.cells) {
    if (cs.missing) continue;
    for (std::size_t k = 0; k < p.wanted.size(); ++k) {
      const auto& ci = info_.component(p.wanted[k]);
      const rect c = at_level(cell_area(g, cs.i, cs.j), ci.XRsiz, ci.YRsiz, d);
      const rect a = at_level(p.area, ci.XRsiz, ci.YRsiz, d);
      copy_overlap(view_of(*cs.found[k], c.x0, c.y0), out.planes[k], a.x0, a.y0);
    }
  }
  if (p.any_missing) PIPIT_TRY(decode_missing(p, out));
  return out;
}

}  // namespace pipit::client
