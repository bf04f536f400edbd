// jpp_reader on the test vectors of tests/data/: message contents (decoded by hand from the bytes)
// and independence from how the stream is cut into reads.
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

// An owned copy of one event, comparable.
struct record {
  bool is_eor = false;
  unsigned msg_class = 0;
  std::uint64_t csn = 0, id = 0, offset = 0;
  bool last = false;
  std::optional<std::uint64_t> aux;
  unsigned reason = 0;
  bytes body;
  std::uint64_t at = 0;  // stream offset of the event
  friend bool operator==(const record&, const record&) = default;
};

struct outcome {
  std::vector<record> events;
  std::optional<pipit::error> err;
};

// Drains the reader; after an EOR starts the next response.
void drain(pipit::jpp_reader& r, outcome& o) {
  while (!o.err) {
    auto ev = r.next();
    if (!ev) {
      o.err = ev.error();
      return;
    }
    record rec;
    rec.at = r.last_event_offset();
    if (const auto* m = std::get_if<pipit::jpp_message>(&*ev)) {
      rec.msg_class = m->msg_class;
      rec.csn = m->csn;
      rec.id = m->in_class_id;
      rec.offset = m->msg_offset;
      rec.last = m->is_last;
      rec.aux = m->aux;
      rec.body.assign(m->body.begin(), m->body.end());
    } else if (const auto* e = std::get_if<pipit::jpp_eor>(&*ev)) {
      rec.is_eor = true;
      rec.reason = static_cast<unsigned>(e->reason);
      rec.body.assign(e->body.begin(), e->body.end());
      r.begin_response();
    } else {
      return;
    }
    o.events.push_back(std::move(rec));
  }
}

// Parses `data` fed in the pieces [0, cuts[0]), [cuts[0], cuts[1]), ..., [cuts.back(), end).
outcome parse_cut(pipit::bytes_view data, const std::vector<std::size_t>& cuts) {
  pipit::jpp_reader r;
  outcome o;
  std::size_t from = 0;
  for (std::size_t i = 0; i <= cuts.size(); ++i) {
    const std::size_t to = i < cuts.size() ? cuts[i] : data.size();
    r.feed(data.subspan(from, to - from));
    drain(r, o);
    from = to;
  }
  return o;
}

outcome parse_whole(pipit::bytes_view data) { return parse_cut(data, {}); }

struct expect_msg {
  unsigned msg_class;
  std::uint64_t id;
  std::uint64_t length;
  bool last;
  std::uint64_t at;
};

void check_messages(const outcome& o, const std::vector<expect_msg>& want, unsigned reason,
                    std::uint64_t eor_at) {
  ASSERT_FALSE(o.err) << o.err->to_string();
  ASSERT_EQ(o.events.size(), want.size() + 1);
  for (std::size_t i = 0; i < want.size(); ++i) {
    const record& r = o.events[i];
    EXPECT_FALSE(r.is_eor);
    EXPECT_EQ(r.msg_class, want[i].msg_class) << i;
    EXPECT_EQ(r.csn, 0u);
    EXPECT_EQ(r.id, want[i].id) << i;
    EXPECT_EQ(r.offset, 0u) << i;
    EXPECT_EQ(r.body.size(), want[i].length) << i;
    EXPECT_EQ(r.last, want[i].last) << i;
    EXPECT_FALSE(r.aux);
    EXPECT_EQ(r.at, want[i].at) << i;
  }
  EXPECT_TRUE(o.events.back().is_eor);
  EXPECT_EQ(o.events.back().reason, reason);
  EXPECT_TRUE(o.events.back().body.empty());
  EXPECT_EQ(o.events.back().at, eor_at);
}

// Expected values: the message listings of docs/jpip-notes.md §11 (vectors 8 and 9), decoded by
// hand from the bytes.
TEST(JppReader, ReadsPartialVector) {
  const bytes file = read_vector("g_plt_partial.jpp");
  ASSERT_EQ(file.size(), 202u);
  const outcome o = parse_whole(file);
  check_messages(
      o,
      {{6, 0, 117, true, 0}, {2, 0, 0, true, 122}, {0, 0, 32, false, 126}, {0, 1, 34, false, 162}},
      4, 199);
  EXPECT_EQ(o.events[0].body[0], 0xFF);  // SOC
  EXPECT_EQ(o.events[0].body[1], 0x4F);
}

TEST(JppReader, ReadsWindowAVector) {
  const bytes file = read_vector("g_plt_winA.jpp");
  ASSERT_EQ(file.size(), 426u);
  check_messages(parse_whole(file),
                 {{6, 0, 117, true, 0},
                  {2, 0, 0, true, 122},
                  {0, 10, 47, true, 126},
                  {0, 26, 98, true, 177},
                  {0, 42, 139, true, 279}},
                 2, 423);
}

