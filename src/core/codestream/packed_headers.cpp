// PPM and PPT: where the packed packet headers of each tile lie (15444-1 A.7.4, A.7.5).
#include <algorithm>
#include <string>

#include "marker_walk.hpp"
#include "tile_packets.hpp"

namespace pipit::detail {
namespace {

struct indexed_range {
  std::uint8_t z;
  byte_range range;
};

// The data of PPM or PPT segments (after the Z byte), ordered by their Z index.
result<std::vector<byte_range>> ordered_data(bytes_view file,
                                             const std::vector<marker_segment>& segs,
                                             std::uint16_t code) {
  std::vector<indexed_range> v;
  for (const auto& m : segs) {
    if (m.code != code) continue;
    if (m.length < 3)
      return fail(errc::corrupt, m.offset,
                  code == PPM ? "PPM segment without Zppm" : "PPT segment without Zppt");
    v.push_back(
        {file[static_cast<std::size_t>(m.offset + 4)], byte_range{m.offset + 5, m.length - 3u}});
  }
  std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.z < b.z; });
  std::vector<byte_range> out;
  out.reserve(v.size());
  for (const auto& e : v) out.push_back(e.range);
  return out;
}

// A cursor over the concatenation of several file ranges.
class chain_reader {
 public:
  chain_reader(bytes_view file, std::vector<byte_range> parts)
      : file_(file), parts_(std::move(parts)) {}
  bool at_end() const { return part_ >= parts_.size(); }
  std::uint64_t abs_pos() const { return at_end() ? 0 : parts_[part_].offset + pos_; }
  result<std::uint32_t> u32() {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      skip_empty();
      if (at_end())
        return fail(errc::truncated, last_end(), "PPM: Nppm runs past the end of the PPM data");
      v = (v << 8) | file_[static_cast<std::size_t>(parts_[part_].offset + pos_)];
      ++pos_;
    }
    return v;
  }
  // Takes n bytes as a list of file ranges.
  result<void> take(std::uint64_t n, std::vector<byte_range>& out) {
    while (n > 0) {
      skip_empty();
      if (at_end())
        return fail(errc::truncated, last_end(),
                    "PPM: packed headers run past the end of the PPM data");
      std::uint64_t avail = parts_[part_].length - pos_;
      std::uint64_t k = std::min(avail, n);
      out.push_back(byte_range{parts_[part_].offset + pos_, k});
      pos_ += k;
      n -= k;
    }
    return {};
  }

 private:
  void skip_empty() {
    while (!at_end() && pos_ >= parts_[part_].length) {
      ++part_;
      pos_ = 0;
    }
  }
  std::uint64_t last_end() const { return parts_.empty() ? 0 : parts_.back().end(); }
  bytes_view file_;
  std::vector<byte_range> parts_;
  std::size_t part_ = 0;
  std::uint64_t pos_ = 0;
};

}  // namespace

result<void> locate_packed_headers(bytes_view file, codestream_index& ix) {
  PIPIT_TRY_ASSIGN(ppm, ordered_data(file, ix.main_markers, PPM));
  const bool has_ppm = !ppm.empty();
  if (has_ppm) {
    chain_reader cr(file, std::move(ppm));
    for (auto& tp : ix.tile_parts) {
      PIPIT_TRY_ASSIGN(n, cr.u32());
      tp.packed_length = n;
      PIPIT_TRY(cr.take(n, ix.tiles[tp.tile].packed_headers));
      ix.tiles[tp.tile].packed = true;
    }
  }
  for (auto& t : ix.tiles) {
    std::vector<marker_segment> segs;
    for (std::uint32_t pi : t.parts)
      for (const auto& m : ix.tile_parts[pi].markers)
        if (m.code == PPT) {
          segs.push_back(m);
          ix.tile_parts[pi].packed_length += m.length >= 3 ? m.length - 3u : 0u;
        }
    if (segs.empty()) continue;
    if (has_ppm)
      return fail(errc::corrupt, segs.front().offset, "PPT in a codestream that has PPM");
    PIPIT_TRY_ASSIGN(parts, ordered_data(file, segs, PPT));
    t.packed_headers = std::move(parts);
    t.packed = true;
  }
  return {};
}

}  // namespace pipit::detail
