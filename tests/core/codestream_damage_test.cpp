// Damaged files: a truncation is refused with an error value or indexed with warnings (the
// damage OpenJPEG goes past: no EOC, trailing garbage, a cut last tile-part, a tile without
// tile-parts); random byte flips never crash (these tests run under ASan/UBSan in the sanitizer
// build).
#include <gtest/gtest.h>

#include <random>

#include "codestream_test_util.hpp"
#include "pipit/image_index.hpp"

using namespace pipit;
using pipit::testing::corpus_dir;
using pipit::testing::read_file;
using pipit::testing::vector_path;

namespace {

std::vector<std::string> damage_set() {
  std::vector<std::string> v{vector_path("g_plt.j2k"), vector_path("g_eph.j2k"),
                             vector_path("rgb_t.j2k")};
  for (const char* name : {"poc.j2k", "tp_r_plt_tlm.j2k", "yuv420.jp2", "ht_tiled.j2c",
                           "geo_both_tiled.jp2", "mode_all.j2k"}) {
    std::string p = corpus_dir() + "/" + name;
    if (std::filesystem::exists(p)) v.push_back(p);
  }
  return v;
}

void build_both(bytes_view b) {
  for (bool plt : {true, false}) {
    index_options o;
    o.use_pointer_markers = plt;
    auto ix = image_index::build(b, o);
    if (!ix) {
      EXPECT_FALSE(ix.error().message.empty());
    }
  }
}

bool has_warning(const codestream_index& cs, const std::string& words) {
  for (const auto& w : cs.warnings)
    if (w.message.find(words) != std::string::npos) return true;
  return false;
}

// Where a cut of the data falls: in a tile-part body (or after it) the codestream is indexed
// with warnings, as OpenJPEG decodes it; in a header it is refused, as OpenJPEG refuses it.
bool cut_in_a_body(const codestream_index& full, std::size_t len) {
  for (const auto& tp : full.tile_parts)
    if (len >= tp.body_offset && len <= tp.end) return true;
  return len > full.tile_parts.back().end;  // in or after EOC
}

// Every packet of an index made from a cut file is the packet of the whole file at the same
// place, and lies inside the data that is left: a cut never invents or moves packets.
void expect_packets_of_the_whole(const codestream_index& cut, const codestream_index& full,
                                 std::size_t len) {
  for (std::uint32_t t = 0; t < cut.tiles.size(); ++t)
    for (std::uint32_t s = 0; s < cut.tiles[t].num_slots; ++s)
      for (unsigned l = 0; l < cut.tiles[t].coding.layers; ++l) {
        const packet_entry* p = cut.packet(t, s, l);
        if (!p) continue;
        const packet_entry* q = full.packet(t, s, l);
        ASSERT_NE(q, nullptr);
        ASSERT_EQ(p->offset, q->offset) << "tile " << t << " slot " << s << " layer " << l;
        ASSERT_EQ(p->length, q->length) << "tile " << t << " slot " << s << " layer " << l;
        ASSERT_LE(p->end(), len);
      }
}

}  // namespace

// A cut anywhere is refused with a message, or indexed with warnings saying what is missing,
// never silently: the index keeps the packets that are whole, the others are absent.
TEST(CodestreamDamage, EveryTruncationIsRefusedOrIndexedWithWarnings) {
  for (const auto& path : damage_set()) {
    SCOPED_TRACE(path);
    auto data = read_file(path);
    auto whole = image_index::build(data);
    ASSERT_TRUE(whole) << path;
    ASSERT_TRUE(whole->codestreams[0].warnings.empty());
    const codestream_index& full = whole->codestreams[0];
    const bool raw = !whole->is_jp2;
    // Large files: every length near both ends, a stride through the middle.
    const std::size_t n = data.size();
    const std::size_t stride = n > 20000 ? 7 : 1;
    for (std::size_t len = 0; len < n; len += (len < 2048 || len > n - 2048) ? 1 : stride) {
      std::vector<std::uint8_t> cut(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(len));
      for (bool plt : {true, false}) {
        index_options o;
        o.use_pointer_markers = plt;
        auto ix = image_index::build(cut, o);
        if (!ix) {
          ASSERT_NE(ix.error().message, "");
          // A raw codestream cut inside a tile-part body is read as OpenJPEG reads it.
          ASSERT_FALSE(raw && len > full.main_header_end && cut_in_a_body(full, len))
              << "cut to " << len
              << " bytes inside a tile-part body but refused: " << ix.error().to_string();
          continue;
        }
        ASSERT_FALSE(ix->codestreams[0].warnings.empty())
            << "cut to " << len << " bytes, indexed without a warning";
        expect_packets_of_the_whole(ix->codestreams[0], full, len);
      }
    }
  }
}

