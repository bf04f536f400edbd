// Packets of each tile: lengths from PLT/PLM, or from decoding the packet headers.
#include "tile_packets.hpp"

#include <algorithm>
#include <memory>
#include <string>

#include "marker_walk.hpp"
#include "packet_header.hpp"
#include "packet_order.hpp"

namespace pipit::detail {
namespace {

std::string tile_name(std::uint32_t t) { return "tile " + std::to_string(t); }

std::string mib(std::uint64_t n) { return std::to_string((n + (1u << 20) - 1) >> 20) + " MiB"; }

// Packet lengths per tile-part from PLT (all tile-parts of the tile must have them) or PLM.
// Returns false in `found` when the tile has no complete pointer information.
result<void> pointer_lengths(bytes_view file, const codestream_index& ix,
                             const std::vector<std::vector<std::uint32_t>>& plm,
                             const tile_entry& t, std::vector<std::vector<std::uint32_t>>& out,
                             bool& found) {
  found = false;
  out.assign(t.parts.size(), {});
  bool all = true;
  for (std::size_t k = 0; k < t.parts.size(); ++k) {
    const auto& tp = ix.tile_parts[t.parts[k]];
    bool any = false;
    for (const auto& m : tp.markers) {
      if (m.code != PLT) continue;
      if (m.length < 3) return fail(errc::corrupt, m.offset, "PLT segment without Zplt");
      any = true;
      bytes_view body = segment_body(file, m).subspan(1);
      PIPIT_TRY(read_packet_lengths(body, m.offset + 5, out[k]));
    }
    if (!any) {
      if (!plm.empty()) {
        out[k] = plm[t.parts[k]];
        any = true;
      }
    }
    all = all && (any || tp.end == tp.body_offset);
  }
  found = all;
  return {};
}

// PLM: per tile-part (codestream order) the packet lengths.
result<std::vector<std::vector<std::uint32_t>>> plm_lengths(bytes_view file,
                                                            const codestream_index& ix) {
  std::vector<std::vector<std::uint32_t>> out;
  std::vector<std::uint8_t> data;
  std::uint64_t at = 0;
  for (const auto& m : ix.main_markers) {
    if (m.code != PLM) continue;
    if (m.length < 3) return fail(errc::corrupt, m.offset, "PLM segment without Zplm");
    if (!at) at = m.offset;
    auto b = segment_body(file, m).subspan(1);
    data.insert(data.end(), b.begin(), b.end());
  }
  if (data.empty()) return out;
  std::size_t pos = 0;
  for (std::size_t k = 0; k < ix.tile_parts.size(); ++k) {
    if (pos >= data.size())
      return fail(errc::corrupt, at, "PLM lists fewer tile-parts than the codestream has");
    std::size_t n = data[pos++];
    if (n > data.size() - pos)
      return fail(errc::corrupt, at, "PLM: Nplm runs past the end of the PLM data");
    std::vector<std::uint32_t> lens;
    PIPIT_TRY(read_packet_lengths(bytes_view(data).subspan(pos, n), at, lens));
    out.push_back(std::move(lens));
    pos += n;
  }
  return out;
}

class tile_indexer {
 public:
  tile_indexer(bytes_view file, codestream_index& ix, std::uint32_t ti, const index_options& o,
               memory_budget& budget)
      : file_(file), ix_(ix), ti_(ti), t_(ix.tiles[ti]), opt_(o), budget_(budget) {}

