// jpp_writer: header compression, EOR, header_size, and test vector 8 byte for byte.
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "pipit/jpp.hpp"
#include "test_data.hpp"

namespace {

using bytes = std::vector<std::uint8_t>;

// tests/data/NAME (a missing fixture fails the test, naming its path).
bytes read_vector(const std::string& name) { return pipit::testing::read_data(name); }

}  // namespace

// docs/jpip-notes.md §11 item 8: main header, tile header, two partial precincts, EOR byte-limit.
TEST(JppWriter, ReproducesVector8ByteForByte) {
  const bytes file = read_vector("g_plt_partial.jpp");
  ASSERT_EQ(file.size(), 202u);
  const pipit::bytes_view f(file);

  bytes out;
  pipit::jpp_writer w(out);
  w.begin_response();
  ASSERT_TRUE(w.add_message(6, 0, 0, 0, f.subspan(5, 117), true));    // 70 06 00 00 75
  ASSERT_TRUE(w.add_message(2, 0, 0, 0, {}, true));                   // 50 02 00 00
  ASSERT_TRUE(w.add_message(0, 0, 0, 0, f.subspan(130, 32), false));  // 40 00 00 20
  ASSERT_TRUE(w.add_message(0, 0, 1, 0, f.subspan(165, 34), false));  // 21 00 22
  w.add_eor(pipit::eor_reason::byte_limit);                           // 00 04 00
  EXPECT_EQ(out, file);
}

// The follow-up response of item 8: inheritance restarts, so the first message has bb=3.
TEST(JppWriter, FollowUpResponseStartsWithBb3) {
  bytes out;
  pipit::jpp_writer w(out);
  const bytes body17(17, 0xAB), body18(18, 0xCD);
  ASSERT_TRUE(w.add_message(0, 0, 1, 0, body17, false));
  w.add_eor(pipit::eor_reason::byte_limit);
  out.clear();
  w.begin_response();
  ASSERT_TRUE(w.add_message(0, 0, 0, 32, body17, true));
  ASSERT_TRUE(w.add_message(0, 0, 1, 34, body18, true));
  w.add_eor(pipit::eor_reason::window_done);
  // Built by push_back: GCC 12 at -O3 warns (-Warray-bounds, falsely) on inserts after a
  // brace-initialised vector.
  bytes expect;
  auto add = [&expect](const bytes& b) {
    for (auto x : b) expect.push_back(x);
  };
  add({0x70, 0x00, 0x00, 0x20, 0x11});
  add(body17);
  add({0x31, 0x22, 0x12});
  add(body18);
  add({0x00, 0x02, 0x00});
  EXPECT_EQ(out, expect);
}

TEST(JppWriter, ChoosesTheSmallestIndicator) {
  bytes out;
  pipit::jpp_writer w(out);
  ASSERT_TRUE(w.add_message(8, 0, 0, 0, {}, false));
  EXPECT_EQ(out[0] >> 5, 3);  // first message of the response
  out.clear();
  ASSERT_TRUE(w.add_message(8, 0, 1, 0, {}, false));
  EXPECT_EQ(out, (bytes{0x21, 0x00, 0x00}));  // same class and CSn
  out.clear();
  ASSERT_TRUE(w.add_message(6, 0, 0, 0, {}, false));
  EXPECT_EQ(out, (bytes{0x40, 0x06, 0x00, 0x00}));  // class changes only
  out.clear();
  ASSERT_TRUE(w.add_message(6, 2, 0, 0, {}, false));
  EXPECT_EQ(out, (bytes{0x60, 0x06, 0x02, 0x00, 0x00}));  // CSn changes
  out.clear();
  ASSERT_TRUE(w.add_message(0, 0, 0, 0, {}, false));
  EXPECT_EQ(out, (bytes{0x60, 0x00, 0x00, 0x00, 0x00}));  // CSn back to 0: bb=3 again
}

