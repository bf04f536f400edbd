#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "../../src/core/databin/checksum.hpp"
#include "pipit/databin_cache.hpp"

namespace {

using pipit::bin_id;
using pipit::bin_kind;
using pipit::databin_cache;
using pipit::errc;

// A cache with every kind of bin: complete, partial with gaps, empty and complete, empty.
databin_cache random_cache(std::uint32_t seed) {
  std::mt19937 rng(seed);
  databin_cache c("tid-" + std::to_string(seed));
  const bin_kind kinds[] = {bin_kind::precinct, bin_kind::tile_header, bin_kind::tile,
                            bin_kind::main_header, bin_kind::metadata};
  for (int b = 0; b < 40; ++b) {
    bin_id id;
    do id = {kinds[rng() % 5], rng() % 3, rng() % 1000};
    while (c.has(id));
    const std::size_t len = rng() % 400;
    std::vector<std::uint8_t> data(len);
    for (auto& x : data) x = static_cast<std::uint8_t>(rng());
    const pipit::bytes_view v(data);
    switch (rng() % 4) {
      case 0:  // complete, in several messages
        for (std::size_t at = 0; at < len; at += 50) {
          EXPECT_TRUE(c.add(id, at, v.subspan(at, std::min<std::size_t>(50, len - at)), false));
        }
        EXPECT_TRUE(c.add(id, len, {}, true));
        break;
      case 1:  // a prefix and an island, length known
        if (len >= 20) {
          EXPECT_TRUE(c.add(id, 0, v.subspan(0, len / 4), false));
          EXPECT_TRUE(c.add(id, len / 2, v.subspan(len / 2), true));
        }
        break;
      case 2:  // islands only, length unknown
        if (len >= 20) {
          EXPECT_TRUE(c.add(id, 5, v.subspan(5, 5), false));
          EXPECT_TRUE(c.add(id, 12, v.subspan(12), false));
        }
        break;
      default:  // nothing but a zero-length message
        EXPECT_TRUE(c.add(id, 0, {}, rng() % 2 == 0));
    }
  }
  return c;
}

void expect_same(const databin_cache& a, const databin_cache& b) {
  EXPECT_EQ(a.target_id(), b.target_id());
  EXPECT_EQ(a.bytes_held(), b.bytes_held());
  const auto ia = a.bins(), ib = b.bins();
  ASSERT_EQ(ia.size(), ib.size());
  for (std::size_t i = 0; i < ia.size(); ++i) {
    EXPECT_EQ(ia[i].id, ib[i].id);
    EXPECT_EQ(ia[i].prefix_length, ib[i].prefix_length);
    EXPECT_EQ(ia[i].bytes_held, ib[i].bytes_held);
    EXPECT_EQ(ia[i].known_length, ib[i].known_length);
    EXPECT_EQ(ia[i].complete, ib[i].complete);
    const auto ra = a.ranges(ia[i].id)->ranges(), rb = b.ranges(ib[i].id)->ranges();
    ASSERT_EQ(ra.size(), rb.size());
    for (std::size_t k = 0; k < ra.size(); ++k) {
      EXPECT_EQ(ra[k].offset, rb[k].offset);
      EXPECT_TRUE(std::equal(ra[k].bytes.begin(), ra[k].bytes.end(), rb[k].bytes.begin(),
                             rb[k].bytes.end()));
    }
  }
}

std::filesystem::path temp_path(const std::string& name) {
  return std::filesystem::temp_directory_path() /
         ("pipit_cache_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
          "_" + name);
}

TEST(CacheChecksum, Crc32cKnownValues) {
  const std::string s = "123456789";
  const pipit::bytes_view v(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
  EXPECT_EQ(pipit::detail::crc32c(v), 0xE3069283u);
  EXPECT_EQ(pipit::detail::crc32c(v.subspan(4), pipit::detail::crc32c(v.first(4))), 0xE3069283u);
  EXPECT_EQ(pipit::detail::crc32c({}), 0u);
}

TEST(CacheFile, SaveLoadRoundTrip) {
  const auto c = random_cache(7);
  const auto path = temp_path("roundtrip");
  ASSERT_TRUE(c.save(path));
  auto loaded = databin_cache::load(path, c.target_id());
  ASSERT_TRUE(loaded) << loaded.error().to_string();
  expect_same(c, *loaded);
  EXPECT_EQ(loaded->stats().messages, 0u);
  EXPECT_EQ(loaded->to_bytes(), c.to_bytes());  // the eviction order survives too
  auto any = databin_cache::load(path, "");     // an empty expected id takes the file's
  ASSERT_TRUE(any);
  EXPECT_EQ(any->target_id(), c.target_id());
  std::filesystem::remove(path);
}

TEST(CacheFile, LoadKeepsTheEvictionOrder) {
  databin_cache c;
  std::vector<std::uint8_t> d(10, 1);
  for (std::uint64_t i = 0; i < 4; ++i) ASSERT_TRUE(c.add({bin_kind::precinct, 0, i}, 0, d, false));
  c.touch({bin_kind::precinct, 0, 0});
  auto loaded = databin_cache::load_from_bytes(c.to_bytes(), "");
  ASSERT_TRUE(loaded);
  loaded->set_memory_limit(10);
  EXPECT_EQ(loaded->take_evicted(), (std::vector<bin_id>{{bin_kind::precinct, 0, 1},
                                                         {bin_kind::precinct, 0, 2},
                                                         {bin_kind::precinct, 0, 3}}));
}

TEST(CacheFile, EmptyCacheRoundTrips) {
  databin_cache c;
  auto loaded = databin_cache::load_from_bytes(c.to_bytes(), "");
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->bin_count(), 0u);
}

TEST(CacheFile, TargetIdMismatchGivesAnEmptyCacheForTheNewId) {
  const auto c = random_cache(3);
  auto loaded = databin_cache::load_from_bytes(c.to_bytes(), "another-target");
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->target_id(), "another-target");
  EXPECT_EQ(loaded->bin_count(), 0u);
}

