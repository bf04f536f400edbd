// Decode cells: the units in which the client decodes, caches and reuses samples.
//
// A window is never decoded on its own: it is cut out of whole cells, so the same samples come
// out whichever window asks for them, and equal what GDAL's JP2OpenJPEG driver reads from the
// original file. JP2OpenJPEG (GDAL 3.6) reads whole tiles, except for an image made of one tile
// larger than 1024 samples in either direction, which it reads in blocks of 1024 x 1024 samples
// of the level (2048 when the tile is larger than the image in both directions) through
// opj_set_decode_area. The cells follow the same rule:
//
//   several tiles                  cell = tile (decoded whole: OpenJPEG's whole-tile path)
//   one tile, image <= 1024        cell = the tile
//   one tile, image > 1024         cell = a block of 1024 (or 2048) samples of the level,
//                                  on the full-resolution grid: XOsiz + floor(b * W0 / Wd)
//   HTJ2K                          cell = tile (OpenJPEG 2.5.0 cannot decode a part of an HT tile)
//
// Tiles larger than max_tile_cell samples of the level (either way) are cut in blocks of 1024
// too, whatever their number: decoding such a tile for every small window would cost too much
// (there JP2OpenJPEG reads whole tiles, and the samples at block edges may differ from its by 1).
//
// A cell_grid is separable: column boundaries `xs` and row boundaries `ys` on the
// full-resolution reference grid (absolute, xs.front() = XOsiz, xs.back() = Xsiz). Cell (i, j)
// covers [xs[i], xs[i+1]) x [ys[j], ys[j+1]); its samples at `discard_levels` d for a component
// of sub-sampling dx are the columns [ceil(xs[i] / (dx 2^d)), ceil(xs[i+1] / (dx 2^d))), as
// OpenJPEG lays out a decode area. A cell can be empty at a coarse level (a tile narrower than
// 2^d); such cells are never decoded.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <vector>

#include "pipit/client.hpp"

namespace pipit::client {

struct cell_grid {
  std::uint32_t discard_levels = 0;
  bool tiles = true;                 // cells are the codestream's tiles (index j * cols + i)
  std::vector<std::int64_t> xs, ys;  // boundaries on the full-resolution reference grid

  std::uint32_t cols() const { return static_cast<std::uint32_t>(xs.size() - 1); }
  std::uint32_t rows() const { return static_cast<std::uint32_t>(ys.size() - 1); }
  std::uint32_t cell(std::uint32_t i, std::uint32_t j) const { return j * cols() + i; }
};

// Cells no larger than this (samples of the level) cut an image made of one big tile.
inline constexpr std::int64_t single_tile_block = 1024;
// Tiles larger than this at a level (samples, either way) are cut in blocks.
inline constexpr std::int64_t max_tile_cell = 4096;

// The grid of cells at d discarded levels of an image of SIZ `siz` (`ht`: HTJ2K code-blocks).
// REQUIRES: siz describes a codestream (Xsiz > XOsiz, XTsiz > 0, ...), d <= its levels.
cell_grid make_cell_grid(const image_size& siz, bool ht, std::uint32_t d);

// `area` of the full-resolution reference grid on the grid of a component of sub-sampling
// (dx, dy) at d discarded levels: every coordinate ceil(v / (dx 2^d)), as OpenJPEG lays out a
// decode area.
inline rect at_level(const rect& area, std::uint32_t dx, std::uint32_t dy, std::uint32_t d) {
  return scale_down(tile_component_rect(area, dx, dy), d);
}

// The full-resolution area of window `w` (w.discard_levels, region in frame coordinates):
// x0 = 2^d (ceil(XOsiz / 2^d) + region.x0), x1 = min(Xsiz, 2^d (ceil(XOsiz / 2^d) + region.x1)),
// alike in y.
rect window_area(const image_size& siz, const window& w);

// The cell range [i0, i1) x [j0, j1) whose cells meet `area` at the grid's level (empty cells
// included; callers skip them).
struct cell_range {
  std::uint32_t i0 = 0, j0 = 0, i1 = 0, j1 = 0;
};
cell_range cells_meeting(const cell_grid& g, const rect& area);

// The full-resolution area of the cells `r` of `g`: [xs[i0], xs[i1]) x [ys[j0], ys[j1]).
inline rect cell_area(const cell_grid& g, const cell_range& r) {
  return rect{g.xs[r.i0], g.ys[r.j0], g.xs[r.i1], g.ys[r.j1]};
}
inline rect cell_area(const cell_grid& g, std::uint32_t i, std::uint32_t j) {
  return cell_area(g, cell_range{i, j, i + 1, j + 1});
}

// True when cell (i, j) holds no sample of the level (for a component without sub-sampling).
bool cell_empty(const cell_grid& g, std::uint32_t i, std::uint32_t j);

// Rectangles of cells, each decoded by one OpenJPEG call; `missing[j * cols + i]` marks the
// cells to decode. Runs of a row are merged with identical runs of the next rows; then the
// largest rectangle is halved (along its longer side, in cells) until there are `parallelism`
// rectangles or none has more than one cell, so that the work spreads over the threads.
std::vector<cell_range> decode_jobs(const cell_grid& g, const std::vector<bool>& missing,
                                    std::uint32_t parallelism);

}  // namespace pipit::client
