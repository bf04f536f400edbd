// View-window arithmetic (ISO/IEC 15444-9 C.4; docs/jpip-notes.md §7.1-7.2): from a request's
// fsiz/roff/rsiz to the resolution and region a server actually serves.
//
// image_geometry is the little a server needs to know of a codestream for this: the SIZ image
// area (Xsiz, Ysiz, XOsiz, YOsiz) and the number of decomposition levels NL it can discard
// (the minimum over tile-components). Discarding d levels gives the frame
//   fx(d) = ceil(Xsiz/2^d) - ceil(XOsiz/2^d),  fy(d) likewise.
// choose_resolution() picks d by the fsiz round direction; map_view_window() then maps the
// requested region into the chosen frame and clips it, and says which of fsiz/roff/rsiz the
// server must report back (JPIP-fsiz, JPIP-roff, JPIP-rsiz) because they changed.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <optional>

#include "pipit/geometry.hpp"
#include "pipit/request.hpp"

namespace pipit {

struct image_geometry {
  std::uint32_t Xsiz = 0;
  std::uint32_t Ysiz = 0;
  std::uint32_t XOsiz = 0;
  std::uint32_t YOsiz = 0;
  std::uint32_t NL = 0;  // decomposition levels available for discarding

  friend bool operator==(const image_geometry&, const image_geometry&) = default;
};

struct resolution_choice {
  std::uint32_t discard_levels = 0;  // d, 0 = full resolution
  std::uint32_t fx = 0;              // frame size at d
  std::uint32_t fy = 0;

  friend bool operator==(const resolution_choice&, const resolution_choice&) = default;
};

struct served_window {
  resolution_choice resolution;
  point roff;  // region offset in the served frame
  point rsiz;  // region size in the served frame; 0 in either direction = empty region
  bool fsiz_changed = false;  // send JPIP-fsiz: fx,fy
  bool roff_changed = false;  // send JPIP-roff: roff (only when the client sent roff)
  bool rsiz_changed = false;  // send JPIP-rsiz: rsiz (only when the client sent rsiz)

  bool empty() const { return rsiz.x == 0 || rsiz.y == 0; }
  // The region on the reference grid reduced by 2^d: x0 = ceil(XOsiz/2^d) + roff.x, ...
  rect grid_region(const image_geometry& g) const;
  friend bool operator==(const served_window&, const served_window&) = default;
};

// The frame size after discarding d levels.
// REQUIRES: XOsiz < Xsiz, YOsiz < Ysiz, d <= 32.
resolution_choice frame_at(const image_geometry& g, std::uint32_t d);

// The resolution served for a requested frame size (fx, fy) and round direction:
//  round-down: the largest frame with width <= fx and height <= fy; if none, the smallest.
//  round-up:   the smallest frame with width >= fx and height >= fy; if none, the largest.
//  closest:    the frame whose area is nearest fx*fy; on a tie, the larger one.
// REQUIRES: as frame_at, and g.NL <= 32.
resolution_choice choose_resolution(const image_geometry& g, const frame_size& fsiz);

// The window served for fsiz and the optional roff (default 0,0) and rsiz (default: the rest of
// the frame). Region mapping (docs/jpip-notes.md §7.2), with (fx', fy') the chosen frame:
//   ox' = floor(ox * fx' / fx),  ex' = min(fx', ceil((ox + sx) * fx' / fx)),  sx' = ex' - ox'.
// A region outside the frame, or a zero fx/fy/rsiz, gives an empty region (not an error): its
// roff is clipped to the frame and its rsiz is 0.
// REQUIRES: as choose_resolution.
served_window map_view_window(const image_geometry& g, const frame_size& fsiz,
                              const std::optional<point>& roff, const std::optional<point>& rsiz);

}  // namespace pipit
