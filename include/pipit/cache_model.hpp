// The server's model of a client's cache (15444-9 B.3): for every data-bin of an image, how many
// leading bytes the client holds. Flat arrays sized from the index (one 32-bit count per
// precinct, per tile header), so a session's model costs ~4 bytes per precinct of the image.
// Counts are stored plus one, so an empty bin the client has been told about differs from an
// unknown one.
//
// Thread-safety: none; a model belongs to one session, guarded by the session.
#pragma once

#include <cstdint>
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
  // Records that the client holds at least `bytes` leading bytes.
  void hold(const bin_id& id, std::uint64_t bytes);
  // Records that the client holds at most `bytes` leading bytes (subtractive model items).
  void forget(const bin_id& id, std::uint64_t bytes = 0);
  void clear();

  std::uint64_t memory_bytes() const;

 private:
  std::uint32_t* slot(const bin_id& id);
  const std::uint32_t* slot(const bin_id& id) const;
  struct per_codestream {
    std::uint32_t main = 0;
    std::vector<std::uint32_t> tile_headers;
    std::vector<std::uint32_t> precincts;  // by in-class id
  };
  std::vector<per_codestream> cs_;
  std::uint32_t metadata0_ = 0;
};

}  // namespace pipit
