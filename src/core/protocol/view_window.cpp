// Resolution choice and region mapping for a requested view-window (docs/jpip-notes.md §7.1-7.2).
#include "pipit/view_window.hpp"

#include <algorithm>

#include "pipit/geometry.hpp"

namespace pipit {
namespace {

std::uint64_t area(std::uint64_t x, std::uint64_t y) { return x * y; }

std::uint64_t distance(std::uint64_t a, std::uint64_t b) { return a > b ? a - b : b - a; }

struct axis_map {
  std::uint32_t offset;
  std::uint32_t size;
};

// One axis of the §7.2 mapping from a requested frame of `req` samples to one of `got`.
// `size` is the requested region size, or none (`has_size` false: to the frame's end).
axis_map map_axis(std::uint32_t req, std::uint32_t got, std::uint32_t off, bool has_size,
                  std::uint32_t size) {
  if (req == 0 || off >= req) return {std::min(off, got), 0};
  // Clip the end to the requested frame first: it keeps the products below 2^64, and
  // ceil(req * got / req) = got is the clip the formula applies anyway.
  std::uint64_t end = has_size ? std::min<std::uint64_t>(std::uint64_t{off} + size, req) : req;
  std::uint64_t o = std::uint64_t{off} * got / req;
  std::uint64_t e = (end * got + req - 1) / req;
  e = std::min<std::uint64_t>(e, got);
  if (e <= o) return {static_cast<std::uint32_t>(std::min<std::uint64_t>(o, got)), 0};
  return {static_cast<std::uint32_t>(o), static_cast<std::uint32_t>(e - o)};
}

}  // namespace

resolution_choice frame_at(const image_geometry& g, std::uint32_t d) {
  resolution_choice r;
  r.discard_levels = d;
  r.fx = static_cast<std::uint32_t>(ceil_div_pow2(g.Xsiz, d) - ceil_div_pow2(g.XOsiz, d));
  r.fy = static_cast<std::uint32_t>(ceil_div_pow2(g.Ysiz, d) - ceil_div_pow2(g.YOsiz, d));
  return r;
}

resolution_choice choose_resolution(const image_geometry& g, const frame_size& fsiz) {
  // d = 0 is the largest frame, d = NL the smallest.
  switch (fsiz.round) {
    case round_direction::round_down:
      for (std::uint32_t d = 0; d <= g.NL; ++d) {
        resolution_choice r = frame_at(g, d);
        if (r.fx <= fsiz.fx && r.fy <= fsiz.fy) return r;
      }
      return frame_at(g, g.NL);
    case round_direction::round_up:
      for (std::uint32_t d = g.NL + 1; d-- > 0;) {
        resolution_choice r = frame_at(g, d);
        if (r.fx >= fsiz.fx && r.fy >= fsiz.fy) return r;
      }
      return frame_at(g, 0);
    case round_direction::closest: {
      const std::uint64_t want = area(fsiz.fx, fsiz.fy);
      resolution_choice best = frame_at(g, 0);
      std::uint64_t best_distance = distance(area(best.fx, best.fy), want);
      for (std::uint32_t d = 1; d <= g.NL; ++d) {
        resolution_choice r = frame_at(g, d);
        std::uint64_t dist = distance(area(r.fx, r.fy), want);
        if (dist < best_distance) {  // strictly: a tie keeps the larger frame
          best = r;
          best_distance = dist;
        }
      }
      return best;
    }
  }
  return frame_at(g, 0);
}

rect served_window::grid_region(const image_geometry& g) const {
  const std::uint32_t d = resolution.discard_levels;
  return translate(
      rect{roff.x, roff.y, std::int64_t{roff.x} + rsiz.x, std::int64_t{roff.y} + rsiz.y},
      ceil_div_pow2(g.XOsiz, d), ceil_div_pow2(g.YOsiz, d));
}

served_window map_view_window(const image_geometry& g, const frame_size& fsiz,
                              const std::optional<point>& roff, const std::optional<point>& rsiz) {
  served_window w;
  w.resolution = choose_resolution(g, fsiz);
  const point off = roff.value_or(point{});
  const point size = rsiz.value_or(point{});
  axis_map x = map_axis(fsiz.fx, w.resolution.fx, off.x, rsiz.has_value(), size.x);
  axis_map y = map_axis(fsiz.fy, w.resolution.fy, off.y, rsiz.has_value(), size.y);
  if (x.size == 0 || y.size == 0) {
    x.size = 0;
    y.size = 0;
  }
  w.roff = point{x.offset, y.offset};
  w.rsiz = point{x.size, y.size};
  w.fsiz_changed = w.resolution.fx != fsiz.fx || w.resolution.fy != fsiz.fy;
  w.roff_changed = roff && w.roff != *roff;
  w.rsiz_changed = rsiz && w.rsiz != *rsiz;
  return w;
}

}  // namespace pipit
