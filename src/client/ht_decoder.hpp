// Decoding HTJ2K tiles with OpenJPH, which decodes HT code-blocks several times faster than
// OpenJPEG.
//
// OpenJPH 0.9.0 (bookworm's libopenjph) decodes whole images only: no decode area, no component
// subset, but reduced resolutions (restrict_input_resolution). So a tile is decoded alone, from
// its own codestream (codestream_skeleton::tile_codestream: the tile as a one-tile image at its
// place on the reference grid), which yields exactly the samples of that tile.
//
// It is used only where its samples equal OpenJPEG's (ht_decodable): every tile-component coded
// with HT code-blocks alone (not mixed with classic ones) and the reversible 5/3 wavelet (its 9/7
// differs from OpenJPEG's by 1 in some samples), one quality layer, precisions up to 16 bits, and
// no marker OpenJPH 0.9 refuses or ignores (COC, QCC, RGN, POC, PPM, tile-part header markers).
// Its reconstructed samples are clipped to the component's range, as OpenJPEG does. Anything it
// fails on is an error, and the caller decodes with OpenJPEG instead.
//
// Thread-safety: decode_tile_openjph may run in parallel (each call has its own OpenJPH
// codestream); OpenJPH's message handlers are process-wide and installed once.
#pragma once

#include <cstdint>

#include "decode_cells.hpp"
#include "decoder.hpp"
#include "pipit/byte_reader.hpp"
#include "pipit/client.hpp"
#include "pipit/codestream.hpp"

namespace pipit::client {

// True when OpenJPH decodes every tile of the codestream `ix` describes (a skeleton's
// headers-only index) to OpenJPEG's samples.
bool ht_decodable(const codestream_index& ix);

// Decodes a one-tile codestream whose tile covers `area` (the full-resolution grid) at
// `discard_levels`: every component, in order.
result<decoded_area> decode_tile_openjph(bytes_view codestream, const image_size& image,
                                         const rect& area, std::uint32_t discard_levels);

}  // namespace pipit::client
