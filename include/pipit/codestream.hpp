// The model of one JPEG 2000 codestream: its headers, tile-parts and packet index.
//
// `codestream_index::build` walks a codestream (ISO/IEC 15444-1 Annex A; HTJ2K, Part 15, alike)
// held in memory: the main header (SIZ, CAP, COD, COC, QCD, QCC, RGN, POC, PPM, TLM, PLM, CRG,
// COM, CPF), every tile-part (SOT ... SOD and its body) and, per tile, the sequence of packets
// in the tile's progression order (POC included). For each packet it records its tile, layer,
// resolution, component and precinct, and where its bytes lie: taken from PLT/PLM when present
// and allowed, else found by decoding the packet headers (B.10), with SOP/EPH honoured and headers
// carried in PPM/PPT located in their marker segments.
//
// The index holds offsets, not bytes: every offset is absolute in the buffer given to build().
// Errors carry the offset where the problem was found.
//
// Thread-safety: an index is immutable after build(); share it freely between threads.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "pipit/byte_reader.hpp"
#include "pipit/error.hpp"
#include "pipit/geometry.hpp"
#include "pipit/markers.hpp"

namespace pipit {

struct component_size {
  std::uint8_t precision = 8;  // bits per sample, 1..38
  bool is_signed = false;
  std::uint8_t XRsiz = 1, YRsiz = 1;
};

// SIZ (A.5.1).
struct image_size {
  std::uint16_t Rsiz = 0;
  std::uint32_t Xsiz = 0, Ysiz = 0, XOsiz = 0, YOsiz = 0;
  std::uint32_t XTsiz = 0, YTsiz = 0, XTOsiz = 0, YTOsiz = 0;
  std::vector<component_size> components;

