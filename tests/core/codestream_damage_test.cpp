// Damaged files: every truncation is an error value; random byte flips never crash (these tests
// run under ASan/UBSan in the sanitizer build).
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

}  // namespace

TEST(CodestreamDamage, EveryTruncationIsAnError) {
  for (const auto& path : damage_set()) {
    SCOPED_TRACE(path);
    auto data = read_file(path);
    ASSERT_TRUE(image_index::build(data)) << path;
    // Large files: every length near both ends, a stride through the middle.
    const std::size_t n = data.size();
    const std::size_t stride = n > 20000 ? 7 : 1;
    for (std::size_t len = 0; len < n; len += (len < 2048 || len > n - 2048) ? 1 : stride) {
      std::vector<std::uint8_t> cut(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(len));
      for (bool plt : {true, false}) {
        index_options o;
        o.use_pointer_markers = plt;
        auto ix = image_index::build(cut, o);
        ASSERT_FALSE(ix) << "truncated to " << len << " bytes still indexed";
        ASSERT_NE(ix.error().message, "");
      }
    }
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

  std::vector<std::uint8_t> cut(data.begin(), data.end() - 2);
  ix = image_index::build(cut);
  ASSERT_FALSE(ix);
  EXPECT_NE(ix.error().message.find("EOC"), std::string::npos);
}

// tests/corpus/make_damaged.py's files: truncations, a missing EOC, trailing garbage, a wrong
// TNsot, a tile without tile-parts, header bombs. Each is indexed or refused with a message,
// never a crash; those expected to be refused ("error:WORDS") say WORDS.
TEST(CodestreamDamage, DamagedCorpusFilesAreRefusedOrIndexedNeverCrash) {
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
      } else if (!ix) {
        EXPECT_FALSE(ix.error().message.empty());
      }
    }
  }
  EXPECT_GE(files, 10);
}
