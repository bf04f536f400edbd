#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "pipit/databin_cache.hpp"

namespace {

using pipit::sparse_ranges;

std::vector<std::uint8_t> pattern(std::size_t n, std::uint8_t seed = 0) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(seed + i * 7 + 1);
  return v;
}

pipit::bytes_view slice(const std::vector<std::uint8_t>& v, std::size_t begin, std::size_t end) {
  return pipit::bytes_view(v).subspan(begin, end - begin);
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> spans(const sparse_ranges& s) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
  for (const auto& r : s.ranges()) out.emplace_back(r.offset, r.offset + r.bytes.size());
  return out;
}

TEST(SparseRanges, InOrderAppendsGrowOnePrefix) {
  auto data = pattern(100);
  sparse_ranges s;
  for (std::size_t at = 0; at < 100; at += 10) {
    auto r = s.insert(at, slice(data, at, at + 10));
    EXPECT_EQ(r.new_bytes, 10u);
    EXPECT_EQ(r.overlapping_bytes, 0u);
  }
  EXPECT_EQ(s.range_count(), 1u);
  ASSERT_EQ(s.prefix().size(), 100u);
  EXPECT_TRUE(std::equal(data.begin(), data.end(), s.prefix().begin()));
}

TEST(SparseRanges, GapKeepsPrefixShortUntilFilled) {
  auto data = pattern(30);
  sparse_ranges s;
  s.insert(20, slice(data, 20, 30));
  EXPECT_TRUE(s.prefix().empty());
  EXPECT_EQ(s.extent(), 30u);
  s.insert(0, slice(data, 0, 10));
  EXPECT_EQ(s.prefix().size(), 10u);
  EXPECT_EQ(spans(s), (decltype(spans(s)){{0, 10}, {20, 30}}));
  EXPECT_FALSE(s.contains(5, 25));
  EXPECT_TRUE(s.contains(22, 30));
  auto r = s.insert(10, slice(data, 10, 20));  // fills the gap exactly: adjacent on both sides
  EXPECT_EQ(r.new_bytes, 10u);
  EXPECT_EQ(s.range_count(), 1u);
  ASSERT_EQ(s.prefix().size(), 30u);
  EXPECT_TRUE(std::equal(data.begin(), data.end(), s.prefix().begin()));
}

TEST(SparseRanges, OverlapSpanningSeveralIslandsMergesThem) {
  auto data = pattern(100);
  sparse_ranges s;
  s.insert(10, slice(data, 10, 20));
  s.insert(30, slice(data, 30, 40));
  s.insert(50, slice(data, 50, 60));
  s.insert(80, slice(data, 80, 90));
  EXPECT_EQ(s.range_count(), 4u);
  auto r = s.insert(15, slice(data, 15, 55));
  EXPECT_EQ(r.new_bytes, 20u);
  EXPECT_EQ(r.overlapping_bytes, 20u);
  EXPECT_EQ(r.conflicting_bytes, 0u);
  EXPECT_EQ(spans(s), (decltype(spans(s)){{10, 60}, {80, 90}}));
  // A new island that ends right where an existing one starts absorbs it.
  s.insert(70, slice(data, 70, 80));
  EXPECT_EQ(spans(s), (decltype(spans(s)){{10, 60}, {70, 90}}));
  EXPECT_EQ(s.size(), 70u);
}

TEST(SparseRanges, DuplicatesAreCountedNotStored) {
  auto data = pattern(20);
  sparse_ranges s;
  s.insert(0, slice(data, 0, 20));
  auto r = s.insert(5, slice(data, 5, 15));
  EXPECT_EQ(r.new_bytes, 0u);
  EXPECT_EQ(r.overlapping_bytes, 10u);
  EXPECT_EQ(s.size(), 20u);
}

TEST(SparseRanges, ConflictingBytesKeepTheFirstValue) {
  std::vector<std::uint8_t> first(10, 0xAA), second(20, 0xBB);
  sparse_ranges s;
  s.insert(5, first);
  auto r = s.insert(0, second);
  EXPECT_EQ(r.conflicting_bytes, 10u);
  EXPECT_EQ(r.new_bytes, 10u);
  ASSERT_EQ(s.prefix().size(), 20u);
  EXPECT_EQ(s.prefix()[4], 0xBB);
  EXPECT_EQ(s.prefix()[5], 0xAA);
  EXPECT_EQ(s.prefix()[14], 0xAA);
  EXPECT_EQ(s.prefix()[15], 0xBB);
}

TEST(SparseRanges, EmptyInsertChangesNothing) {
  sparse_ranges s;
  auto r = s.insert(1000, {});
  EXPECT_EQ(r.new_bytes, 0u);
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.extent(), 0u);
}

// Random messages in random order against a bitmap model.
TEST(SparseRanges, RandomMessagesMatchAReferenceModel) {
  std::mt19937 rng(20240611);
  for (int round = 0; round < 200; ++round) {
    const std::size_t n = 1 + rng() % 300;
    auto data = pattern(n, static_cast<std::uint8_t>(round));
    std::vector<bool> held(n, false);
    sparse_ranges s;
    for (int m = 0; m < 40; ++m) {
      std::size_t a = rng() % n, b = a + rng() % (n - a + 1);
      std::size_t fresh = 0;
      for (std::size_t i = a; i < b; ++i) fresh += held[i] ? 0 : 1;
      auto r = s.insert(a, slice(data, a, b));
      ASSERT_EQ(r.new_bytes, fresh);
      ASSERT_EQ(r.conflicting_bytes, 0u);
      for (std::size_t i = a; i < b; ++i) held[i] = true;
      std::size_t prefix = 0;
      while (prefix < n && held[prefix]) ++prefix;
      ASSERT_EQ(s.prefix().size(), prefix);
      ASSERT_EQ(s.size(), static_cast<std::uint64_t>(std::count(held.begin(), held.end(), true)));
      std::uint64_t prev_end = 0;
      bool first = true;
      for (const auto& rv : s.ranges()) {
        ASSERT_FALSE(rv.bytes.empty());
        if (!first) {
          ASSERT_GT(rv.offset, prev_end);  // separated by a gap
        }
        first = false;
        for (std::size_t i = 0; i < rv.bytes.size(); ++i) {
          ASSERT_TRUE(held[rv.offset + i]);
          ASSERT_EQ(rv.bytes[i], data[rv.offset + i]);
        }
        prev_end = rv.offset + rv.bytes.size();
      }
    }
  }
}

}  // namespace
