// PPM and PPT: no encoder at hand writes them, so these tests move the packet headers of real
// files into PPM (main header) or PPT (tile-part headers) and check that the index finds the
// same packets and that every data-bin is byte-identical to the original's (headers put back
// in front of their bodies).
#include <gtest/gtest.h>

#include "codestream_test_util.hpp"
#include "pipit/byte_writer.hpp"
#include "pipit/databins.hpp"
#include "pipit/image_index.hpp"
#include "pipit/jpp.hpp"
#include "pipit/response_stream.hpp"

using namespace pipit;
using pipit::testing::corpus_dir;
using pipit::testing::read_file;
using pipit::testing::vector_path;

namespace {

// Marker segments of `code` carrying `data` after a Z index, split at the 65535-byte limit.
void packed_segments(std::vector<std::uint8_t>& o, std::uint16_t code,
                     const std::vector<std::uint8_t>& data) {
  std::size_t pos = 0;
  unsigned z = 0;
  do {
    std::size_t n = std::min<std::size_t>(data.size() - pos, 65535 - 3);
    byte_writer(o)
        .u16(code)
        .u16(static_cast<std::uint16_t>(n + 3))
        .u8(static_cast<std::uint8_t>(z++));
    o.insert(o.end(), data.begin() + static_cast<std::ptrdiff_t>(pos),
             data.begin() + static_cast<std::ptrdiff_t>(pos + n));
    pos += n;
  } while (pos < data.size());
}

// Every precinct bin of `cs`'s geometry holds the same bytes in both sources.
void expect_same_precinct_bins(const databin_source& x, const databin_source& y,
                               const codestream_index& cs, const char* what) {
  for (std::uint32_t t = 0; t < cs.tiles.size(); ++t)
    for (std::uint32_t s = 0; s < cs.tiles[t].num_slots; ++s) {
      const std::uint64_t id = precinct_id_of(cs, t, s);
      std::vector<std::uint8_t> a, b;
      x.copy(bin_id{bin_kind::precinct, 0, id}, 0, ~0ull, a);
      y.copy(bin_id{bin_kind::precinct, 0, id}, 0, ~0ull, b);
      ASSERT_EQ(a, b) << what << "precinct bin " << id;
    }
}

// Rewrites a raw codestream with its packet headers in PPM (ppm = true) or PPT.
std::vector<std::uint8_t> to_packed(const std::vector<std::uint8_t>& f, const codestream_index& cs,
                                    bool ppm) {
  auto header_of = [&](const packet_entry& p) {
    const std::size_t sop = p.has_sop ? 6 : 0;
    return std::vector<std::uint8_t>(
        f.begin() + static_cast<std::ptrdiff_t>(p.offset + sop),
        f.begin() + static_cast<std::ptrdiff_t>(p.offset + p.header_length));
  };
  std::vector<std::uint8_t> out(f.begin(), f.begin() + 2);
  for (const auto& m : cs.main_markers)
    if (m.code != TLM && m.code != PLM)
      out.insert(out.end(), f.begin() + static_cast<std::ptrdiff_t>(m.offset),
                 f.begin() + static_cast<std::ptrdiff_t>(m.end()));
  if (ppm) {
    std::vector<std::uint8_t> all;
    for (const auto& tp : cs.tile_parts) {
      std::vector<std::uint8_t> h;
      for (std::uint32_t k = 0; k < tp.packet_count; ++k) {
        auto b = header_of(cs.packets[tp.first_packet + k]);
        h.insert(h.end(), b.begin(), b.end());
      }
      byte_writer(all).u32(static_cast<std::uint32_t>(h.size()));
      all.insert(all.end(), h.begin(), h.end());
    }
    packed_segments(out, PPM, all);
  }
  for (const auto& tp : cs.tile_parts) {
    const std::size_t sot = out.size();
    out.insert(out.end(), f.begin() + static_cast<std::ptrdiff_t>(tp.sot_offset),
               f.begin() + static_cast<std::ptrdiff_t>(tp.sot_offset + 12));
    for (const auto& m : tp.markers)
      if (m.code != PLT)
        out.insert(out.end(), f.begin() + static_cast<std::ptrdiff_t>(m.offset),
                   f.begin() + static_cast<std::ptrdiff_t>(m.end()));
    std::vector<std::uint8_t> heads, bodies;
    for (std::uint32_t k = 0; k < tp.packet_count; ++k) {
      const auto& p = cs.packets[tp.first_packet + k];
      auto b = header_of(p);
      heads.insert(heads.end(), b.begin(), b.end());
      if (p.has_sop)
        bodies.insert(bodies.end(), f.begin() + static_cast<std::ptrdiff_t>(p.offset),
                      f.begin() + static_cast<std::ptrdiff_t>(p.offset + 6));
      bodies.insert(bodies.end(),
                    f.begin() + static_cast<std::ptrdiff_t>(p.offset + p.header_length),
                    f.begin() + static_cast<std::ptrdiff_t>(p.end()));
    }
    if (!ppm && !heads.empty()) packed_segments(out, PPT, heads);
    byte_writer(out).u16(SOD);
    out.insert(out.end(), bodies.begin(), bodies.end());
    store_be32(out.data() + sot + 6, static_cast<std::uint32_t>(out.size() - sot));
  }
  byte_writer(out).u16(EOC);
  return out;
}

void check(const std::string& path) {
  SCOPED_TRACE(path);
  auto f = read_file(path);
  index_options o;
  o.use_pointer_markers = false;
  auto ix = image_index::build(f, o);
  ASSERT_TRUE(ix);
  const auto& cs = ix->codestreams[0];
  databin_source src(f, *ix);
  for (bool ppm : {true, false}) {
    SCOPED_TRACE(ppm ? "PPM" : "PPT");
    auto g = to_packed(f, cs, ppm);
    auto iy = image_index::build(g, o);
    ASSERT_TRUE(iy) << iy.error().to_string();
    const auto& cp = iy->codestreams[0];
    EXPECT_TRUE(cp.has_marker(ppm ? PPM : PPT));
    ASSERT_EQ(cp.packets.size(), cs.packets.size());
    databin_source psrc(g, *iy);
    expect_same_precinct_bins(src, psrc, cs, "");
    if (::testing::Test::HasFatalFailure()) return;
    // Header bins lose the PPM/PPT segments, so they are equal too (the originals had none).
    EXPECT_EQ(src.main_header(0), psrc.main_header(0));
    // A JPT-stream of the whole image: its main header and tile data-bins, put end to end, are a
    // codestream with the same packets (the JPT main header keeps PPM).
    stream_model model(*iy);
    stream_plan plan;
    plan.jpt = true;
    stream_codestream sc;
    sc.window.region = rect{0, 0, cp.siz.Xsiz, cp.siz.Ysiz};
    plan.codestreams.push_back(sc);
    response_stream rs(psrc, model, plan);
    std::vector<std::uint8_t> stream;
    while (rs.next(stream, 1 << 20)) {
    }
    response_stream::append_eor(stream, rs.reason());
    jpp_reader reader;
    reader.feed(stream);
    std::vector<std::uint8_t> head;
    std::vector<std::vector<std::uint8_t>> tiles(cp.tiles.size());
    for (;;) {
      auto ev = reader.next();
      ASSERT_TRUE(ev) << ev.error().to_string();
      const auto* m = std::get_if<jpp_message>(&*ev);
      if (m == nullptr) break;
      auto& dst = m->bin().kind == bin_kind::main_header ? head : tiles[m->bin().id];
      ASSERT_EQ(m->msg_offset, dst.size());
      dst.insert(dst.end(), m->body.begin(), m->body.end());
    }
    for (const auto& t : tiles) head.insert(head.end(), t.begin(), t.end());
    head.push_back(0xFF);
    head.push_back(0xD9);
    auto ir = image_index::build(head, o);
    ASSERT_TRUE(ir) << "JPT reassembly: " << ir.error().to_string();
    databin_source rsrc(head, *ir);
    expect_same_precinct_bins(psrc, rsrc, cs, "JPT reassembly, ");
  }
}

}  // namespace

TEST(PackedHeaders, PpmAndPptGiveTheSameDataBins) {
  check(vector_path("g_eph.j2k"));  // SOP and EPH
  check(vector_path("rgb_t.j2k"));  // 4 tiles, 3 components
  for (const char* n : {"tp_r.j2k", "poc.j2k", "layers12.j2k", "ht_tiled.j2c"}) {
    std::string p = corpus_dir() + "/" + n;
    if (std::filesystem::exists(p)) check(p);
  }
}
