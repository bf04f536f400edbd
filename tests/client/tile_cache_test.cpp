// The decoded-tile cache (src/client/tile_cache.hpp): a stored plane is returned only for the
// stamp it was decoded with, and the cache stays within its capacity (least recently used first).
#include "tile_cache.hpp"

#include <gtest/gtest.h>

namespace pipit::client {
namespace {

std::shared_ptr<const cell_plane> plane(std::uint32_t w, std::uint32_t h, std::int32_t v) {
  auto p = std::make_shared<cell_plane>();
  p->width = w;
  p->height = h;
  p->samples.assign(std::size_t{w} * h, v);
  return p;
}

std::shared_ptr<const data_stamp> stamp(data_stamp s) {
  return std::make_shared<const data_stamp>(std::move(s));
}

constexpr std::uint64_t plane_bytes = std::uint64_t{16} * 16 * 4 + sizeof(cell_plane);

TEST(TileCache, HitsOnlyForTheSameStamp) {
  tile_cache c(1 << 20);
  const cell_key k{3, 1, 0, 2};
  c.insert(k, stamp({7, 100, 41}), plane(16, 16, 5));
  auto hit = c.find(k, {7, 100, 41});
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->samples[0], 5);
  // Partial data decoded earlier is stale once a bin grows or completes.
  EXPECT_FALSE(c.find(k, {7, 102, 41}));
  EXPECT_FALSE(c.find(k, {7, 100, 41, 0}));
  EXPECT_FALSE(c.find(cell_key{3, 1, 0, 1}, {7, 100, 41}));  // another component
  EXPECT_FALSE(c.find(cell_key{3, 1, 2, 2}, {7, 100, 41}));  // another layer limit
  // A new decode replaces the old one.
  c.insert(k, stamp({7, 102, 41}), plane(16, 16, 6));
  EXPECT_FALSE(c.find(k, {7, 100, 41}));
  EXPECT_EQ(c.find(k, {7, 102, 41})->samples[0], 6);
  const auto s = c.stats();
  EXPECT_EQ(s.entries, 1u);
  EXPECT_EQ(s.bytes, plane_bytes);
  EXPECT_EQ(s.hits, 2u);
  EXPECT_EQ(s.misses, 5u);
}

TEST(TileCache, EvictsTheLeastRecentlyUsed) {
  tile_cache c(3 * plane_bytes);
  for (std::uint32_t i = 0; i < 3; ++i)
    c.insert(cell_key{i, 0, 0, 0}, stamp({i}), plane(16, 16, 0));
  ASSERT_TRUE(c.find(cell_key{0, 0, 0, 0}, {0}));  // 0 becomes the most recently used
  c.insert(cell_key{3, 0, 0, 0}, stamp({3}), plane(16, 16, 0));
  EXPECT_TRUE(c.find(cell_key{0, 0, 0, 0}, {0}));
  EXPECT_FALSE(c.find(cell_key{1, 0, 0, 0}, {1}));
  EXPECT_TRUE(c.find(cell_key{2, 0, 0, 0}, {2}));
  EXPECT_TRUE(c.find(cell_key{3, 0, 0, 0}, {3}));
  EXPECT_LE(c.stats().bytes, 3 * plane_bytes);
}

TEST(TileCache, PlanesOutliveEvictionAndClear) {
  tile_cache c(plane_bytes);
  c.insert(cell_key{0, 0, 0, 0}, stamp({1}), plane(16, 16, 9));
  auto held = c.find(cell_key{0, 0, 0, 0}, {1});
  c.insert(cell_key{1, 0, 0, 0}, stamp({1}), plane(16, 16, 0));
  EXPECT_FALSE(c.find(cell_key{0, 0, 0, 0}, {1}));
  EXPECT_EQ(held->samples.back(), 9);
  c.clear();
  EXPECT_EQ(c.stats().bytes, 0u);
  EXPECT_FALSE(c.find(cell_key{1, 0, 0, 0}, {1}));
}

TEST(TileCache, ZeroCapacityKeepsNothing) {
  tile_cache c(0);
  c.insert(cell_key{0, 0, 0, 0}, stamp({1}), plane(1, 1, 0));
  EXPECT_FALSE(c.find(cell_key{0, 0, 0, 0}, {1}));
  EXPECT_EQ(c.stats().entries, 0u);
  tile_cache small(plane_bytes - 1);  // a plane larger than the capacity is not kept
  small.insert(cell_key{0, 0, 0, 0}, stamp({1}), plane(16, 16, 0));
  EXPECT_EQ(small.stats().bytes, 0u);
}

}  // namespace
}  // namespace pipit::client
