// Which bytes of metadata-bin 0 a `metareq` field asks for (15444-9 C.5, docs/jpip-notes.md §2.4).
//
// Pipit's metadata-bin 0 is the file's top-level box sequence with each jp2c box replaced by a
// codestream placeholder (databins.hpp), so every box of the file, at any depth, is a byte range
// of bin 0. A req-box-prop selects the boxes of its type ("*": any) down to max-depth (top-level
// boxes have depth 0; default: any depth): the whole box, its header plus the first n bytes of
// its contents (":n"), or its header alone (":r"). Nested boxes of a selected superbox come with
// it. A root-bin other than 0 names no bin of Pipit's and selects nothing. Qualifiers (/w /s /g
// /a) and "!" priorities select nothing more: all of a JP2 file's boxes are global.
//
// Thread-safety: pure.
#pragma once

#include <vector>

#include "pipit/image_index.hpp"
#include "pipit/request.hpp"
#include "pipit/response_stream.hpp"

namespace pipit::server {

// Sorted, disjoint ranges of metadata-bin 0.
std::vector<bin_range> metareq_ranges(const image_index& index, const metadata_request& rq);

}  // namespace pipit::server
