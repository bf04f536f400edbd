// databin_cache: per-bin ranges, known lengths, least-recently-used eviction.
#include "pipit/databin_cache.hpp"

#include <algorithm>

namespace pipit {
namespace {

std::string span_text(std::uint64_t begin, std::uint64_t end) {
  // Appended piece by piece: GCC 12 warns (-Wrestrict, falsely) on "literal" + std::string.
  std::string s(1, '[');
  s += std::to_string(begin);
  s += ", ";
  s += std::to_string(end);
  s += ')';
  return s;
}

}  // namespace

result<void> databin_cache::add(const bin_id& id, std::uint64_t offset, bytes_view bytes,
                                bool is_last) {
  if (offset > max_bin_bytes || bytes.size() > max_bin_bytes - offset) {
    return fail(errc::limit, no_offset,
                to_string(id) + ": message at offset " + std::to_string(offset) + " of " +
                    std::to_string(bytes.size()) + " bytes ends past the " +
                    std::to_string(max_bin_bytes) + "-byte bin limit");
  }
  const std::uint64_t end = offset + bytes.size();
  auto it = bins_.find(id);
  if (it != bins_.end()) {
    const entry& e = it->second;
    if (e.known_length && end > *e.known_length) {
      return fail(errc::corrupt, no_offset,
                  to_string(id) + ": message " + span_text(offset, end) +
                      " extends past the bin's known length " + std::to_string(*e.known_length));
    }
    if (is_last && e.known_length && end != *e.known_length) {
      return fail(errc::corrupt, no_offset,
                  to_string(id) + ": final message " + span_text(offset, end) +
                      " contradicts the known length " + std::to_string(*e.known_length));
    }
    if (is_last && e.data.extent() > end) {
      return fail(errc::corrupt, no_offset,
                  to_string(id) + ": final message " + span_text(offset, end) +
                      " ends before bytes already held up to " + std::to_string(e.data.extent()));
    }
  } else {
    auto& lru = lru_[tier_of(id.kind)];
    lru.push_back(id);
    it = bins_.emplace(id, entry{{}, std::nullopt, std::prev(lru.end())}).first;
  }

  entry& e = it->second;
  const auto r = e.data.insert(offset, bytes);
  bytes_held_ += r.new_bytes;
  ++stats_.messages;
  stats_.duplicate_bytes += r.overlapping_bytes;
  stats_.conflicting_bytes += r.conflicting_bytes;
  stats_.conflicting_messages += r.conflicting_bytes != 0 ? 1 : 0;
  if (is_last && !e.known_length) {
    e.known_length = end;
    if (e.data.prefix().size() == end) e.data.shrink_to_fit();
  } else if (e.known_length && r.new_bytes != 0 && e.data.prefix().size() == *e.known_length) {
    e.data.shrink_to_fit();  // just completed: give back the growth slack
  }
  touch(id);
  evict_to_limit();
  return {};
}

bytes_view databin_cache::contiguous_prefix(const bin_id& id) const {
  auto it = bins_.find(id);
  return it == bins_.end() ? bytes_view{} : it->second.data.prefix();
}

bool databin_cache::is_complete(const bin_id& id) const {
  auto it = bins_.find(id);
  return it != bins_.end() && it->second.known_length &&
         it->second.data.prefix().size() == *it->second.known_length;
}

std::optional<std::uint64_t> databin_cache::known_length(const bin_id& id) const {
  auto it = bins_.find(id);
  return it == bins_.end() ? std::nullopt : it->second.known_length;
}

const sparse_ranges* databin_cache::ranges(const bin_id& id) const {
  auto it = bins_.find(id);
  return it == bins_.end() ? nullptr : &it->second.data;
}

std::vector<databin_cache::bin_info> databin_cache::bins() const {
  std::vector<bin_info> out;
  out.reserve(bins_.size());
  for (const auto& [id, e] : bins_) {
    const std::uint64_t prefix = e.data.prefix().size();
    out.push_back(
        {id, prefix, e.data.size(), e.known_length, e.known_length && prefix == *e.known_length});
  }
  std::sort(out.begin(), out.end(),
            [](const bin_info& a, const bin_info& b) { return a.id < b.id; });
  return out;
}

void databin_cache::touch(const bin_id& id) {
  auto it = bins_.find(id);
  if (it == bins_.end()) return;
  auto& lru = lru_[tier_of(id.kind)];
  lru.splice(lru.end(), lru, it->second.lru_pos);
}

void databin_cache::set_memory_limit(std::uint64_t bytes) {
  memory_limit_ = bytes;
  evict_to_limit();
}

std::vector<bin_id> databin_cache::take_evicted() {
  std::vector<bin_id> out;
  out.swap(evicted_);
  return out;
}

bool databin_cache::erase(const bin_id& id) {
  auto it = bins_.find(id);
  if (it == bins_.end()) return false;
  remove(it);
  return true;
}

void databin_cache::clear() {
  bins_.clear();
  lru_[0].clear();
  lru_[1].clear();
  bytes_held_ = 0;
}

void databin_cache::set_target_id(std::string target_id) {
  if (!target_id_.empty() && target_id != target_id_) clear();
  target_id_ = std::move(target_id);
}

void databin_cache::remove(std::unordered_map<bin_id, entry, bin_id_hash>::iterator it) {
  bytes_held_ -= it->second.data.size();
  lru_[tier_of(it->first.kind)].erase(it->second.lru_pos);
  bins_.erase(it);
}

void databin_cache::evict_to_limit() {
  while (bytes_held_ > memory_limit_) {
    auto& lru = !lru_[0].empty() ? lru_[0] : lru_[1];
    if (lru.empty()) return;  // unreachable while bytes are held; kept for safety
    const bin_id victim = lru.front();
    remove(bins_.find(victim));
    evicted_.push_back(victim);
    ++stats_.evicted_bins;
  }
}

}  // namespace pipit
