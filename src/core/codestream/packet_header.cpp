#include "packet_header.hpp"

#include <bit>
#include <string>

namespace pipit::detail {

result<void> bit_reader::align() {
  if ((buf_ & 0xFF) == 0xFF && !overrun_) {
    // A header ending on 0xFF is followed by a stuffed byte that belongs to it.
    load();
  }
  ct_ = 0;
  if (overrun_)
    return fail(errc::truncated, base_ + data_.size(),
                "packet header runs past the end of its data");
  return {};
}

void tag_tree::reset(std::uint32_t w, std::uint32_t h) {
  levels_ = 0;
  std::size_t total = 0;
  while (levels_ < 34) {
    level_start_[levels_] = static_cast<std::uint32_t>(total);
    level_width_[levels_] = w;
    ++levels_;
    total += std::size_t{w} * h;
    if (w <= 1 && h <= 1) break;
    w = (w + 1) / 2;
    h = (h + 1) / 2;
  }
  nodes_.assign(total, node{});
}

unsigned tag_tree::path(std::uint32_t leaf, std::uint32_t* out) const {
  std::uint32_t x = leaf % level_width_[0], y = leaf / level_width_[0];
  for (unsigned lv = 0; lv < levels_; ++lv) {
    out[lv] = level_start_[lv] + y * level_width_[lv] + x;
    x /= 2;
    y /= 2;
  }
  return levels_;
}

bool tag_tree::below(bit_reader& br, std::uint32_t leaf, std::int32_t threshold) {
  std::uint32_t p[34];
  const unsigned depth = path(leaf, p);
  std::int32_t low = 0;
  for (unsigned k = depth; k-- > 0;) {
    node& n = nodes_[p[k]];
    if (low > n.low)
      n.low = low;
    else
      low = n.low;
    while (low < threshold && low < n.value) {
      if (br.bit())
        n.value = low;
      else
        ++low;
    }
    n.low = low;
  }
  return nodes_[p[0]].value < threshold;
}

std::int32_t tag_tree::value(bit_reader& br, std::uint32_t leaf, std::int32_t cap) {
  // One walk with the threshold raised as far as needed: the same bits as calling below() with
  // thresholds 1, 2, ... until it returns true.
  std::uint32_t p[34];
  const unsigned depth = path(leaf, p);
  std::int32_t low = 0;
  const std::int32_t threshold = cap + 1;
  for (unsigned k = depth; k-- > 0;) {
    node& n = nodes_[p[k]];
    if (low > n.low)
      n.low = low;
    else
      low = n.low;
    while (low < threshold && low < n.value) {
      if (br.overrun()) return threshold;
      if (br.bit())
        n.value = low;
      else
        ++low;
    }
    n.low = low;
  }
  return std::min(nodes_[p[0]].value, threshold);
}

void precinct_state::init(const std::vector<band_shape>& shapes, std::uint8_t cblk_style) {
  style_ = cblk_style;
  bands_.resize(shapes.size());
  for (std::size_t b = 0; b < shapes.size(); ++b) {
    band& bd = bands_[b];
    bd.nx = shapes[b].nx;
    bd.ny = shapes[b].ny;
    if (bd.nx && bd.ny) {
      bd.inclusion.reset(bd.nx, bd.ny);
      bd.zero_planes.reset(bd.nx, bd.ny);
    }
    bd.blocks.assign(std::size_t{bd.nx} * bd.ny, block{});
  }
  initialised_ = true;
}

namespace {

constexpr std::uint16_t unlimited_passes = 0xFFFF;

std::uint16_t first_segment_passes(std::uint8_t style) {
  if (style & cblk_ht) return 1;
  if (style & 0x04) return 1;   // termination on each coding pass
  if (style & 0x01) return 10;  // selective arithmetic-coding bypass
  return unlimited_passes;
}

std::uint16_t next_segment_passes(std::uint8_t style, std::uint16_t prev) {
  if (style & cblk_ht) return unlimited_passes;
  if (style & 0x04) return 1;
  if (style & 0x01) return (prev == 1 || prev == 10) ? 2 : 1;
  return unlimited_passes;
}

// Number of coding passes (Table B.4).
unsigned read_passes(bit_reader& br) {
  if (!br.bit()) return 1;
  if (!br.bit()) return 2;
  const unsigned v2 = br.bits(2);
  if (v2 != 3) return 3 + v2;
  const unsigned v5 = br.bits(5);
  if (v5 != 31) return 6 + v5;
  return 37 + br.bits(7);
}

}  // namespace

result<precinct_state::lengths> precinct_state::read(bit_reader& br, unsigned layer) {
  const std::size_t start = br.pos();
  lengths out;
  if (br.bit()) {
    for (band& bd : bands_) {
      const auto nblocks = static_cast<std::uint32_t>(bd.blocks.size());
      for (std::uint32_t k = 0; k < nblocks; ++k) {
        block& blk = bd.blocks[k];
        const bool included = blk.included
                                  ? br.bit() != 0
                                  : bd.inclusion.below(br, k, static_cast<std::int32_t>(layer) + 1);
        if (!included) continue;
        if (!blk.included) {
          // Zero bit-planes: the value of the leaf (B.10.5).
          if (bd.zero_planes.value(br, k, 80) > 80 && !br.overrun())
            return fail(errc::corrupt, br.abs_pos(), "packet header: more than 80 zero bit-planes");
          blk.included = 1;
          blk.lblock = 3;
          blk.seg_max = first_segment_passes(style_);
          blk.seg_passes = 0;
        }
        const unsigned passes = read_passes(br);
        while (br.bit()) {
          if (++blk.lblock > 32)
            return fail(errc::corrupt, br.abs_pos(), "packet header: Lblock above 32");
        }
        unsigned remaining = passes;
        while (remaining > 0) {
          if (blk.seg_passes >= blk.seg_max) {
            blk.seg_max = next_segment_passes(style_, blk.seg_max);
            blk.seg_passes = 0;
          }
          const unsigned take = std::min<unsigned>(remaining, blk.seg_max - blk.seg_passes);
          const unsigned nbits = blk.lblock + static_cast<unsigned>(std::bit_width(take) - 1);
          if (nbits > 32)
            return fail(errc::corrupt, br.abs_pos(),
                        "packet header: code-word length field above 32 bits");
          out.body += br.bits(nbits);
          blk.seg_passes = static_cast<std::uint16_t>(blk.seg_passes + take);
          remaining -= take;
        }
        if (br.overrun()) break;
      }
      if (br.overrun()) break;
    }
  }
  PIPIT_TRY(br.align());
  out.header = static_cast<std::uint32_t>(br.pos() - start);
  return out;
}

std::uint64_t precinct_shapes(const image_size& siz, const tile_entry& tile, unsigned c, unsigned r,
                              std::uint32_t p, std::vector<precinct_state::band_shape>& shapes) {
  const auto& cc = tile.coding.components[c];
  const auto& ri = tile.res(c, r);
  const rect tc = tile_component_rect(tile.area, siz.components[c].XRsiz, siz.components[c].YRsiz);
  const std::uint32_t i = p % ri.grid.nx, j = p / ri.grid.nx;
  std::uint64_t blocks = 0;
  shapes.clear();
  auto add = [&](band_kind b) {
    const rect br = band_rect(tc, cc.levels, r, b);
    const block_span s = precinct_band_blocks(ri.grid, i, j, r, br, cc.xcb, cc.ycb);
    blocks += s.count();
    shapes.push_back({s.nx, s.ny});
  };
  if (r == 0) {
    add(band_kind::LL);
  } else {
    add(band_kind::HL);
    add(band_kind::LH);
    add(band_kind::HH);
  }
  return blocks;
}

}  // namespace pipit::detail
