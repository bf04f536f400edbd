// The codestream model on the fixtures of tests/data/ and on every file of the generated corpus.
#include <gtest/gtest.h>

#include <algorithm>

#include "codestream_test_util.hpp"
#include "pipit/boxes.hpp"
#include "pipit/image_index.hpp"

using namespace pipit;
using pipit::testing::corpus_files;
using pipit::testing::read_file;
using pipit::testing::vector_path;

namespace {

image_index index_of(const std::vector<std::uint8_t>& data, bool use_plt) {
  index_options o;
  o.use_pointer_markers = use_plt;
  auto ix = image_index::build(data, o);
  EXPECT_TRUE(ix) << (ix ? "" : ix.error().to_string());
  return ix ? std::move(*ix) : image_index{};
}

// Every tile-part body is covered exactly by its packets, in order.
void expect_packets_tile_bodies(const codestream_index& cs) {
  for (const auto& tp : cs.tile_parts) {
    std::uint64_t pos = tp.body_offset;
    for (std::uint32_t k = 0; k < tp.packet_count; ++k) {
      const auto& p = cs.packets[tp.first_packet + k];
      ASSERT_EQ(p.offset, pos) << "gap or overlap before packet " << tp.first_packet + k;
      pos += p.length;
    }
    EXPECT_EQ(pos, tp.end) << "tile-part of tile " << tp.tile << " not covered exactly";
  }
}

// The packet count is layers x precincts, summed over tile-components and resolutions.
void expect_packet_count(const codestream_index& cs) {
  std::uint64_t expected = 0;
  for (const auto& t : cs.tiles) {
    std::uint64_t precincts = 0;
    for (const auto& r : t.resolutions) precincts += r.grid.count();
    expected += precincts * t.coding.layers;
    EXPECT_EQ(precincts, t.num_slots);
  }
  EXPECT_EQ(cs.packets.size(), expected);
}

// Every (slot, layer) maps to the packet that names it.
void expect_slot_map(const codestream_index& cs) {
  for (std::uint32_t ti = 0; ti < cs.tiles.size(); ++ti) {
    const auto& t = cs.tiles[ti];
    for (unsigned c = 0; c < t.coding.components.size(); ++c)
      for (unsigned r = 0; r <= t.coding.components[c].levels; ++r)
        for (std::uint32_t p = 0; p < t.res(c, r).grid.count(); ++p)
          for (unsigned l = 0; l < t.coding.layers; ++l) {
            const packet_entry* e = cs.packet(ti, t.slot(c, r, p), l);
            ASSERT_NE(e, nullptr);
            EXPECT_EQ(e->tile, ti);
            EXPECT_EQ(e->component, c);
            EXPECT_EQ(e->resolution, r);
            EXPECT_EQ(e->precinct, p);
            EXPECT_EQ(e->layer, l);
          }
  }
}

void check_file(const std::string& path) {
  SCOPED_TRACE(path);
  auto data = read_file(path);
  ASSERT_FALSE(data.empty());
  auto parsed = index_of(data, false);
  ASSERT_FALSE(parsed.codestreams.empty());
  for (const auto& cs : parsed.codestreams) {
    expect_packets_tile_bodies(cs);
    expect_packet_count(cs);
    expect_slot_map(cs);
    for (const auto& p : cs.packets) ASSERT_NE(p.header_length, unknown_length);
  }
  // Where PLT/PLM are present, their lengths equal the parsed ones packet for packet.
  const auto& cs = parsed.codestreams.front();
  if (cs.has_marker(PLT) || cs.has_marker(PLM)) {
    auto fast = index_of(data, true);
    ASSERT_EQ(fast.codestreams.front().packets.size(), cs.packets.size());
    for (std::size_t i = 0; i < cs.packets.size(); ++i) {
      const auto& a = cs.packets[i];
      const auto& b = fast.codestreams.front().packets[i];
      ASSERT_EQ(a.offset, b.offset) << "packet " << i;
      ASSERT_EQ(a.length, b.length) << "packet " << i;
      ASSERT_EQ(a.layer, b.layer);
      ASSERT_EQ(a.precinct, b.precinct);
    }
  }
}

}  // namespace

TEST(Codestream, TestVectorsIndexExactly) {
  for (const char* name : {"g_plt.j2k", "g_eph.j2k", "rgb_t.j2k"}) check_file(vector_path(name));
}

TEST(Codestream, GPltGeometryMatchesTheNotes) {
  auto data = read_file(vector_path("g_plt.j2k"));
  auto ix = index_of(data, false);
  const auto& cs = ix.codestreams.front();
  EXPECT_EQ(cs.siz.width(), 256u);
  EXPECT_EQ(cs.defaults.order, progression::RPCL);
  EXPECT_EQ(cs.defaults.layers, 2);
  const auto& t = cs.tiles[0];
  // 4 resolutions x 4x4 precincts: s = 16 r + 4 py + px.
  for (unsigned r = 0; r < 4; ++r) {
    EXPECT_EQ(t.res(0, r).grid.nx, 4u);
    EXPECT_EQ(t.res(0, r).grid.ny, 4u);
    EXPECT_EQ(t.slot(0, r, 0) - t.comp_slot_base(0), 16u * r);
  }
  EXPECT_TRUE(cs.has_marker(PLT));
  EXPECT_FALSE(cs.tiles[0].coding.eph);
}