TEST(CacheFile, MissingFileIsNotFound) {
  auto r = databin_cache::load(temp_path("does_not_exist"), "x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::not_found);
}

TEST(CacheFile, SaveReplacesAnExistingFile) {
  const auto path = temp_path("replace");
  ASSERT_TRUE(random_cache(1).save(path));
  const auto second = random_cache(2);
  ASSERT_TRUE(second.save(path));
  auto loaded = databin_cache::load(path, "");
  ASSERT_TRUE(loaded);
  expect_same(second, *loaded);
  std::filesystem::remove(path);
}

TEST(CacheFile, SaveIntoAMissingFolderIsAnIoError) {
  auto r = random_cache(1).save(temp_path("no_such_dir") / "cache.bin");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::io);
}

TEST(CacheFile, BadMagicVersionAndChecksumAreCorrupt) {
  const auto good = random_cache(5).to_bytes();
  auto bad = good;
  bad[0] = 'X';
  auto r = databin_cache::load_from_bytes(bad, "");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::corrupt);
  EXPECT_EQ(r.error().offset, 0u);

  bad = good;
  bad[11] = 2;  // version 2
  r = databin_cache::load_from_bytes(bad, "");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().offset, 8u);
  EXPECT_NE(r.error().message.find("version 2"), std::string::npos);

  bad = good;
  bad[40] ^= 0x10;
  r = databin_cache::load_from_bytes(bad, "");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::corrupt);
  EXPECT_EQ(r.error().offset, good.size() - 4);
  EXPECT_NE(r.error().message.find("checksum"), std::string::npos);
}

TEST(CacheFile, EveryTruncationIsAnError) {
  const auto good = random_cache(11).to_bytes();
  for (std::size_t n = 0; n < good.size(); ++n) {
    auto r = databin_cache::load_from_bytes(pipit::bytes_view(good).first(n), "");
    ASSERT_FALSE(r) << "prefix of " << n << " bytes loaded";
    ASSERT_EQ(r.error().code, errc::corrupt);
  }
}

TEST(CacheFile, RandomByteFlipsAreErrors) {
  const auto good = random_cache(13).to_bytes();
  std::mt19937 rng(99);
  for (int i = 0; i < 2000; ++i) {
    auto bad = good;
    const int flips = 1 + static_cast<int>(rng() % 3);
    for (int f = 0; f < flips; ++f) {
      bad[rng() % bad.size()] ^= static_cast<std::uint8_t>(1 + rng() % 255);
    }
    auto r = databin_cache::load_from_bytes(bad, "");
    ASSERT_FALSE(r) << "flip round " << i << " loaded";
    ASSERT_EQ(r.error().code, errc::corrupt);
  }
}

// Payloads with a valid frame and checksum but impossible contents (what the CRC cannot catch).
std::vector<std::uint8_t> framed(const std::vector<std::uint8_t>& payload) {
  std::vector<std::uint8_t> f = {'P', 'I', 'P', 'I', 'T', 'C', 0, 1, 0, 0, 0, 1, 0, 0, 0, 0};
  for (int s = 56; s >= 0; s -= 8) f.push_back(static_cast<std::uint8_t>(payload.size() >> s));
  f.insert(f.end(), payload.begin(), payload.end());
  const std::uint32_t crc = pipit::detail::crc32c(f);
  for (int s = 24; s >= 0; s -= 8) f.push_back(static_cast<std::uint8_t>(crc >> s));
  return f;
}

TEST(CacheFile, AbsurdCountsAndRangesAreCorruptEvenWithAValidChecksum) {
  // tid "", bin count 2^60.
  auto r = databin_cache::load_from_bytes(framed({0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0}), "");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::corrupt);
  EXPECT_NE(r.error().message.find("bin count"), std::string::npos);

  // One precinct bin whose two ranges touch: [0,1) and [1,2).
  std::vector<std::uint8_t> p = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,  // tid "", one bin
                                 0, 0};                               // kind, flags
  p.insert(p.end(), 24, 0);                                           // csn, id, len
  p.insert(p.end(), {0, 0, 0, 2});                                    // 2 ranges
  for (std::uint8_t at : {0, 1}) {
    p.insert(p.end(), {0, 0, 0, 0, 0, 0, 0, at, 0, 0, 0, 0, 0, 0, 0, 1, 0xEE});
  }
  r = databin_cache::load_from_bytes(framed(p), "");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("bad range"), std::string::npos);
  EXPECT_EQ(r.error().offset, 24u + 12 + 30 + 17);

  p[12] = 3;  // kind 3 does not exist
  r = databin_cache::load_from_bytes(framed(p), "");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("kind"), std::string::npos);
}

}  // namespace