TEST(JppReader, ReadsFullVector) {
  const bytes file = read_vector("g_plt_full.jpp");
  ASSERT_EQ(file.size(), 6815u);
  const std::uint64_t lengths[64] = {
      49,  52,  47,  50,  53,  50,  50,  52,  48,  49,  47,  51,  51,  52,  49,  49,
      101, 104, 96,  102, 87,  100, 100, 98,  94,  105, 98,  93,  99,  99,  93,  99,
      137, 141, 140, 138, 140, 143, 135, 133, 138, 151, 139, 131, 132, 140, 137, 125,
      114, 126, 130, 107, 126, 126, 113, 113, 131, 129, 113, 113, 107, 114, 114, 84};
  std::vector<expect_msg> want = {{6, 0, 117, true, 0}, {2, 0, 0, true, 122}};
  std::uint64_t at = 126;
  for (std::uint64_t i = 0; i < 64; ++i) {
    want.push_back({0, i, lengths[i], true, at});
    // Header: Bin-ID (1 byte below 16, else 2), Msg-Offset 0, Msg-Length (1 or 2 bytes).
    at += (i < 16 ? 1 : 2) + 1 + (lengths[i] < 128 ? 1 : 2) + lengths[i];
  }
  want[2].at = 126;  // the first precinct message carries Class (bb=2)
  for (std::size_t i = 3; i < want.size(); ++i) want[i].at += 1;
  check_messages(parse_whole(file), want, 2, 6812);
}

TEST(JppReader, AnyCuttingGivesTheSameEvents) {
  for (const char* name : {"g_plt_partial.jpp", "g_plt_winA.jpp", "g_plt_full.jpp"}) {
    SCOPED_TRACE(name);
    const bytes file = read_vector(name);
    const outcome whole = parse_whole(file);
    ASSERT_FALSE(whole.err);

    std::vector<std::size_t> every_byte;
    for (std::size_t i = 1; i < file.size(); ++i) every_byte.push_back(i);
    EXPECT_EQ(parse_cut(file, every_byte).events, whole.events);

    for (std::size_t cut = 0; cut <= file.size(); ++cut) {
      const outcome o = parse_cut(file, {cut});
      ASSERT_FALSE(o.err) << cut;
      ASSERT_EQ(o.events, whole.events) << "cut at " << cut;
    }
  }
}

TEST(JppReader, EveryPrefixWaitsForMoreBytes) {
  for (const char* name : {"g_plt_partial.jpp", "g_plt_winA.jpp", "g_plt_full.jpp"}) {
    SCOPED_TRACE(name);
    const bytes file = read_vector(name);
    const outcome whole = parse_whole(file);
    for (std::size_t n = 0; n < file.size(); ++n) {
      const outcome o = parse_whole(pipit::bytes_view(file).first(n));
      ASSERT_FALSE(o.err) << n;
      ASSERT_LT(o.events.size(), whole.events.size()) << n;
      for (std::size_t i = 0; i < o.events.size(); ++i) ASSERT_EQ(o.events[i], whole.events[i]);
    }
  }
}

TEST(JppReader, KeepsBytesAfterEorForTheNextResponse) {
  const bytes a = read_vector("g_plt_winA.jpp");
  const bytes b = read_vector("g_plt_partial.jpp");
  bytes both = a;
  both.insert(both.end(), b.begin(), b.end());

  pipit::jpp_reader r;
  r.feed(both);
  int messages = 0;
  for (;;) {
    auto ev = r.next();
    ASSERT_TRUE(ev);
    if (std::holds_alternative<pipit::jpp_eor>(*ev)) break;
    ++messages;
  }
  EXPECT_EQ(messages, 5);
  EXPECT_TRUE(r.after_eor());
  EXPECT_EQ(r.buffered(), b.size());
  EXPECT_EQ(r.stream_offset(), a.size());
  const auto early = r.next();  // the caller must mark the response boundary
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error().code, pipit::errc::invalid_argument);

  r.begin_response();
  EXPECT_FALSE(r.after_eor());
  auto first = r.next();
  ASSERT_TRUE(first);
  const auto* m = std::get_if<pipit::jpp_message>(&*first);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->msg_class, 6u);
  EXPECT_EQ(m->body.size(), 117u);
  EXPECT_EQ(r.last_event_offset(), a.size());

  outcome o;
  drain(r, o);
  ASSERT_FALSE(o.err);
  ASSERT_EQ(o.events.size(), 4u);
  EXPECT_EQ(o.events[2].id, 1u);
  EXPECT_EQ(o.events[2].at, a.size() + 162);
  EXPECT_EQ(o.events[3].reason, 4u);
}

TEST(JppReader, InheritanceRestartsAtEachResponse) {
  // Response 1 ends with class 2, CSn 3; response 2 starts with bb=1, which must mean class 0,
  // CSn 0 (not the previous response's values).
  const bytes s = {0x60, 0x02, 0x03, 0x00, 0x00, 0x00, 0x02, 0x00, 0x25, 0x00, 0x00};
  const outcome o = parse_whole(s);
  ASSERT_FALSE(o.err);
  ASSERT_EQ(o.events.size(), 3u);
  EXPECT_EQ(o.events[0].msg_class, 2u);
  EXPECT_EQ(o.events[0].csn, 3u);
  EXPECT_EQ(o.events[2].msg_class, 0u);
  EXPECT_EQ(o.events[2].csn, 0u);
  EXPECT_EQ(o.events[2].id, 5u);
}

}  // namespace
