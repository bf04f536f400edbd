// codestream_index::build: headers and tile-parts. Packets are found in tile_packets.cpp.
#include <algorithm>
#include <string>

#include "coding_params.hpp"
#include "marker_walk.hpp"
#include "packet_order.hpp"
#include "pipit/codestream.hpp"
#include "tile_packets.hpp"

namespace pipit {
namespace {

using detail::segment_body;

// Applies COD, then COC, then POC segments of one header to `tc` (A.6.1 precedence: a COD of
// a header resets every component, its COCs then override single components).
result<void> apply_coding(bytes_view file, const std::vector<marker_segment>& segs,
                          std::size_t csiz, tile_coding& tc, bool& has_cod,
                          std::vector<poc_entry>& pocs) {
  for (const auto& m : segs)
    if (m.code == COD) {
      if (has_cod) return fail(errc::corrupt, m.offset, "more than one COD in a header");
      PIPIT_TRY(detail::apply_cod(segment_body(file, m), m.offset + 4, tc));
      has_cod = true;
    }
  for (const auto& m : segs) {
    if (m.code == COC) {
      if (tc.components.empty()) continue;
      PIPIT_TRY(detail::apply_coc(segment_body(file, m), m.offset + 4, csiz, tc));
    } else if (m.code == POC) {
      PIPIT_TRY(detail::apply_poc(segment_body(file, m), m.offset + 4, csiz, pocs));
    }
  }
  return {};
}

// Reads one tile-part: SOT segment, header, body extent. `r` sits after the SOT marker code. A
// tile-part whose Psot runs past the end of the data is kept, cut at the end (tile_part::cut).
result<tile_part> read_tile_part(bytes_view file, byte_reader& r, const byte_range& cs,
                                 std::uint32_t num_tiles, std::vector<index_warning>& warnings) {
  tile_part tp;
  tp.sot_offset = r.abs_pos() - 2;
  PIPIT_TRY_ASSIGN(Lsot, r.u16("SOT: Lsot"));
  if (Lsot != 10)
    return fail(errc::corrupt, tp.sot_offset + 2,
                "SOT: Lsot is " + std::to_string(Lsot) + ", not 10");
  PIPIT_TRY_ASSIGN(Isot, r.u16("SOT: Isot"));
  PIPIT_TRY_ASSIGN(Psot, r.u32("SOT: Psot"));
  PIPIT_TRY_ASSIGN(TPsot, r.u8("SOT: TPsot"));
  PIPIT_TRY_ASSIGN(TNsot, r.u8("SOT: TNsot"));
  if (Isot >= num_tiles)
    return fail(errc::corrupt, tp.sot_offset + 4,
                "SOT: tile index " + std::to_string(Isot) + " but the image has " +
                    std::to_string(num_tiles) + " tiles");
  tp.tile = Isot;
  tp.TPsot = TPsot;
  tp.TNsot = TNsot;
  PIPIT_TRY(detail::walk_header(r, SOD, SOD, "tile-part header", tp.markers));
  tp.sod_offset = r.abs_pos() - 2;
  tp.body_offset = r.abs_pos();
  const std::string what = "tile " + std::to_string(Isot) + ": tile-part " + std::to_string(TPsot) +
                           " (SOT at byte " + std::to_string(tp.sot_offset) + ")";
  if (Psot == 0) {
    // The last tile-part of the codestream: up to EOC. Without one, the data may have been cut.
    tp.end = cs.end();
    if (cs.length >= 2 && load_be16(file.data() + cs.end() - 2) == EOC) {
      tp.end -= 2;
    } else {
      tp.cut = true;
      warnings.push_back({tp.end, what + " has Psot 0 and the data ends without EOC: it may be "
                                         "cut, its packets past the end are absent"});
    }
  } else {
    tp.end = tp.sot_offset + Psot;
  }
  if (tp.end < tp.body_offset)
    return fail(errc::corrupt, tp.sot_offset + 6,
                "SOT: Psot " + std::to_string(Psot) + " ends the tile-part inside its own header");
  if (tp.end > cs.end()) {
    warnings.push_back({cs.end(), what + " is cut by the end of the data, " +
                                      std::to_string(tp.end - cs.end()) +
                                      " bytes short of its Psot; its packets past the end are "
                                      "absent"});
    tp.end = cs.end();
    tp.cut = true;
  }
  return tp;
}

std::string tile_name(std::uint32_t t) { return "tile " + std::to_string(t); }

}  // namespace

bool codestream_index::has_marker(std::uint16_t code) const {
  for (const auto& m : main_markers)
    if (m.code == code) return true;
  for (const auto& tp : tile_parts)
    for (const auto& m : tp.markers)
      if (m.code == code) return true;
  return false;
}

std::uint32_t codestream_index::levels() const {
  std::uint32_t nl = 32;
  auto consider = [&](const tile_coding& tc) {
    for (const auto& c : tc.components) nl = std::min<std::uint32_t>(nl, c.levels);
  };
  if (tiles.empty()) consider(defaults);
  for (const auto& t : tiles) consider(t.coding);
  return nl == 32 ? 0 : nl;
}

std::uint32_t codestream_index::layers() const {
  std::uint32_t n = tiles.empty() ? defaults.layers : 0;
  for (const auto& t : tiles) n = std::max<std::uint32_t>(n, t.coding.layers);
  return n;
}

bool codestream_index::mct() const {
  if (tiles.empty()) return defaults.mct != 0;
  return std::any_of(tiles.begin(), tiles.end(), [](const tile_entry& t) { return t.coding.mct; });
}

const packet_entry* codestream_index::packet(std::uint32_t tile, std::uint32_t slot,
                                             unsigned layer) const {
  if (tile >= tiles.size()) return nullptr;
  const tile_entry& t = tiles[tile];
  if (slot >= t.num_slots || layer >= t.coding.layers || t.packet_of_slot.empty()) return nullptr;
  std::uint32_t i = t.packet_of_slot[std::size_t{slot} * t.coding.layers + layer];
  return i == none_packet ? nullptr : &packets[i];
}

result<codestream_index> codestream_index::build(bytes_view file, byte_range cs,
                                                 const index_options& options) {
  if (cs.offset > file.size() || cs.length > file.size() - cs.offset)
    return fail(errc::invalid_argument, cs.offset, "codestream range lies outside the data");
  codestream_index ix;
  ix.range = cs;
  byte_reader r(file.first(static_cast<std::size_t>(cs.end())), 0);
  r.seek(static_cast<std::size_t>(cs.offset));
  PIPIT_TRY_ASSIGN(soc, r.u16("SOC"));
  if (soc != SOC)
    return fail(errc::corrupt, cs.offset, "not a JPEG 2000 codestream: no SOC marker");
  PIPIT_TRY_ASSIGN(siz_code, r.u16("SIZ"));
  if (siz_code != SIZ) return fail(errc::corrupt, cs.offset + 2, "SIZ marker does not follow SOC");
  PIPIT_TRY_ASSIGN(siz, parse_siz(r));
  ix.siz = std::move(siz);
  ix.main_markers.push_back(marker_segment{
      SIZ, cs.offset + 2, static_cast<std::uint32_t>(38 + 3 * ix.siz.components.size())});
  PIPIT_TRY_ASSIGN(stop, detail::walk_header(r, SOT, EOC, "main header", ix.main_markers));
  if (stop == EOC) return fail(errc::corrupt, r.abs_pos() - 2, "codestream has no tile-part");
  ix.main_header_end = r.abs_pos() - 2;

  const std::size_t csiz = ix.siz.components.size();
  ix.defaults.components.resize(csiz);
  bool has_cod = false;
  PIPIT_TRY(apply_coding(file, ix.main_markers, csiz, ix.defaults, has_cod, ix.defaults.pocs));
  if (!has_cod) return fail(errc::corrupt, cs.offset, "main header has no COD marker");

  // Tile-parts, up to EOC. Damage at the end (no EOC, bytes that are no marker after the last
  // tile-part, a last tile-part cut by the end of the data) ends them with a warning, as OpenJPEG
  // goes on: the packets that are not there are absent.
  const std::uint32_t num_tiles = ix.siz.num_tiles();
  std::uint64_t end = 0;
  while (true) {
    PIPIT_TRY_ASSIGN(tp, read_tile_part(file, r, cs, num_tiles, ix.warnings));
    r.seek(static_cast<std::size_t>(tp.end));
    end = tp.end;
    const bool cut = tp.cut;
    ix.tile_parts.push_back(std::move(tp));
    if (cut) break;
    if (r.at_end()) {
      ix.warnings.push_back({end, "the codestream ends without an EOC marker"});
      break;
    }
    const std::uint64_t at = r.abs_pos();
    const std::uint16_t code = r.remaining() >= 2 ? load_be16(file.data() + at) : 0;
    if (code == EOC) {
      ix.has_eoc = true;
      end = at + 2;
      break;
    }
    if (code != SOT) {
      char buf[8];
      ix.warnings.push_back(
          {at, std::to_string(cs.end() - at) + " bytes after the last tile-part are no marker" +
                   (r.remaining() >= 2 ? std::string(" (") + marker_name(code, buf) + ")" : "") +
                   ", ignored: the codestream has no EOC marker"});
      break;
    }
    r.seek(static_cast<std::size_t>(at + 2));
  }
  ix.range.length = end - cs.offset;

  // Tiles: coding parameters and geometry, within the memory budget of the index.
  detail::memory_budget budget(options.max_index_bytes);
  PIPIT_TRY(budget.charge(std::uint64_t{num_tiles} * sizeof(tile_entry), ix.main_header_end,
                          "SIZ: " + std::to_string(num_tiles) + " tiles"));
  ix.tiles.resize(num_tiles);
  for (std::uint32_t i = 0; i < ix.tile_parts.size(); ++i) {
    auto& t = ix.tiles[ix.tile_parts[i].tile];
    const auto& tp = ix.tile_parts[i];
    if (tp.TPsot != t.parts.size())
      return fail(errc::corrupt, tp.sot_offset + 10,
                  tile_name(tp.tile) + ": tile-part " + std::to_string(tp.TPsot) + " where " +
                      std::to_string(t.parts.size()) + " was expected");
    t.parts.push_back(i);
  }
  for (std::uint32_t ti = 0; ti < num_tiles; ++ti) {
    auto& t = ix.tiles[ti];
    t.area = ix.siz.tile_rect(ti);
    std::uint64_t at = ix.main_header_end;  // where the tile's errors point
    if (t.parts.empty()) {
      // Kakadu writes no tile-part for a tile that holds no samples of some component, and a
      // truncated codestream loses its last tiles: the tile is there, its packets are absent.
      ix.warnings.push_back(
          {ix.main_header_end, tile_name(ti) + " has no tile-part: its packets are absent"});
    } else {
      const auto& first = ix.tile_parts[t.parts.front()];
      at = first.sot_offset;
      if (first.TNsot != 0 && first.TNsot != t.parts.size())
        ix.warnings.push_back({first.sot_offset + 11, tile_name(ti) + ": TNsot says " +
                                                          std::to_string(first.TNsot) +
                                                          " tile-parts, the codestream has " +
                                                          std::to_string(t.parts.size())});
    }
    PIPIT_TRY(budget.charge(csiz * sizeof(component_coding), at,
                            tile_name(ti) + ": " + std::to_string(csiz) + " components"));
    t.coding = ix.defaults;
    bool tile_cod = false;
    std::vector<poc_entry> tile_pocs;
    for (std::uint32_t pi : t.parts)
      PIPIT_TRY(apply_coding(file, ix.tile_parts[pi].markers, csiz, t.coding, tile_cod, tile_pocs));
    if (!tile_pocs.empty()) t.coding.pocs = std::move(tile_pocs);
    for (const auto& cc : t.coding.components)
      if (cc.cblk_style & cblk_ht) ix.ht = true;
    std::uint64_t resolutions = 0;
    for (const auto& cc : t.coding.components) resolutions += cc.levels + 1u;
    PIPIT_TRY(budget.charge(resolutions * sizeof(tile_entry::resolution_info) + (csiz + 1) * 4, at,
                            tile_name(ti) + ": " + std::to_string(resolutions) +
                                " resolutions in " + std::to_string(csiz) + " components"));
    PIPIT_TRY(detail::layout_tile(ix.siz, t, options.max_packets, at));
    if (options.headers_only) {
      // A headers-only index is a rebuild's skeleton: the rebuild lists and writes (at least one
      // byte each) every declared packet, so they count here.
      const std::uint64_t declared = std::uint64_t{t.num_slots} * t.coding.layers;
      PIPIT_TRY(budget.charge(declared * (sizeof(detail::packet_ref) + 3), at,
                              tile_name(ti) + ": " + detail::declared_packets(t)));
    }
  }
  if (options.headers_only) return ix;
  PIPIT_TRY(detail::locate_packed_headers(file, ix));
  PIPIT_TRY(detail::index_packets(file, ix, options, budget));
  return ix;
}

}  // namespace pipit
