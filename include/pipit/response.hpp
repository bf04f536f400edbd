// Composing a JPP-stream response for a view-window (15444-9 D.3, notes §7.4), without I/O.
//
// The response holds, in order: metadata-bin 0 (JP2/JPX, when asked), the main header bin, the
// tile header bins of the window's tiles, then precinct data layer by layer (for each layer,
// resolutions low to high, then components, tiles and precincts), each packet as its own message,
// skipping every byte the cache model says the client holds. It stops before `len` would be
// exceeded (EOR 4, byte limit), else ends with EOR 2 (window done) or EOR 1 (image done, when
// the window is the whole image at full quality). The model is updated with what is written.
//
// Thread-safety: pure with respect to its arguments; the caller serialises use of the model.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "pipit/cache_model.hpp"
#include "pipit/databins.hpp"
#include "pipit/jpp.hpp"
#include "pipit/window.hpp"

namespace pipit {

struct response_options {
  std::uint32_t csn = 0;
  std::uint64_t len = std::numeric_limits<std::uint64_t>::max();  // byte budget (EOR excluded)
  bool send_metadata = true;   // metadata-bin 0 for JP2/JPX targets
  bool write_eor = true;
};

struct response_summary {
  eor_reason reason = eor_reason::window_done;
  std::uint64_t bytes = 0;      // message bytes written (EOR excluded)
  std::uint64_t messages = 0;
};

response_summary compose_response(const databin_source& src, const window_spec& window,
                                   cache_model& model, const response_options& options,
                                   std::vector<std::uint8_t>& out);

}  // namespace pipit
