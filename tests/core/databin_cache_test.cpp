#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "pipit/databin_cache.hpp"

namespace {

using pipit::bin_id;
using pipit::bin_kind;
using pipit::databin_cache;
using pipit::errc;

bin_id precinct(std::uint64_t i) { return {bin_kind::precinct, 0, i}; }
const bin_id main_header{bin_kind::main_header, 0, 0};

std::vector<std::uint8_t> bytes(std::size_t n, std::uint8_t v = 1) {
  // NOLINTNEXTLINE(modernize-return-braced-init-list): {n, v} would be a two-byte vector.
  return std::vector<std::uint8_t>(n, v);
}

TEST(DatabinCache, OutOfOrderMessagesCompleteTheBin) {
  databin_cache c;
  std::vector<std::uint8_t> data = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  pipit::bytes_view v(data);
  ASSERT_TRUE(c.add(precinct(3), 6, v.subspan(6), true));
  EXPECT_TRUE(c.has(precinct(3)));
  EXPECT_EQ(c.known_length(precinct(3)), 9u);
  EXPECT_TRUE(c.contiguous_prefix(precinct(3)).empty());
  EXPECT_FALSE(c.is_complete(precinct(3)));
  ASSERT_TRUE(c.add(precinct(3), 0, v.subspan(0, 4), false));
  EXPECT_EQ(c.contiguous_prefix(precinct(3)).size(), 4u);
  ASSERT_TRUE(c.add(precinct(3), 2, v.subspan(2, 4), false));  // overlaps, fills the gap
  EXPECT_TRUE(c.is_complete(precinct(3)));
  auto p = c.contiguous_prefix(precinct(3));
  EXPECT_TRUE(std::equal(p.begin(), p.end(), data.begin(), data.end()));
  EXPECT_EQ(c.bytes_held(), 9u);
  EXPECT_EQ(c.stats().duplicate_bytes, 2u);
  ASSERT_TRUE(c.add(precinct(3), 0, v, true));  // a full repeat is fine
  EXPECT_EQ(c.bytes_held(), 9u);
}

TEST(DatabinCache, EmptyFinalMessageMakesAnEmptyCompleteBin) {
  databin_cache c;
  const bin_id tile_header{bin_kind::tile_header, 0, 0};
  ASSERT_TRUE(c.add(tile_header, 0, {}, true));
  EXPECT_TRUE(c.has(tile_header));
  EXPECT_TRUE(c.is_complete(tile_header));
  EXPECT_EQ(c.known_length(tile_header), 0u);
  EXPECT_EQ(c.bin_count(), 1u);
  EXPECT_EQ(c.bytes_held(), 0u);
}

TEST(DatabinCache, EmptyFinalMessageAfterTheDataCompletesIt) {
  databin_cache c;
  auto d = bytes(10);
  ASSERT_TRUE(c.add(precinct(1), 0, d, false));
  EXPECT_FALSE(c.is_complete(precinct(1)));
  ASSERT_TRUE(c.add(precinct(1), 10, {}, true));
  EXPECT_TRUE(c.is_complete(precinct(1)));
}

TEST(DatabinCache, ConflictsKeepFirstBytesAndAreCounted) {
  databin_cache c;
  auto a = bytes(4, 0xAA), b = bytes(4, 0xBB);
  ASSERT_TRUE(c.add(precinct(0), 0, a, false));
  ASSERT_TRUE(c.add(precinct(0), 2, b, false));
  EXPECT_EQ(c.stats().conflicting_bytes, 2u);
  EXPECT_EQ(c.stats().conflicting_messages, 1u);
  auto p = c.contiguous_prefix(precinct(0));
  ASSERT_EQ(p.size(), 6u);
  EXPECT_EQ(p[3], 0xAA);
  EXPECT_EQ(p[4], 0xBB);
}

TEST(DatabinCache, MessagePastTheKnownLengthIsCorruptAndChangesNothing) {
  databin_cache c;
  auto d = bytes(10);
  ASSERT_TRUE(c.add(precinct(7), 0, d, true));
  auto r = c.add(precinct(7), 5, d, false);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::corrupt);
  EXPECT_NE(r.error().message.find("precinct 7 of codestream 0"), std::string::npos);
  EXPECT_NE(r.error().message.find("[5, 15)"), std::string::npos);
  EXPECT_EQ(c.bytes_held(), 10u);
  EXPECT_TRUE(c.is_complete(precinct(7)));
  // A second, different final length, and a final message short of bytes already held.
  EXPECT_EQ(c.add(precinct(7), 0, bytes(8), true).error().code, errc::corrupt);
  ASSERT_TRUE(c.add(precinct(8), 20, bytes(5), false));
  EXPECT_EQ(c.add(precinct(8), 0, bytes(5), true).error().code, errc::corrupt);
  EXPECT_FALSE(c.known_length(precinct(8)));
}

