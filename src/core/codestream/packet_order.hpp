// The order of a tile's packets (15444-1 B.12), POC volumes included. Internal to the core.
#pragma once

#include <vector>

#include "pipit/codestream.hpp"

namespace pipit::detail {

struct packet_ref {
  std::uint32_t slot = 0;
  std::uint32_t precinct = 0;
  std::uint16_t component = 0;
  std::uint16_t layer = 0;
  std::uint8_t resolution = 0;
};

// Fills the tile's geometry: comp_res_base, resolutions, num_slots. Fails when the geometry
// declares more precinct slots than `max_slots`.
result<void> layout_tile(const image_size& siz, tile_entry& tile, std::uint64_t max_slots,
                         std::uint64_t offset);

// The packets of a tile in codestream order: the POC volumes first, in order, then the packets
// they leave out in the COD progression. `*required` receives the number of packets a complete
// tile must hold: all of them without POC, those of the POC volumes with it. At most `limit`
// packets are listed (a tile of n bytes holds at most n packets: the caller passes n + 1, so
// declarations far above the data cost neither memory nor time).
std::vector<packet_ref> packet_sequence(const image_size& siz, const tile_entry& tile,
                                        std::size_t* required, std::size_t limit);

// Bytes per precinct slot of the transient lists packet_sequence and the indexer keep.
inline constexpr std::size_t sequence_bytes_per_slot = 48;

}  // namespace pipit::detail
