#include "pipit/databins.hpp"

#include <algorithm>

#include "pipit/byte_writer.hpp"

namespace pipit {
namespace {

bool dropped_from_main(std::uint16_t code) { return code == TLM || code == PLM || code == PPM; }
bool dropped_from_tile(std::uint16_t code) { return code == PLT || code == PPT || code == TLM; }

void append(std::vector<std::uint8_t>& out, bytes_view file, std::uint64_t off, std::uint64_t len) {
  auto b = file.subspan(static_cast<std::size_t>(off), static_cast<std::size_t>(len));
  out.insert(out.end(), b.begin(), b.end());
}

}  // namespace

void append_codestream_placeholder(std::vector<std::uint8_t>& out, bytes_view orig_bh,
                                   std::uint64_t csn) {
  // LBox TBox Flags OrigID OrigBH EquivID EquivBH CSID: Flags = 4 (a codestream), no NCS.
  byte_writer(out)
      .u32(static_cast<std::uint32_t>(44 + orig_bh.size()))
      .u32(box_type("phld"))
      .u32(4)
      .u64(0)
      .bytes(orig_bh)
      .u64(0)
      .u64(0)
      .u64(csn);
}

databin_source::databin_source(bytes_view file, const image_index& index)
    : file_(file), index_(&index) {
  for (std::size_t n = 0; n < index.codestreams.size(); ++n) {
    const codestream_index& cs = index.codestreams[n];
    const bytes_view in = codestream_file(static_cast<std::uint32_t>(n));
    codestream_bins b;
    b.precincts = make_precinct_table(cs);
    // SOC, then every main-header segment but TLM/PLM/PPM, in file order.
    append(b.main_header, in, cs.range.offset, 2);
    bool ppm = false;
    for (const auto& m : cs.main_markers) {
      if (!dropped_from_main(m.code)) append(b.main_header, in, m.offset, 2 + m.length);
      ppm = ppm || m.code == PPM;
    }
    if (ppm) {
      append(b.main_header_jpt, in, cs.range.offset, 2);
      for (const auto& m : cs.main_markers)
        if (m.code == PPM || !dropped_from_main(m.code))
          append(b.main_header_jpt, in, m.offset, 2 + m.length);
    }
    b.tile_headers.resize(cs.tiles.size());
    for (std::size_t t = 0; t < cs.tiles.size(); ++t)
      for (std::uint32_t pi : cs.tiles[t].parts)
        for (const auto& m : cs.tile_parts[pi].markers)
          if (!dropped_from_tile(m.code)) append(b.tile_headers[t], in, m.offset, 2 + m.length);
    cs_.push_back(std::move(b));
  }
  if (index.is_jp2) {
    // Codestreams are numbered in the order of their jp2c and ftbl boxes (boxes.hpp). The dtbl
    // of a linked JPX is left out: its URLs name files of the server, whose codestreams the
    // client receives as data-bins like any other.
    std::uint64_t csn = 0;
    for (const auto& bx : index.boxes) {
      if (bx.type == box_type("jp2c") || bx.type == box_type("ftbl")) {
        append_codestream_placeholder(metadata0_,
                                      file.subspan(static_cast<std::size_t>(bx.offset),
                                                   static_cast<std::size_t>(bx.header_length)),
                                      csn++);
      } else if (bx.type != box_type("dtbl")) {
        append(metadata0_, file, bx.offset, bx.length);
      }
    }
  }
}

databin_source::precinct_table databin_source::make_precinct_table(const codestream_index& cs) {
  precinct_table pt;
  std::uint64_t entries = 0;
  pt.tile_base.reserve(cs.tiles.size());
  for (const auto& t : cs.tiles) {
    pt.tile_base.push_back(entries);
    entries += t.num_slots;
  }
  pt.begin.reserve(static_cast<std::size_t>(entries) + 1);
  pt.layer_end.reserve(cs.packets.size());
  pt.pieces.reserve(cs.packets.size());
  for (std::uint32_t tile = 0; tile < cs.tiles.size(); ++tile) {
    const tile_entry& t = cs.tiles[tile];
    for (std::uint32_t slot = 0; slot < t.num_slots; ++slot) {
      pt.begin.push_back(precinct_table::entry{pt.pieces.size(), pt.layer_end.size()});
      const std::size_t first = pt.pieces.size();
      std::uint64_t total = 0;
      auto add = [&](std::uint64_t off, std::uint64_t len) {
        if (len == 0) return;
        if (pt.pieces.size() > first &&
            pt.pieces.back().file_offset + pt.pieces.back().length == off)
          pt.pieces.back().length += len;
        else
          pt.pieces.push_back(bin_piece{off, len});
        total += len;
      };
      for (unsigned l = 0; l < t.coding.layers; ++l) {
        const packet_entry* p = cs.packet(tile, slot, l);
        if (!p) break;
        if (p->packed_header_length == 0) {
          add(p->offset, p->length);
        } else {
          // SOP (if any) from the body, the header from PPM/PPT, then the body.
          const std::uint64_t sop = p->header_length;
          add(p->offset, sop);
          std::uint64_t pos = p->packed_header_offset, left = p->packed_header_length;
          for (const auto& r : t.packed_headers) {
            if (left == 0) break;
            if (pos >= r.length) {
              pos -= r.length;
              continue;
            }
            std::uint64_t k = std::min(left, r.length - pos);
            add(r.offset + pos, k);
            left -= k;
            pos = 0;
          }
          add(p->offset + sop, p->length - sop);
        }
        pt.layer_end.push_back(total);
      }
    }
  }
  pt.begin.push_back(precinct_table::entry{pt.pieces.size(), pt.layer_end.size()});
  pt.pieces.shrink_to_fit();
  return pt;
}

std::uint64_t databin_source::precinct_table_bytes() const {
  std::uint64_t n = 0;
  for (const auto& b : cs_) {
    const precinct_table& pt = b.precincts;
    n += 8 * (pt.tile_base.capacity() + pt.layer_end.capacity()) +
         sizeof(precinct_table::entry) * pt.begin.capacity() +
         sizeof(bin_piece) * pt.pieces.capacity();
  }
  return n;
}

std::uint64_t precinct_id_of(const codestream_index& cs, std::uint32_t tile, std::uint32_t slot) {
  const tile_entry& t = cs.tiles[tile];
  // The component whose slots contain `slot`.
  std::uint32_t c = 0;
  const std::uint32_t nc = cs.num_components();
  while (c + 1 < nc && t.comp_slot_base(c + 1) <= slot) ++c;
  return precinct_bin_id(tile, c, slot - t.comp_slot_base(c), nc, cs.tiles.size());
}

std::uint64_t databin_source::precinct_id(std::uint32_t csn, std::uint32_t tile,
                                          std::uint32_t slot) const {
  return precinct_id_of(index_->codestreams[csn], tile, slot);
}

bool databin_source::precinct_slot(std::uint32_t csn, std::uint64_t id, std::uint32_t& tile,
                                   std::uint32_t& slot) const {
  if (csn >= cs_.size()) return false;
  const codestream_index& cs = index_->codestreams[csn];
  auto a = split_precinct_bin_id(id, cs.num_components(), cs.tiles.size());
  const tile_entry& t = cs.tiles[a.tile];
  const std::uint32_t c_end =
      a.component + 1 < cs.num_components() ? t.comp_slot_base(a.component + 1) : t.num_slots;
  if (t.comp_slot_base(a.component) + a.s >= c_end) return false;
  tile = a.tile;
  slot = static_cast<std::uint32_t>(t.comp_slot_base(a.component) + a.s);
  return true;
}

std::uint64_t databin_source::bin_length(const bin_id& id) const {
  if (id.kind == bin_kind::metadata) return id.id == 0 ? metadata0_.size() : 0;
  if (id.csn >= cs_.size()) return 0;
  const auto& b = cs_[id.csn];
  switch (id.kind) {
    case bin_kind::main_header: return id.id == 0 ? b.main_header.size() : 0;
    case bin_kind::tile_header:
      return id.id < b.tile_headers.size() ? b.tile_headers[id.id].size() : 0;
    case bin_kind::precinct: {
      std::uint32_t t, s;
      if (!precinct_slot(static_cast<std::uint32_t>(id.csn), id.id, t, s)) return 0;
      return precinct(static_cast<std::uint32_t>(id.csn), t, s).length();
    }
    default: return 0;
  }
}

void databin_source::copy(const bin_id& id, std::uint64_t from, std::uint64_t to,
                          std::vector<std::uint8_t>& out) const {
  auto copy_vec = [&](const std::vector<std::uint8_t>& v) {
    to = std::min<std::uint64_t>(to, v.size());
    if (from < to)
      out.insert(out.end(), v.begin() + static_cast<std::ptrdiff_t>(from),
                 v.begin() + static_cast<std::ptrdiff_t>(to));
  };
  if (id.kind == bin_kind::metadata) {
    if (id.id == 0) copy_vec(metadata0_);
    return;
  }
  if (id.csn >= cs_.size()) return;
  const auto& b = cs_[id.csn];
  if (id.kind == bin_kind::main_header) {
    if (id.id == 0) copy_vec(b.main_header);
    return;
  }
  if (id.kind == bin_kind::tile_header) {
    if (id.id < b.tile_headers.size()) copy_vec(b.tile_headers[id.id]);
    return;
  }
  if (id.kind != bin_kind::precinct) return;
  std::uint32_t t, s;
  if (!precinct_slot(static_cast<std::uint32_t>(id.csn), id.id, t, s)) return;
  const precinct_layout pl = precinct(static_cast<std::uint32_t>(id.csn), t, s);
  std::uint64_t pos = 0;
  for (const auto& p : pl.pieces) {
    const std::uint64_t a = std::max(from, pos), e = std::min(to, pos + p.length);
    if (a < e)
      append(out, codestream_file(static_cast<std::uint32_t>(id.csn)), p.file_offset + (a - pos),
             e - a);
    pos += p.length;
    if (pos >= to) break;
  }
}

}  // namespace pipit
