// The decoded-tile cache: samples of decode cells (decode_cells.hpp) kept between decodes, so a
// view that overlaps earlier ones (panning, zooming back, bands read one by one) decodes only
// the cells it has not seen.
//
// An entry is one component of one cell at one resolution and layer limit:
//   key   (cell, discard levels, layers, component)
//   stamp what the data-bin cache held of the bins the samples were decoded from: for each such
//         bin, in a fixed order, 2 * (contiguous prefix length) + (1 if complete)
// A lookup hits only when the stamp it brings equals the stored one, so samples decoded from
// partial data (a progressive read) are used again only while those bins stay as they were,
// and never once more data has arrived or a bin was evicted. Bytes of a bin never change once
// received (the data-bin cache keeps the first copy), so equal stamps mean equal data. A change of
// target empties the data-bin cache: the caller clears this cache too (shared_cache::epoch).
//
// Entries are charged their samples' bytes; the least recently used go first once the total
// passes the capacity. A capacity of 0 keeps nothing.
//
// Thread-safety: every member may be called from any thread (one internal mutex). Planes are
// handed out as shared pointers and stay valid after eviction.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace pipit::client {

struct cell_key {
  std::uint32_t cell = 0;
  std::uint32_t discard_levels = 0;
  std::uint32_t layers = 0;  // 0: all
  std::uint32_t component = 0;
  friend bool operator==(const cell_key&, const cell_key&) = default;
};

struct cell_key_hash {
  std::size_t operator()(const cell_key& k) const noexcept;
};

using data_stamp = std::vector<std::uint64_t>;

// One component of a decoded cell: width x height samples, row-major.
struct cell_plane {
  std::uint32_t width = 0, height = 0;
  std::vector<std::int32_t> samples;
};

struct tile_cache_stats {
  std::uint64_t bytes = 0;  // samples held
  std::uint64_t entries = 0;
  std::uint64_t hits = 0;    // lookups answered
  std::uint64_t misses = 0;  // lookups that found nothing, or a stale stamp
};

class tile_cache {
 public:
  explicit tile_cache(std::uint64_t capacity_bytes) : capacity_(capacity_bytes) {}

  // The plane stored under `key` when it was decoded from data with this stamp; marks it used.
  std::shared_ptr<const cell_plane> find(const cell_key& key, const data_stamp& stamp);
  // Stores (or replaces) the plane, then evicts down to the capacity. A plane larger than the
  // capacity is not kept.
  void insert(const cell_key& key, std::shared_ptr<const data_stamp> stamp,
              std::shared_ptr<const cell_plane> plane);
  void clear();
  tile_cache_stats stats() const;

 private:
  struct entry {
    std::shared_ptr<const data_stamp> stamp;
    std::shared_ptr<const cell_plane> plane;
    std::uint64_t bytes = 0;
    std::list<cell_key>::iterator lru;
  };
  void erase(std::unordered_map<cell_key, entry, cell_key_hash>::iterator it);

  mutable std::mutex mutex_;
  std::uint64_t capacity_;
  std::unordered_map<cell_key, entry, cell_key_hash> entries_;
  std::list<cell_key> lru_;  // least recently used at the front
  tile_cache_stats stats_;
};

}  // namespace pipit::client
