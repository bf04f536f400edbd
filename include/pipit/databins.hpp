// The JPIP data-bins of an indexed image, server side (ISO/IEC 15444-9 A.3).
//
// A `databin_source` cuts an image_index into data-bins:
//   main header bin   SOC up to the first SOT, without TLM, PLM and PPM segments; for
//                     JPT-streams PPM is kept (main_header(csn, true)), since tile data-bins
//                     carry tile-parts as they are, whose packets have no headers of their own;
//   tile header bin   the tile-part header segments of every tile-part of the tile, in order,
//                     without SOT, SOD, PLT, PPT and TLM;
//   precinct bin      the precinct's packets in layer order, headers carried in PPM/PPT put back
//                     in front of their bodies, SOP/EPH kept as the coding style has them;
//   metadata-bin 0    the file's top-level boxes with each jp2c and ftbl box replaced by a
//                     placeholder box (phld, Flags = 4) naming its codestream, and a linked
//                     JPX's dtbl left out (empty for a raw codestream).
// Header and metadata bins are small and built once; precinct bins are described as a list of
// byte pieces of the file and copied on demand, so serving a packet is one memcpy from the
// mapped file.
//
// Precinct in-class ids: I = t + (c + s * Nc) * Nt (A.3.2.1).
//
// Thread-safety: immutable after construction; share freely. The file bytes (and the linked
// files' of a linked JPX, image_index::codestream_files) and the index must outlive the source.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "pipit/databin_id.hpp"
#include "pipit/image_index.hpp"

namespace pipit {

inline std::uint64_t precinct_bin_id(std::uint64_t t, std::uint64_t c, std::uint64_t s,
                                     std::uint64_t num_components, std::uint64_t num_tiles) {
  return t + (c + s * num_components) * num_tiles;
}

// The precinct bin id of precinct slot `slot` of tile `tile` (slots as in tile_entry).
std::uint64_t precinct_id_of(const codestream_index& cs, std::uint32_t tile, std::uint32_t slot);

struct precinct_address {
  std::uint32_t tile = 0;
  std::uint32_t component = 0;
  std::uint64_t s = 0;
};
inline precinct_address split_precinct_bin_id(std::uint64_t id, std::uint64_t nc,
                                              std::uint64_t nt) {
  precinct_address a;
  a.tile = static_cast<std::uint32_t>(id % nt);
  std::uint64_t rest = id / nt;
  a.component = static_cast<std::uint32_t>(rest % nc);
  a.s = rest / nc;
  return a;
}

// One contiguous run of a data-bin's bytes: from the file, or (header rewrites) owned bytes.
struct bin_piece {
  std::uint64_t file_offset = 0;
  std::uint64_t length = 0;
};

// A precinct bin: its pieces in order, and where each layer's packet ends within the bin. Views
// into the source's precinct table, valid while the source lives.
struct precinct_layout {
  std::span<const bin_piece> pieces;
  std::span<const std::uint64_t> layer_end;  // layer_end[l]: bin length once packets 0..l are in
  std::uint64_t length() const { return layer_end.empty() ? 0 : layer_end.back(); }
};

class databin_source {
 public:
  databin_source(bytes_view file, const image_index& index);

  const image_index& index() const { return *index_; }
  bytes_view file() const { return file_; }
  // The bytes codestream csn's offsets refer to: the file, or the linked file holding it.
  bytes_view codestream_file(std::uint32_t csn) const {
    return csn < index_->codestream_files.size() ? index_->codestream_files[csn] : file_;
  }
  std::uint32_t num_codestreams() const {
    return static_cast<std::uint32_t>(index_->codestreams.size());
  }

  const std::vector<std::uint8_t>& main_header(std::uint32_t csn, bool jpt = false) const {
    const codestream_bins& b = cs_[csn];
    return jpt && !b.main_header_jpt.empty() ? b.main_header_jpt : b.main_header;
  }
  const std::vector<std::uint8_t>& tile_header(std::uint32_t csn, std::uint32_t t) const {
    return cs_[csn].tile_headers[t];
  }
  const std::vector<std::uint8_t>& metadata_bin0() const { return metadata0_; }

  // The precinct bin of (tile, slot) of codestream csn. REQUIRES: slot < the tile's num_slots.
  // O(1): the layouts of all precincts are laid out once, when the source is made, in flat
  // arrays ordered by tile and slot (a window's precincts are neighbours there).
  precinct_layout precinct(std::uint32_t csn, std::uint32_t tile, std::uint32_t slot) const {
    const precinct_table& pt = cs_[csn].precincts;
    const precinct_table::entry* e = &pt.begin[pt.tile_base[tile] + slot];
    return {
        std::span<const bin_piece>(pt.pieces).subspan(e[0].piece, e[1].piece - e[0].piece),
        std::span<const std::uint64_t>(pt.layer_end).subspan(e[0].layer, e[1].layer - e[0].layer)};
  }

  // Length of any bin (0 for bins that do not exist).
  std::uint64_t bin_length(const bin_id& id) const;

  // Bytes held by the precinct tables (for memory accounting).
  std::uint64_t precinct_table_bytes() const;

  // Appends bytes [from, to) of a bin to `out`; `to` is clipped to the bin's length.
  void copy(const bin_id& id, std::uint64_t from, std::uint64_t to,
            std::vector<std::uint8_t>& out) const;

  // The precinct bin id of (tile, slot) of codestream csn, and back.
  std::uint64_t precinct_id(std::uint32_t csn, std::uint32_t tile, std::uint32_t slot) const;
  bool precinct_slot(std::uint32_t csn, std::uint64_t id, std::uint32_t& tile,
                     std::uint32_t& slot) const;

 private:
  // Precinct (tile t, slot s) is entry e = tile_base[t] + s: its pieces are
  // pieces[begin[e].piece, begin[e + 1].piece), its layer ends layer_end[begin[e].layer, ...).
  struct precinct_table {
    struct entry {
      std::uint64_t piece = 0, layer = 0;
    };
    std::vector<std::uint64_t> tile_base;
    std::vector<entry> begin;  // one per entry, plus the end
    std::vector<bin_piece> pieces;
    std::vector<std::uint64_t> layer_end;
  };
  static precinct_table make_precinct_table(const codestream_index& cs);
  struct codestream_bins {
    precinct_table precincts;
    std::vector<std::uint8_t> main_header;
    std::vector<std::uint8_t> main_header_jpt;  // empty unless the main header has PPM
    std::vector<std::vector<std::uint8_t>> tile_headers;
  };
  bytes_view file_;
  const image_index* index_;
  std::vector<codestream_bins> cs_;
  std::vector<std::uint8_t> metadata0_;
};

// The placeholder box that stands for codestream `csn` whose original box header is `orig_bh`.
void append_codestream_placeholder(std::vector<std::uint8_t>& out, bytes_view orig_bh,
                                   std::uint64_t csn);

}  // namespace pipit