  std::uint32_t tiles_x() const;
  std::uint32_t tiles_y() const;
  std::uint32_t num_tiles() const { return tiles_x() * tiles_y(); }
  std::uint32_t width() const { return Xsiz - XOsiz; }
  std::uint32_t height() const { return Ysiz - YOsiz; }
  rect image_rect() const { return rect{XOsiz, YOsiz, Xsiz, Ysiz}; }  // the image area (B.2)
  rect tile_rect(std::uint32_t t) const;                              // B-7..B-10
  // Frame size after discarding d levels: ceil(Xsiz/2^d) - ceil(XOsiz/2^d) (and alike in y).
  std::uint32_t width_at(std::uint32_t d) const;
  std::uint32_t height_at(std::uint32_t d) const;
};

// The one sample type an image's samples are given by the client, the GDAL driver and
// `pipit get` alike: 8, 16 or 32 bits, the smallest holding every component's precision; signed
// when any component is, and then at least 16 bits (a signed 8-bit component is read as 16-bit,
// its values as they are).
struct sample_type {
  std::uint8_t bits = 8;
  bool is_signed = false;
  friend bool operator==(const sample_type&, const sample_type&) = default;
};
sample_type sample_type_of(const image_size& siz);

// The effective coding style of one tile-component (COD/COC, A.6.1-A.6.2).
struct component_coding {
  std::uint8_t levels = 5;        // NL, decomposition levels
  std::uint8_t xcb = 6, ycb = 6;  // code-block size exponents (SPcod value + 2)
  std::uint8_t cblk_style = 0;
  std::uint8_t transform = 0;  // 0: 9-7 irreversible, 1: 5-3 reversible
  bool user_precincts = false;
  std::array<std::uint8_t, 33> PPx{}, PPy{};  // per resolution 0..levels (15 by default)
};

// One progression volume of a POC marker (A.6.6).
struct poc_entry {
  std::uint8_t RSpoc = 0;
  std::uint16_t CSpoc = 0;
  std::uint16_t LYEpoc = 0;
  std::uint8_t REpoc = 0;
  std::uint16_t CEpoc = 0;
  progression Ppoc = progression::LRCP;
};

// Coding parameters in force in one tile (main header defaults with tile-part overrides).
struct tile_coding {
  progression order = progression::LRCP;
  std::uint16_t layers = 1;
  std::uint8_t mct = 0;
  bool sop = false, eph = false;
  std::vector<component_coding> components;
  std::vector<poc_entry> pocs;
  std::uint8_t max_levels() const;
};

struct marker_segment {
  std::uint16_t code = 0;
  std::uint64_t offset = 0;  // of the marker code
  std::uint32_t length = 0;  // Lxxx: segment length after the marker code, length bytes included
  std::uint64_t end() const { return offset + 2 + length; }
};

struct tile_part {
  std::uint16_t tile = 0;
  std::uint8_t TPsot = 0, TNsot = 0;
  std::uint64_t sot_offset = 0;   // of the SOT marker
  std::uint64_t sod_offset = 0;   // of the SOD marker
  std::uint64_t body_offset = 0;  // first byte after SOD
  std::uint64_t end = 0;          // one past the last byte of the tile-part
  // Psot promised more than the data holds: `end` is the end of the data, and the packets cut
  // by it are absent (a warning says where).
  bool cut = false;
  std::vector<marker_segment> markers;               // header segments between SOT and SOD
  std::uint32_t first_packet = 0, packet_count = 0;  // packets whose bodies lie in this part
  std::uint64_t packed_length = 0;  // bytes of its packet headers in PPM/PPT, if used
};

// A byte range of the input.
struct byte_range {
  std::uint64_t offset = 0, length = 0;
  std::uint64_t end() const { return offset + length; }
};

inline constexpr std::uint32_t unknown_length = 0xFFFFFFFFu;

struct packet_entry {
  std::uint16_t tile = 0;
  std::uint16_t layer = 0;
  std::uint16_t component = 0;
  std::uint8_t resolution = 0;
  std::uint8_t has_sop = 0;    // 1 when an SOP marker segment starts the packet
  std::uint32_t precinct = 0;  // raster index within the tile-component resolution
  std::uint64_t offset = 0;    // first byte in the tile-part body (its SOP, if any)
  std::uint32_t length = 0;    // bytes in the tile-part body: SOP + in-body header + body
  // In-body header bytes (SOP + header + EPH): unknown_length when taken from PLT/PLM only; 0 when
  // the header is carried in PPM/PPT (see packed_header_*).
  std::uint32_t header_length = 0;
  std::uint32_t packed_header_offset = 0;  // into the tile's packed-header stream (PPM/PPT)
  std::uint32_t packed_header_length = 0;  // 0 when the header is in the body
  std::uint64_t end() const { return offset + length; }
};

struct tile_entry {
  tile_coding coding;
  rect area;                         // tile rectangle on the reference grid
  std::vector<std::uint32_t> parts;  // indices into codestream_index::tile_parts, in order
  // Packets in the index; a packet of the progression that the data does not hold (its tile has
  // no tile-part, or its tile-part was cut) is absent: codestream_index::packet gives nullptr.
  std::uint32_t first_packet = 0, packet_count = 0;
  // Per component c and resolution r (0..levels of c): resolutions[comp_res_base[c] + r].
  // Precinct p of (c, r) has slot `slot_base + p`; slot - comp_slot_base(c) is the JPIP precinct
  // sequence number s (15444-9 A.3.2.1).
  struct resolution_info {
    rect area;           // the resolution's sample rectangle (B-14)
    precinct_grid grid;  // its precinct partition
    std::uint32_t slot_base = 0;
  };
  std::vector<std::uint32_t> comp_res_base;  // size Csiz + 1
  std::vector<resolution_info> resolutions;
  std::uint32_t num_slots = 0;
  // packet_of_slot[slot * layers + layer]: index into codestream_index::packets, or none_packet;
  // empty for a tile without tile-parts.
  std::vector<std::uint32_t> packet_of_slot;
  // PPM/PPT: the file ranges whose concatenation is the tile's packed packet-header stream.
  std::vector<byte_range> packed_headers;
  bool packed = false;  // packet headers are in PPM/PPT, not in the tile-part bodies

