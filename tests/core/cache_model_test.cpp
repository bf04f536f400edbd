// cache_model: counts per bin, the +1 encoding of known-empty bins, subtractive updates, and
// memory that grows with the bins a client was sent, not with the image.
#include <gtest/gtest.h>

#include "codestream_test_util.hpp"
#include "pipit/cache_model.hpp"
#include "pipit/databins.hpp"
#include "pipit/image_index.hpp"

using namespace pipit;

namespace {

image_index index_of(const std::string& path, std::vector<std::uint8_t>& file) {
  file = pipit::testing::read_file(path);
  auto ix = image_index::build(file);
  EXPECT_TRUE(ix) << path;
  return ix ? std::move(*ix) : image_index{};
}

std::uint64_t precinct_bins(const codestream_index& cs) {
  std::uint64_t n = 0;
  for (const auto& t : cs.tiles) n += t.num_slots;
  return n;
}

// The corpus file with the most precinct bins (several pages of them).
image_index most_precincts(std::vector<std::uint8_t>& file) {
  std::string best;
  std::uint64_t most = 0;
  for (const auto& path : pipit::testing::corpus_files()) {
    std::vector<std::uint8_t> f;
    const image_index ix = index_of(path, f);
    if (!ix.codestreams.empty() && precinct_bins(ix.codestreams[0]) > most) {
      most = precinct_bins(ix.codestreams[0]);
      best = path;
    }
  }
  return index_of(best, file);
}

}  // namespace

TEST(CacheModel, HoldForgetKnownAcrossPages) {
  std::vector<std::uint8_t> file;
  const image_index ix = most_precincts(file);
  ASSERT_FALSE(ix.codestreams.empty());
  const auto& cs = ix.codestreams[0];
  cache_model m(ix);
  const std::uint64_t nt = cs.tiles.size(), nc = cs.num_components();
  // Every precinct bin id of the image, far apart in the id space.
  std::vector<bin_id> ids;
  for (std::uint32_t t = 0; t < nt; ++t)
    for (std::uint32_t slot = 0; slot < cs.tiles[t].num_slots; ++slot)
      ids.push_back(bin_id{bin_kind::precinct, 0, precinct_id_of(cs, t, slot)});
  ASSERT_GT(ids.size(), 256u) << "needs more than one page of bins";
  for (const auto& id : ids) {
    EXPECT_EQ(m.held(id), 0u);
    EXPECT_FALSE(m.known(id));
  }
  m.hold(ids.back(), 0);  // an empty bin the client was told about
  EXPECT_TRUE(m.known(ids.back()));
  EXPECT_EQ(m.held(ids.back()), 0u);
  m.hold(ids.front(), 100);
  m.hold(ids.front(), 40);  // never shrinks by hold
  EXPECT_EQ(m.held(ids.front()), 100u);
  m.forget(ids.front(), 30);
  EXPECT_EQ(m.held(ids.front()), 30u);
  m.forget(ids.front());
  EXPECT_FALSE(m.known(ids.front()));
  m.forget(ids[ids.size() / 2], 5);  // a bin on a page never written: nothing to forget
  EXPECT_FALSE(m.known(ids[ids.size() / 2]));
  // Ids beyond the image are ignored.
  const bin_id beyond{bin_kind::precinct, 0, nt * nc * 100000};
  m.hold(beyond, 7);
  EXPECT_EQ(m.held(beyond), 0u);
  m.hold(bin_id{bin_kind::main_header, 0, 0}, 12);
  m.hold(bin_id{bin_kind::tile_header, 0, nt - 1}, 3);
  EXPECT_EQ(m.held(bin_id{bin_kind::main_header, 0, 0}), 12u);
  EXPECT_EQ(m.held(bin_id{bin_kind::tile_header, 0, nt - 1}), 3u);
  m.clear();
  EXPECT_FALSE(m.known(ids.back()));
  EXPECT_FALSE(m.known(bin_id{bin_kind::main_header, 0, 0}));
}

TEST(CacheModel, MemoryGrowsWithWhatWasSentNotWithTheImage) {
  std::vector<std::uint8_t> file;
  const image_index ix = most_precincts(file);
  ASSERT_FALSE(ix.codestreams.empty());
  const auto& cs = ix.codestreams[0];
  cache_model m(ix);
  const std::uint64_t empty = m.memory_bytes();
  m.hold(bin_id{bin_kind::precinct, 0, 0}, 10);
  const std::uint64_t one = m.memory_bytes();
  EXPECT_GT(one, empty);
  EXPECT_LE(one - empty, 1100u);  // one page
  for (std::uint32_t t = 0; t < cs.tiles.size(); ++t)
    for (std::uint32_t slot = 0; slot < cs.tiles[t].num_slots; ++slot)
      m.hold(bin_id{bin_kind::precinct, 0, precinct_id_of(cs, t, slot)}, 1);
  EXPECT_GE(m.memory_bytes() - empty, 4 * precinct_bins(cs));
  m.clear();
  EXPECT_EQ(m.memory_bytes(), empty);
}