  result<void> run(const std::vector<std::vector<std::uint32_t>>* lengths) {
    t_.first_packet = static_cast<std::uint32_t>(ix_.packets.size());
    complete_ = ix_.packets.size();   // the packets of earlier tiles are whole
    if (t_.parts.empty()) return {};  // no tile-part: every packet is absent (build() warned)
    std::uint64_t avail = 0;
    bool incomplete = false;  // the data ends inside the tile, or before its last tile-part
    for (std::uint32_t pi : t_.parts) {
      const tile_part& tp = ix_.tile_parts[pi];
      avail += tp.end - tp.body_offset;
      incomplete = incomplete || tp.cut || (pi + 1 == ix_.tile_parts.size() && !ix_.has_eoc);
    }
    const tile_part& first = ix_.tile_parts[t_.parts[0]];
    incomplete = incomplete || (first.TNsot != 0 && first.TNsot > t_.parts.size());
    for (const auto& br : t_.packed_headers) avail += br.length;
    // Every packet takes at least one byte (of header, in the body or in PPM/PPT): check what
    // the headers declare against the bytes before allocating anything for it. A tile the data
    // ends in may declare up to incomplete_tile_allowance packets more than its bytes.
    const std::uint64_t at = first.sot_offset;
    const std::uint64_t declared = std::uint64_t{t_.num_slots} * t_.coding.layers;
    const std::uint64_t bound = incomplete ? avail + incomplete_tile_allowance : avail;
    if (t_.coding.pocs.empty() && declared > bound)
      return fail(errc::corrupt, at,
                  tile_name(ti_) + " declares " + declared_packets(t_) + " but holds only " +
                      std::to_string(avail) + " bytes, and every packet takes at least one");
    const std::uint64_t listed = std::min(declared, bound + 1);
    PIPIT_TRY(budget_.charge(declared * sizeof(std::uint32_t) +
                                 listed * (sizeof(packet_ref) + sizeof(packet_entry)) +
                                 std::uint64_t{t_.num_slots} * sequence_bytes_per_slot,
                             at, tile_name(ti_) + ": " + declared_packets(t_)));
    std::size_t required = 0;
    seq_ = packet_sequence(ix_.siz, t_, &required, static_cast<std::size_t>(listed));
    if (required > bound)
      return fail(errc::corrupt, at,
                  tile_name(ti_) + " declares " + std::to_string(required) +
                      " packets but holds only " + std::to_string(avail) + " bytes");
    if (ix_.packets.size() + seq_.size() > opt_.max_packets)
      return fail(errc::limit, at, "more than " + std::to_string(opt_.max_packets) + " packets");
    t_.packet_of_slot.assign(std::size_t{t_.num_slots} * t_.coding.layers, none_packet);
    if (t_.packed) PIPIT_TRY(load_packed());
    for (std::size_t k = 0; k < t_.parts.size(); ++k) {
      tile_part& tp = ix_.tile_parts[t_.parts[k]];
      tp.first_packet = static_cast<std::uint32_t>(ix_.packets.size());
      result<void> done = lengths ? assign_lengths(tp, (*lengths)[k]) : parse_part(tp);
      if (!done) {
        if (!tp.cut) return done;
        // The tile-part is cut: its complete packets stay, the one the end cut is absent.
        const std::uint64_t at_cut = drop_partial_packet(done.error().offset);
        ix_.warnings.push_back({at_cut, tile_name(ti_) + ": packet " + std::to_string(next_) +
                                            " is cut by the end of the data (" +
                                            done.error().message +
                                            "): it and the packets after it are absent"});
      }
      tp.packet_count = static_cast<std::uint32_t>(ix_.packets.size()) - tp.first_packet;
    }
    if (next_ == 0 && required > 0)
      ix_.warnings.push_back({at, tile_name(ti_) + " holds none of its " +
                                      std::to_string(required) +
                                      " packets: it is absent, as if it had no tile-part"});
    else if (next_ < required)
      ix_.warnings.push_back({ix_.tile_parts[t_.parts.back()].end,
                              tile_name(ti_) + " holds " + std::to_string(next_) + " of its " +
                                  std::to_string(required) + " packets: the others are absent"});
    t_.packet_count = static_cast<std::uint32_t>(ix_.packets.size()) - t_.first_packet;
    return {};
  }

 private:
  result<packet_entry*> next_packet(std::uint64_t at) {
    if (next_ >= seq_.size())
      return fail(errc::corrupt, at, tile_name(ti_) + ": data after its last packet");
    const packet_ref& p = seq_[next_++];
    packet_entry e;
    e.tile = static_cast<std::uint16_t>(ti_);
    e.layer = p.layer;
    e.component = p.component;
    e.resolution = p.resolution;
    e.precinct = p.precinct;
    e.offset = at;
    t_.packet_of_slot[std::size_t{p.slot} * t_.coding.layers + p.layer] =
        static_cast<std::uint32_t>(ix_.packets.size());
    ix_.packets.push_back(e);
    slot_ = p.slot;
    return &ix_.packets.back();
  }

