#include "pipit/geometry.hpp"

#include <algorithm>

namespace pipit {

std::int64_t ceil_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  return (a % b != 0 && a > 0) ? q + 1 : q;
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

rect intersect(const rect& a, const rect& b) {
  return rect{std::max(a.x0, b.x0), std::max(a.y0, b.y0), std::min(a.x1, b.x1),
              std::min(a.y1, b.y1)};
}

precinct_grid make_precinct_grid(const rect& res, unsigned PPx, unsigned PPy) {
  precinct_grid g;
  g.PPx = static_cast<std::uint8_t>(PPx);
  g.PPy = static_cast<std::uint8_t>(PPy);
  g.ix0 = floor_div_pow2(res.x0, PPx);
  g.iy0 = floor_div_pow2(res.y0, PPy);
  if (res.empty()) return g;
  g.nx = static_cast<std::uint32_t>(ceil_div_pow2(res.x1, PPx) - g.ix0);
  g.ny = static_cast<std::uint32_t>(ceil_div_pow2(res.y1, PPy) - g.iy0);
  return g;
}

rect precinct_rect(const precinct_grid& g, const rect& res, std::uint32_t i, std::uint32_t j) {
  rect p{(g.ix0 + i) << g.PPx, (g.iy0 + j) << g.PPy, (g.ix0 + i + 1) << g.PPx,
         (g.iy0 + j + 1) << g.PPy};
  return intersect(p, res);
}

rect tile_component_rect(const rect& tile, unsigned XRsiz, unsigned YRsiz) {
  return rect{ceil_div(tile.x0, XRsiz), ceil_div(tile.y0, YRsiz), ceil_div(tile.x1, XRsiz),
              ceil_div(tile.y1, YRsiz)};
}

rect resolution_rect(const rect& tc, unsigned NL, unsigned r) { return scale_down(tc, NL - r); }

rect band_rect(const rect& tc, unsigned NL, unsigned r, band_kind b) {
  if (r == 0) return resolution_rect(tc, NL, 0);
  unsigned nb = NL - r + 1;
  std::int64_t xo = (b == band_kind::HL || b == band_kind::HH) ? 1 : 0;
  std::int64_t yo = (b == band_kind::LH || b == band_kind::HH) ? 1 : 0;
  std::int64_t half = std::int64_t{1} << (nb - 1);
  return rect{ceil_div_pow2(tc.x0 - half * xo, nb), ceil_div_pow2(tc.y0 - half * yo, nb),
              ceil_div_pow2(tc.x1 - half * xo, nb), ceil_div_pow2(tc.y1 - half * yo, nb)};
}

block_span precinct_band_blocks(const precinct_grid& g, std::uint32_t i, std::uint32_t j,
                                unsigned r, const rect& band, unsigned xcb, unsigned ycb) {
  // The precinct partition seen in band coordinates halves the precinct size for r > 0.
  unsigned ex = r == 0 ? g.PPx : g.PPx - 1u;
  unsigned ey = r == 0 ? g.PPy : g.PPy - 1u;
  rect p{(g.ix0 + i) << ex, (g.iy0 + j) << ey, (g.ix0 + i + 1) << ex, (g.iy0 + j + 1) << ey};
  rect q = intersect(p, band);
  block_span s;
  if (q.empty()) return s;
  unsigned cx = std::min(xcb, ex), cy = std::min(ycb, ey);
  s.nx = static_cast<std::uint32_t>(ceil_div_pow2(q.x1, cx) - floor_div_pow2(q.x0, cx));
  s.ny = static_cast<std::uint32_t>(ceil_div_pow2(q.y1, cy) - floor_div_pow2(q.y0, cy));
  return s;
}

}  // namespace pipit
