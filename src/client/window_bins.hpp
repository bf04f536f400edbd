// Which data-bins a view-window needs, whether the cache already holds them, and the `model`
// statements (15444-9 C.8) that tell a server what the client holds of them.
//
// The geometry comes from the client's one codestream model (the skeleton of the header bins,
// shared_cache::skeleton); the precincts are the core's window_precincts(), which include the reach
// of the wavelet filters, so "every bin complete" means the window decodes exactly.
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
  std::vector<bin_id> headers;          // main header, metadata-bin 0 (JP2), tile headers
  std::vector<bin_id> precincts;        // in the order of window_precincts() (or tile bins)
  std::vector<window_precinct> places;  // where each of `precincts` lies (empty for tile bins)
};

// The bins of codestream `csn` (whose headers `cs` indexes) a window needs. `jpt`: the bins of a
// JPT-stream, the tile data-bins of the tiles the window meets (in `precincts`; no `places`) after
// the main header (and metadata-bin 0).
window_bins bins_for_window(const codestream_index& cs, std::uint32_t csn, bool is_jp2,
                            const window& w, bool jpt = false);

// The core's window for a client window on an image whose origin is (XOsiz, YOsiz).
window_spec spec_for_window(std::uint32_t XOsiz, std::uint32_t YOsiz, const window& w);

// Every bin held complete (layers-limited windows need complete bins too: conservative).
bool window_in_cache(const databin_cache& cache, const window_bins& bins);

// What a window still lacks once the server has said it is done (EOR 2): the headers not
// complete, and the precincts not complete (for a window limited to fewer layers than the
// codestream has: the precincts of which nothing has arrived).
struct missing_bins {
  std::vector<bin_id> headers;
  std::vector<std::size_t> precincts;  // indices into window_bins::precincts
  bool empty() const { return headers.empty() && precincts.empty(); }
};
missing_bins missing_for_window(const databin_cache& cache, const window_bins& bins,
                                bool layers_limited);

// A window that makes any server send missing precincts: the area of those of the lowest
// resolution, at the level where that resolution is the frame's (so every server sends the
// precincts it meets); with `w`'s components and layers. nullopt when only headers are missing.
// Servers that choose a window's precincts without the wavelet filters' margin leave some out;
// asking for them this way takes one round per resolution at most.
std::optional<window> fill_window(const codestream_index& cs, const window_bins& bins,
                                  const missing_bins& missing, const window& w);

// Additive explicit model items for the bins of `bins` the cache holds (whole bins, or their
// contiguous prefix as ":bytes"), skipping those in `declared` and adding the others to it,
// until about `max_chars` of text; then subtractive items for `evicted`.
std::optional<cache_model_spec> model_for(const databin_cache& cache, const window_bins& bins,
                                          std::set<bin_id>* declared,
                                          const std::vector<bin_id>& evicted,
                                          std::size_t max_chars = 6000);

}  // namespace pipit::client
