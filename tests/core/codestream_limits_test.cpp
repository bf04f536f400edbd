// Implausible declarations are refused before the index allocates for them: a codestream cannot
// hold more packets than bytes, and the index's memory stays under index_options' limit.
#include <gtest/gtest.h>

#include "codestream_test_util.hpp"
#include "pipit/image_index.hpp"

using namespace pipit;
using pipit::testing::header_bomb;

TEST(CodestreamLimits, HeaderBombIsRefusedBeforeAllocating) {
  // 49 KB declaring 16384 components x 65535 layers = 1,073,725,440 packets: it used to make the
  // index allocate gigabytes and die of std::bad_alloc.
  auto bomb = header_bomb(16384, 65535, 0, 18);
  EXPECT_EQ(bomb.size(), 49248u);
  auto ix = image_index::build(bomb);
  ASSERT_FALSE(ix);
  EXPECT_EQ(ix.error().code, errc::corrupt);
  EXPECT_NE(ix.error().message.find("declares 16384 components, 65535 layers"), std::string::npos)
      << ix.error().message;
  EXPECT_NE(ix.error().message.find("1073725440 packets"), std::string::npos) << ix.error().message;
  EXPECT_NE(ix.error().message.find("holds only 18 bytes"), std::string::npos)
      << ix.error().message;
}

TEST(CodestreamLimits, ManyComponentsAndLevelsAreRefusedBeforeAllocating) {
  // 2.6 KB: 809 components, 33 resolutions each, 65535 layers.
  auto bomb = header_bomb(809, 65535, 32, 1);
  auto ix = image_index::build(bomb);
  ASSERT_FALSE(ix);
  EXPECT_NE(ix.error().message.find("declares 809 components"), std::string::npos)
      << ix.error().message;
}

TEST(CodestreamLimits, IndexMemoryAboveTheLimitIsRefused) {
  // Plausible for its bytes (one packet per byte) but above a small memory limit.
  auto cs = header_bomb(64, 64, 0, 64 * 64);
  ASSERT_TRUE(image_index::build(cs)) << image_index::build(cs).error().to_string();
  index_options o;
  o.max_index_bytes = std::uint64_t{64} * 1024;
  auto ix = image_index::build(cs, o);
  ASSERT_FALSE(ix);
  EXPECT_EQ(ix.error().code, errc::limit);
  EXPECT_NE(ix.error().message.find("above the limit of"), std::string::npos) << ix.error().message;
}

TEST(CodestreamLimits, HeadersOnlyIndexOfABombStaysWithinTheLimit) {
  // The client's rebuild indexes header bins only: the geometry is still charged.
  auto bomb = header_bomb(16384, 65535, 32, 18);
  index_options o;
  o.headers_only = true;
  o.max_index_bytes = 16u << 20;
  auto ix = image_index::build(bomb, o);
  ASSERT_FALSE(ix);
  EXPECT_EQ(ix.error().code, errc::limit);
}

TEST(CodestreamLimits, WrongTNsotIsIndexedWithWarning) {
  // TNsot 1 where the tile has 2 tile-parts: OpenJPEG decodes it, so the index warns.
  auto cs = header_bomb(1, 1, 0, 1);
  // Split the one tile-part into two: the second holds no packet.
  const std::vector<std::uint8_t> part2{0xFF, 0x90, 0, 10, 0, 0, 0, 0, 0, 14, 1, 1, 0xFF, 0x93};
  cs.insert(cs.end() - 2, part2.begin(), part2.end());
  auto ix = image_index::build(cs);
  ASSERT_TRUE(ix) << ix.error().to_string();
  ASSERT_EQ(ix->codestreams[0].warnings.size(), 1u);
  EXPECT_NE(ix->codestreams[0].warnings[0].message.find("TNsot says 1 tile-parts"),
            std::string::npos);
}
