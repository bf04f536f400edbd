#include "pipit/rebuild.hpp"

#include <limits>
#include <memory>
#include <string>

#include "../codestream/marker_walk.hpp"
#include "../codestream/packet_header.hpp"
#include "../codestream/packet_order.hpp"
#include "pipit/boxes.hpp"
#include "pipit/byte_writer.hpp"
#include "pipit/databins.hpp"

namespace pipit {
namespace {

bool dropped(std::uint16_t code) {
  return code == POC || code == TLM || code == PLM || code == PPM || code == PLT || code == PPT;
}

// Copies header segments from `seg` (a header bin without SOC/SOT), dropping pointer and
// re-ordering markers and setting every COD's progression to RPCL; or, for a JPT-stream's main
// header (`keep_order`), dropping only TLM and PLM (the tile-parts are copied as they are, in
// tile order, with their own PLT and the PPM headers they need).
result<void> rewrite_segments(bytes_view seg, std::uint64_t base, std::vector<std::uint8_t>& out,
                              const char* where, bool keep_order = false) {
  // The bin holds whole segments only: walking it ends in a read past its end, exactly there.
  std::vector<std::uint8_t> data(seg.begin(), seg.end());
  byte_reader r(data, base);
  std::vector<marker_segment> segs;
  auto stop = detail::walk_header(r, 0xFFFF, 0xFFFF, where, segs);
  if (stop) return fail(errc::corrupt, r.abs_pos(), std::string(where) + ": unexpected FFFF");
  if (!(r.at_end() && stop.error().code == errc::truncated)) return fail(stop.error());
  for (const auto& m : segs) {
    if (keep_order ? (m.code == TLM || m.code == PLM) : dropped(m.code)) continue;
    const std::size_t at = out.size();
    auto b = seg.subspan(static_cast<std::size_t>(m.offset - base), 2u + m.length);
    out.insert(out.end(), b.begin(), b.end());
    if (!keep_order && m.code == COD && m.length >= 4)
      out[at + 5] = static_cast<std::uint8_t>(progression::RPCL);
  }
  return {};
}

// True when the main header `head` (SOC onwards, whole segments) holds a PPM segment.
bool main_has_ppm(const std::vector<std::uint8_t>& head) {
  std::size_t pos = 2;
  while (head.size() - pos >= 4) {
    const std::uint16_t code = load_be16(head.data() + pos);
    if (code == PPM) return true;
    pos += 2 + load_be16(head.data() + pos + 2);
    if (pos > head.size()) break;
  }
  return false;
}

// The contiguous prefix of a bin, or nothing when the bin is absent.
bytes_view prefix(const databin_cache& c, const bin_id& id) { return c.contiguous_prefix(id); }

// Scratch memory reused across precinct bins.
struct packet_scratch {
  detail::precinct_state state;
  std::vector<detail::precinct_state::band_shape> shapes;
};

// How many leading packets of a precinct bin are complete: fills `ends` with where each ends.
void complete_packets(bytes_view bin, const image_size& siz, const tile_entry& t, unsigned c,
                      unsigned r, std::uint32_t p, unsigned layers, packet_scratch& scratch,
                      std::vector<std::uint64_t>& ends) {
  ends.clear();
  bool ready = false;
  std::size_t pos = 0;
  for (unsigned l = 0; l < layers && pos < bin.size(); ++l) {
    std::size_t q = pos;
    if (t.coding.sop && bin.size() - q >= 2 && load_be16(bin.data() + q) == SOP) {
      if (bin.size() - q < 6) break;
      q += 6;
    }
    if (q >= bin.size()) break;
    std::uint64_t body = 0;
    if (bin[q] & 0x80) {
      if (!ready) {
        if (detail::precinct_shapes(siz, t, c, r, p, scratch.shapes) > (std::uint64_t{1} << 22))
          break;
        scratch.state.init(scratch.shapes, t.coding.components[c].cblk_style);
        ready = true;
      }
      detail::bit_reader br(bin.subspan(q), q);
      auto lens = scratch.state.read(br, l);
      if (!lens) break;
      q += lens->header;
      body = lens->body;
    } else {
      q += 1;
    }
    if (t.coding.eph) {
      if (bin.size() - q < 2 || load_be16(bin.data() + q) != EPH) break;
      q += 2;
    }
    if (body > bin.size() - q) break;
    pos = q + static_cast<std::size_t>(body);
    ends.push_back(pos);
  }
}

}  // namespace

result<codestream_skeleton> codestream_skeleton::build(const databin_cache& cache,
                                                       std::uint32_t csn,
                                                       std::uint64_t max_index_bytes) {
  const bin_id mh{bin_kind::main_header, csn, 0};
  if (!cache.is_complete(mh))
    return fail(errc::not_found, no_offset,
                "the main header bin of codestream " + std::to_string(csn) +
                    " is not complete in the cache");
  bytes_view main = prefix(cache, mh);
  if (main.size() < 6 || load_be16(main.data()) != SOC || load_be16(main.data() + 2) != SIZ)
    return fail(errc::corrupt, 0, "main header bin does not start with SOC, SIZ");
  byte_reader sr(main.subspan(4), 4);
  PIPIT_TRY_ASSIGN(siz, parse_siz(sr));
  const std::uint32_t nt = siz.num_tiles();

  codestream_skeleton sk;
  sk.csn_ = csn;
  const std::size_t siz_end = 4 + load_be16(main.data() + 4);  // parse_siz checked Lsiz
  sk.head_.assign(main.begin(), main.begin() + static_cast<std::ptrdiff_t>(siz_end));
  PIPIT_TRY(rewrite_segments(main.subspan(siz_end), siz_end, sk.head_, "main header bin"));
  sk.tile_heads_.resize(nt);
  // A skeleton codestream: the rewritten headers, each tile without packet data.
  std::vector<std::uint8_t> skel = sk.head_;
  for (std::uint32_t t = 0; t < nt; ++t) {
    const bin_id th{bin_kind::tile_header, csn, t};
    if (cache.is_complete(th))
      PIPIT_TRY(rewrite_segments(prefix(cache, th), 0, sk.tile_heads_[t], "tile header bin"));
    byte_writer(skel)
        .u16(SOT)
        .u16(10)
        .u16(static_cast<std::uint16_t>(t))
        .u32(static_cast<std::uint32_t>(12 + sk.tile_heads_[t].size() + 2))
        .u8(0)
        .u8(1)
        .bytes(sk.tile_heads_[t])
        .u16(SOD);
  }
  byte_writer(skel).u16(EOC);
  index_options io;
  io.headers_only = true;
  io.max_index_bytes = max_index_bytes;
  PIPIT_TRY_ASSIGN(ix, codestream_index::build(skel, byte_range{0, skel.size()}, io));
  sk.index_ = std::make_shared<const codestream_index>(std::move(ix));
  return sk;
}

std::vector<std::uint64_t> codestream_skeleton::complete_packets(const databin_cache& cache,
                                                                 std::uint64_t id,
                                                                 unsigned max_layers) const {
  const codestream_index& ix = *index_;
  const std::uint32_t nc = ix.num_components(), nt = static_cast<std::uint32_t>(ix.tiles.size());
  const auto a = split_precinct_bin_id(id, nc, nt);
  const tile_entry& te = ix.tiles[a.tile];
  const std::uint32_t end =
      a.component + 1 < nc ? te.comp_slot_base(a.component + 1) : te.num_slots;
  if (te.comp_slot_base(a.component) + a.s >= end) return {};
  const auto slot = static_cast<std::uint32_t>(te.comp_slot_base(a.component) + a.s);
  // The resolution and precinct index of the slot.
  unsigned r = 0;
  const unsigned levels = te.coding.components[a.component].levels;
  while (r < levels && te.res(a.component, r + 1).slot_base <= slot) ++r;
  const std::uint32_t p = slot - te.res(a.component, r).slot_base;
  const unsigned layers =
      max_layers ? std::min<unsigned>(max_layers, te.coding.layers) : te.coding.layers;
  bytes_view bin = prefix(cache, bin_id{bin_kind::precinct, csn_, id});
  std::vector<std::uint64_t> ends;
  if (bin.empty()) return ends;
  packet_scratch scratch;
  pipit::complete_packets(bin, ix.siz, te, a.component, r, p, layers, scratch, ends);
  return ends;
}

namespace {

// Writes tile `t` of the skeleton's index as tile `isot`: SOT (Psot patched once the tile is
// written), the rewritten tile header, SOD, and its packets in RPCL order: those of the
// precincts `want` marks copied from their bins, every other one written empty.
void write_tile(std::vector<std::uint8_t>& out, const databin_cache& cache, std::uint32_t csn,
                const codestream_index& ix, const std::vector<std::uint8_t>& tile_head,
                std::uint32_t t, std::uint16_t isot, unsigned max_layers,
                const std::vector<std::uint8_t>& want, packet_scratch& scratch,
                std::vector<std::uint64_t>& ends, rebuild_stats& st) {
  const std::uint32_t nc = ix.num_components(), nt = static_cast<std::uint32_t>(ix.tiles.size());
  const tile_entry& te = ix.tiles[t];
  const std::size_t sot_at = out.size();
  byte_writer(out)
      .u16(SOT)
      .u16(10)
      .u16(isot)
      .u32(0)  // Psot, patched below
      .u8(0)
      .u8(1)
      .bytes(tile_head)
      .u16(SOD);
  std::size_t required = 0;
  // The skeleton's index charged every declared packet to its memory limit.
  const auto seq =
      detail::packet_sequence(ix.siz, te, &required, std::numeric_limits<std::size_t>::max());
  const unsigned layers =
      max_layers ? std::min<unsigned>(max_layers, te.coding.layers) : te.coding.layers;
  // Packets come precinct by precinct (RPCL): parse each bin once, at its first packet.
  std::uint32_t cur_slot = ~0u;
  bytes_view bin;
  for (const auto& pr : seq) {
    if (pr.slot != cur_slot) {
      cur_slot = pr.slot;
      ends.clear();
      bin = {};
      if (!want.empty() && want[pr.slot]) {
        const std::uint64_t s = pr.slot - te.comp_slot_base(pr.component);
        bin = prefix(cache,
                     bin_id{bin_kind::precinct, csn, precinct_bin_id(t, pr.component, s, nc, nt)});
        if (!bin.empty())
          pipit::complete_packets(bin, ix.siz, te, pr.component, pr.resolution, pr.precinct, layers,
                                  scratch, ends);
      }
    }
    ++st.packets;
    if (pr.layer < ends.size()) {
      const std::uint64_t a = pr.layer == 0 ? 0 : ends[pr.layer - 1];
      out.insert(out.end(), bin.begin() + static_cast<std::ptrdiff_t>(a),
                 bin.begin() + static_cast<std::ptrdiff_t>(ends[pr.layer]));
      ++st.packets_present;
    } else {
      out.push_back(0);
      if (te.coding.eph) byte_writer(out).u16(EPH);
    }
  }
  // Psot is 32 bits: a tile above 4 GiB gets Psot 0 ("up to EOC"), which the standard allows
  // for the last tile only (a known limit for earlier ones).
  const std::uint64_t psot = out.size() - sot_at;
  store_be32(out.data() + sot_at + 6, psot > 0xFFFFFFFFu ? 0u : static_cast<std::uint32_t>(psot));
}

}  // namespace

bool codestream_skeleton::holds_tile_bins(const databin_cache& cache) const {
  for (std::uint32_t t = 0; t < index_->tiles.size(); ++t)
    if (cache.has(bin_id{bin_kind::tile, csn_, t})) return true;
  return false;
}

std::vector<std::uint8_t> codestream_skeleton::jpt_codestream(const databin_cache& cache,
                                                              rebuild_stats* stats,
                                                              const window_spec* window) const {
  const codestream_index& ix = *index_;
  const auto nt = static_cast<std::uint32_t>(ix.tiles.size());
  std::vector<std::uint8_t> out;
  // The main header as the server sent it (its progression and PPM are the tile-parts'), less
  // TLM and PLM. build() parsed it already: this cannot fail.
  const bytes_view main = prefix(cache, bin_id{bin_kind::main_header, csn_, 0});
  const std::size_t siz_end = 4 + load_be16(main.data() + 4);
  out.assign(main.begin(), main.begin() + static_cast<std::ptrdiff_t>(siz_end));
  if (!rewrite_segments(main.subspan(siz_end), siz_end, out, "main header bin", true)) return {};
  const bool ppm = main_has_ppm(out);
  std::vector<std::uint8_t> wanted(nt, window ? 0 : 1);
  if (window)
    for (std::uint32_t t : window_tiles(ix, *window)) wanted[t] = 1;
  rebuild_stats st;
  for (std::uint32_t t = 0; t < nt; ++t) {
    const bin_id id{bin_kind::tile, csn_, t};
    const bytes_view bin = wanted[t] ? prefix(cache, id) : bytes_view{};
    const bool complete = cache.is_complete(id);
    // The leading complete tile-parts of the bin (15444-9 A.3.4: the tile's tile-parts in order,
    // each from its SOT to its last byte); a truncated one and all after it are left out.
    std::vector<std::size_t> parts;  // where each copied tile-part starts in `out`
    std::size_t pos = 0;
    while (bin.size() - pos >= 14) {
      const std::uint8_t* p = bin.data() + pos;
      if (load_be16(p) != SOT || load_be16(p + 2) != 10 || load_be16(p + 4) != t ||
          p[10] != parts.size())
        break;
      std::uint64_t psot = load_be32(p + 6);
      if (psot == 0 && complete) {  // "up to EOC": the rest of the bin, less an EOC
        psot = bin.size() - pos;
        if (psot >= 16 && load_be16(bin.data() + bin.size() - 2) == EOC) psot -= 2;
      }
      if (psot < 14 || psot > bin.size() - pos) break;
      parts.push_back(out.size());
      out.insert(out.end(), p, p + psot);
      store_be32(out.data() + parts.back() + 6, static_cast<std::uint32_t>(psot));
      pos += static_cast<std::size_t>(psot);
    }
    // TNsot: the tile-parts written, when fewer than the tile has.
    for (std::size_t at : parts)
      if (out[at + 11] != parts.size() && (pos < bin.size() || !complete))
        out[at + 11] = static_cast<std::uint8_t>(parts.size());
    st.packets += parts.size();
    st.packets_present += parts.size();
    if (!parts.empty() || ppm) continue;
    // No tile-part of the tile is whole (or the tile is outside the window): an empty tile of
    // the main header's coding, so the codestream has every tile (its samples are the DC level
    // until its data arrives). Under PPM its packet headers would belong there: left out.
    const tile_entry& te = ix.tiles[t];
    const std::size_t sot_at = out.size();
    byte_writer(out)
        .u16(SOT)
        .u16(10)
        .u16(static_cast<std::uint16_t>(t))
        .u32(0)  // Psot, below
        .u8(0)
        .u8(1)
        .u16(SOD);
    const std::uint64_t packets = std::uint64_t{te.num_slots} * te.coding.layers;
    for (std::uint64_t k = 0; k < packets; ++k) {
      out.push_back(0);
      if (te.coding.eph) byte_writer(out).u16(EPH);
    }
    const std::uint64_t psot = out.size() - sot_at;
    store_be32(out.data() + sot_at + 6, psot > 0xFFFFFFFFu ? 0u : static_cast<std::uint32_t>(psot));
  }
  byte_writer(out).u16(EOC);
  st.bytes = out.size();
  if (stats) *stats = st;
  return out;
}

std::vector<std::uint8_t> codestream_skeleton::codestream(const databin_cache& cache,
                                                          unsigned max_layers, rebuild_stats* stats,
                                                          const window_spec* window) const {
  if (holds_tile_bins(cache)) return jpt_codestream(cache, stats, window);
  const codestream_index& ix = *index_;
  const auto nt = static_cast<std::uint32_t>(ix.tiles.size());
  auto bin_of = [&](std::uint32_t t, std::uint32_t slot) {
    return bin_id{bin_kind::precinct, csn_, precinct_id_of(ix, t, slot)};
  };
  // The precincts whose data is copied: all of them, or those the window needs. The others get
  // empty packets, which costs the decoder nothing outside the window.
  std::vector<std::vector<std::uint8_t>> wanted(nt);
  std::uint64_t reserve = head_.size() + 2;
  for (std::uint32_t t = 0; t < nt; ++t)
    reserve += 14 + tile_heads_[t].size() +
               std::uint64_t{ix.tiles[t].num_slots} * ix.tiles[t].coding.layers * 3;
  if (window) {
    for (const auto& wp : window_precincts(ix, *window)) {
      auto& w = wanted[wp.tile];
      if (w.empty()) w.assign(ix.tiles[wp.tile].num_slots, 0);
      w[wp.slot] = 1;
      reserve += prefix(cache, bin_of(wp.tile, wp.slot)).size();
    }
  } else {
    for (std::uint32_t t = 0; t < nt; ++t) {
      wanted[t].assign(ix.tiles[t].num_slots, 1);
      for (std::uint32_t s = 0; s < ix.tiles[t].num_slots; ++s)
        reserve += prefix(cache, bin_of(t, s)).size();
    }
  }
  std::vector<std::uint8_t> out;
  out.reserve(static_cast<std::size_t>(reserve));
  out = head_;
  rebuild_stats st;
  packet_scratch scratch;
  std::vector<std::uint64_t> ends;
  for (std::uint32_t t = 0; t < nt; ++t) {
    // A tile whose every precinct bin the server completed empty has no packet in the original
    // (a tile without tile-parts: every packet, even an empty one, takes a byte). It gets no
    // tile-part here either, so the decoder treats it as it treats the original.
    const tile_entry& te = ix.tiles[t];
    bool absent = te.num_slots > 0;
    for (std::uint32_t s = 0; absent && s < te.num_slots; ++s) {
      const bin_id id{bin_kind::precinct, csn_, precinct_id_of(ix, t, s)};
      absent = cache.is_complete(id) && prefix(cache, id).empty();
    }
    if (absent) continue;
    write_tile(out, cache, csn_, ix, tile_heads_[t], t, static_cast<std::uint16_t>(t), max_layers,
               wanted[t], scratch, ends, st);
  }
  byte_writer(out).u16(EOC);
  st.bytes = out.size();
  if (stats) *stats = st;
  return out;
}

std::vector<std::uint8_t> codestream_skeleton::tile_codestream(const databin_cache& cache,
                                                               std::uint32_t t, unsigned max_layers,
                                                               rebuild_stats* stats) const {
  const codestream_index& ix = *index_;
  const image_size& siz = ix.siz;
  const tile_entry& te = ix.tiles.at(t);
  std::uint64_t reserve = head_.size() + 16 + tile_heads_[t].size() +
                          std::uint64_t{te.num_slots} * te.coding.layers * 3;
  for (std::uint32_t s = 0; s < te.num_slots; ++s)
    reserve += prefix(cache, bin_id{bin_kind::precinct, csn_, precinct_id_of(ix, t, s)}).size();
  std::vector<std::uint8_t> out;
  out.reserve(static_cast<std::size_t>(reserve));
  out = head_;
  // SIZ follows SOC: Lsiz at 4, Rsiz at 6, then Xsiz, Ysiz, XOsiz, YOsiz, XTsiz, YTsiz, XTOsiz,
  // YTOsiz, 4 bytes each from 8 (A.5.1).
  const rect r = siz.tile_rect(t);
  const std::uint32_t p = t % siz.tiles_x(), q = t / siz.tiles_x();
  store_be32(out.data() + 8, static_cast<std::uint32_t>(r.x1));
  store_be32(out.data() + 12, static_cast<std::uint32_t>(r.y1));
  store_be32(out.data() + 16, static_cast<std::uint32_t>(r.x0));
  store_be32(out.data() + 20, static_cast<std::uint32_t>(r.y0));
  store_be32(out.data() + 32, siz.XTOsiz + p * siz.XTsiz);
  store_be32(out.data() + 36, siz.YTOsiz + q * siz.YTsiz);
  rebuild_stats st;
  packet_scratch scratch;
  std::vector<std::uint64_t> ends;
  write_tile(out, cache, csn_, ix, tile_heads_[t], t, 0, max_layers,
             std::vector<std::uint8_t>(te.num_slots, 1), scratch, ends, st);
  byte_writer(out).u16(EOC);
  st.bytes = out.size();
  if (stats) *stats = st;
  return out;
}

result<std::vector<std::uint8_t>> rebuild_codestream(const databin_cache& cache,
                                                     const rebuild_options& o,
                                                     rebuild_stats* stats) {
  PIPIT_TRY_ASSIGN(sk, codestream_skeleton::build(cache, o.csn, o.max_index_bytes));
  if (sk.holds_tile_bins(cache)) {
    for (const auto& b : cache.bins())
      if (b.id.csn == o.csn &&
          (b.id.kind == bin_kind::precinct || b.id.kind == bin_kind::tile_header))
        return fail(errc::corrupt, no_offset,
                    "codestream " + std::to_string(o.csn) +
                        " has both tile data-bins (a JPT-stream) and " +
                        (b.id.kind == bin_kind::precinct ? "precinct" : "tile header") +
                        " data-bins (a JPP-stream): one kind of stream per codestream");
  }
  return sk.codestream(cache, o.max_layers, stats, o.window ? &*o.window : nullptr);
}

namespace {

// The CSID of a placeholder box of metadata-bin `meta` that stands for a codestream (Flags has
// 4), nullopt for a placeholder of another box.
result<std::optional<std::uint64_t>> placeholder_codestream(bytes_view meta, const box& b) {
  byte_reader r(meta.subspan(static_cast<std::size_t>(b.content_offset()),
                             static_cast<std::size_t>(b.content_length())),
                b.content_offset());
  PIPIT_TRY_ASSIGN(flags, r.u32("phld: Flags"));
  if (!(flags & 4)) return std::optional<std::uint64_t>();
  PIPIT_TRY(r.skip(8, "phld: OrigID"));
  PIPIT_TRY_ASSIGN(lbox, r.u32("phld: OrigBH"));
  PIPIT_TRY(r.skip(4, "phld: OrigBH"));
  if (lbox == 1) PIPIT_TRY(r.skip(8, "phld: OrigBH"));
  PIPIT_TRY(r.skip(8, "phld: EquivID"));
  PIPIT_TRY(r.skip(lbox == 1 ? 16 : 8, "phld: EquivBH"));
  PIPIT_TRY_ASSIGN(csid, r.u64("phld: CSID"));
  return std::optional<std::uint64_t>(csid);
}

}  // namespace

result<std::uint32_t> count_codestreams(const databin_cache& cache) {
  const bin_id m0{bin_kind::metadata, 0, 0};
  if (!cache.is_complete(m0))
    return fail(errc::not_found, no_offset, "metadata-bin 0 is not complete in the cache");
  bytes_view meta = prefix(cache, m0);
  if (meta.empty()) return 1;
  PIPIT_TRY_ASSIGN(boxes, read_boxes(meta, byte_range{0, meta.size()}));
  std::uint64_t n = 0;
  for (const auto& b : boxes) {
    if (b.type != box_type("phld")) continue;
    PIPIT_TRY_ASSIGN(csid, placeholder_codestream(meta, b));
    if (csid) n = std::max(n, *csid + 1);
  }
  if (n > std::numeric_limits<std::uint32_t>::max())
    return fail(errc::corrupt, no_offset,
                "metadata-bin 0: a codestream placeholder's CSID is " + std::to_string(n - 1));
  return static_cast<std::uint32_t>(n);
}

result<std::vector<std::uint8_t>> rebuild_jp2(const databin_cache& cache,
                                              const rebuild_options& o) {
  const bin_id m0{bin_kind::metadata, 0, 0};
  if (!cache.is_complete(m0))
    return fail(errc::not_found, no_offset,
                "metadata-bin 0 is not complete in the cache (not a JP2 target?)");
  bytes_view meta = prefix(cache, m0);
  if (meta.empty())
    return fail(errc::not_found, no_offset,
                "metadata-bin 0 is empty: the target is a raw codestream");
  PIPIT_TRY_ASSIGN(boxes, read_boxes(meta, byte_range{0, meta.size()}));
  std::vector<std::uint8_t> out;
  for (const auto& b : boxes) {
    auto bytes =
        meta.subspan(static_cast<std::size_t>(b.offset), static_cast<std::size_t>(b.length));
    if (b.type != box_type("phld")) {
      out.insert(out.end(), bytes.begin(), bytes.end());
      continue;
    }
    PIPIT_TRY_ASSIGN(csid, placeholder_codestream(meta, b));
    if (!csid) continue;  // a placeholder for a box we cannot fetch: dropped
    if (o.one_codestream && *csid != o.csn) continue;
    rebuild_options co = o;
    co.csn = static_cast<std::uint32_t>(*csid);
    PIPIT_TRY_ASSIGN(cs, rebuild_codestream(cache, co));
    if (cs.size() + 8 <= 0xFFFFFFFFu) {
      byte_writer(out).u32(static_cast<std::uint32_t>(cs.size() + 8)).u32(box_type("jp2c"));
    } else {
      byte_writer(out).u32(1).u32(box_type("jp2c")).u64(cs.size() + 16);
    }
    byte_writer(out).bytes(cs);
  }
  return out;
}

}  // namespace pipit