TEST(JppWriter, WritesAuxForExtendedClassesOnly) {
  bytes out;
  pipit::jpp_writer w(out);
  const bytes body = {0xAA};
  ASSERT_TRUE(w.add_message(1, 0, 3, 5, body, true, 2));
  EXPECT_EQ(out, (bytes{0x73, 0x01, 0x00, 0x05, 0x01, 0x02, 0xAA}));
  out.clear();
  ASSERT_TRUE(w.add_message(1, 0, 4, 0, {}, false, 300));
  EXPECT_EQ(out, (bytes{0x24, 0x00, 0x00, 0x82, 0x2C}));  // Aux written with inherited class

  const auto missing = w.add_message(5, 0, 0, 0, {}, false);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, pipit::errc::invalid_argument);
  EXPECT_FALSE(w.add_message(4, 0, 0, 0, {}, false, 1));
  EXPECT_FALSE(w.add_message(3, 0, 0, 0, {}, false));
  EXPECT_FALSE(w.add_message(9, 0, 0, 0, {}, false));
  EXPECT_FALSE(w.add_message(0, 0, 0, ~std::uint64_t{0}, body, false));
  EXPECT_EQ(out.size(), 5u);  // failures write nothing
}

TEST(JppWriter, HeaderSizeMatchesWhatIsWritten) {
  bytes out;
  pipit::jpp_writer w(out);
  const bytes body(300, 0x11);
  struct item {
    unsigned cls;
    std::uint64_t csn, id, off;
    std::optional<std::uint64_t> aux;
  };
  const item items[] = {{6, 0, 0, 0, {}},
                        {2, 0, 0, 0, {}},
                        {0, 0, 5000, 77, {}},
                        {0, 0, 5001, 1u << 20, {}},
                        {1, 3, 1, 0, 9},
                        {5, 3, 2, 0, 1u << 30},
                        {8, 3, ~std::uint64_t{0} >> 1, 0, {}}};
  for (const auto& it : items) {
    const std::size_t h = w.header_size(it.cls, it.csn, it.id, it.off, body.size(), it.aux);
    const std::size_t before = out.size();
    ASSERT_TRUE(w.add_message(it.cls, it.csn, it.id, it.off, body, false, it.aux));
    EXPECT_EQ(out.size() - before, h + body.size());
  }
  EXPECT_EQ(w.header_size(3, 0, 0, 0, 0), 0u);
  EXPECT_EQ(w.header_size(1, 0, 0, 0, 0), 0u);  // Aux missing
}

TEST(JppWriter, EorCarriesReasonAndBody) {
  bytes out;
  pipit::jpp_writer w(out);
  w.add_eor(pipit::eor_reason::window_done);
  const bytes body = {1, 2, 3};
  w.add_eor(pipit::eor_reason::non_specified, body);
  EXPECT_EQ(out, (bytes{0x00, 0x02, 0x00, 0x00, 0xFF, 0x03, 1, 2, 3}));
  EXPECT_STREQ(pipit::eor_reason_name(pipit::eor_reason::window_done), "window-done");
  EXPECT_STREQ(pipit::eor_reason_name(pipit::eor_reason::non_specified), "non-specified");
  EXPECT_STREQ(pipit::eor_reason_name(static_cast<pipit::eor_reason>(42)), "unknown");
}

TEST(JppWriter, MessageNamesItsDataBin) {
  pipit::jpp_message m;
  m.msg_class = 1;
  m.csn = 2;
  m.in_class_id = 7;
  const pipit::bin_id b = m.bin();
  EXPECT_EQ(b.kind, pipit::bin_kind::precinct);
  EXPECT_EQ(b.csn, 2u);
  EXPECT_EQ(b.id, 7u);
  m.msg_class = 5;
  EXPECT_EQ(m.bin().kind, pipit::bin_kind::tile);
  EXPECT_TRUE(pipit::is_defined_msg_class(8));
  EXPECT_FALSE(pipit::is_defined_msg_class(7));
  EXPECT_FALSE(pipit::is_defined_msg_class(std::uint64_t{1} << 32));
}
