#include "tile_cache.hpp"

namespace pipit::client {

std::size_t cell_key_hash::operator()(const cell_key& k) const noexcept {
  std::uint64_t h = k.cell;
  h = h * 0x9E3779B97F4A7C15ull + k.discard_levels;
  h = h * 0x9E3779B97F4A7C15ull + k.layers;
  h = h * 0x9E3779B97F4A7C15ull + k.component;
  return static_cast<std::size_t>(h ^ (h >> 29));
}

std::shared_ptr<const cell_plane> tile_cache::find(const cell_key& key, const data_stamp& stamp) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end() || *it->second.stamp != stamp) {
    ++stats_.misses;
    return nullptr;
  }
  ++stats_.hits;
  lru_.splice(lru_.end(), lru_, it->second.lru);
  return it->second.plane;
}

void tile_cache::insert(const cell_key& key, std::shared_ptr<const data_stamp> stamp,
                        std::shared_ptr<const cell_plane> plane) {
  const std::uint64_t bytes = plane->samples.size() * sizeof(std::int32_t) + sizeof(cell_plane);
  std::lock_guard lock(mutex_);
  if (auto it = entries_.find(key); it != entries_.end()) erase(it);
  if (bytes > capacity_) return;
  lru_.push_back(key);
  entries_.emplace(key, entry{std::move(stamp), std::move(plane), bytes, std::prev(lru_.end())});
  stats_.bytes += bytes;
  while (stats_.bytes > capacity_ && !lru_.empty()) erase(entries_.find(lru_.front()));
  stats_.entries = entries_.size();
}

void tile_cache::clear() {
  std::lock_guard lock(mutex_);
  entries_.clear();
  lru_.clear();
  stats_.bytes = 0;
  stats_.entries = 0;
}

tile_cache_stats tile_cache::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void tile_cache::erase(std::unordered_map<cell_key, entry, cell_key_hash>::iterator it) {
  stats_.bytes -= it->second.bytes;
  lru_.erase(it->second.lru);
  entries_.erase(it);
  stats_.entries = entries_.size();
}

}  // namespace pipit::client
