#include "pipit/cache_model.hpp"

#include <algorithm>
#include <limits>

namespace pipit {

bool cache_model::exists(const bin_id& id) {
  if (!index_ || id.csn >= index_->codestreams.size()) return false;
  const codestream_index& cs = index_->codestreams[id.csn];
  switch (id.kind) {
    case bin_kind::main_header: return id.id == 0;
    case bin_kind::tile_header: return id.id < cs.tiles.size();
    case bin_kind::precinct: {
      if (precinct_bound_.size() <= id.csn)
        precinct_bound_.resize(id.csn + 1, std::numeric_limits<std::uint64_t>::max());
      std::uint64_t& bound = precinct_bound_[id.csn];
      if (bound == std::numeric_limits<std::uint64_t>::max()) {
        // In-class ids are t + (c + s * Nc) * Nt: below max_slots * Nc * Nt.
        std::uint64_t max_slots = 0;
        for (const auto& t : cs.tiles)
          for (std::uint32_t c = 0; c < cs.num_components(); ++c) {
            const std::uint32_t end =
                c + 1 < cs.num_components() ? t.comp_slot_base(c + 1) : t.num_slots;
            max_slots = std::max<std::uint64_t>(max_slots, end - t.comp_slot_base(c));
          }
        bound = max_slots * cs.num_components() * cs.tiles.size();
      }
      return id.id < bound;
    }
    default: return false;
  }
}

std::uint32_t* cache_model::make(const bin_id& id) {
  if (!exists(id)) return nullptr;
  if ((pages_.size() + 1) * 2 > table_.size()) {
    // Grow the table (rehash every page's key).
    std::vector<slot> bigger(std::max<std::size_t>(16, table_.size() * 2));
    const std::size_t mask = bigger.size() - 1;
    for (const slot& s : table_) {
      if (s.k.kind == 0) continue;
      std::size_t i = hash(s.k) & mask;
      while (bigger[i].k.kind != 0) i = (i + 1) & mask;
      bigger[i] = s;
    }
    table_ = std::move(bigger);
  }
  const key k = key_of(id);
  const std::size_t mask = table_.size() - 1;
  std::size_t i = hash(k) & mask;
  while (table_[i].k.kind != 0) i = (i + 1) & mask;  // find() did not find it: not there
  table_[i] = slot{k, static_cast<std::uint32_t>(pages_.size())};
  pages_.emplace_back();
  return &pages_.back().count[id.id & ((1u << page_bits) - 1)];
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
  // Move-assigned from empty vectors: `v = {}` would keep the capacity (it assigns an empty list).
  table_ = std::vector<slot>();
  pages_ = std::vector<page>();
  precinct_bound_ = std::vector<std::uint64_t>();
}

std::uint64_t cache_model::memory_bytes() const {
  return sizeof(*this) + table_.capacity() * sizeof(slot) + pages_.capacity() * sizeof(page) +
         precinct_bound_.capacity() * sizeof(std::uint64_t);
}

}  // namespace pipit
