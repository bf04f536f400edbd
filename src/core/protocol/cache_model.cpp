#include "pipit/cache_model.hpp"

#include <algorithm>
#include <limits>

namespace pipit {

cache_model::cache_model(const image_index& index) {
  for (const auto& cs : index.codestreams) {
    per_codestream p;
    p.tile_headers.assign(cs.tiles.size(), 0);
    std::uint64_t max_slots = 0;
    for (const auto& t : cs.tiles) {
      for (std::uint32_t c = 0; c < cs.num_components(); ++c) {
        std::uint32_t end = c + 1 < cs.num_components() ? t.comp_slot_base(c + 1) : t.num_slots;
        max_slots = std::max<std::uint64_t>(max_slots, end - t.comp_slot_base(c));
      }
    }
    p.precincts = max_slots * cs.num_components() * cs.tiles.size();
    p.pages.resize(static_cast<std::size_t>((p.precincts + (1u << page_bits) - 1) >> page_bits));
    cs_.push_back(std::move(p));
  }
}

std::uint32_t* cache_model::make(const bin_id& id) {
  if (id.kind == bin_kind::precinct && id.csn < cs_.size() && id.id < cs_[id.csn].precincts) {
    auto& page = cs_[id.csn].pages[static_cast<std::size_t>(id.id >> page_bits)];
    if (!page) page = std::make_unique<std::uint32_t[]>(std::size_t{1} << page_bits);  // zeroed
  }
  return const_cast<std::uint32_t*>(find(id));
}

void cache_model::forget(const bin_id& id, std::uint64_t bytes) {
  auto* s = const_cast<std::uint32_t*>(find(id));
  if (!s) return;
  if (bytes == 0)
    *s = 0;
  else if (*s > bytes + 1)
    *s = static_cast<std::uint32_t>(bytes + 1);
}

void cache_model::clear() {
  metadata0_ = 0;
  for (auto& p : cs_) {
    p.main = 0;
    std::fill(p.tile_headers.begin(), p.tile_headers.end(), 0);
    for (auto& page : p.pages) page.reset();
  }
}

std::uint64_t cache_model::memory_bytes() const {
  std::uint64_t n = sizeof(*this);
  for (const auto& p : cs_) {
    n += sizeof(p) + 4 * p.tile_headers.capacity() + sizeof(p.pages[0]) * p.pages.capacity();
    for (const auto& page : p.pages)
      if (page) n += 4u << page_bits;
  }
  return n;
}

}  // namespace pipit
