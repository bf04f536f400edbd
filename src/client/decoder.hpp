// Decoding an area of a (rebuilt) codestream with OpenJPEG.
//
// The area is given on the full-resolution reference grid and decoded at cp_reduce = the discard
// levels with opj_set_decode_area. Callers pass areas made of whole decode cells
// (decode_cells.hpp), so OpenJPEG takes its whole-tile path and the samples equal a decode of
// the whole tiles. OpenJPEG's messages are collected and returned in the error.
//
// Thread-safety: pure; calls on the same codestream buffer may run in parallel (each has its own
// codec and stream).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "decode_cells.hpp"
#include "pipit/byte_reader.hpp"
#include "pipit/client.hpp"

namespace pipit::client {

struct area_request {
  rect area;  // on the full-resolution reference grid
  std::uint32_t discard_levels = 0;
  std::uint32_t layers = 0;  // 0: all
  // Components to decode (ascending); empty: all. Components joined by a multiple component
  // transform must be decoded together (OpenJPEG skips the inverse transform otherwise).
  std::vector<std::uint32_t> comps;
  int threads = 1;  // OpenJPEG's own threads for this call
};

struct decoded_area {
  struct plane {
    std::uint32_t component = 0;
    std::uint64_t x0 = 0, y0 = 0;  // first sample on the component's grid at the level
    std::uint32_t width = 0, height = 0;
    std::uint64_t stride = 0;  // samples per row
    const std::int32_t* samples = nullptr;
  };
  std::vector<plane> planes;          // one per decoded component, ascending
  std::shared_ptr<const void> owner;  // keeps the samples alive
};

// REQUIRES: `siz` is the SIZ of `codestream`; the area lies inside the image.
result<decoded_area> decode_area(bytes_view codestream, const image_size& siz,
                                 const area_request& request);

}  // namespace pipit::client