TEST(DatabinCache, BinSizeIsCapped) {
  databin_cache c;
  auto d = bytes(2);
  auto r = c.add(precinct(0), databin_cache::max_bin_bytes - 1, d, false);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::limit);
  EXPECT_EQ(c.add(precinct(0), ~std::uint64_t{0}, d, false).error().code, errc::limit);
  EXPECT_FALSE(c.has(precinct(0)));
}

TEST(DatabinCache, EvictsLeastRecentlyUsedPrecinctsBeforeHeaders) {
  databin_cache c;
  auto d = bytes(100);
  ASSERT_TRUE(c.add(main_header, 0, d, true));
  for (std::uint64_t i = 0; i < 5; ++i) ASSERT_TRUE(c.add(precinct(i), 0, d, false));
  c.touch(precinct(0));
  c.set_memory_limit(400);
  EXPECT_LE(c.bytes_held(), 400u);
  EXPECT_EQ(c.take_evicted(), (std::vector<bin_id>{precinct(1), precinct(2)}));
  EXPECT_TRUE(c.take_evicted().empty());
  EXPECT_TRUE(c.has(main_header));
  EXPECT_TRUE(c.has(precinct(0)));

  ASSERT_TRUE(c.add(precinct(9), 0, d, false));  // over the limit again: precinct 3 goes
  EXPECT_EQ(c.take_evicted(), std::vector<bin_id>{precinct(3)});
  EXPECT_EQ(c.stats().evicted_bins, 3u);

  c.set_memory_limit(100);  // headers go only when no precinct is left
  EXPECT_EQ(c.take_evicted(), (std::vector<bin_id>{precinct(4), precinct(0), precinct(9)}));
  EXPECT_TRUE(c.has(main_header));
  c.set_memory_limit(0);
  EXPECT_EQ(c.take_evicted(), std::vector<bin_id>{main_header});
  EXPECT_EQ(c.bin_count(), 0u);
  EXPECT_EQ(c.bytes_held(), 0u);
}

TEST(DatabinCache, EraseClearAndBins) {
  databin_cache c("tid-1");
  auto d = bytes(10);
  ASSERT_TRUE(c.add(precinct(2), 0, d, true));
  ASSERT_TRUE(c.add(precinct(1), 5, d, false));
  ASSERT_TRUE(c.add(main_header, 0, d, false));
  auto info = c.bins();
  ASSERT_EQ(info.size(), 3u);
  EXPECT_EQ(info[0].id, precinct(1));  // ordered by id
  EXPECT_EQ(info[0].prefix_length, 0u);
  EXPECT_EQ(info[0].bytes_held, 10u);
  EXPECT_FALSE(info[0].complete);
  EXPECT_EQ(info[1].id, precinct(2));
  EXPECT_TRUE(info[1].complete);
  EXPECT_EQ(info[1].known_length, 10u);
  EXPECT_EQ(info[2].id, main_header);
  EXPECT_EQ(info[2].prefix_length, 10u);

  EXPECT_TRUE(c.erase(precinct(2)));
  EXPECT_FALSE(c.erase(precinct(2)));
  EXPECT_EQ(c.bytes_held(), 20u);
  EXPECT_TRUE(c.take_evicted().empty());
  c.clear();
  EXPECT_EQ(c.bin_count(), 0u);
  EXPECT_EQ(c.bytes_held(), 0u);
  EXPECT_EQ(c.target_id(), "tid-1");
}

TEST(DatabinCache, ChangedTargetIdDropsTheBins) {
  databin_cache c;
  auto d = bytes(10);
  ASSERT_TRUE(c.add(main_header, 0, d, true));
  c.set_target_id("abc");  // first id: adopted, data kept
  EXPECT_EQ(c.bin_count(), 1u);
  c.set_target_id("abc");
  EXPECT_EQ(c.bin_count(), 1u);
  c.set_target_id("xyz");  // the target changed
  EXPECT_EQ(c.bin_count(), 0u);
  EXPECT_EQ(c.target_id(), "xyz");
  EXPECT_TRUE(c.take_evicted().empty());
}

TEST(DatabinCache, MoveKeepsTheEvictionOrder) {
  databin_cache a;
  auto d = bytes(10);
  ASSERT_TRUE(a.add(precinct(1), 0, d, false));
  ASSERT_TRUE(a.add(precinct(2), 0, d, false));
  databin_cache b = std::move(a);
  b.touch(precinct(1));
  b.set_memory_limit(10);
  EXPECT_EQ(b.take_evicted(), std::vector<bin_id>{precinct(2)});
}

}  // namespace