TEST(CodestreamDamage, TruncatedLastTilePartIsIndexed) {
  auto data = read_file(vector_path("rgb_t.j2k"));
  auto full = codestream_index::build(data, byte_range{0, data.size()});
  ASSERT_TRUE(full);
  const tile_part& last = full->tile_parts.back();
  // Cut 60 % into the last tile-part's body, and at the end of its first packets.
  const std::uint64_t mid = last.body_offset + (last.end - last.body_offset) * 6 / 10;
  const packet_entry& p5 = full->packets[last.first_packet + 5];
  for (const std::uint64_t len : {mid, p5.end()}) {
    SCOPED_TRACE(len);
    for (bool plt : {true, false}) {
      index_options o;
      o.use_pointer_markers = plt;
      auto ix = codestream_index::build(data, byte_range{0, len}, o);
      ASSERT_TRUE(ix) << ix.error().to_string();
      EXPECT_FALSE(ix->has_eoc);
      EXPECT_TRUE(ix->tile_parts.back().cut);
      EXPECT_TRUE(has_warning(*ix, "is cut by the end of the data"));
      EXPECT_TRUE(has_warning(*ix, "tile 3 holds "));
      expect_packets_of_the_whole(*ix, *full, len);
      // Every packet of the whole file that ends inside the data is still there.
      std::size_t kept = 0;
      for (const auto& p : full->packets) kept += p.end() <= len ? 1 : 0;
      EXPECT_EQ(ix->packets.size(), kept);
      EXPECT_EQ(ix->tiles[3].packet_count, kept - last.first_packet);
    }
  }
  // The cut at a packet's end keeps that packet, and says where the data ends.
  auto ix = codestream_index::build(data, byte_range{0, p5.end()});
  ASSERT_TRUE(ix);
  EXPECT_EQ(ix->tiles[3].packet_count, 6u);
  EXPECT_EQ(ix->warnings.front().offset, p5.end());
}

TEST(CodestreamDamage, MissingEocIsIndexedWithWarning) {
  auto data = read_file(vector_path("g_plt.j2k"));
  auto full = codestream_index::build(data, byte_range{0, data.size()});
  ASSERT_TRUE(full);
  auto ix = codestream_index::build(data, byte_range{0, data.size() - 2});
  ASSERT_TRUE(ix) << ix.error().to_string();
  EXPECT_FALSE(ix->has_eoc);
  ASSERT_EQ(ix->warnings.size(), 1u);
  EXPECT_EQ(ix->warnings[0].offset, data.size() - 2);
  EXPECT_NE(ix->warnings[0].message.find("without an EOC marker"), std::string::npos);
  EXPECT_EQ(ix->packets.size(), full->packets.size());
}

TEST(CodestreamDamage, TrailingGarbageIsIgnoredWithWarning) {
  auto data = read_file(vector_path("rgb_t.j2k"));
  auto full = codestream_index::build(data, byte_range{0, data.size()});
  ASSERT_TRUE(full);
  data.resize(data.size() - 2);  // EOC
  const std::size_t at = data.size();
  for (int i = 0; i < 100; ++i) data.push_back(static_cast<std::uint8_t>(7 + i));
  auto ix = codestream_index::build(data, byte_range{0, data.size()});
  ASSERT_TRUE(ix) << ix.error().to_string();
  ASSERT_EQ(ix->warnings.size(), 1u);
  EXPECT_EQ(ix->warnings[0].offset, at);
  EXPECT_NE(ix->warnings[0].message.find("100 bytes after the last tile-part"), std::string::npos);
  EXPECT_EQ(ix->packets.size(), full->packets.size());
  EXPECT_EQ(ix->range.end(), at);
}

