// Decoding a window of a (rebuilt) codestream with OpenJPEG.
//
// The window is decoded exactly: opj_set_decode_area on the full-resolution reference grid with
// cp_reduce = the discard levels, so no more code-blocks than needed are decoded. OpenJPEG 2.5.0
// returns flat grey for a decode area smaller than a tile of an HTJ2K codestream, so for HT
// codestreams whole tiles are decoded and the window cut out of them. OpenJPEG's messages are
// collected and returned in the error.
//
// Thread-safety: pure; one call per codestream buffer at a time is not required (no shared state).
#pragma once

#include <cstdint>
#include <vector>

#include "pipit/byte_reader.hpp"
#include "pipit/client.hpp"

namespace pipit::client {

struct decode_request {
  window view;                 // region at view.discard_levels
  bool whole_tiles = false;    // HTJ2K: decode whole tiles, then crop
  int threads = 1;
};

// REQUIRES: `info` describes `codestream`; the region lies inside the frame at discard_levels.
result<decoded_window> decode_window(bytes_view codestream, const image_info& info,
                                     const decode_request& request);

}  // namespace pipit::client
