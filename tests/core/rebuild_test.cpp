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
  w.region = rect{0, 0, s.index.codestreams[0].siz.Xsiz, s.index.codestreams[0].siz.Ysiz};
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

namespace {

// The JPT-stream bins of a raw codestream (15444-9 A.3.4): its main header, and per tile the
// concatenation of its tile-parts, each from SOT to its last byte.
databin_cache jpt_cache(const std::vector<std::uint8_t>& file, const codestream_index& cs) {
  databin_cache cache;
  const bytes_view f(file);
  EXPECT_TRUE(cache.add(bin_id{bin_kind::main_header, 0, 0}, 0,
                        f.subspan(0, static_cast<std::size_t>(cs.main_header_end)), true));
  for (std::uint32_t t = 0; t < cs.tiles.size(); ++t) {
    std::uint64_t at = 0;
    for (std::size_t k = 0; k < cs.tiles[t].parts.size(); ++k) {
      const tile_part& tp = cs.tile_parts[cs.tiles[t].parts[k]];
      const auto n = static_cast<std::size_t>(tp.end - tp.sot_offset);
      EXPECT_TRUE(cache.add(bin_id{bin_kind::tile, 0, t}, at,
                            f.subspan(static_cast<std::size_t>(tp.sot_offset), n),
                            k + 1 == cs.tiles[t].parts.size()));
      at += n;
    }
  }
  return cache;
}

}  // namespace

TEST(JptRebuild, WholeTileBinsGiveTheOriginalCodestream) {
  // Tile-parts in tile order and no TLM or PLM: the rebuild is the file, byte for byte.
  for (const char* name : {"g_plt.j2k", "rgb_t.j2k", "g_eph.j2k"}) {
    SCOPED_TRACE(name);
    const auto file = read_file(vector_path(name));
    auto ix = image_index::build(file);
    ASSERT_TRUE(ix) << ix.error().to_string();
    const codestream_index& cs = ix->codestreams[0];
    ASSERT_FALSE(cs.has_marker(TLM) || cs.has_marker(PLM));
    databin_cache cache = jpt_cache(file, cs);
    auto out = rebuild_codestream(cache);
    ASSERT_TRUE(out) << out.error().to_string();
    EXPECT_TRUE(*out == file);
  }
}

TEST(JptRebuild, KeepsWholeTilePartsAndEmptiesTheOtherTiles) {
  const auto file = read_file(vector_path("rgb_t.j2k"));  // 4 tiles of one tile-part
  auto ix = image_index::build(file);
  ASSERT_TRUE(ix);
  const codestream_index& cs = ix->codestreams[0];
  ASSERT_EQ(cs.tiles.size(), 4u);
  databin_cache full = jpt_cache(file, cs);
  databin_cache cache;
  ASSERT_TRUE(cache.add(bin_id{bin_kind::main_header, 0, 0}, 0,
                        full.contiguous_prefix(bin_id{bin_kind::main_header, 0, 0}), true));
  // Tile 1 whole, tile 2 cut in its tile-part, tile 3 absent, tile 0 only past a gap.
  const bytes_view t1 = full.contiguous_prefix(bin_id{bin_kind::tile, 0, 1});
  const bytes_view t2 = full.contiguous_prefix(bin_id{bin_kind::tile, 0, 2});
  const bytes_view t0 = full.contiguous_prefix(bin_id{bin_kind::tile, 0, 0});
  ASSERT_TRUE(cache.add(bin_id{bin_kind::tile, 0, 1}, 0, t1, true));
  ASSERT_TRUE(cache.add(bin_id{bin_kind::tile, 0, 2}, 0, t2.first(t2.size() / 2), false));
  ASSERT_TRUE(cache.add(bin_id{bin_kind::tile, 0, 0}, 10, t0.subspan(10), true));
  rebuild_stats st;
  auto out = rebuild_codestream(cache, {}, &st);
  ASSERT_TRUE(out) << out.error().to_string();
  EXPECT_EQ(st.packets, 1u);  // tile-parts copied
  auto again = image_index::build(*out);
  ASSERT_TRUE(again) << again.error().to_string();
  const codestream_index& r = again->codestreams[0];
  ASSERT_EQ(r.tile_parts.size(), 4u);  // the others are empty tiles
  for (std::uint32_t t = 0; t < 4; ++t)
    EXPECT_EQ(r.tiles[t].packet_count, cs.tiles[t].packet_count);
  // Tile 1 is the original's, byte for byte; the others hold one byte per packet.
  EXPECT_EQ(r.tile_parts[2].end - r.tile_parts[2].body_offset, cs.tiles[2].packet_count);
  const tile_part& a = r.tile_parts[1];
  const tile_part& b = cs.tile_parts[cs.tiles[1].parts[0]];
  EXPECT_TRUE(std::equal(out->begin() + static_cast<std::ptrdiff_t>(a.sot_offset),
                         out->begin() + static_cast<std::ptrdiff_t>(a.end),
                         file.begin() + static_cast<std::ptrdiff_t>(b.sot_offset),
                         file.begin() + static_cast<std::ptrdiff_t>(b.end)));
}

TEST(JptRebuild, NoWholeTilePartGivesEmptyTiles) {
  // Every tile without a whole tile-part gets empty packets.
  const auto file = read_file(vector_path("rgb_t.j2k"));
  auto ix = image_index::build(file);
  ASSERT_TRUE(ix);
  databin_cache full = jpt_cache(file, ix->codestreams[0]);
  databin_cache cache;
  ASSERT_TRUE(cache.add(bin_id{bin_kind::main_header, 0, 0}, 0,
                        full.contiguous_prefix(bin_id{bin_kind::main_header, 0, 0}), true));
  ASSERT_TRUE(cache.add(bin_id{bin_kind::tile, 0, 0}, 0,
                        full.contiguous_prefix(bin_id{bin_kind::tile, 0, 0}).first(40), false));
  auto out = rebuild_codestream(cache);
  ASSERT_TRUE(out) << out.error().to_string();
  auto again = image_index::build(*out);
  ASSERT_TRUE(again) << again.error().to_string();
  ASSERT_EQ(again->codestreams[0].tile_parts.size(), 4u);
  EXPECT_EQ(again->codestreams[0].tiles[0].packet_count, ix->codestreams[0].tiles[0].packet_count);
}

TEST(JptRebuild, TileAndPrecinctBinsOfOneCodestreamAreAnError) {
  const auto file = read_file(vector_path("rgb_t.j2k"));
  auto ix = image_index::build(file);
  ASSERT_TRUE(ix);
  databin_cache cache = jpt_cache(file, ix->codestreams[0]);
  ASSERT_TRUE(cache.add(bin_id{bin_kind::precinct, 0, 3}, 0, bytes_view(file).first(1), false));
  auto out = rebuild_codestream(cache);
  ASSERT_FALSE(out);
  EXPECT_NE(out.error().message.find("JPT"), std::string::npos) << out.error().to_string();
}
