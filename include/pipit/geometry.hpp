// Reference-grid geometry of a JPEG 2000 codestream (ISO/IEC 15444-1 Annex B).
//
// Pure functions from SIZ and coding-style parameters to rectangles: tiles (B.3), tile-components
// (B.3), resolution levels (B.5), sub-bands (B.5), precinct partitions (B.6) and code-block
// partitions (B.7). All rectangles are half-open [x0, x1) x [y0, y1) in 64-bit integers, so no
// valid 32-bit SIZ can overflow them.
//
// `rect` is the one rectangle of Pipit: on the reference grid, on a grid reduced by 2^d (a
// view-window's region), in a frame (a client's window), or of samples of a component.
//
// Thread-safety: stateless functions.
#pragma once

#include <cstdint>

namespace pipit {

struct rect {
  std::int64_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  std::int64_t width() const { return x1 > x0 ? x1 - x0 : 0; }
  std::int64_t height() const { return y1 > y0 ? y1 - y0 : 0; }
  bool empty() const { return x1 <= x0 || y1 <= y0; }
  friend bool operator==(const rect&, const rect&) = default;
};

// ceil(a / b) and floor(a / b) for b > 0, correct for negative a.
std::int64_t ceil_div(std::int64_t a, std::int64_t b);
std::int64_t floor_div(std::int64_t a, std::int64_t b);
inline std::int64_t ceil_div_pow2(std::int64_t a, unsigned e) {
  return ceil_div(a, std::int64_t{1} << e);
}
inline std::int64_t floor_div_pow2(std::int64_t a, unsigned e) {
  return floor_div(a, std::int64_t{1} << e);
}

rect intersect(const rect& a, const rect& b);

// True when every point of `inner` is in `outer` (compared by coordinates: `inner` is not empty).
inline bool contains(const rect& outer, const rect& inner) {
  return outer.x0 <= inner.x0 && outer.y0 <= inner.y0 && inner.x1 <= outer.x1 &&
         inner.y1 <= outer.y1;
}

// `r` moved by (dx, dy).
inline rect translate(const rect& r, std::int64_t dx, std::int64_t dy) {
  return rect{r.x0 + dx, r.y0 + dy, r.x1 + dx, r.y1 + dy};
}

// `r` on the grid reduced by 2^d: every coordinate ceil(v / 2^d), as B-14 maps a tile-component
// to a resolution and a full-resolution area to the frame at d discarded levels.
inline rect scale_down(const rect& r, unsigned d) {
  return rect{ceil_div_pow2(r.x0, d), ceil_div_pow2(r.y0, d), ceil_div_pow2(r.x1, d),
              ceil_div_pow2(r.y1, d)};
}

// `r` of the grid reduced by 2^d on the full grid: every coordinate v * 2^d.
inline rect scale_up(const rect& r, unsigned d) {
  return rect{r.x0 * (std::int64_t{1} << d), r.y0 * (std::int64_t{1} << d),
              r.x1 * (std::int64_t{1} << d), r.y1 * (std::int64_t{1} << d)};
}

// A resolution level's precinct partition: `nx` x `ny` precincts of 2^PPx x 2^PPy samples,
// the first one at absolute precinct index (`ix0`, `iy0`), i.e. anchored at sample ix0 << PPx.
struct precinct_grid {
  std::uint32_t nx = 0, ny = 0;
  std::int64_t ix0 = 0, iy0 = 0;
  std::uint8_t PPx = 15, PPy = 15;
  std::uint64_t count() const { return std::uint64_t{nx} * ny; }
};

// The partition of resolution rectangle `res` into precincts of 2^PPx x 2^PPy (B.6).
precinct_grid make_precinct_grid(const rect& res, unsigned PPx, unsigned PPy);

// Sample rectangle of precinct (i, j) of the grid, clipped to `res`.
rect precinct_rect(const precinct_grid& g, const rect& res, std::uint32_t i, std::uint32_t j);

// Tile-component rectangle from a tile rectangle and the component's sub-sampling (B-12).
rect tile_component_rect(const rect& tile, unsigned XRsiz, unsigned YRsiz);

// Rectangle of resolution r (0..NL) of a tile-component with NL decomposition levels (B-14).
rect resolution_rect(const rect& tile_comp, unsigned NL, unsigned r);

// Sub-band orientation: LL for resolution 0, HL, LH, HH for the others (B.5).
enum class band_kind : std::uint8_t { LL = 0, HL = 1, LH = 2, HH = 3 };

// Rectangle of a sub-band of resolution r of a tile-component (B-15).
rect band_rect(const rect& tile_comp, unsigned NL, unsigned r, band_kind b);

// Number of code-blocks (columns, rows) of one sub-band that fall in precinct (i, j) of
// resolution r, with code-block exponents xcb, ycb (B.7). Zero when the intersection is empty.
struct block_span {
  std::uint32_t nx = 0, ny = 0;
  std::uint64_t count() const { return std::uint64_t{nx} * ny; }
};
block_span precinct_band_blocks(const precinct_grid& g, std::uint32_t i, std::uint32_t j,
                                unsigned r, const rect& band, unsigned xcb, unsigned ycb);

}  // namespace pipit
