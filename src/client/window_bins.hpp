// Which data-bins a view-window needs, whether the cache already holds them, and the `model`
// statements (15444-9 C.8) that tell a server what the client holds of them.
//
// The geometry comes from a codestream_index built (headers only) on a codestream rebuilt from
// the header bins; the precincts are the core's window_precincts(), which include the reach of
// the wavelet filters, so "every bin complete" means the window decodes exactly.
//
// Thread-safety: plain values; the functions read the cache, the caller keeps it unchanged.
#pragma once

#include "pipit/window.hpp"

#include <cstdint>
#include <optional>
#include <set>
#include <vector>

#include "pipit/cache_model_spec.hpp"
#include "pipit/client.hpp"
#include "pipit/codestream.hpp"
#include "pipit/databin_cache.hpp"

namespace pipit::client {

struct window_bins {
  std::vector<bin_id> headers;    // main header, metadata-bin 0 (JP2), tile headers
  std::vector<bin_id> precincts;  // in the order of window_precincts()
};

window_bins bins_for_window(const codestream_index& cs, bool is_jp2, const window& w);

// The core's window for a client window on an image whose origin is (XOsiz, YOsiz).
window_spec spec_for_window(std::uint32_t XOsiz, std::uint32_t YOsiz, const window& w);

// Every bin held complete (layers-limited windows need complete bins too: conservative).
bool window_in_cache(const databin_cache& cache, const window_bins& bins);

// Additive explicit model items for the bins of `bins` the cache holds (whole bins, or their
// contiguous prefix as ":bytes"), skipping those in `declared` and adding the others to it,
// until about `max_chars` of text; then subtractive items for `evicted`.
std::optional<cache_model_spec> model_for(const databin_cache& cache, const window_bins& bins,
                                          std::set<bin_id>* declared,
                                          const std::vector<bin_id>& evicted,
                                          std::size_t max_chars = 6000);

}  // namespace pipit::client