TEST(Codestream, EphAndSopAreHonoured) {
  auto data = read_file(vector_path("g_eph.j2k"));
  auto ix = index_of(data, false);
  const auto& cs = ix.codestreams.front();
  EXPECT_TRUE(cs.tiles[0].coding.eph);
  EXPECT_TRUE(cs.tiles[0].coding.sop);
  for (const auto& p : cs.packets) {
    EXPECT_TRUE(p.has_sop);
    EXPECT_GE(p.header_length, 6u + 1u + 2u);
    EXPECT_EQ(load_be16(data.data() + p.offset), SOP);
  }
}

TEST(Codestream, MultiTileComponentSlots) {
  auto data = read_file(vector_path("rgb_t.j2k"));
  auto ix = index_of(data, false);
  const auto& cs = ix.codestreams.front();
  ASSERT_EQ(cs.tiles.size(), 4u);
  EXPECT_EQ(cs.tiles[3].slot(1, 0, 5) - cs.tiles[3].comp_slot_base(1), 5u);
}

TEST(Codestream, GeneratedCorpus) {
  auto files = corpus_files();
  if (files.empty()) GTEST_SKIP() << "no corpus in " << pipit::testing::corpus_dir();
  for (const auto& f : files) check_file(f);
}

namespace {

void put_box(std::vector<std::uint8_t>& out, const char (&type)[5],
             const std::vector<std::uint8_t>& content) {
  const auto n = static_cast<std::uint32_t>(content.size() + 8);
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(n >> s));
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), content.begin(), content.end());
}

// A JP2 file of the boxes describe_jp2 reads: signature, ftyp, jp2h (ihdr, colr, `cdef`), jp2c.
std::vector<std::uint8_t> jp2_with_cdef(const std::vector<std::uint8_t>& cdef) {
  std::vector<std::uint8_t> f, jp2h;
  put_box(f, "jP  ", {0x0D, 0x0A, 0x87, 0x0A});
  put_box(f, "ftyp", {'j', 'p', '2', ' ', 0, 0, 0, 0, 'j', 'p', '2', ' '});
  put_box(jp2h, "ihdr", {0, 0, 0, 4, 0, 0, 0, 4, 0, 4, 7, 7, 0, 0});
  put_box(jp2h, "colr", {1, 0, 0, 0, 0, 0, 16});
  put_box(jp2h, "cdef", cdef);
  put_box(f, "jp2h", jp2h);
  put_box(f, "jp2c", {0xFF, 0x4F});
  return f;
}

}  // namespace

TEST(Jp2Boxes, ChannelDefinitionsAreRead) {
  // N = 2: channel 3 is opacity of the whole image, channel 0 the first colour.
  const auto f = jp2_with_cdef({0, 2, 0, 3, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1});
  auto boxes = read_boxes(f, byte_range{0, f.size()});
  ASSERT_TRUE(boxes) << boxes.error().to_string();
  auto d = describe_jp2(f, *boxes);
  ASSERT_TRUE(d) << d.error().to_string();
  EXPECT_EQ(d->enum_cs, 16u);
  ASSERT_TRUE(d->has_cdef);
  ASSERT_EQ(d->channels.size(), 2u);
  EXPECT_EQ(d->channels[0].channel, 3);
  EXPECT_EQ(d->channels[0].type, 1);
  EXPECT_EQ(d->channels[0].association, 0);
  EXPECT_EQ(d->channels[1].channel, 0);
  EXPECT_EQ(d->channels[1].type, 0);
  EXPECT_EQ(d->channels[1].association, 1);
}

TEST(Jp2Boxes, TruncatedChannelDefinitionIsAnError) {
  // N = 2 but one entry and a half.
  const auto f = jp2_with_cdef({0, 2, 0, 3, 0, 1, 0, 0, 0, 0, 0});
  auto boxes = read_boxes(f, byte_range{0, f.size()});
  ASSERT_TRUE(boxes) << boxes.error().to_string();
  auto d = describe_jp2(f, *boxes);
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message.find("cdef"), std::string::npos) << d.error().to_string();
}

TEST(ImageSize, OneSampleTypeForEveryComponent) {
  // The type the client, the GDAL driver and `pipit get` give every band: from all components.
  image_size s;
  s.components = {component_size{8, false}, component_size{8, false}};
  EXPECT_EQ(sample_type_of(s), (sample_type{8, false}));
  s.components[1] = component_size{8, true};  // a signed 8-bit component: 16-bit signed
  EXPECT_EQ(sample_type_of(s), (sample_type{16, true}));
  s.components[1] = component_size{12, false};
  EXPECT_EQ(sample_type_of(s), (sample_type{16, false}));
  s.components[0] = component_size{17, false};
  EXPECT_EQ(sample_type_of(s), (sample_type{32, false}));
}

TEST(Jp2Boxes, ChannelColoursFollowCdefAndColr) {
  // sRGB with cdef: channel 3 opacity, channel 0 the first colour.
  jp2_description d;
  d.colour_method = 1;
  d.enum_cs = 16;
  d.channels = {channel_definition{3, 1, 0}, channel_definition{0, 0, 1}};
  EXPECT_EQ(channel_colours(d, 4),
            (std::vector<band_colour>{band_colour::red, band_colour::green, band_colour::blue,
                                      band_colour::alpha}));
  d.channels.clear();
  d.enum_cs = 17;  // greyscale: the first channel grey, the others undefined
  EXPECT_EQ(channel_colours(d, 2),
            (std::vector<band_colour>{band_colour::gray, band_colour::undefined}));
  d.enum_cs = 18;  // sYCC
  EXPECT_EQ(channel_colours(d, 3),
            (std::vector<band_colour>{band_colour::y, band_colour::cb, band_colour::cr}));
}
