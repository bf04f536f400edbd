#include "decode_cells.hpp"

#include <algorithm>

namespace pipit::client {
namespace {

// Tile boundaries along one axis: the image's start, every tile edge inside it, the image's end.
std::vector<std::int64_t> tile_edges(std::int64_t O, std::int64_t siz, std::int64_t TO,
                                     std::int64_t T) {
  std::vector<std::int64_t> out{O};
  for (std::int64_t e = TO + T; e < siz; e += T)
    if (e > O) out.push_back(e);
  out.push_back(siz);
  return out;
}

// Block boundaries along one axis: blocks of `block` samples of the level (frame size fd),
// mapped to the full-resolution grid by O + floor(b * W0 / fd), as JP2OpenJPEG maps its blocks.
std::vector<std::int64_t> block_edges(std::int64_t O, std::int64_t W0, std::int64_t fd,
                                      std::int64_t block) {
  std::vector<std::int64_t> out{O};
  const std::int64_t step = std::min(fd, block);
  for (std::int64_t b = step; b < fd; b += step) out.push_back(O + b * W0 / fd);
  out.push_back(O + W0);
  return out;
}

}  // namespace

cell_grid make_cell_grid(const image_size& siz, bool ht, std::uint32_t d) {
  cell_grid g;
  g.discard_levels = d;
  const std::int64_t W = siz.width(), H = siz.height();
  std::int64_t block = 0;  // 0: cells are tiles
  if (siz.tiles_x() == 1 && siz.tiles_y() == 1 && !ht) {
    if (siz.XTsiz == W && siz.YTsiz == H)
      block = single_tile_block;
    else if (W < siz.XTsiz && H < siz.YTsiz)
      block = 2 * single_tile_block;
    if (W <= block && H <= block) block = 0;
  }
  if (block == 0 && !ht && ((siz.XTsiz >> d) > max_tile_cell || (siz.YTsiz >> d) > max_tile_cell))
    block = single_tile_block;
  if (block == 0) {
    g.tiles = true;
    g.xs = tile_edges(siz.XOsiz, siz.Xsiz, siz.XTOsiz, siz.XTsiz);
    g.ys = tile_edges(siz.YOsiz, siz.Ysiz, siz.YTOsiz, siz.YTsiz);
  } else {
    g.tiles = false;
    g.xs = block_edges(siz.XOsiz, W, siz.width_at(d), block);
    g.ys = block_edges(siz.YOsiz, H, siz.height_at(d), block);
  }
  return g;
}

rect window_area(const image_size& siz, const window& w) {
  const std::uint32_t d = w.discard_levels;
  const rect reduced =
      translate(w.region, ceil_div_pow2(siz.XOsiz, d), ceil_div_pow2(siz.YOsiz, d));
  return intersect(scale_up(reduced, d), siz.image_rect());
}

cell_range cells_meeting(const cell_grid& g, const rect& area) {
  const std::uint32_t d = g.discard_levels;
  // Compared at the level: a cell meets the window when it holds one of the window's samples.
  auto span = [d](const std::vector<std::int64_t>& edges, std::int64_t A0, std::int64_t A1) {
    const std::int64_t a0 = ceil_div_pow2(A0, d), a1 = ceil_div_pow2(A1, d);
    std::uint32_t first = 0, last = 0;
    const auto n = static_cast<std::uint32_t>(edges.size() - 1);
    while (first < n && ceil_div_pow2(edges[first + 1], d) <= a0) ++first;
    last = first;
    while (last < n && ceil_div_pow2(edges[last], d) < a1) ++last;
    return std::pair{first, last};
  };
  const auto [i0, i1] = span(g.xs, area.x0, area.x1);
  const auto [j0, j1] = span(g.ys, area.y0, area.y1);
  return cell_range{i0, j0, std::max(i0, i1), std::max(j0, j1)};
}

bool cell_empty(const cell_grid& g, std::uint32_t i, std::uint32_t j) {
  return scale_down(cell_area(g, i, j), g.discard_levels).empty();
}

std::vector<cell_range> decode_jobs(const cell_grid& g, const std::vector<bool>& missing,
                                    std::uint32_t parallelism) {
  std::vector<cell_range> done, open;
  for (std::uint32_t j = 0; j < g.rows(); ++j) {
    std::vector<cell_range> runs;
    for (std::uint32_t i = 0; i < g.cols();) {
      if (!missing[g.cell(i, j)]) {
        ++i;
        continue;
      }
      std::uint32_t e = i;
      while (e < g.cols() && missing[g.cell(e, j)]) ++e;
      runs.push_back(cell_range{i, j, e, j + 1});
      i = e;
    }
    // A run equal in columns to a rectangle ending on the row above extends it.
    std::vector<cell_range> next;
    for (auto& r : runs) {
      auto it = std::find_if(open.begin(), open.end(),
                             [&](const cell_range& o) { return o.i0 == r.i0 && o.i1 == r.i1; });
      if (it != open.end()) {
        it->j1 = j + 1;
        next.push_back(*it);
        open.erase(it);
      } else {
        next.push_back(r);
      }
    }
    done.insert(done.end(), open.begin(), open.end());
    open = std::move(next);
  }
  done.insert(done.end(), open.begin(), open.end());

  auto cells = [](const cell_range& r) { return std::uint64_t{r.i1 - r.i0} * (r.j1 - r.j0); };
  while (done.size() < parallelism) {
    auto big = std::max_element(done.begin(), done.end(),
                                [&](const auto& a, const auto& b) { return cells(a) < cells(b); });
    if (big == done.end() || cells(*big) <= 1) break;
    cell_range a = *big, b = *big;
    if (a.i1 - a.i0 >= a.j1 - a.j0) {
      a.i1 = b.i0 = a.i0 + (a.i1 - a.i0) / 2;
    } else {
      a.j1 = b.j0 = a.j0 + (a.j1 - a.j0) / 2;
    }
    *big = a;
    done.push_back(b);
  }
  return done;
}

}  // namespace pipit::client
