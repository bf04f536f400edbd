// A whole JPP-stream response for one view-window of one codestream, without I/O: the one-shot
// form of response_stream (see response_stream.hpp for the order of the data and the rules on
// `len`), as `pipit stream`, tests and benchmarks use it.
//
// Thread-safety: as response_stream; the caller serialises use of the model.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "pipit/response_stream.hpp"

namespace pipit {

struct response_options {
  std::uint32_t csn = 0;
  std::uint64_t len = std::numeric_limits<std::uint64_t>::max();  // byte budget (EOR excluded)
  bool send_metadata = true;  // metadata-bin 0 for JP2/JPX targets
  bool write_eor = true;
};

struct response_summary {
  eor_reason reason = eor_reason::window_done;
  std::uint64_t bytes = 0;  // message bytes written (EOR excluded)
  std::uint64_t messages = 0;
};

// Appends the response to `out` and records what it sends in `model`.
response_summary compose_response(const databin_source& src, const window_spec& window,
                                  stream_model& model, const response_options& options,
                                  std::vector<std::uint8_t>& out);

}  // namespace pipit
