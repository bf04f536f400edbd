// sparse_ranges: merging of out-of-order, overlapping message bytes into one bin's ranges.
//
// Invariants: every island starts after the prefix's end plus at least one missing byte; islands
// are non-empty, sorted, and separated by at least one missing byte. An insert therefore touches
// one run of consecutive ranges, which it merges into the first of them (or into a new island).
#include <algorithm>

#include "pipit/databin_cache.hpp"

namespace pipit {
namespace {

// Compares the bytes both hold in [begin, end): `held` starts at offset held_begin, `incoming` at
// incoming_begin. The held bytes win; the caller only counts.
void compare_overlap(const std::uint8_t* held, std::uint64_t held_begin, bytes_view incoming,
                     std::uint64_t incoming_begin, std::uint64_t begin, std::uint64_t end,
                     sparse_ranges::insert_result& out) {
  if (begin >= end) return;
  const std::uint8_t* a = held + (begin - held_begin);
  const std::uint8_t* b = incoming.data() + (begin - incoming_begin);
  const std::uint64_t n = end - begin;
  out.overlapping_bytes += n;
  if (std::equal(a, a + n, b)) return;
  for (std::uint64_t i = 0; i < n; ++i) out.conflicting_bytes += a[i] != b[i] ? 1 : 0;
}

void append(std::vector<std::uint8_t>& to, bytes_view from, std::uint64_t from_begin,
            std::uint64_t begin, std::uint64_t end) {
  if (begin >= end) return;
  auto first = from.begin() + static_cast<std::ptrdiff_t>(begin - from_begin);
  to.insert(to.end(), first, first + static_cast<std::ptrdiff_t>(end - begin));
}

}  // namespace

sparse_ranges::insert_result sparse_ranges::insert(std::uint64_t offset, bytes_view bytes) {
  insert_result out;
  if (bytes.empty()) return out;
  const std::uint64_t end = offset + bytes.size();

  if (offset <= prefix_.size()) {
    merge_into(prefix_, 0, offset, bytes, 0, out);
    return out;
  }
  // The first island that ends at or after `offset` (ends are sorted like begins).
  auto it = std::lower_bound(islands_.begin(), islands_.end(), offset,
                             [](const island& i, std::uint64_t off) { return i.end() < off; });
  auto index = static_cast<std::size_t>(it - islands_.begin());
  if (it != islands_.end() && it->begin <= offset) {
    merge_into(it->bytes, it->begin, offset, bytes, index + 1, out);
    return out;
  }
  // A new island at `index`; it may absorb islands that start within or right after it.
  if (it == islands_.end() || it->begin > end) {
    islands_.insert(it, island{offset, std::vector<std::uint8_t>(bytes.begin(), bytes.end())});
    out.new_bytes = bytes.size();
    return out;
  }
  islands_.insert(it, island{offset, {}});
  merge_into(islands_[index].bytes, offset, offset, bytes, index + 1, out);
  return out;
}

// Merges [offset, offset + bytes.size()) into `base` (holding [base_begin, base end)), absorbing
// the islands from `first_island` on that start at or before the message's end.
// REQUIRES: base_begin <= offset <= base end; islands from first_island start after base end.
void sparse_ranges::merge_into(std::vector<std::uint8_t>& base, std::uint64_t base_begin,
                               std::uint64_t offset, bytes_view bytes, std::size_t first_island,
                               insert_result& out) {
  const std::uint64_t end = offset + bytes.size();
  const std::uint64_t base_end = base_begin + base.size();
  const std::uint64_t overlap_before = out.overlapping_bytes;
  compare_overlap(base.data(), base_begin, bytes, offset, offset, std::min(end, base_end), out);
  if (end <= base_end) return;

  std::size_t last = first_island;  // one past the last island absorbed
  std::uint64_t final_end = end;
  while (last < islands_.size() && islands_[last].begin <= end) {
    final_end = std::max(final_end, islands_[last].end());
    ++last;
  }
  if (last != first_island) base.reserve(final_end - base_begin);

  std::uint64_t pos = base_end;
  for (std::size_t k = first_island; k < last; ++k) {
    const island& isl = islands_[k];
    append(base, bytes, offset, pos, isl.begin);
    compare_overlap(isl.bytes.data(), isl.begin, bytes, offset, isl.begin, std::min(end, isl.end()),
                    out);
    base.insert(base.end(), isl.bytes.begin(), isl.bytes.end());
    pos = isl.end();
  }
  append(base, bytes, offset, pos, end);
  islands_.erase(islands_.begin() + static_cast<std::ptrdiff_t>(first_island),
                 islands_.begin() + static_cast<std::ptrdiff_t>(last));
  out.new_bytes += bytes.size() - (out.overlapping_bytes - overlap_before);
}

std::uint64_t sparse_ranges::extent() const {
  return islands_.empty() ? prefix_.size() : islands_.back().end();
}

std::uint64_t sparse_ranges::size() const {
  std::uint64_t n = prefix_.size();
  for (const island& i : islands_) n += i.bytes.size();
  return n;
}

bool sparse_ranges::contains(std::uint64_t begin, std::uint64_t end) const {
  if (begin >= end) return true;
  if (end <= prefix_.size()) return true;
  auto it = std::lower_bound(islands_.begin(), islands_.end(), begin,
                             [](const island& i, std::uint64_t off) { return i.end() <= off; });
  return it != islands_.end() && it->begin <= begin && end <= it->end();
}

std::vector<sparse_ranges::range_view> sparse_ranges::ranges() const {
  std::vector<range_view> out;
  out.reserve(range_count());
  if (!prefix_.empty()) out.push_back({0, prefix_});
  for (const island& i : islands_) out.push_back({i.begin, i.bytes});
  return out;
}

void sparse_ranges::shrink_to_fit() {
  prefix_.shrink_to_fit();
  for (island& i : islands_) i.bytes.shrink_to_fit();
  islands_.shrink_to_fit();
}

void sparse_ranges::clear() {
  prefix_ = {};
  islands_ = {};
}

}  // namespace pipit
