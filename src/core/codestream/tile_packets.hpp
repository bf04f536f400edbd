// Finding every packet of every tile: PPM/PPT packed headers, PLT/PLM lengths, or tier-2 header
// decoding. Internal to the core; called by codestream_index::build.
#pragma once

#include "pipit/codestream.hpp"

namespace pipit::detail {

// Fills tile_entry::packed_headers from PPM (main header) or PPT (tile-part headers).
result<void> locate_packed_headers(bytes_view file, codestream_index& ix);

// Fills codestream_index::packets and each tile's packet_of_slot / tile-part packet ranges.
result<void> index_packets(bytes_view file, codestream_index& ix, const index_options& options);

}  // namespace pipit::detail
