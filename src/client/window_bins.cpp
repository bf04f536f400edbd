#include "window_bins.hpp"

#include "pipit/databins.hpp"
#include "pipit/window.hpp"

namespace pipit::client {

window_spec spec_for_window(std::uint32_t XOsiz, std::uint32_t YOsiz, const window& w) {
  window_spec spec;
  spec.discard_levels = w.discard_levels;
  const std::uint64_t scale = std::uint64_t{1} << w.discard_levels;
  const std::uint64_t x0 = (XOsiz + scale - 1) / scale + w.x;
  const std::uint64_t y0 = (YOsiz + scale - 1) / scale + w.y;
  spec.region = grid_rect{x0, y0, x0 + w.w, y0 + w.h};
  spec.comps = w.comps;
  spec.layers = w.layers;
  return spec;
}

window_bins bins_for_window(const codestream_index& cs, bool is_jp2, const window& w) {
  window_bins out;
  const window_spec spec = spec_for_window(cs.siz.XOsiz, cs.siz.YOsiz, w);
  if (is_jp2) out.headers.push_back(bin_id{bin_kind::metadata, 0, 0});
  out.headers.push_back(bin_id{bin_kind::main_header, 0, 0});
  for (std::uint32_t t : window_tiles(cs, spec))
    out.headers.push_back(bin_id{bin_kind::tile_header, 0, t});
  const std::uint64_t nc = cs.num_components(), nt = cs.tiles.size();
  for (const window_precinct& p : window_precincts(cs, spec)) {
    const tile_entry& te = cs.tiles[p.tile];
    const std::uint64_t s = p.slot - te.comp_slot_base(p.component);
    out.precincts.push_back(
        bin_id{bin_kind::precinct, 0, precinct_bin_id(p.tile, p.component, s, nc, nt)});
  }
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
