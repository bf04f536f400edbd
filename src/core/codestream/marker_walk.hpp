// Walking marker segments of a header (main or tile-part). Internal to the core.
#pragma once

#include <vector>

#include "pipit/codestream.hpp"

namespace pipit::detail {

// Reads marker segments from `r` until one of the codes `stop1`/`stop2` (consumed; returned).
// Records each segment in `out`. Fails on a byte pair that is not a marker, on a segment that
// runs past the data, and on delimiting markers (SOC, SOD, EOC, SOT...) other than the stop codes.
result<std::uint16_t> walk_header(byte_reader& r, std::uint16_t stop1, std::uint16_t stop2,
                                  const char* where, std::vector<marker_segment>& out);

inline bytes_view segment_body(bytes_view file, const marker_segment& m) {
  return file.subspan(static_cast<std::size_t>(m.offset + 4), m.length - 2u);
}

// Length values of PLT/PLM (Iplt/Iplm: 7 bits a byte, high bit set on all but the last).
result<void> read_packet_lengths(bytes_view data, std::uint64_t offset,
                                 std::vector<std::uint32_t>& out);

}  // namespace pipit::detail
