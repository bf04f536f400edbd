// The client's decode cells (src/client/decode_cells.hpp): which cells a window meets, how an
// image made of one big tile is cut, and how missing cells are grouped into decodes.
#include "decode_cells.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace pipit::client {
namespace {

image_size tiled(std::uint32_t w, std::uint32_t h, std::uint32_t tw, std::uint32_t th) {
  image_size i;
  i.Xsiz = w;
  i.Ysiz = h;
  i.XTsiz = tw;
  i.YTsiz = th;
  i.components.resize(3);
  return i;
}

cell_grid make_cell_grid(const image_size& siz, std::uint32_t d) {
  return client::make_cell_grid(siz, false, d);
}

using edges = std::vector<std::int64_t>;

TEST(DecodeCells, TilesAreCells) {
  const cell_grid g = make_cell_grid(tiled(600, 500, 128, 128), 0);
  EXPECT_TRUE(g.tiles);
  EXPECT_EQ(g.xs, (edges{0, 128, 256, 384, 512, 600}));
  EXPECT_EQ(g.ys, (edges{0, 128, 256, 384, 500}));
  EXPECT_EQ(g.cell(2, 1), 7u);  // the tile index in raster order
}

TEST(DecodeCells, TileEdgesWithOffsets) {
  image_size i = tiled(333, 257, 100, 100);
  i.XOsiz = 17;
  i.YOsiz = 9;
  i.XTOsiz = 10;
  i.YTOsiz = 0;
  const cell_grid g = make_cell_grid(i, 2);
  EXPECT_EQ(g.xs, (edges{17, 110, 210, 310, 333}));
  EXPECT_EQ(g.ys, (edges{9, 100, 200, 257}));
}

TEST(DecodeCells, OneBigTileIsCutInBlocksOfTheLevel) {
  // As JP2OpenJPEG reads such an image: blocks of 1024 samples of the level.
  image_size i = tiled(3000, 2000, 3000, 2000);
  cell_grid g = make_cell_grid(i, 0);
  EXPECT_FALSE(g.tiles);
  EXPECT_EQ(g.xs, (edges{0, 1024, 2048, 3000}));
  EXPECT_EQ(g.ys, (edges{0, 1024, 2000}));
  g = make_cell_grid(i, 1);  // frame 1500 x 1000
  EXPECT_EQ(g.xs, (edges{0, 2048, 3000}));
  EXPECT_EQ(g.ys, (edges{0, 2000}));
  // A tile larger than the image both ways: blocks of 2048.
  g = make_cell_grid(tiled(3000, 2000, 4096, 4096), 0);
  EXPECT_EQ(g.xs, (edges{0, 2048, 3000}));
  EXPECT_EQ(g.ys, (edges{0, 2000}));
}

TEST(DecodeCells, HugeTilesAreCutInBlocks) {
  const image_size i = tiled(20000, 9000, 10000, 10000);
  cell_grid g = make_cell_grid(i, 0);
  EXPECT_FALSE(g.tiles);
  EXPECT_EQ(g.xs.size(), 21u);  // 20 blocks of 1024 (the last one shorter)
  g = make_cell_grid(i, 2);     // tiles of 2500 at the level: whole
  EXPECT_TRUE(g.tiles);
  EXPECT_EQ(g.xs, (edges{0, 10000, 20000}));
}

TEST(DecodeCells, SmallOrHtSingleTilesStayWhole) {
  EXPECT_TRUE(make_cell_grid(tiled(1024, 700, 1024, 700), 0).tiles);
  // OpenJPEG 2.5.0 cannot decode part of an HT tile.
  const cell_grid g = client::make_cell_grid(tiled(3000, 2000, 3000, 2000), true, 0);
  EXPECT_TRUE(g.tiles);
  EXPECT_EQ(g.xs, (edges{0, 3000}));
}

TEST(DecodeCells, WindowAreaAndCellsMeeting) {
  const image_size i = tiled(600, 500, 128, 128);
  window w;
  w.discard_levels = 1;
  w.region = rect{60, 0, 70, 250};
  const rect a = window_area(i, w);
  EXPECT_EQ(a, (rect{120, 0, 140, 500}));
  const cell_range r = cells_meeting(make_cell_grid(i, 1), a);
  EXPECT_EQ(r.i0, 0u);
  EXPECT_EQ(r.i1, 2u);
  EXPECT_EQ(r.j0, 0u);
  EXPECT_EQ(r.j1, 4u);
  // A window ending on a tile edge does not meet the next tile.
  w.discard_levels = 0;
  w.region = rect{128, 0, 256, 250};
  const cell_range s = cells_meeting(make_cell_grid(i, 0), window_area(i, w));
  EXPECT_EQ(s.i0, 1u);
  EXPECT_EQ(s.i1, 2u);
}

TEST(DecodeCells, CellsWithoutSamplesAtALevel) {
  const cell_grid g = make_cell_grid(tiled(258, 100, 257, 100), 2);  // tile 1 is 1 wide
  EXPECT_FALSE(cell_empty(g, 0, 0));
  EXPECT_TRUE(cell_empty(g, 1, 0));
}

// Every missing cell is in exactly one job; no job holds a cell that is not missing.
void expect_partition(const cell_grid& g, const std::vector<bool>& missing,
                      const std::vector<cell_range>& jobs) {
  std::vector<int> seen(missing.size(), 0);
  for (const auto& r : jobs)
    for (std::uint32_t j = r.j0; j < r.j1; ++j)
      for (std::uint32_t i = r.i0; i < r.i1; ++i) ++seen[g.cell(i, j)];
  for (std::size_t k = 0; k < missing.size(); ++k) EXPECT_EQ(seen[k], missing[k] ? 1 : 0) << k;
}

TEST(DecodeCells, JobsCoverTheMissingCells) {
  const cell_grid g = make_cell_grid(tiled(512, 512, 128, 128), 0);  // 4 x 4
  std::vector<bool> all(16, true);
  auto one = decode_jobs(g, all, 1);
  ASSERT_EQ(one.size(), 1u);  // merged into one rectangle
  EXPECT_EQ(one[0].i1 - one[0].i0, 4u);
  EXPECT_EQ(one[0].j1 - one[0].j0, 4u);
  auto four = decode_jobs(g, all, 4);
  EXPECT_EQ(four.size(), 4u);
  expect_partition(g, all, four);
  for (const auto& r : four) EXPECT_EQ((r.i1 - r.i0) * (r.j1 - r.j0), 4u);

  // An L: column 0 of every row, and row 3 entirely; two cells only: a pan's new column.
  std::vector<bool> l(16, false);
  for (std::uint32_t j = 0; j < 4; ++j) l[g.cell(0, j)] = true;
  for (std::uint32_t i = 0; i < 4; ++i) l[g.cell(i, 3)] = true;
  expect_partition(g, l, decode_jobs(g, l, 1));
  expect_partition(g, l, decode_jobs(g, l, 6));
  std::vector<bool> two(16, false);
  two[g.cell(2, 1)] = two[g.cell(2, 2)] = true;
  auto pan = decode_jobs(g, two, 4);
  EXPECT_EQ(pan.size(), 2u);
  expect_partition(g, two, pan);
  EXPECT_TRUE(decode_jobs(g, std::vector<bool>(16, false), 4).empty());
}

}  // namespace
}  // namespace pipit::client