  // Forgets the packet being read when its tile-part failed (none when all are whole); returns
  // where it starts (`failed_at` when none was being read).
  std::uint64_t drop_partial_packet(std::uint64_t failed_at) {
    if (ix_.packets.size() <= complete_) return failed_at;
    const packet_entry& e = ix_.packets.back();
    const std::uint64_t start = e.offset;
    t_.packet_of_slot[std::size_t{t_.slot(e.component, e.resolution, e.precinct)} *
                          t_.coding.layers +
                      e.layer] = none_packet;
    ix_.packets.pop_back();
    --next_;
    return start;
  }

  bool sop_at(std::uint64_t pos, std::uint64_t end) const {
    return t_.coding.sop && end - pos >= 6 && load_be16(file_.data() + pos) == SOP;
  }

  result<void> assign_lengths(tile_part& tp, const std::vector<std::uint32_t>& lens) {
    std::uint64_t pos = tp.body_offset;
    for (std::uint32_t len : lens) {
      if (len > tp.end - pos)
        return fail(errc::corrupt, pos,
                    tile_name(ti_) + ": PLT/PLM packet length " + std::to_string(len) +
                        " runs past the end of the tile-part");
      PIPIT_TRY_ASSIGN(e, next_packet(pos));
      e->length = len;
      e->header_length = unknown_length;
      e->has_sop = sop_at(pos, pos + len);
      pos += len;
      complete_ = ix_.packets.size();
    }
    if (pos != tp.end)
      return fail(errc::corrupt, pos,
                  tile_name(ti_) + ": PLT/PLM lengths cover " +
                      std::to_string(pos - tp.body_offset) + " of the tile-part's " +
                      std::to_string(tp.end - tp.body_offset) + " body bytes");
    return {};
  }

  result<void> load_packed() {
    for (const auto& br : t_.packed_headers) {
      auto b =
          file_.subspan(static_cast<std::size_t>(br.offset), static_cast<std::size_t>(br.length));
      packed_.insert(packed_.end(), b.begin(), b.end());
    }
    return {};
  }

  std::uint64_t packed_abs(std::size_t pos) const {
    for (const auto& br : t_.packed_headers) {
      if (pos < br.length) return br.offset + pos;
      pos -= static_cast<std::size_t>(br.length);
    }
    return t_.packed_headers.empty() ? 0 : t_.packed_headers.back().end();
  }

  precinct_state* state_for(const packet_entry& e) {
    auto& st = states_[slot_];
    if (!st) {
      if (!pool_.empty()) {
        st = std::move(pool_.back());
        pool_.pop_back();
      } else {
        st = std::make_unique<precinct_state>();
      }
    }
    if (!st->initialised()) {
      const std::uint64_t blocks =
          precinct_shapes(ix_.siz, t_, e.component, e.resolution, e.precinct, shapes_);
      if (blocks > opt_.max_blocks_per_precinct) return nullptr;
      st->init(shapes_, t_.coding.components[e.component].cblk_style);
    }
    return st.get();
  }

