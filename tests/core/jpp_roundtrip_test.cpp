// jpp_writer -> jpp_reader round trips of random message sequences, and malformed input.
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "pipit/jpp.hpp"
#include "test_data.hpp"

namespace {

using bytes = std::vector<std::uint8_t>;

// tests/data/NAME (a missing fixture fails the test, naming its path).
bytes read_vector(const std::string& name) { return pipit::testing::read_data(name); }

struct planned {
  bool is_eor = false;
  pipit::eor_reason reason{};
  unsigned msg_class = 0;
  std::uint64_t csn = 0, id = 0, offset = 0;
  bool last = false;
  std::optional<std::uint64_t> aux;
  bytes body;
};

// A value of random bit width, so that every VBAS length is exercised.
std::uint64_t random_width(std::mt19937_64& rng, unsigned max_bits = 64) {
  const auto bits = static_cast<unsigned>(rng() % (max_bits + 1));
  if (bits == 0) return 0;
  const std::uint64_t v = rng();
  return bits == 64 ? v : v & ((std::uint64_t{1} << bits) - 1);
}

std::vector<planned> random_plan(std::mt19937_64& rng, std::size_t count) {
  static const unsigned classes[] = {0, 1, 2, 4, 5, 6, 8};
  std::vector<planned> plan;
  for (std::size_t i = 0; i < count; ++i) {
    planned p;
    if (rng() % 40 == 0) {
      p.is_eor = true;
      p.reason = static_cast<pipit::eor_reason>(rng() % 256);
      p.body.resize(rng() % 4 == 0 ? rng() % 20 : 0);
    } else {
      p.msg_class = classes[rng() % 7];
      p.csn = rng() % 4 == 0 ? random_width(rng, 20) : 0;
      p.id = random_width(rng);
      p.offset = random_width(rng, 40);
      p.last = (rng() & 1) != 0;
      if (p.msg_class & 1u) p.aux = random_width(rng);
      p.body.resize(rng() % 16 == 0 ? rng() % 300 : rng() % 24);
    }
    for (auto& b : p.body) b = static_cast<std::uint8_t>(rng());
    plan.push_back(std::move(p));
  }
  return plan;
}

}  // namespace

TEST(JppRoundTrip, RandomSequencesSurviveWriteAndRead) {
  std::mt19937_64 rng(20240611);
  for (int round = 0; round < 4; ++round) {
    const std::vector<planned> plan = random_plan(rng, 1000);
    bytes stream;
    pipit::jpp_writer w(stream);
    for (const planned& p : plan) {
      if (p.is_eor) {
        w.add_eor(p.reason, p.body);
        w.begin_response();
      } else {
        ASSERT_TRUE(w.add_message(p.msg_class, p.csn, p.id, p.offset, p.body, p.last, p.aux));
      }
    }

    pipit::jpp_reader r;
    std::size_t next_plan = 0, fed = 0;
    while (fed < stream.size() || next_plan < plan.size()) {
      const std::size_t n = std::min<std::size_t>(stream.size() - fed, rng() % 64);
      r.feed(pipit::bytes_view(stream).subspan(fed, n));
      fed += n;
      for (;;) {
        auto ev = r.next();
        ASSERT_TRUE(ev) << ev.error().to_string();
        if (std::holds_alternative<pipit::jpp_need_more>(*ev)) break;
        ASSERT_LT(next_plan, plan.size());
        const planned& p = plan[next_plan++];
        if (const auto* e = std::get_if<pipit::jpp_eor>(&*ev)) {
          ASSERT_TRUE(p.is_eor);
          EXPECT_EQ(e->reason, p.reason);
          EXPECT_EQ(bytes(e->body.begin(), e->body.end()), p.body);
          r.begin_response();
          continue;
        }
        const auto& m = std::get<pipit::jpp_message>(*ev);
        ASSERT_FALSE(p.is_eor);
        EXPECT_EQ(m.msg_class, p.msg_class);
        EXPECT_EQ(m.csn, p.csn);
        EXPECT_EQ(m.in_class_id, p.id);
        EXPECT_EQ(m.msg_offset, p.offset);
        EXPECT_EQ(m.is_last, p.last);
        EXPECT_EQ(m.aux, p.aux);
        EXPECT_EQ(bytes(m.body.begin(), m.body.end()), p.body);
      }
      if (n == 0 && fed == stream.size()) break;
    }
    EXPECT_EQ(next_plan, plan.size());
    EXPECT_EQ(r.buffered(), 0u);
  }
}

TEST(JppMalformed, AuxIsReadForInheritedOddClasses) {
  const bytes s = {0x60, 0x01, 0x00, 0x00, 0x02, 0x05, 0xAA, 0xBB,  // class 1 explicit, Aux 5
                   0x21, 0x00, 0x01, 0x07, 0xCC,                    // class 1 inherited, Aux 7
                   0x00, 0x07, 0x02, 0x11, 0x22};                   // EOR response-limit, body
  pipit::jpp_reader r;
  r.feed(s);
  auto a = r.next();
  ASSERT_TRUE(a);
  EXPECT_EQ(std::get<pipit::jpp_message>(*a).aux, 5u);
  auto b = r.next();
  ASSERT_TRUE(b);
  const auto& mb = std::get<pipit::jpp_message>(*b);
  EXPECT_EQ(mb.msg_class, 1u);
  EXPECT_EQ(mb.aux, 7u);
  EXPECT_EQ(mb.body.size(), 1u);
  auto e = r.next();
  ASSERT_TRUE(e);
  const auto& eor = std::get<pipit::jpp_eor>(*e);
  EXPECT_EQ(eor.reason, pipit::eor_reason::response_limit);
  EXPECT_EQ(bytes(eor.body.begin(), eor.body.end()), (bytes{0x11, 0x22}));
}

