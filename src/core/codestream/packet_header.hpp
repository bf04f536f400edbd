// Tier-2 packet-header decoding (15444-1 B.10; HT code-blocks per 15444-15). Internal to the
// core: it finds how long a packet's header and body are, and keeps the per-precinct state
// (tag trees, inclusion, Lblock, codeword segments) that later layers of the precinct need.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "pipit/byte_reader.hpp"
#include "pipit/codestream.hpp"
#include "pipit/error.hpp"
#include "pipit/geometry.hpp"
#include "pipit/markers.hpp"

namespace pipit::detail {

// Reads bits MSB first with the bit-stuffing of B.10.1: after a 0xFF byte only 7 bits follow.
// Reading past the end yields zero bits and sets a sticky overrun flag, checked once per header
// (by align()), so the per-bit path has no error branch.
class bit_reader {
 public:
  bit_reader(bytes_view data, std::uint64_t base) : data_(data), base_(base) {}
  unsigned bit() {
    if (ct_ == 0) load();
    --ct_;
    return (buf_ >> ct_) & 1u;
  }
  std::uint32_t bits(unsigned n) {  // n <= 32
    std::uint32_t v = 0;
    for (unsigned i = 0; i < n; ++i) v = (v << 1) | bit();
    return v;
  }
  bool overrun() const { return overrun_; }
  // Ends the header: skips to the next byte boundary (and a stuffed byte after 0xFF). Fails when
  // any read ran past the data.
  result<void> align();
  std::size_t pos() const { return pos_; }
  std::uint64_t abs_pos() const { return base_ + pos_; }

 private:
  void load() {
    std::uint32_t next = 0;
    if (pos_ < data_.size())
      next = data_[pos_++];
    else
      overrun_ = true;
    buf_ = ((buf_ << 8) & 0xFFFF) | next;
    ct_ = (buf_ & 0xFF00) == 0xFF00 ? 7 : 8;
  }
  bytes_view data_;
  std::uint64_t base_;
  std::size_t pos_ = 0;
  std::uint32_t buf_ = 0;
  unsigned ct_ = 0;
  bool overrun_ = false;
};

// A tag tree (B.10.2) over a w x h grid of leaves.
class tag_tree {
 public:
  void reset(std::uint32_t w, std::uint32_t h);
  // Decodes until it is known whether leaf's value < threshold; returns that.
  bool below(bit_reader& br, std::uint32_t leaf, std::int32_t threshold);
  // Decodes the leaf's value completely, up to `cap` (returns cap + 1 when above it).
  std::int32_t value(bit_reader& br, std::uint32_t leaf, std::int32_t cap);

 private:
  struct node {
    std::int32_t value = 0x7FFFFFFF;
    std::int32_t low = 0;
  };
  unsigned path(std::uint32_t leaf, std::uint32_t* out) const;
  std::vector<node> nodes_;
  std::uint32_t level_start_[34] = {}, level_width_[34] = {};
  unsigned levels_ = 0;
};

// The state of one precinct across its packets.
class precinct_state {
 public:
  struct band_shape {
    std::uint32_t nx = 0, ny = 0;
  };
  // Sub-band shapes in band order (LL, or HL LH HH); `cblk_style` from the coding style.
  void init(const std::vector<band_shape>& bands, std::uint8_t cblk_style);
  bool initialised() const { return initialised_; }
  // Forgets the precinct but keeps the memory, for reuse by another precinct.
  void release() { initialised_ = false; }

  struct lengths {
    std::uint32_t header = 0;  // bytes of the header proper (without SOP and EPH)
    std::uint64_t body = 0;
  };
  // Decodes the header of this precinct's packet for `layer` from `br` (positioned at the
  // header's first byte).
  result<lengths> read(bit_reader& br, unsigned layer);

 private:
  struct block {
    std::uint8_t included = 0;
    std::uint8_t lblock = 3;
    std::uint16_t seg_max = 0;
    std::uint16_t seg_passes = 0;
  };
  struct band {
    std::uint32_t nx = 0, ny = 0;
    tag_tree inclusion, zero_planes;
    std::vector<block> blocks;
  };
  std::vector<band> bands_;
  std::uint8_t style_ = 0;
  bool initialised_ = false;
};

// Sub-band code-block shapes of precinct p of resolution r of component c of a tile; returns
// the total number of code-blocks.
std::uint64_t precinct_shapes(const image_size& siz, const tile_entry& tile, unsigned c, unsigned r,
                              std::uint32_t p, std::vector<precinct_state::band_shape>& shapes);

}  // namespace pipit::detail
