// Applying a request's `model` field (15444-9 C.8, docs/jpip-notes.md §8) to a cache model.
//
// Additive items record bins (or prefixes of them) the client holds; subtractive items ("-")
// lower the model to what the client says it still holds. Explicit forms (Hm, H<n>, H*, T<n>,
// P<n>, P*, M0, M*) and implicit precinct forms (t..c..r..p..) are supported, each with the
// whole-bin, ":<bytes>" and ":L<layers>" (precincts only) qualifiers. A "[codestreams]" prefix
// applies to its item and the following ones; without one, items apply to `default_csn`.
// Bins that do not exist in the target are ignored (a stale or over-broad model does no harm);
// metadata-bins other than 0 do not exist in Pipit's metadata model.
//
// Thread-safety: pure apart from writing `model`.
#pragma once

#include <cstdint>
#include <vector>

#include "pipit/cache_model_spec.hpp"
#include "pipit/response_stream.hpp"

namespace pipit::server {

// `jpt`: the model is of a JPT-stream (its main header bin keeps PPM).
result<void> apply_model(const cache_model_spec& spec, const databin_source& src,
                         const std::vector<std::uint32_t>& default_csn, stream_model& model,
                         bool jpt = false);

}  // namespace pipit::server