namespace {

std::vector<std::uint8_t> bytes_of(std::size_t n, std::uint8_t v) {
  std::vector<std::uint8_t> out(n, v);
  return out;
}

}  // namespace

TEST(CacheFileSync, TwoWritersKeepTheUnionNotTheLastWritersBins) {
  const auto path = temp_path("sync_union");
  std::filesystem::remove(path);
  databin_cache a("t1"), b("t1");
  ASSERT_TRUE(a.add({bin_kind::main_header, 0, 0}, 0, bytes_of(30, 1), true));
  ASSERT_TRUE(a.add({bin_kind::precinct, 0, 1}, 0, bytes_of(50, 2), false));
  ASSERT_TRUE(b.add({bin_kind::main_header, 0, 0}, 0, bytes_of(30, 1), true));
  ASSERT_TRUE(b.add({bin_kind::precinct, 0, 2}, 0, bytes_of(40, 3), true));
  ASSERT_TRUE(b.add({bin_kind::precinct, 0, 1}, 50, bytes_of(10, 2), true));  // a's bin, its end
  databin_cache::file_stamp sa, sb;
  auto ra = a.sync_file(path, &sa);
  ASSERT_TRUE(ra) << ra.error().to_string();
  EXPECT_EQ(*ra, 0u);  // no file yet
  auto rb = b.sync_file(path, &sb);
  ASSERT_TRUE(rb);
  EXPECT_EQ(*rb, 50u);  // a's prefix of precinct 1
  auto onfile = databin_cache::load(path, "t1");
  ASSERT_TRUE(onfile);
  EXPECT_EQ(onfile->bin_count(), 3u);
  EXPECT_TRUE(onfile->is_complete({bin_kind::precinct, 0, 1}));
  EXPECT_TRUE(onfile->is_complete({bin_kind::precinct, 0, 2}));
  // a learns b's bins at its next sync; a file it wrote itself is not read again.
  auto ra2 = a.sync_file(path, &sa);
  ASSERT_TRUE(ra2);
  EXPECT_EQ(*ra2, 50u);
  auto ra3 = a.sync_file(path, &sa);
  ASSERT_TRUE(ra3);
  EXPECT_EQ(*ra3, 0u);
  expect_same(a, *databin_cache::load(path, "t1"));
  std::filesystem::remove(path);
  std::filesystem::remove(path.string() + ".lock");
}

TEST(CacheFileSync, AnotherTargetOrADamagedFileIsReplaced) {
  const auto path = temp_path("sync_replace");
  ASSERT_TRUE(random_cache(5).save(path));  // target "tid-5"
  databin_cache c("t2");
  ASSERT_TRUE(c.add({bin_kind::precinct, 0, 9}, 0, bytes_of(10, 7), true));
  auto r = c.sync_file(path);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 0u);
  expect_same(c, *databin_cache::load(path, ""));
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << "garbage";
  }
  ASSERT_TRUE(c.sync_file(path));
  expect_same(c, *databin_cache::load(path, ""));
  std::filesystem::remove(path);
  std::filesystem::remove(path.string() + ".lock");
}

TEST(CacheFileSync, ATornTemporaryFileNeverReplacesTheCache) {
  // A writer killed mid-write leaves only its temporary file: the cache file is intact.
  const auto path = temp_path("sync_torn");
  const auto c = random_cache(11);
  ASSERT_TRUE(c.save(path));
  const auto bytes = c.to_bytes();
  {
    std::ofstream f(path.string() + ".tmp.99999", std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size() / 2));
  }
  auto loaded = databin_cache::load(path, "");
  ASSERT_TRUE(loaded);
  expect_same(c, *loaded);
  std::filesystem::remove(path);
  std::filesystem::remove(path.string() + ".tmp.99999");
}

TEST(CacheFileSync, MergeSkipsContradictingBins) {
  databin_cache a("t"), b("t");
  ASSERT_TRUE(a.add({bin_kind::precinct, 0, 1}, 0, bytes_of(10, 1), true));  // length 10
  ASSERT_TRUE(b.add({bin_kind::precinct, 0, 1}, 0, bytes_of(20, 1), true));  // length 20
  ASSERT_TRUE(b.add({bin_kind::precinct, 0, 2}, 0, bytes_of(5, 1), false));
  EXPECT_EQ(a.merge_from(b), 5u);
  EXPECT_EQ(a.known_length({bin_kind::precinct, 0, 1}), 10u);
}
