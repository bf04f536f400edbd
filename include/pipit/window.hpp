// From a served view-window to the data-bins it needs (15444-9 C.4, docs/jpip-notes.md §7.3).
//
// `window_precincts` lists, for a window at d discarded levels, every precinct of every tile,
// requested component and resolution 0..NL-d whose code-blocks the decoder needs to reconstruct
// the window exactly: the region is mapped down level by level, each time grown by the reach of
// the wavelet synthesis filters (3 sub-band samples, enough for 9/7 and 5/3), so decoding the
// window's region from these precincts alone gives the same samples as from the whole image.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <vector>

#include "pipit/codestream.hpp"
#include "pipit/view_window.hpp"

namespace pipit {

struct window_spec {
  std::uint32_t discard_levels = 0;  // d
  rect region;                       // on the reference grid reduced by 2^d
  std::vector<std::uint32_t> comps;  // empty: all components
  std::uint32_t layers = 0;          // 0: all layers
  bool no_precinct_data = false;     // `layers=0`: headers only
};

struct window_precinct {
  std::uint32_t tile = 0;
  std::uint32_t slot = 0;
  std::uint16_t component = 0;
  std::uint8_t resolution = 0;
};

// A rectangle of one tile-component-resolution's precinct grid: the precincts (i, j) with
// i0 <= i < i1 and j0 <= j < j1, whose slots are slot_base + j * nx + i.
struct precinct_block {
  std::uint32_t tile = 0, slot_base = 0, nx = 0;
  std::uint16_t component = 0;
  std::uint8_t resolution = 0;
  std::uint32_t i0 = 0, j0 = 0, i1 = 0, j1 = 0;
  std::uint64_t count() const { return std::uint64_t{i1 - i0} * (j1 - j0); }
};

// Tiles whose area meets the window, in raster order.
std::vector<std::uint32_t> window_tiles(const codestream_index& cs, const window_spec& w);

// Precincts needed for the window, ordered by resolution, then component, tile and precinct.
std::vector<window_precinct> window_precincts(const codestream_index& cs, const window_spec& w);
// The same precincts as rectangles of precinct grids, in that order (row-major within a block):
// what a composer walks without listing every precinct.
std::vector<precinct_block> window_precinct_blocks(const codestream_index& cs,
                                                   const window_spec& w);

// The geometry view_window.hpp works on, for a codestream.
image_geometry geometry_of(const codestream_index& cs);

// The window a request's fsiz/roff/rsiz/comps/layers ask of a codestream: the whole image at full
// resolution when fsiz is absent. `served` receives the served frame and region (for JPIP-fsiz,
// JPIP-roff, JPIP-rsiz). Components above the codestream's are ignored.
window_spec window_from_request(const codestream_index& cs, const jpip_request& request,
                                served_window* served = nullptr);

}  // namespace pipit