  result<void> parse_part(tile_part& tp) {
    if (states_.empty()) states_.resize(t_.num_slots);
    std::uint64_t pos = tp.body_offset;
    const std::uint64_t end = tp.end;
    const std::size_t packed_end = packed_pos_ + static_cast<std::size_t>(tp.packed_length);
    if (t_.packed && packed_end > packed_.size())
      return fail(errc::corrupt, tp.sot_offset,
                  tile_name(ti_) + ": packed headers shorter than the tile-part needs");
    while (t_.packed ? packed_pos_ < packed_end : pos < end) {
      PIPIT_TRY_ASSIGN(e, next_packet(pos));
      const std::uint64_t start = pos;
      if (sop_at(pos, end)) {
        if (load_be16(file_.data() + pos + 2) != 4)
          return fail(errc::corrupt, pos + 2, "SOP: Lsop is not 4");
        e->has_sop = 1;
        pos += 6;
      }
      bytes_view src;
      std::uint64_t src_base;
      std::size_t src_pos;
      if (t_.packed) {
        src = bytes_view(packed_);
        src_pos = packed_pos_;
        src_base = packed_abs(packed_pos_);
      } else {
        src = file_.first(static_cast<std::size_t>(end));
        src_pos = static_cast<std::size_t>(pos);
        src_base = pos;
      }
      const std::size_t header_start = src_pos;
      if (t_.packed) src = src.first(packed_end);
      if (src_pos >= src.size())
        return fail(errc::truncated, src_base, tile_name(ti_) + ": packet header missing");
      std::uint64_t body = 0;
      if (src[src_pos] & 0x80) {
        precinct_state* st = state_for(*e);
        if (!st)
          return fail(errc::limit, src_base,
                      tile_name(ti_) + ": precinct has more than " +
                          std::to_string(opt_.max_blocks_per_precinct) + " code-blocks");
        bit_reader br(src.subspan(src_pos), src_base);
        PIPIT_TRY_ASSIGN(lens, st->read(br, e->layer));
        src_pos += lens.header;
        body = lens.body;
      } else {
        src_pos += 1;  // an empty packet: one zero bit, padded
      }
      if (t_.coding.eph) {
        if (src.size() - src_pos < 2 || load_be16(src.data() + src_pos) != EPH)
          return fail(errc::corrupt, t_.packed ? packed_abs(src_pos) : src_pos,
                      tile_name(ti_) + ": expected an EPH marker after the packet header");
        src_pos += 2;
      }
      if (e->layer + 1u == t_.coding.layers && slot_ < states_.size() && states_[slot_]) {
        // The precinct is done: keep its memory for the next one.
        states_[slot_]->release();
        pool_.push_back(std::move(states_[slot_]));
      }
      if (t_.packed) {
        e->packed_header_offset = static_cast<std::uint32_t>(header_start);
        e->packed_header_length = static_cast<std::uint32_t>(src_pos - header_start);
        packed_pos_ = src_pos;
        e->header_length = static_cast<std::uint32_t>(pos - start);  // SOP only
      } else {
        pos = src_pos;
        e->header_length = static_cast<std::uint32_t>(pos - start);
      }
      if (body > end - pos)
        return fail(errc::corrupt, pos,
                    tile_name(ti_) + ": packet body of " + std::to_string(body) +
                        " bytes runs past the end of the tile-part (" + std::to_string(end - pos) +
                        " left)");
      pos += body;
      e->length = static_cast<std::uint32_t>(pos - start);
      complete_ = ix_.packets.size();
    }
    if (pos != end)
      return fail(errc::corrupt, pos,
                  tile_name(ti_) + ": " + std::to_string(end - pos) +
                      " bytes after the last packet of a tile-part");
    return {};
  }

  bytes_view file_;
  codestream_index& ix_;
  std::uint32_t ti_;
  tile_entry& t_;
  const index_options& opt_;
  memory_budget& budget_;
  std::vector<packet_ref> seq_;
  std::size_t next_ = 0;
  std::size_t complete_ = 0;  // ix_.packets that are whole (all but the one being read)
  std::uint32_t slot_ = 0;
  std::vector<std::unique_ptr<precinct_state>> states_;
  std::vector<std::unique_ptr<precinct_state>> pool_;
  std::vector<precinct_state::band_shape> shapes_;
  std::vector<std::uint8_t> packed_;
  std::size_t packed_pos_ = 0;
};

}  // namespace

result<void> memory_budget::charge(std::uint64_t n, std::uint64_t offset, const std::string& what) {
  if (n > limit_ - std::min(used_, limit_))
    return fail(errc::limit, offset,
                what + " would take " + mib(used_ + n) + " of index memory, above the limit of " +
                    mib(limit_));
  used_ += n;
  return {};
}

std::string declared_packets(const tile_entry& t) {
  return std::to_string(t.coding.components.size()) + " components, " +
         std::to_string(t.coding.layers) + " layers, " + std::to_string(t.num_slots) +
         " precincts (" + std::to_string(std::uint64_t{t.num_slots} * t.coding.layers) +
         " packets)";
}

result<void> index_packets(bytes_view file, codestream_index& ix, const index_options& options,
                           memory_budget& budget) {
  PIPIT_TRY_ASSIGN(plm, plm_lengths(file, ix));
  ix.headers_parsed = false;
  for (std::uint32_t ti = 0; ti < ix.tiles.size(); ++ti) {
    tile_entry& t = ix.tiles[ti];
    std::vector<std::vector<std::uint32_t>> lengths;
    bool found = false;
    if (options.use_pointer_markers && !t.packed)
      PIPIT_TRY(pointer_lengths(file, ix, plm, t, lengths, found));
    tile_indexer ti_indexer(file, ix, ti, options, budget);
    PIPIT_TRY(ti_indexer.run(found ? &lengths : nullptr));
    if (!found) ix.headers_parsed = true;
  }
  return {};
}

}  // namespace pipit::detail
