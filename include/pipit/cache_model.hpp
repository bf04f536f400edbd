// The server's model of a client's cache (15444-9 B.3): for every data-bin of an image, how many
// leading bytes the client holds. One 32-bit count per tile header (a flat array) and per
// precinct; precinct counts live in pages of 256 bins allocated when the first bin of the page
// reaches the client, so a session costs ~4 bytes per precinct it has been sent (rounded up to
// pages) rather than per precinct of the image: idle sessions on big images stay small.
// Counts are stored plus one, so an empty bin the client has been told about differs from an
// unknown one.
//
// Thread-safety: none; a model belongs to one session, guarded by the session.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "pipit/databin_id.hpp"
#include "pipit/image_index.hpp"

namespace pipit {

class cache_model {
 public:
  cache_model() = default;
  explicit cache_model(const image_index& index);

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
  // Records that the client holds at most `bytes` leading bytes (subtractive model items).
  void forget(const bin_id& id, std::uint64_t bytes = 0);
  void clear();

  std::uint64_t memory_bytes() const;

 private:
  static constexpr unsigned page_bits = 8;
  // The bin's count, or nullptr when the bin does not exist or its page is not allocated.
  const std::uint32_t* find(const bin_id& id) const;
  // The same, allocating the page.
  std::uint32_t* make(const bin_id& id);
  struct per_codestream {
    std::uint32_t main = 0;
    std::vector<std::uint32_t> tile_headers;
    std::uint64_t precincts = 0;                          // in-class ids 0 .. precincts - 1
    std::vector<std::unique_ptr<std::uint32_t[]>> pages;  // page k: ids k << page_bits ...
  };
  std::vector<per_codestream> cs_;
  std::uint32_t metadata0_ = 0;
};

// Inline: the response composer asks for every message.
inline const std::uint32_t* cache_model::find(const bin_id& id) const {
  if (id.kind == bin_kind::metadata) return id.id == 0 ? &metadata0_ : nullptr;
  if (id.csn >= cs_.size()) return nullptr;
  const auto& p = cs_[id.csn];
  switch (id.kind) {
    case bin_kind::main_header: return id.id == 0 ? &p.main : nullptr;
    case bin_kind::tile_header:
      return id.id < p.tile_headers.size() ? &p.tile_headers[id.id] : nullptr;
    case bin_kind::precinct: {
      if (id.id >= p.precincts) return nullptr;
      const auto& page = p.pages[static_cast<std::size_t>(id.id >> page_bits)];
      return page ? &page[id.id & ((1u << page_bits) - 1)] : nullptr;
    }
    default: return nullptr;
  }
}

inline std::uint64_t cache_model::held(const bin_id& id) const {
  const std::uint32_t* s = find(id);
  return s && *s ? *s - 1u : 0;
}

inline void cache_model::hold(const bin_id& id, std::uint64_t bytes) {
  auto* s = const_cast<std::uint32_t*>(find(id));
  if (!s && !(s = make(id))) return;
  const std::uint64_t v =
      std::min<std::uint64_t>(bytes + 1, std::numeric_limits<std::uint32_t>::max());
  *s = std::max<std::uint32_t>(*s, static_cast<std::uint32_t>(v));
}

inline bool cache_model::known(const bin_id& id) const {
  const std::uint32_t* s = find(id);
  return s && *s;
}

}  // namespace pipit
