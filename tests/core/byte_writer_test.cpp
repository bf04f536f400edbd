// byte_writer: big-endian fields that byte_reader reads back.
#include <gtest/gtest.h>

#include "pipit/byte_writer.hpp"

using namespace pipit;

TEST(ByteWriter, WritesBigEndianFieldsByteReaderReadsBack) {
  std::vector<std::uint8_t> out{0xAA};
  const std::uint8_t tail[] = {1, 2};
  byte_writer(out)
      .u8(0x12)
      .u16(0xFF90)
      .u32(0x01020304)
      .u64(0x0A0B0C0D0E0F1011)
      .bytes(bytes_view(tail, 2));
  const std::vector<std::uint8_t> want{0xAA, 0x12, 0xFF, 0x90, 1,    2,    3,    4, 0x0A,
                                       0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10, 0x11, 1, 2};
  EXPECT_EQ(out, want);
  byte_reader r(out);
  ASSERT_TRUE(r.skip(1, "head"));
  EXPECT_EQ(*r.u8("a"), 0x12);
  EXPECT_EQ(*r.u16("b"), 0xFF90);
  EXPECT_EQ(*r.u32("c"), 0x01020304u);
  EXPECT_EQ(*r.u64("d"), 0x0A0B0C0D0E0F1011u);
}