// Kakadu writes no tile-part for a tile that holds no samples of some component; a codestream
// cut between tile-parts loses its last tiles. The tile is there, its packets are absent.
TEST(CodestreamDamage, TileWithoutTilePartIsIndexedWithWarning) {
  auto data = read_file(vector_path("rgb_t.j2k"));
  auto full = codestream_index::build(data, byte_range{0, data.size()});
  ASSERT_TRUE(full);
  std::vector<std::uint8_t> bad(data.begin(),
                                data.begin() + static_cast<std::ptrdiff_t>(full->main_header_end));
  for (const auto& tp : full->tile_parts)
    if (tp.tile != 1)
      bad.insert(bad.end(), data.begin() + static_cast<std::ptrdiff_t>(tp.sot_offset),
                 data.begin() + static_cast<std::ptrdiff_t>(tp.end));
  bad.push_back(0xFF), bad.push_back(0xD9);
  for (bool plt : {true, false}) {
    index_options o;
    o.use_pointer_markers = plt;
    auto ix = codestream_index::build(bad, byte_range{0, bad.size()}, o);
    ASSERT_TRUE(ix) << ix.error().to_string();
    ASSERT_EQ(ix->warnings.size(), 1u);
    EXPECT_EQ(ix->warnings[0].message, "tile 1 has no tile-part: its packets are absent");
    EXPECT_TRUE(ix->has_eoc);
    const tile_entry& t1 = ix->tiles[1];
    EXPECT_TRUE(t1.parts.empty());
    EXPECT_EQ(t1.packet_count, 0u);
    EXPECT_EQ(t1.num_slots, full->tiles[1].num_slots);  // its geometry is known
    for (std::uint32_t s = 0; s < t1.num_slots; ++s) EXPECT_EQ(ix->packet(1, s, 0), nullptr);
    EXPECT_EQ(ix->packets.size(), full->packets.size() - full->tiles[1].packet_count);
    EXPECT_NE(ix->packet(2, 0, 0), nullptr);
  }
}

TEST(CodestreamDamage, RandomByteFlipsNeverCrash) {
  std::mt19937_64 rng(20261121);
  for (const auto& path : damage_set()) {
    SCOPED_TRACE(path);
    auto data = read_file(path);
    for (int round = 0; round < 400; ++round) {
      auto bad = data;
      int flips = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < flips; ++k) {
        // Bias half of the flips towards the headers, where they matter most.
        std::size_t limit = (k % 2 == 0) ? std::min<std::size_t>(bad.size(), 400) : bad.size();
        bad[rng() % limit] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
      }
      build_both(bad);
    }
  }
}

TEST(CodestreamDamage, ErrorsNameWhatAndWhere) {
  auto data = read_file(vector_path("g_plt.j2k"));
  auto bad = data;
  bad[2] = 0x12;  // SIZ marker code
  auto ix = image_index::build(bad);
  ASSERT_FALSE(ix);
  EXPECT_EQ(ix.error().offset, 2u);
  EXPECT_NE(ix.error().message.find("SIZ"), std::string::npos);
}

// tests/corpus/make_damaged.py's files: truncations, a missing EOC, trailing garbage, a wrong
// TNsot, tiles without tile-parts, header bombs. Those expected to be indexed ("warn:WORDS")
// are, with WORDS in a warning; those expected to be refused ("error:WORDS") say WORDS.
TEST(CodestreamDamage, DamagedCorpusFilesAreIndexedWithWarningsOrRefused) {
  const std::string dir = corpus_dir() + "/damaged";
  std::ifstream manifest(dir + "/MANIFEST.tsv");
  ASSERT_TRUE(manifest) << "no " << dir << "/MANIFEST.tsv: run tests/corpus/make_corpus.sh";
  std::string line;
  int files = 0;
  while (std::getline(manifest, line)) {
    const auto tab1 = line.find('\t'), tab2 = line.find('\t', tab1 + 1);
    const std::string name = line.substr(0, tab1), expect = line.substr(tab1 + 1, tab2 - tab1 - 1);
    SCOPED_TRACE(name);
    std::string path = dir;
    path += '/';
    path += name;
    auto data = read_file(path);
    ASSERT_FALSE(data.empty());
    ++files;
    for (bool plt : {true, false}) {
      index_options o;
      o.use_pointer_markers = plt;
      auto ix = image_index::build(data, o);
      if (expect.rfind("error:", 0) == 0) {
        ASSERT_FALSE(ix);
        EXPECT_NE(ix.error().message.find(expect.substr(6)), std::string::npos)
            << ix.error().message;
      } else if (expect.rfind("warn:", 0) == 0) {
        ASSERT_TRUE(ix) << ix.error().to_string();
        bool found = false;
        for (const auto& cs : ix->codestreams)
          for (const auto& w : cs.warnings)
            found = found || w.message.find(expect.substr(5)) != std::string::npos;
        EXPECT_TRUE(found) << "no warning about " << expect.substr(5);
      } else {
        ADD_FAILURE() << "unknown expectation '" << expect << "' in MANIFEST.tsv";
      }
    }
  }
  EXPECT_GE(files, 10);
}