  const resolution_info& res(unsigned c, unsigned r) const {
    return resolutions[comp_res_base[c] + r];
  }
  std::uint32_t slot(unsigned c, unsigned r, std::uint32_t p) const {
    return res(c, r).slot_base + p;
  }
  std::uint32_t comp_slot_base(unsigned c) const { return resolutions[comp_res_base[c]].slot_base; }
};

inline constexpr std::uint32_t none_packet = 0xFFFFFFFFu;

// Damage the index went past, as OpenJPEG does: what and where. Never silent: `pipit info`
// prints each, the server logs them once when it indexes a file. The kinds (docs/formats/
// damaged-codestreams.md): a wrong TNsot; a tile without any tile-part (its packets are
// absent); a codestream that ends without EOC, or with bytes after its last tile-part that are
// no marker (ignored); a last tile-part cut by the end of the data (its complete packets are
// indexed, the others are absent); a tile holding fewer packets than its progression declares.
struct index_warning {
  std::uint64_t offset = no_offset;
  std::string message;
  std::string to_string() const { return "at byte " + std::to_string(offset) + ": " + message; }
};

struct index_options {
  bool use_pointer_markers = true;  // take packet lengths from PLT/PLM when they are present
  // Refuse codestreams whose geometry or packet count exceeds these (damaged or hostile input).
  std::uint64_t max_packets = std::uint64_t{1} << 30;
  std::uint64_t max_blocks_per_precinct = std::uint64_t{1} << 22;
  // The memory the index may take for what the headers declare: per tile its coding and geometry
  // (components x resolutions), its slot table (precincts x layers x 4 bytes) and its packets.
  // Checked before anything is allocated, so a few kilobytes of headers that declare a billion
  // packets are refused with errc::limit instead of exhausting memory. A complete tile must also
  // hold at least one byte per declared packet (errc::corrupt otherwise), which bounds the
  // packet tables of every legal file by its size.
  std::uint64_t max_index_bytes = std::uint64_t{1} << 30;
  // Stop after headers, tile-parts and geometry: no packets (the client's rebuild uses this on a
  // codestream skeleton made of header bins).
  bool headers_only = false;
};

class codestream_index {
 public:
  // Index the codestream that occupies `cs` (a range of `file`, absolute offsets kept).
  static result<codestream_index> build(bytes_view file, byte_range cs,
                                        const index_options& options = {});

  image_size siz;
  tile_coding defaults;                      // main-header COD/COC/POC
  byte_range range;                          // SOC .. end of EOC (or of the data)
  std::uint64_t main_header_end = 0;         // offset of the first SOT
  std::vector<marker_segment> main_markers;  // main header segments after SOC
  std::vector<tile_part> tile_parts;         // in codestream order
  std::vector<tile_entry> tiles;             // by tile index
  std::vector<packet_entry> packets;         // per tile in progression order, tiles in index order
  std::vector<index_warning> warnings;       // in the order found
  bool has_eoc = false;         // the tile-parts end with EOC (else a warning says what ends them)
  bool ht = false;              // HTJ2K code-blocks (Part 15) in some component
  bool headers_parsed = false;  // packet headers were decoded (lengths not all from PLT)

  bool has_marker(std::uint16_t code) const;  // anywhere in main or tile-part headers
  // Codestream-wide values of the tiles' coding (the main header's defaults when no tile is
  // indexed): the decomposition levels every tile-component has (the minimum, what a view-window
  // can discard), the most quality layers of a tile, and whether a tile uses a multiple
  // component transform.
  std::uint32_t levels() const;
  std::uint32_t layers() const;
  bool mct() const;
  const packet_entry* packet(std::uint32_t tile, std::uint32_t slot, unsigned layer) const;
  std::uint32_t num_components() const { return static_cast<std::uint32_t>(siz.components.size()); }
};

// Parses SIZ from the bytes after its marker code; exposed for tests and for the rebuild.
result<image_size> parse_siz(byte_reader& r);

}  // namespace pipit
