#include "packet_header.hpp"

#include <bit>
#include <string>

namespace pipit::detail {

result<void> bit_reader::load() {
  if (pos_ >= data_.size())
    return fail(errc::truncated, base_ + pos_, "packet header runs past the end of its data");
  buf_ = ((buf_ << 8) & 0xFFFF) | data_[pos_++];
  ct_ = (buf_ & 0xFF00) == 0xFF00 ? 7 : 8;
  return {};
}

result<unsigned> bit_reader::bit() {
  if (ct_ == 0) PIPIT_TRY(load());
  --ct_;
  return (buf_ >> ct_) & 1u;
}

result<std::uint32_t> bit_reader::bits(unsigned n) {
  std::uint32_t v = 0;
  for (unsigned i = 0; i < n; ++i) {
    PIPIT_TRY_ASSIGN(b, bit());
    v = (v << 1) | b;
  }
  return v;
}

result<void> bit_reader::align() {
  if ((buf_ & 0xFF) == 0xFF) {
    // A header ending on 0xFF is followed by a stuffed byte that belongs to it.
    PIPIT_TRY(load());
  }
  ct_ = 0;
  return {};
}

void tag_tree::reset(std::uint32_t w, std::uint32_t h) {
  level_start_.clear();
  level_width_.clear();
  std::size_t total = 0;
  while (true) {
    level_start_.push_back(static_cast<std::uint32_t>(total));
    level_width_.push_back(w);
    total += std::size_t{w} * h;
    if (w <= 1 && h <= 1) break;
    w = (w + 1) / 2;
    h = (h + 1) / 2;
  }
  nodes_.assign(total, node{});
}

result<bool> tag_tree::below(bit_reader& br, std::uint32_t leaf, std::int32_t threshold) {
  // Path from the leaf up to the root, then walk it top-down.
  std::uint32_t path[40];
  unsigned depth = 0;
  std::uint32_t x = leaf % level_width_[0], y = leaf / level_width_[0];
  for (std::size_t lv = 0; lv < level_start_.size(); ++lv) {
    path[depth++] = level_start_[lv] + y * level_width_[lv] + x;
    x /= 2;
    y /= 2;
  }
  std::int32_t low = 0;
  for (unsigned k = depth; k-- > 0;) {
    node& n = nodes_[path[k]];
    if (low > n.low) n.low = low; else low = n.low;
    while (low < threshold && low < n.value) {
      PIPIT_TRY_ASSIGN(b, br.bit());
      if (b) n.value = low; else ++low;
    }
    n.low = low;
  }
  return nodes_[path[0]].value < threshold;
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
result<unsigned> read_passes(bit_reader& br) {
  PIPIT_TRY_ASSIGN(b0, br.bit());
  if (!b0) return 1u;
  PIPIT_TRY_ASSIGN(b1, br.bit());
  if (!b1) return 2u;
  PIPIT_TRY_ASSIGN(v2, br.bits(2));
  if (v2 != 3) return 3u + v2;
  PIPIT_TRY_ASSIGN(v5, br.bits(5));
  if (v5 != 31) return 6u + v5;
  PIPIT_TRY_ASSIGN(v7, br.bits(7));
  return 37u + v7;
}

}  // namespace

result<precinct_state::lengths> precinct_state::read(bit_reader& br, unsigned layer) {
  const std::size_t start = br.pos();
  lengths out;
  PIPIT_TRY_ASSIGN(nonempty, br.bit());
  if (nonempty) {
    for (band& bd : bands_) {
      for (std::uint32_t k = 0; k < bd.blocks.size(); ++k) {
        block& blk = bd.blocks[k];
        bool included;
        if (!blk.included) {
          PIPIT_TRY_ASSIGN(v, bd.inclusion.below(br, k, static_cast<std::int32_t>(layer) + 1));
          included = v;
        } else {
          PIPIT_TRY_ASSIGN(v, br.bit());
          included = v != 0;
        }
        if (!included) continue;
        if (!blk.included) {
          std::int32_t i = 1;
          while (true) {
            PIPIT_TRY_ASSIGN(known, bd.zero_planes.below(br, k, i));
            if (known) break;
            if (++i > 80)
              return fail(errc::corrupt, br.abs_pos(), "packet header: more than 80 zero bit-planes");
          }
          blk.included = 1;
          blk.lblock = 3;
          blk.seg_max = first_segment_passes(style_);
          blk.seg_passes = 0;
        }
        PIPIT_TRY_ASSIGN(passes, read_passes(br));
        while (true) {
          PIPIT_TRY_ASSIGN(more, br.bit());
          if (!more) break;
          if (++blk.lblock > 32) return fail(errc::corrupt, br.abs_pos(), "packet header: Lblock above 32");
        }
        unsigned remaining = passes;
        while (remaining > 0) {
          if (blk.seg_passes >= blk.seg_max) {
            blk.seg_max = next_segment_passes(style_, blk.seg_max);
            blk.seg_passes = 0;
          }
          unsigned take = std::min<unsigned>(remaining, blk.seg_max - blk.seg_passes);
          unsigned nbits = blk.lblock + static_cast<unsigned>(std::bit_width(take) - 1);
          if (nbits > 32) return fail(errc::corrupt, br.abs_pos(), "packet header: code-word length field above 32 bits");
          PIPIT_TRY_ASSIGN(len, br.bits(nbits));
          out.body += len;
          blk.seg_passes = static_cast<std::uint16_t>(blk.seg_passes + take);
          remaining -= take;
        }
      }
    }
  }
  PIPIT_TRY(br.align());
  out.header = static_cast<std::uint32_t>(br.pos() - start);
  return out;
}

std::uint64_t precinct_shapes(const image_size& siz, const tile_entry& tile, unsigned c,
                              unsigned r, std::uint32_t p,
                              std::vector<precinct_state::band_shape>& shapes) {
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
