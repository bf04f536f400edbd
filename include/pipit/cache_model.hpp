// The server's model of a client's cache (15444-9 B.3): for every data-bin of an image, how many
// leading bytes the client holds. Sparse: the counts live in pages of 16 bins (one cache line)
// found through an open-addressing table, and a page exists only once a bin of it has reached
// the client, so a model costs memory in proportion to what its session was sent or told about
// (about 100 bytes for a lone bin, 6-7 bytes per bin when all of a page's bins are held), never
// in proportion to the image: a cnew on a 16,384-tile image costs no more than on a small one.
// Counts are stored plus one, so an empty bin the client has been told about differs from an
// unknown one. Ids beyond the image are ignored (the model refers to the index it was made for,
// which must outlive it).
//
// Thread-safety: none; a model belongs to one session, guarded by the session.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "pipit/databin_id.hpp"
#include "pipit/image_index.hpp"

namespace pipit {

class cache_model {
 public:
  cache_model() = default;
  explicit cache_model(const image_index& index) : index_(&index) {}

  // Bytes of the bin's prefix the client holds (0 for unknown bins).
  std::uint64_t held(const bin_id& id) const;
  // True once anything of the bin, even an empty bin's completion, has reached the client.
  bool known(const bin_id& id) const;
  // Asks the CPU to fetch the bin's count ahead of held()/hold() (a composer lists a window's
  // precincts before it sends them; their counts are scattered over the pages).
  void prefetch(const bin_id& id) const {
    if (const std::uint32_t* s = find(id)) __builtin_prefetch(s, 1);
  }
  // Records that the client holds at least `bytes` leading bytes.
  void hold(const bin_id& id, std::uint64_t bytes);
  // The bin's count (held bytes + 1; 0 when unknown) when its page exists, else nullptr; with
  // raise(), a composer reads and then raises a count with one lookup. The pointer is valid until
  // a hold() makes a page (of a bin whose count_slot is nullptr) or clear().
  std::uint32_t* count_slot(const bin_id& id) { return const_cast<std::uint32_t*>(find(id)); }
  // hold() on a count_slot.
  static void raise(std::uint32_t* count, std::uint64_t bytes) {
    const std::uint64_t v =
        std::min<std::uint64_t>(bytes + 1, std::numeric_limits<std::uint32_t>::max());
    *count = std::max<std::uint32_t>(*count, static_cast<std::uint32_t>(v));
  }
  // Records that the client holds at most `bytes` leading bytes (subtractive model items).
  void forget(const bin_id& id, std::uint64_t bytes = 0);
  // Forgets everything and gives the memory back.
  void clear();

  // The heap memory of the model (O(1)).
  std::uint64_t memory_bytes() const;

 private:
  static constexpr unsigned page_bits = 4;
  struct alignas(64) page {
    std::uint32_t count[1u << page_bits] = {};
  };
  struct key {
    std::uint64_t page = 0;  // in-class id >> page_bits
    std::uint32_t csn = 0;
    std::uint32_t kind = 0;  // bin_kind + 1; 0: an empty slot
    friend bool operator==(const key&, const key&) = default;
  };
  struct slot {
    key k;
    std::uint32_t page = 0;  // index in pages_
  };
  static key key_of(const bin_id& id) {
    return key{id.id >> page_bits, static_cast<std::uint32_t>(id.csn),
               static_cast<std::uint32_t>(id.kind) + 1};
  }
  static std::size_t hash(const key& k) {
    std::uint64_t h = k.page * 0x9E3779B97F4A7C15ull ^ (std::uint64_t{k.csn} << 8 | k.kind);
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    return static_cast<std::size_t>(h ^ (h >> 32));
  }
  // The bin's count, or nullptr when its page has not been made.
  const std::uint32_t* find(const bin_id& id) const;
  // The same, making the page; nullptr when the bin does not exist in the image.
  std::uint32_t* make(const bin_id& id);
  bool exists(const bin_id& id);

  const image_index* index_ = nullptr;
  std::vector<slot> table_;  // power-of-two size, at most half full
  std::vector<page> pages_;
  std::vector<std::uint64_t> precinct_bound_;  // per codestream, computed when first needed
  std::uint32_t metadata0_ = 0;
};

// Inline: the response composer asks for every message.
inline const std::uint32_t* cache_model::find(const bin_id& id) const {
  if (id.kind == bin_kind::metadata) return id.id == 0 ? &metadata0_ : nullptr;
  if (table_.empty() || id.csn > std::numeric_limits<std::uint32_t>::max()) return nullptr;
  const key k = key_of(id);
  const std::size_t mask = table_.size() - 1;
  for (std::size_t i = hash(k) & mask;; i = (i + 1) & mask) {
    const slot& s = table_[i];
    if (s.k.kind == 0) return nullptr;
    if (s.k == k) return &pages_[s.page].count[id.id & ((1u << page_bits) - 1)];
  }
}

inline std::uint64_t cache_model::held(const bin_id& id) const {
  const std::uint32_t* s = find(id);
  return s && *s ? *s - 1u : 0;
}

inline void cache_model::hold(const bin_id& id, std::uint64_t bytes) {
  auto* s = const_cast<std::uint32_t*>(find(id));
  if (!s && !(s = make(id))) return;
  raise(s, bytes);
}

inline bool cache_model::known(const bin_id& id) const {
  const std::uint32_t* s = find(id);
  return s && *s;
}

}  // namespace pipit
