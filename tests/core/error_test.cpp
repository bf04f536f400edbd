#include <gtest/gtest.h>

#include "pipit/byte_reader.hpp"
#include "pipit/error.hpp"

TEST(ByteReader, ReportsTruncationWithAbsoluteOffset) {
  const std::uint8_t b[] = {1, 2, 3};
  pipit::byte_reader r(b, 100);
  ASSERT_EQ(*r.u16("x"), 0x0102);
  auto v = r.u16("Lsiz");
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, pipit::errc::truncated);
  EXPECT_EQ(v.error().offset, 102u);
  EXPECT_EQ(v.error().to_string(), "truncated at byte 102: Lsiz: need 2 bytes, 1 left");
}
