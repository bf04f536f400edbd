// Rebuild from partial caches: whatever subset of bins and prefixes is present, the rebuilt
// codestream is well formed (our own index parses it completely) and decodable by OpenJPEG
// (checked in tests/integration). Full data rebuilds packet for packet.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "codestream_test_util.hpp"
#include "pipit/image_index.hpp"
#include "pipit/jpp.hpp"
#include "pipit/rebuild.hpp"
#include "pipit/response.hpp"

using namespace pipit;
using pipit::testing::corpus_dir;
using pipit::testing::read_file;
using pipit::testing::vector_path;

namespace {

struct served {
  std::vector<std::uint8_t> file;
  image_index index;
  std::vector<std::uint8_t> stream;  // the whole-image JPP-stream
};

served serve_all(const std::string& path) {
  served s;
  s.file = read_file(path);
  auto ix = image_index::build(s.file);
  EXPECT_TRUE(ix) << path;
  s.index = std::move(*ix);
  databin_source src(s.file, s.index);
  stream_model model(s.index);
  window_spec w;
  w.region = grid_rect{0, 0, s.index.codestreams[0].siz.Xsiz, s.index.codestreams[0].siz.Ysiz};
  compose_response(src, w, model, {}, s.stream);
  return s;
}

// A message with its own copy of the body (reader bodies live only as long as the reader).
struct owned_message {
  jpp_message m;
  std::vector<std::uint8_t> bytes;
  bin_id bin() const { return m.bin(); }
};

std::vector<owned_message> messages_of(const std::vector<std::uint8_t>& stream) {
  jpp_reader r;
  r.feed(stream);
  std::vector<owned_message> out;
  while (true) {
    auto ev = r.next();
    EXPECT_TRUE(ev);
    if (!ev || !std::holds_alternative<jpp_message>(*ev)) break;
    const auto& m = std::get<jpp_message>(*ev);
    out.push_back(owned_message{m, std::vector<std::uint8_t>(m.body.begin(), m.body.end())});
  }
  for (auto& o : out) o.m.body = o.bytes;
  return out;
}

std::vector<std::string> rebuild_set() {
  std::vector<std::string> v{vector_path("g_plt.j2k"), vector_path("g_eph.j2k"),
                             vector_path("rgb_t.j2k")};
  for (const char* n : {"poc.j2k", "yuv420.jp2", "ht_tiled.j2c", "mode_all.j2k", "layers12.j2k",
                        "tp_r_plt_tlm.j2k", "sop_eph_tiled.j2k"}) {
    std::string p = corpus_dir() + "/" + n;
    if (std::filesystem::exists(p)) v.push_back(p);
  }
  return v;
}

}  // namespace

TEST(Rebuild, FullCacheKeepsEveryPacket) {
  for (const auto& path : rebuild_set()) {
    SCOPED_TRACE(path);
    served s = serve_all(path);
    databin_cache cache;
    for (const auto& o : messages_of(s.stream))
      ASSERT_TRUE(cache.add(o.bin(), o.m.msg_offset, o.m.body, o.m.is_last));
    rebuild_stats st;
    auto cs = rebuild_codestream(cache, {}, &st);
    ASSERT_TRUE(cs) << cs.error().to_string();
    EXPECT_EQ(st.packets, st.packets_present);
    EXPECT_EQ(st.packets, s.index.codestreams[0].packets.size());
    auto again = image_index::build(*cs);
    ASSERT_TRUE(again) << again.error().to_string();
  }
}

