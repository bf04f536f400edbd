#include "packet_order.hpp"

#include <algorithm>
#include <string>

namespace pipit::detail {

result<void> layout_tile(const image_size& siz, tile_entry& tile, std::uint64_t max_slots,
                         std::uint64_t offset) {
  const auto& comps = tile.coding.components;
  tile.comp_res_base.assign(comps.size() + 1, 0);
  tile.resolutions.clear();
  std::uint64_t slots = 0;
  for (std::size_t c = 0; c < comps.size(); ++c) {
    tile.comp_res_base[c] = static_cast<std::uint32_t>(tile.resolutions.size());
    const auto& cc = comps[c];
    rect tc = tile_component_rect(tile.area, siz.components[c].XRsiz, siz.components[c].YRsiz);
    for (unsigned r = 0; r <= cc.levels; ++r) {
      tile_entry::resolution_info ri;
      ri.area = resolution_rect(tc, cc.levels, r);
      ri.grid = make_precinct_grid(ri.area, cc.PPx[r], cc.PPy[r]);
      ri.slot_base = static_cast<std::uint32_t>(slots);
      slots += ri.grid.count();
      if (slots > max_slots)
        return fail(errc::limit, offset,
                    "tile declares more than " + std::to_string(max_slots) + " precincts");
      tile.resolutions.push_back(ri);
    }
  }
  tile.comp_res_base[comps.size()] = static_cast<std::uint32_t>(tile.resolutions.size());
  tile.num_slots = static_cast<std::uint32_t>(slots);
  return {};
}

namespace {

struct volume {
  unsigned l_end, r_begin, r_end, c_begin, c_end;
  progression order;
};

// Reference-grid coordinate at which the position loops of B.12.1.3-5 reach precinct index k
// (absolute) of a resolution whose samples are `sub` reference-grid units apart.
std::int64_t position_key(std::int64_t k, std::int64_t sub, unsigned pp, std::int64_t t0) {
  std::int64_t period = sub << pp;
  std::int64_t v = k * period;
  return std::max(v, t0);
}

struct positioned {
  std::int64_t y, x;
  std::uint32_t slot, precinct;
  std::uint16_t c;
  std::uint8_t r;
};

static_assert(sizeof(positioned) + sizeof(std::uint16_t) + sizeof(void*) <=
              sequence_bytes_per_slot);

class sequencer {
 public:
  sequencer(const image_size& siz, const tile_entry& tile, std::size_t limit)
      : siz_(siz), tile_(tile), limit_(limit), next_layer_(tile.num_slots, 0) {}

  bool full() const { return out.size() >= limit_; }

  void run(const volume& v) {
    if (full()) return;
    switch (v.order) {
      case progression::LRCP:
        for (unsigned l = 0; l < v.l_end && !full(); ++l)
          for (unsigned r = v.r_begin; r < v.r_end; ++r)
            for (unsigned c = v.c_begin; c < v.c_end; ++c) raster(c, r, l);
        break;
      case progression::RLCP:
        for (unsigned r = v.r_begin; r < v.r_end && !full(); ++r)
          for (unsigned l = 0; l < v.l_end && !full(); ++l)
            for (unsigned c = v.c_begin; c < v.c_end; ++c) raster(c, r, l);
        break;
      default: positional(v); break;
    }
  }

  std::vector<packet_ref> out;

 private:
  void emit(std::uint32_t slot, std::uint32_t p, unsigned c, unsigned r, unsigned l) {
    if (next_layer_[slot] != l || full()) return;
    next_layer_[slot] = static_cast<std::uint16_t>(l + 1);
    out.push_back(packet_ref{slot, p, static_cast<std::uint16_t>(c), static_cast<std::uint16_t>(l),
                             static_cast<std::uint8_t>(r)});
  }

  void raster(unsigned c, unsigned r, unsigned l) {
    if (r > tile_.coding.components[c].levels) return;
    const auto& ri = tile_.res(c, r);
    const auto n = static_cast<std::uint32_t>(ri.grid.count());
    for (std::uint32_t p = 0; p < n && !full(); ++p) emit(ri.slot_base + p, p, c, r, l);
  }

  void positional(const volume& v) {
    std::vector<positioned> list;
    for (unsigned c = v.c_begin; c < v.c_end; ++c) {
      const auto& cc = tile_.coding.components[c];
      for (unsigned r = v.r_begin; r < v.r_end && r <= cc.levels; ++r) {
        const auto& ri = tile_.res(c, r);
        const std::int64_t sx = std::int64_t{siz_.components[c].XRsiz} << (cc.levels - r);
        const std::int64_t sy = std::int64_t{siz_.components[c].YRsiz} << (cc.levels - r);
        for (std::uint32_t j = 0; j < ri.grid.ny; ++j) {
          std::int64_t y = position_key(ri.grid.iy0 + j, sy, ri.grid.PPy, tile_.area.y0);
          for (std::uint32_t i = 0; i < ri.grid.nx; ++i) {
            std::int64_t x = position_key(ri.grid.ix0 + i, sx, ri.grid.PPx, tile_.area.x0);
            std::uint32_t p = j * ri.grid.nx + i;
            list.push_back(positioned{y, x, ri.slot_base + p, p, static_cast<std::uint16_t>(c),
                                      static_cast<std::uint8_t>(r)});
          }
        }
      }
    }
    auto key = [&](const positioned& a) {
      switch (v.order) {
        case progression::RPCL: return std::tuple(std::int64_t{a.r}, a.y, a.x, std::int64_t{a.c});
        case progression::PCRL: return std::tuple(a.y, a.x, std::int64_t{a.c}, std::int64_t{a.r});
        default: return std::tuple(std::int64_t{a.c}, a.y, a.x, std::int64_t{a.r});  // CPRL
      }
    };
    std::stable_sort(list.begin(), list.end(),
                     [&](const positioned& a, const positioned& b) { return key(a) < key(b); });
    for (const auto& e : list)
      for (unsigned l = next_layer_[e.slot]; l < v.l_end && !full(); ++l)
        emit(e.slot, e.precinct, e.c, e.r, l);
  }

  const image_size& siz_;
  const tile_entry& tile_;
  std::size_t limit_;
  std::vector<std::uint16_t> next_layer_;
};

}  // namespace

std::vector<packet_ref> packet_sequence(const image_size& siz, const tile_entry& tile,
                                        std::size_t* required, std::size_t limit) {
  sequencer seq(siz, tile, limit);
  const auto& tc = tile.coding;
  const auto ncomp = static_cast<unsigned>(tc.components.size());
  const volume all{tc.layers, 0, tc.max_levels() + 1u, 0, ncomp, tc.order};
  if (!tc.pocs.empty()) {
    for (const auto& e : tc.pocs) {
      volume v{std::min<unsigned>(e.LYEpoc, tc.layers), e.RSpoc,
               std::min<unsigned>(e.REpoc, all.r_end),  e.CSpoc,
               std::min<unsigned>(e.CEpoc, ncomp),      e.Ppoc};
      if (v.r_begin < v.r_end && v.c_begin < v.c_end) seq.run(v);
    }
  }
  if (!tc.pocs.empty()) *required = seq.out.size();
  seq.run(all);
  if (tc.pocs.empty()) *required = seq.out.size();
  return std::move(seq.out);
}

}  // namespace pipit::detail
