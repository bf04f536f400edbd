// VBAS and Bin-ID field encodings: the tables of docs/jpip-notes.md §4.1 and §4.2.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "pipit/jpp.hpp"

namespace {

using bytes = std::vector<std::uint8_t>;

bytes encode(std::uint64_t v) {
  bytes out;
  pipit::vbas_append(out, v);
  return out;
}

bytes encode_bin_id(std::uint8_t bb, bool last, std::uint64_t id) {
  bytes out;
  pipit::bin_id_field_append(out, pipit::bin_id_field{bb, last, id});
  return out;
}

struct vbas_case {
  std::uint64_t value;
  bytes encoded;
};

const vbas_case vbas_table[] = {
    {0, {0x00}},
    {127, {0x7F}},
    {128, {0x81, 0x00}},
    {200, {0x81, 0x48}},
    {16383, {0xFF, 0x7F}},
    {16384, {0x81, 0x80, 0x00}},
    {1000000, {0xBD, 0x84, 0x40}},
    {~std::uint64_t{0}, {0x81, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F}},
};

}  // namespace

TEST(Vbas, EncodesTheNotesTableMinimally) {
  for (const auto& c : vbas_table) {
    EXPECT_EQ(encode(c.value), c.encoded) << c.value;
    EXPECT_EQ(pipit::vbas_size(c.value), c.encoded.size()) << c.value;
  }
}

TEST(Vbas, DecodesTheNotesTable) {
  for (const auto& c : vbas_table) {
    std::size_t pos = 0;
    std::uint64_t v = 0;
    ASSERT_EQ(pipit::vbas_decode(c.encoded, pos, v), pipit::vbas_status::ok) << c.value;
    EXPECT_EQ(v, c.value);
    EXPECT_EQ(pos, c.encoded.size());
  }
}

TEST(Vbas, AcceptsZeroPaddedEncodings) {
  const bytes padded = {0x80, 0x80, 0x81, 0x00};  // 128 with two leading zero groups
  std::size_t pos = 0;
  std::uint64_t v = 0;
  ASSERT_EQ(pipit::vbas_decode(padded, pos, v), pipit::vbas_status::ok);
  EXPECT_EQ(v, 128u);
  EXPECT_EQ(pos, 4u);
  // Ten bytes is the longest accepted, zero padding included.
  const bytes ten = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x05};
  pos = 0;
  ASSERT_EQ(pipit::vbas_decode(ten, pos, v), pipit::vbas_status::ok);
  EXPECT_EQ(v, 5u);
}

TEST(Vbas, RejectsElevenByteChainsAndOverflow) {
  const bytes eleven = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
  std::size_t pos = 0;
  std::uint64_t v = 0;
  EXPECT_EQ(pipit::vbas_decode(eleven, pos, v), pipit::vbas_status::too_long);
  EXPECT_EQ(pos, 0u);
  // 10 bytes whose value needs 65 bits.
  const bytes big = {0x82, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
  EXPECT_EQ(pipit::vbas_decode(big, pos, v), pipit::vbas_status::overflow);
}

TEST(Vbas, ReportsNeedMoreForAnUnfinishedField) {
  const bytes lone = {0x80};  // continuation bit and nothing after it
  std::size_t pos = 0;
  std::uint64_t v = 0;
  EXPECT_EQ(pipit::vbas_decode(lone, pos, v), pipit::vbas_status::need_more);
  EXPECT_EQ(pipit::vbas_decode(bytes{}, pos, v), pipit::vbas_status::need_more);
}

TEST(Vbas, ByteReaderConvenienceGivesOffsets) {
  const bytes data = {0x11, 0x81, 0x48, 0x80};
  pipit::byte_reader r(data, 1000);
  ASSERT_TRUE(r.u8("x"));
  auto v = pipit::vbas_read(r, "Msg-Offset");
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, 200u);
  auto bad = pipit::vbas_read(r, "Msg-Length");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, pipit::errc::truncated);
  EXPECT_EQ(bad.error().offset, 1003u);
}

TEST(Vbas, RoundTripsAllBitWidths) {
  for (unsigned bits = 0; bits < 64; ++bits) {
    for (std::uint64_t v : {std::uint64_t{1} << bits, (std::uint64_t{1} << bits) - 1,
                            (std::uint64_t{1} << bits) + 1}) {
      const bytes e = encode(v);
      std::size_t pos = 0;
      std::uint64_t back = 0;
      ASSERT_EQ(pipit::vbas_decode(e, pos, back), pipit::vbas_status::ok);
      EXPECT_EQ(back, v);
    }
  }
}

TEST(JppBinId, EncodesTheNotesExamples) {
  EXPECT_EQ(encode_bin_id(3, true, 0), (bytes{0x70}));
  EXPECT_EQ(encode_bin_id(1, false, 10), (bytes{0x2A}));
  EXPECT_EQ(encode_bin_id(1, true, 42), (bytes{0xB0, 0x2A}));
  EXPECT_EQ(encode_bin_id(2, false, 200), (bytes{0xC1, 0x48}));
  EXPECT_EQ(encode_bin_id(1, true, 5000), (bytes{0xB0, 0xA7, 0x08}));
  EXPECT_EQ(pipit::bin_id_field_size(15), 1u);
  EXPECT_EQ(pipit::bin_id_field_size(16), 2u);
  EXPECT_EQ(pipit::bin_id_field_size(~std::uint64_t{0}), 10u);
}

TEST(JppBinId, DecodesTheNotesExamplesAndPadding) {
  struct item {
    bytes in;
    std::uint8_t bb;
    bool last;
    std::uint64_t id;
  };
  const item items[] = {
      {{0x70}, 3, true, 0},
      {{0x2A}, 1, false, 10},
      {{0xB0, 0x2A}, 1, true, 42},
      {{0xC1, 0x48}, 2, false, 200},
      {{0xB0, 0xA7, 0x08}, 1, true, 5000},
      {{0xA0, 0x81, 0x48}, 1, false, 200},  // esajpip's non-minimal form
  };
  for (const auto& it : items) {
    std::size_t pos = 0;
    pipit::bin_id_field f;
    ASSERT_EQ(pipit::bin_id_field_decode(it.in, pos, f), pipit::vbas_status::ok);
    EXPECT_EQ(f.bb, it.bb);
    EXPECT_EQ(f.is_last, it.last);
    EXPECT_EQ(f.in_class_id, it.id);
    EXPECT_EQ(pos, it.in.size());
  }
}

TEST(JppBinId, RoundTripsLargeIdsAndRejectsOverflow) {
  for (std::uint64_t id : {std::uint64_t{0}, std::uint64_t{2047}, std::uint64_t{2048},
                           std::uint64_t{1} << 40, ~std::uint64_t{0}}) {
    const bytes e = encode_bin_id(2, true, id);
    std::size_t pos = 0;
    pipit::bin_id_field f;
    ASSERT_EQ(pipit::bin_id_field_decode(e, pos, f), pipit::vbas_status::ok);
    EXPECT_EQ(f.in_class_id, id);
  }
  // 10 bytes with all 4 + 63 bits set: 67 bits do not fit.
  const bytes big = {0xAF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F};
  std::size_t pos = 0;
  pipit::bin_id_field f;
  EXPECT_EQ(pipit::bin_id_field_decode(big, pos, f), pipit::vbas_status::overflow);
}
