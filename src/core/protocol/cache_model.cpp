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
    p.precincts.assign(static_cast<std::size_t>(max_slots * cs.num_components() * cs.tiles.size()), 0);
    cs_.push_back(std::move(p));
  }
}

std::uint32_t* cache_model::slot(const bin_id& id) {
  return const_cast<std::uint32_t*>(static_cast<const cache_model*>(this)->slot(id));
}

const std::uint32_t* cache_model::slot(const bin_id& id) const {
  if (id.kind == bin_kind::metadata) return id.id == 0 ? &metadata0_ : nullptr;
  if (id.csn >= cs_.size()) return nullptr;
  const auto& p = cs_[id.csn];
  switch (id.kind) {
    case bin_kind::main_header: return id.id == 0 ? &p.main : nullptr;
    case bin_kind::tile_header: return id.id < p.tile_headers.size() ? &p.tile_headers[id.id] : nullptr;
    case bin_kind::precinct: return id.id < p.precincts.size() ? &p.precincts[id.id] : nullptr;
    default: return nullptr;
  }
}

std::uint64_t cache_model::held(const bin_id& id) const {
  const std::uint32_t* s = slot(id);
  return s && *s ? *s - 1u : 0;
}

bool cache_model::known(const bin_id& id) const {
  const std::uint32_t* s = slot(id);
  return s && *s;
}

void cache_model::hold(const bin_id& id, std::uint64_t bytes) {
  std::uint32_t* s = slot(id);
  if (!s) return;
  const std::uint64_t v = std::min<std::uint64_t>(bytes + 1, std::numeric_limits<std::uint32_t>::max());
  *s = std::max<std::uint32_t>(*s, static_cast<std::uint32_t>(v));
}

void cache_model::forget(const bin_id& id, std::uint64_t bytes) {
  std::uint32_t* s = slot(id);
  if (!s) return;
  if (bytes == 0) *s = 0;
  else if (*s > bytes + 1) *s = static_cast<std::uint32_t>(bytes + 1);
}

void cache_model::clear() {
  metadata0_ = 0;
  for (auto& p : cs_) {
    p.main = 0;
    std::fill(p.tile_headers.begin(), p.tile_headers.end(), 0);
    std::fill(p.precincts.begin(), p.precincts.end(), 0);
  }
}

std::uint64_t cache_model::memory_bytes() const {
  std::uint64_t n = sizeof(*this);
  for (const auto& p : cs_) n += sizeof(p) + 4 * (p.tile_headers.capacity() + p.precincts.capacity());
  return n;
}

}  // namespace pipit
