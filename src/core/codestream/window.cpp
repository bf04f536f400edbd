#include "pipit/window.hpp"

#include <algorithm>
#include <tuple>

namespace pipit {
namespace {

constexpr std::int64_t filter_reach = 3;  // sub-band samples the synthesis filters reach

// The window on the full-resolution reference grid.
rect full_region(const window_spec& w) { return scale_up(w.region, w.discard_levels); }

bool wanted(const window_spec& w, std::uint32_t c) {
  return w.comps.empty() || std::find(w.comps.begin(), w.comps.end(), c) != w.comps.end();
}

}  // namespace

image_geometry geometry_of(const codestream_index& cs) {
  image_geometry g;
  g.Xsiz = cs.siz.Xsiz;
  g.Ysiz = cs.siz.Ysiz;
  g.XOsiz = cs.siz.XOsiz;
  g.YOsiz = cs.siz.YOsiz;
  g.NL = cs.levels();
  return g;
}

std::vector<std::uint32_t> window_tiles(const codestream_index& cs, const window_spec& w) {
  std::vector<std::uint32_t> out;
  const rect full = full_region(w);
  if (full.empty()) return out;
  for (std::uint32_t t = 0; t < cs.tiles.size(); ++t)
    if (!intersect(cs.tiles[t].area, full).empty()) out.push_back(t);
  return out;
}

std::vector<precinct_block> window_precinct_blocks(const codestream_index& cs,
                                                   const window_spec& w) {
  // Each tile-component's precinct rectangle per resolution, found from the highest resolution
  // down (a lower one must cover what the higher one's synthesis reaches), then ordered by
  // resolution, component, tile (and slot, row-major within a block) without sorting.
  std::vector<precinct_block> blocks;
  const rect full = full_region(w);
  for (std::uint32_t t : window_tiles(cs, w)) {
    const tile_entry& te = cs.tiles[t];
    for (std::uint32_t c = 0; c < cs.num_components(); ++c) {
      if (!wanted(w, c)) continue;
      const auto& cc = te.coding.components[c];
      const unsigned rmax = w.discard_levels >= cc.levels ? 0 : cc.levels - w.discard_levels;
      // The window on this tile-component's grid at resolution rmax.
      const std::int64_t sx = std::int64_t{cs.siz.components[c].XRsiz} << (cc.levels - rmax);
      const std::int64_t sy = std::int64_t{cs.siz.components[c].YRsiz} << (cc.levels - rmax);
      rect need{floor_div(full.x0, sx), floor_div(full.y0, sy), ceil_div(full.x1, sx),
                ceil_div(full.y1, sy)};
      for (unsigned r = rmax + 1; r-- > 0;) {
        const auto& ri = te.res(c, r);
        const auto& g = ri.grid;
        rect cover;  // the precinct partition's units: resolution samples at r = 0, band samples
                     // above
        unsigned ex, ey;
        if (r == 0) {
          cover = need;
          ex = g.PPx;
          ey = g.PPy;
        } else {
          cover = rect{floor_div(need.x0, 2) - filter_reach, floor_div(need.y0, 2) - filter_reach,
                       ceil_div(need.x1, 2) + filter_reach, ceil_div(need.y1, 2) + filter_reach};
          ex = g.PPx - 1u;
          ey = g.PPy - 1u;
        }
        if (g.count() > 0 && !cover.empty()) {
          const std::int64_t i0 = std::max<std::int64_t>(floor_div_pow2(cover.x0, ex) - g.ix0, 0);
          const std::int64_t j0 = std::max<std::int64_t>(floor_div_pow2(cover.y0, ey) - g.iy0, 0);
          const std::int64_t i1 =
              std::min<std::int64_t>(floor_div_pow2(cover.x1 - 1, ex) - g.ix0 + 1, g.nx);
          const std::int64_t j1 =
              std::min<std::int64_t>(floor_div_pow2(cover.y1 - 1, ey) - g.iy0 + 1, g.ny);
          if (i0 < i1 && j0 < j1)
            blocks.push_back(precinct_block{
                t, ri.slot_base, g.nx, static_cast<std::uint16_t>(c), static_cast<std::uint8_t>(r),
                static_cast<std::uint32_t>(i0), static_cast<std::uint32_t>(j0),
                static_cast<std::uint32_t>(i1), static_cast<std::uint32_t>(j1)});
        }
        // The lower resolution's LL band must be decoded over the grown region.
        need = r == 0 ? need : cover;
      }
    }
  }
  // Blocks are in (tile, component, resolution descending) order; a stable counting sort by
  // (resolution, component) keeps tiles ascending.
  const std::size_t nc = cs.num_components();
  std::size_t keys = 0;
  for (const precinct_block& b : blocks)
    keys = std::max<std::size_t>(keys, (b.resolution + 1u) * nc);
  std::vector<std::uint32_t> first(keys + 1, 0);
  for (const precinct_block& b : blocks) ++first[b.resolution * nc + b.component + 1];
  for (std::size_t k = 1; k <= keys; ++k) first[k] += first[k - 1];
  std::vector<precinct_block> out(blocks.size());
  for (const precinct_block& b : blocks) out[first[b.resolution * nc + b.component]++] = b;
  return out;
}

std::vector<window_precinct> window_precincts(const codestream_index& cs, const window_spec& w) {
  const std::vector<precinct_block> blocks = window_precinct_blocks(cs, w);
  std::size_t count = 0;
  for (const precinct_block& b : blocks) count += static_cast<std::size_t>(b.count());
  std::vector<window_precinct> out;
  out.reserve(count);
  for (const precinct_block& b : blocks)
    for (std::uint32_t j = b.j0; j < b.j1; ++j)
      for (std::uint32_t i = b.i0; i < b.i1; ++i)
        out.push_back(
            window_precinct{b.tile, b.slot_base + j * b.nx + i, b.component, b.resolution});
  return out;
}

window_spec window_from_request(const codestream_index& cs, const jpip_request& rq,
                                served_window* served) {
  window_spec w;
  const image_geometry g = geometry_of(cs);
  served_window sw;
  if (rq.fsiz) {
    sw = map_view_window(g, *rq.fsiz, rq.roff, rq.rsiz);
  } else {
    sw.resolution = frame_at(g, 0);
    sw.rsiz = point{sw.resolution.fx, sw.resolution.fy};
  }
  w.discard_levels = sw.resolution.discard_levels;
  w.region = sw.grid_region(g);
  if (rq.comps) {
    const std::uint32_t nc = cs.num_components();
    for (std::uint32_t c = 0; c < nc; ++c)
      for (const auto& r : *rq.comps)
        if (r.contains(c)) {
          w.comps.push_back(c);
          break;
        }
    if (w.comps.empty())
      w.region = rect{};  // no component of interest: nothing to send
    else if (w.comps.size() == nc)
      w.comps.clear();
  }
  if (rq.layers) {
    w.layers = *rq.layers;
    w.no_precinct_data = *rq.layers == 0;
  }
  if (served) *served = sw;
  return w;
}

}  // namespace pipit