TEST(JppMalformed, AcceptsNonMinimalBinId) {
  const bytes s = {0x60, 0x00, 0x00, 0x00, 0x00, 0xA0, 0x81, 0x48, 0x00, 0x00};
  pipit::jpp_reader r;
  r.feed(s);
  ASSERT_TRUE(r.next());
  auto ev = r.next();
  ASSERT_TRUE(ev);
  EXPECT_EQ(std::get<pipit::jpp_message>(*ev).in_class_id, 200u);
}

namespace {

// Feeds `s` whole and returns the first error.
pipit::error first_error(const bytes& s, pipit::jpp_reader_options opt = {}) {
  pipit::jpp_reader r(opt);
  r.feed(s);
  for (int guard = 0; guard < 1000; ++guard) {
    auto ev = r.next();
    if (!ev) return ev.error();
    if (std::holds_alternative<pipit::jpp_need_more>(*ev)) break;
  }
  return pipit::error{pipit::errc::io, 0, "no error"};
}

}  // namespace

TEST(JppMalformed, ErrorsNameTheFaultAndItsOffset) {
  struct item {
    bytes s;
    std::uint64_t offset;
    const char* words;
  };
  const item items[] = {
      {{0x70, 0x06, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00}, 5, "bb=0"},
      {{0x8F, 0x01}, 0, "bb=0"},
      {{0x70, 0x06, 0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00},
       3,
       "Msg-Offset: VBAS longer than 10 bytes"},
      {{0xA0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80}, 0, "Bin-ID: VBAS longer"},
      {{0x70, 0x06, 0x00, 0x00, 0x82, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00},
       4,
       "Msg-Length: VBAS value above"},
      {{0x60, 0x03, 0x00, 0x00, 0x00}, 1, "message class 3 is not defined"},
      {{0x60, 0x07, 0x00, 0x00, 0x00}, 1, "message class 7 is not defined"},
      {{0x70, 0x06, 0x00, 0x00, 0x00, 0x41, 0x09}, 6, "message class 9 is not defined"},
      {{0x40, 0x81, 0x48}, 1, "message class 200 is not defined"},
      {{0x70, 0x06, 0x00, 0x00, 0xA0, 0x80, 0x80, 0x01}, 4, "Msg-Length: length 67108865"},
      {{0x00, 0x02, 0xA0, 0x80, 0x80, 0x01}, 2, "EOR body length"},
      {{0x70, 0x06, 0x00, 0x81, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x01},
       13,
       "exceeds 2^64-1"},
  };
  for (const auto& it : items) {
    const pipit::error e = first_error(it.s);
    EXPECT_EQ(e.code, pipit::errc::corrupt) << e.to_string();
    EXPECT_EQ(e.offset, it.offset) << e.to_string();
    EXPECT_NE(e.message.find(it.words), std::string::npos) << e.to_string();
  }
}

TEST(JppMalformed, MsgLengthCapIsConfigurable) {
  const bytes over = {0x70, 0x06, 0x00, 0x00, 0x87, 0x69};  // Msg-Length 1001
  EXPECT_EQ(first_error(over, {1000}).offset, 4u);
  EXPECT_EQ(first_error(over, {1001}).code, pipit::errc::io);  // no error: waits for the body
  const bytes cap = {0x70, 0x06, 0x00, 0x00, 0xA0, 0x80, 0x80, 0x00};  // exactly 64 MiB
  EXPECT_EQ(first_error(cap).code, pipit::errc::io);
}

TEST(JppMalformed, ErrorsAreStickyUntilReset) {
  pipit::jpp_reader r;
  r.feed(bytes{0x60, 0x03});
  auto a = r.next();
  ASSERT_FALSE(a);
  r.feed(bytes{0x00, 0x02, 0x00});
  auto b = r.next();
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().to_string(), a.error().to_string());
  r.reset();
  r.feed(bytes{0x00, 0x02, 0x00});
  auto c = r.next();
  ASSERT_TRUE(c);
  EXPECT_TRUE(std::holds_alternative<pipit::jpp_eor>(*c));
}

// Random damage to the vectors, fed in random pieces: errors or waiting, never a crash
// (the sanitizer build turns any out-of-bounds access into a failure).
TEST(JppMalformed, DamagedVectorsNeverCrash) {
  std::mt19937_64 rng(7);
  for (const char* name : {"g_plt_partial.jpp", "g_plt_winA.jpp", "g_plt_full.jpp"}) {
    const bytes file = read_vector(name);
    for (int trial = 0; trial < 300; ++trial) {
      bytes s = file;
      const int edits = 1 + static_cast<int>(rng() % 6);
      for (int k = 0; k < edits; ++k) {
        const std::size_t at = rng() % s.size();
        switch (rng() % 3) {
          case 0: s[at] = static_cast<std::uint8_t>(rng()); break;
          case 1: s.erase(s.begin() + static_cast<std::ptrdiff_t>(at)); break;
          default: s.insert(s.begin() + static_cast<std::ptrdiff_t>(at), 0x80); break;
        }
      }
      pipit::jpp_reader r;
      std::size_t fed = 0;
      bool failed = false;
      while (fed < s.size() && !failed) {
        const std::size_t n = std::min<std::size_t>(s.size() - fed, 1 + rng() % 200);
        r.feed(pipit::bytes_view(s).subspan(fed, n));
        fed += n;
        for (;;) {
          auto ev = r.next();
          if (!ev) {
            failed = true;
            EXPECT_LE(ev.error().offset, s.size());
            break;
          }
          if (std::holds_alternative<pipit::jpp_need_more>(*ev)) break;
          if (std::holds_alternative<pipit::jpp_eor>(*ev)) r.begin_response();
        }
      }
    }
  }
}
