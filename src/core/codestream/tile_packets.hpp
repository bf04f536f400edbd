// Finding every packet of every tile: PPM/PPT packed headers, PLT/PLM lengths, or tier-2 header
// decoding. Internal to the core; called by codestream_index::build.
#pragma once

#include <string>

#include "pipit/codestream.hpp"

namespace pipit::detail {

// What an index commits to allocate for its declarations, against index_options::max_index_bytes.
class memory_budget {
 public:
  explicit memory_budget(std::uint64_t limit) : limit_(limit) {}
  // Counts `n` more bytes for `what` (a phrase naming what the headers declare); fails with
  // errc::limit at `offset` when the total would pass the limit. Call before allocating.
  result<void> charge(std::uint64_t n, std::uint64_t offset, const std::string& what);

 private:
  std::uint64_t used_ = 0, limit_;
};

// The packets a tile that the data ends in (a tile-part cut, or tile-parts missing at the end of
// the codestream) may declare beyond its bytes: its missing bytes are unknown, so its packet
// tables are bounded by this instead (2^20 packets: about 60 MiB of tables at most).
inline constexpr std::uint64_t incomplete_tile_allowance = std::uint64_t{1} << 20;

// "3 components, 6 layers, 258 precincts (1548 packets)": what a laid-out tile declares.
std::string declared_packets(const tile_entry& t);

// Fills tile_entry::packed_headers from PPM (main header) or PPT (tile-part headers).
result<void> locate_packed_headers(bytes_view file, codestream_index& ix);

// Fills codestream_index::packets and each tile's packet_of_slot / tile-part packet ranges.
result<void> index_packets(bytes_view file, codestream_index& ix, const index_options& options,
                           memory_budget& budget);

}  // namespace pipit::detail
