#include "window_bins.hpp"

#include <algorithm>
#include <climits>

#include "pipit/databins.hpp"
#include "pipit/geometry.hpp"
#include "pipit/window.hpp"

namespace pipit::client {

window_spec spec_for_window(std::uint32_t XOsiz, std::uint32_t YOsiz, const window& w) {
  window_spec spec;
  spec.discard_levels = w.discard_levels;
  spec.region = translate(w.region, ceil_div_pow2(XOsiz, w.discard_levels),
                          ceil_div_pow2(YOsiz, w.discard_levels));
  spec.comps = w.comps;
  spec.layers = w.layers;
  return spec;
}

window_bins bins_for_window(const codestream_index& cs, std::uint32_t csn, bool is_jp2,
                            const window& w, bool jpt) {
  window_bins out;
  const window_spec spec = spec_for_window(cs.siz.XOsiz, cs.siz.YOsiz, w);
  if (is_jp2) out.headers.push_back(bin_id{bin_kind::metadata, 0, 0});
  out.headers.push_back(bin_id{bin_kind::main_header, csn, 0});
  if (jpt) {
    for (std::uint32_t t : window_tiles(cs, spec))
      out.precincts.push_back(bin_id{bin_kind::tile, csn, t});
    return out;
  }
  for (std::uint32_t t : window_tiles(cs, spec))
    out.headers.push_back(bin_id{bin_kind::tile_header, csn, t});
  const std::uint64_t nc = cs.num_components(), nt = cs.tiles.size();
  for (const window_precinct& p : window_precincts(cs, spec)) {
    const tile_entry& te = cs.tiles[p.tile];
    const std::uint64_t s = p.slot - te.comp_slot_base(p.component);
    out.precincts.push_back(
        bin_id{bin_kind::precinct, csn, precinct_bin_id(p.tile, p.component, s, nc, nt)});
    out.places.push_back(p);
  }
  return out;
}

missing_bins missing_for_window(const databin_cache& cache, const window_bins& bins,
                                bool layers_limited) {
  missing_bins m;
  for (const auto& b : bins.headers)
    if (!cache.is_complete(b)) m.headers.push_back(b);
  for (std::size_t i = 0; i < bins.precincts.size(); ++i) {
    const bin_id& b = bins.precincts[i];
    if (cache.is_complete(b)) continue;
    if (layers_limited && !cache.contiguous_prefix(b).empty()) continue;
    m.precincts.push_back(i);
  }
  return m;
}

std::optional<window> fill_window(const codestream_index& cs, const window_bins& bins,
                                  const missing_bins& missing, const window& w) {
  if (missing.precincts.empty() || bins.places.size() != bins.precincts.size()) return std::nullopt;
  // The lowest resolution missing: the most levels discarded to make it a frame's top.
  auto level_of = [&](const window_precinct& p) {
    const unsigned levels = cs.tiles[p.tile].coding.components[p.component].levels;
    return levels - std::min<unsigned>(levels, p.resolution);
  };
  unsigned d = 0;
  for (std::size_t i : missing.precincts) d = std::max(d, level_of(bins.places[i]));
  // The union of their areas on the reference grid reduced by 2^d.
  rect area{INT64_MAX, INT64_MAX, INT64_MIN, INT64_MIN};
  for (std::size_t i : missing.precincts) {
    const window_precinct& p = bins.places[i];
    if (level_of(p) != d) continue;
    const tile_entry& te = cs.tiles[p.tile];
    const auto& ri = te.res(p.component, p.resolution);
    const std::uint32_t k = p.slot - ri.slot_base;
    const rect pr = precinct_rect(ri.grid, ri.area, k % ri.grid.nx, k / ri.grid.nx);
    const auto& sc = cs.siz.components[p.component];
    area.x0 = std::min<std::int64_t>(area.x0, pr.x0 * sc.XRsiz);
    area.y0 = std::min<std::int64_t>(area.y0, pr.y0 * sc.YRsiz);
    area.x1 = std::max<std::int64_t>(area.x1, pr.x1 * sc.XRsiz);
    area.y1 = std::max<std::int64_t>(area.y1, pr.y1 * sc.YRsiz);
  }
  // A tile with more levels than the image's minimum: its resolution lies below the coarsest
  // frame, which holds it too (scaled down).
  const std::uint32_t levels = cs.levels();
  while (d > levels) {
    area = rect{floor_div(area.x0, 2), floor_div(area.y0, 2), ceil_div(area.x1, 2),
                ceil_div(area.y1, 2)};
    --d;
  }
  const std::int64_t ox = ceil_div_pow2(cs.siz.XOsiz, d), oy = ceil_div_pow2(cs.siz.YOsiz, d);
  const std::int64_t fw = cs.siz.width_at(d), fh = cs.siz.height_at(d);
  const std::int64_t x0 = std::clamp<std::int64_t>(area.x0 - ox, 0, fw - 1);
  const std::int64_t y0 = std::clamp<std::int64_t>(area.y0 - oy, 0, fh - 1);
  const std::int64_t x1 = std::clamp<std::int64_t>(area.x1 - ox, x0 + 1, fw);
  const std::int64_t y1 = std::clamp<std::int64_t>(area.y1 - oy, y0 + 1, fh);
  window out;
  out.discard_levels = d;
  out.region = rect{x0, y0, x1, y1};
  out.comps = w.comps;
  out.layers = w.layers;
  return out;
}

bool window_in_cache(const databin_cache& cache, const window_bins& bins) {
  for (const auto& b : bins.headers)
    if (!cache.is_complete(b)) return false;
  for (const auto& b : bins.precincts)
    if (!cache.is_complete(b)) return false;
  return true;
}

namespace {

model_item explicit_item(const bin_id& b, bool subtractive) {
  model_item it;
  it.subtractive = subtractive;
  it.bins = explicit_bins{b.kind, b.id};
  return it;
}

std::size_t item_chars(const model_item& it) {
  const auto& e = std::get<explicit_bins>(it.bins);
  return 4 + std::to_string(e.id.value_or(0)).size() +
         (it.limit_kind == model_limit_kind::bytes ? 1 + std::to_string(it.limit).size() : 0);
}

}  // namespace

std::optional<cache_model_spec> model_for(const databin_cache& cache, const window_bins& bins,
                                          std::set<bin_id>* declared,
                                          const std::vector<bin_id>& evicted,
                                          std::size_t max_chars) {
  cache_model_spec spec;
  std::size_t chars = 0;
  auto consider = [&](const bin_id& b) {
    if (chars > max_chars) return;
    if (declared != nullptr && declared->count(b) != 0) return;
    model_item it = explicit_item(b, false);
    if (cache.is_complete(b)) {
      // whole bin
    } else {
      const auto n = cache.contiguous_prefix(b).size();
      if (n == 0) return;
      it.limit_kind = model_limit_kind::bytes;
      it.limit = n;
    }
    if (declared != nullptr && it.limit_kind == model_limit_kind::whole) declared->insert(b);
    chars += item_chars(it);
    spec.items.push_back(std::move(it));
  };
  for (const auto& b : bins.headers) consider(b);
  for (const auto& b : bins.precincts) consider(b);
  for (const auto& b : evicted) {
    if (declared != nullptr) declared->erase(b);
    spec.items.push_back(explicit_item(b, true));
  }
  if (spec.items.empty()) return std::nullopt;
  return spec;
}

}  // namespace pipit::client
