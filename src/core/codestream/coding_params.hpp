// Parsing of the coding-parameter marker segments (SIZ, COD, COC, POC) into the model.
// Internal to the core: `seg` is the segment body after the length field.
#pragma once

#include "pipit/codestream.hpp"

namespace pipit::detail {

// COD: sets the COD-level fields of `tc` and the coding style of every component.
result<void> apply_cod(bytes_view seg, std::uint64_t offset, tile_coding& tc);

// COC: the coding style of one component. `csiz` decides 1- or 2-byte component indices.
result<void> apply_coc(bytes_view seg, std::uint64_t offset, std::size_t csiz, tile_coding& tc);

// POC: appends progression volumes.
result<void> apply_poc(bytes_view seg, std::uint64_t offset, std::size_t csiz,
                       std::vector<poc_entry>& out);

}  // namespace pipit::detail