// A tile's own codestream is that tile, where it was on the reference grid, with the same
// packets as in the whole rebuild: what a decoder of whole images (OpenJPH) decodes per tile.
TEST(Rebuild, TileCodestreamHoldsOneTileInPlace) {
  for (const auto& path : rebuild_set()) {
    SCOPED_TRACE(path);
    served s = serve_all(path);
    databin_cache cache;
    for (const auto& o : messages_of(s.stream))
      ASSERT_TRUE(cache.add(o.bin(), o.m.msg_offset, o.m.body, o.m.is_last));
    auto sk = codestream_skeleton::build(cache);
    ASSERT_TRUE(sk) << sk.error().to_string();
    const std::vector<std::uint8_t> whole = sk->codestream(cache);
    auto wix = codestream_index::build(whole, byte_range{0, whole.size()});
    ASSERT_TRUE(wix) << wix.error().to_string();
    const auto& siz = s.index.codestreams[0].siz;
    for (std::uint32_t t = 0; t < siz.num_tiles(); ++t) {
      SCOPED_TRACE(t);
      rebuild_stats st;
      const std::vector<std::uint8_t> one = sk->tile_codestream(cache, t, 0, &st);
      auto ix = codestream_index::build(one, byte_range{0, one.size()});
      ASSERT_TRUE(ix) << ix.error().to_string();
      ASSERT_EQ(ix->tiles.size(), 1u);
      EXPECT_EQ(ix->tiles[0].area, siz.tile_rect(t));
      EXPECT_EQ(ix->siz.components.size(), siz.components.size());
      const tile_entry& wt = wix->tiles[t];
      ASSERT_EQ(ix->tiles[0].packet_count, wt.packet_count);
      EXPECT_EQ(st.packets, st.packets_present);
      for (std::uint32_t k = 0; k < wt.packet_count; ++k) {
        const packet_entry& a = ix->packets[k];
        const packet_entry& b = wix->packets[wt.first_packet + k];
        ASSERT_EQ(a.length, b.length) << k;
        EXPECT_TRUE(std::equal(one.begin() + static_cast<std::ptrdiff_t>(a.offset),
                               one.begin() + static_cast<std::ptrdiff_t>(a.end()),
                               whole.begin() + static_cast<std::ptrdiff_t>(b.offset)))
            << k;
      }
    }
  }
}

TEST(Rebuild, RandomSubsetsAndPrefixesStayWellFormed) {
  std::mt19937_64 rng(7);
  for (const auto& path : rebuild_set()) {
    SCOPED_TRACE(path);
    served s = serve_all(path);
    auto msgs = messages_of(s.stream);
    for (int round = 0; round < 20; ++round) {
      databin_cache cache;
      for (const auto& o : msgs) {
        const jpp_message& m = o.m;
        const bool header = m.bin().kind != bin_kind::precinct;
        if (!header && rng() % 3 == 0) continue;  // drop a third of the precinct messages
        bytes_view body = m.body;
        bool last = m.is_last;
        if (!header && rng() % 4 == 0 && !body.empty()) {  // and cut a quarter of the rest
          body = body.first(rng() % body.size());
          last = false;
        }
        ASSERT_TRUE(cache.add(m.bin(), m.msg_offset, body, last));
      }
      rebuild_stats st;
      auto cs = rebuild_codestream(cache, {}, &st);
      ASSERT_TRUE(cs) << cs.error().to_string();
      EXPECT_LE(st.packets_present, st.packets);
      index_options o;
      o.use_pointer_markers = false;
      auto again = image_index::build(*cs, o);
      ASSERT_TRUE(again) << "round " << round << ": " << again.error().to_string();
    }
  }
}

TEST(Rebuild, NeedsTheMainHeader) {
  databin_cache cache;
  auto cs = rebuild_codestream(cache);
  ASSERT_FALSE(cs);
  EXPECT_EQ(cs.error().code, errc::not_found);
}

TEST(Rebuild, SharedPartialVectorDecodesItsFirstLayer) {
  auto data = read_file(vector_path("g_plt_partial.jpp"));
  databin_cache cache;
  for (const auto& o : messages_of(data))
    ASSERT_TRUE(cache.add(o.bin(), o.m.msg_offset, o.m.body, o.m.is_last));
  rebuild_stats st;
  auto cs = rebuild_codestream(cache, {}, &st);
  ASSERT_TRUE(cs);
  EXPECT_EQ(st.packets_present, 2u);  // layer 0 of precincts 0 and 1
  EXPECT_TRUE(image_index::build(*cs));
  // The skeleton counts the complete packets of each precinct bin.
  auto sk = codestream_skeleton::build(cache);
  ASSERT_TRUE(sk);
  EXPECT_EQ(sk->complete_packets(cache, 0).size(), 1u);
  EXPECT_EQ(sk->complete_packets(cache, 1).size(), 1u);
  EXPECT_EQ(sk->complete_packets(cache, 2).size(), 0u);
  EXPECT_EQ(sk->complete_packets(cache, 999999).size(), 0u);
}
