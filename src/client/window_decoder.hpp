// Decoding view-windows from the data-bin cache, cell by cell (decode_cells.hpp).
//
// decode(w) finds the cells the window meets and, for each, the data stamp of the bins its
// samples come from (tile_cache.hpp). Cells whose samples the tile cache holds for that stamp are
// copied; the others ("missing") are decoded from one codestream rebuilt for them (the precincts
// of the missing cells are copied, every other packet is written empty): the missing cells are
// grouped into rectangles (decode_jobs) and the rectangles decoded in parallel over `threads`
// workers, each with its own OpenJPEG codec (given OpenJPEG threads of its own when there are
// fewer rectangles than workers). Every decoded cell goes into the tile cache, and the window is
// cut out of the cells. The stamps and the rebuild are taken under the cache's mutex, together,
// so a stamp always describes the data its samples were decoded from.
//
// Components joined by a multiple component transform are decoded together with every other
// component (OpenJPEG applies the inverse transform only when it decodes all components), and
// all of them are cached: a read of band 1 then band 2 decodes once. Components outside the
// transform are decoded alone or with the others alike, so a cached plane holds the same samples
// whichever read decoded it.
//
// HTJ2K tiles are decoded with OpenJPH where it gives OpenJPEG's samples (ht_decoder.hpp): each
// missing tile from its own codestream (codestream_skeleton::tile_codestream), every component,
// one tile per worker; a tile OpenJPH fails on is decoded from the same codestream by OpenJPEG.
//
// Thread-safety: decode() may be called from several threads at once (the tile cache and the
// skeleton memo are locked); two calls may decode the same cell twice.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "decode_cells.hpp"
#include "pipit/client.hpp"
#include "pipit/rebuild.hpp"
#include "session.hpp"
#include "tile_cache.hpp"

namespace pipit::client {

struct decoder_options {
  int threads = 1;                                       // parallel decodes of missing cells
  std::uint64_t cache_bytes = std::uint64_t{128} << 20;  // tile cache capacity
  bool openjph = true;  // decode HTJ2K tiles with OpenJPH where it can (false: OpenJPEG only)
  bool jpt = false;     // the cache holds tile data-bins (a JPT-stream), not precinct data-bins
};

struct decoder_stats {
  std::uint64_t cells_decoded = 0;          // cell components decoded
  std::uint64_t cells_decoded_openjph = 0;  // of which by OpenJPH
  std::uint64_t cells_reused = 0;           // cell components taken from the tile cache
  std::uint64_t cache_bytes = 0;            // bytes the tile cache holds
};

class window_decoder {
 public:
  // REQUIRES: `info` describes the cache's codestream 0 and outlives the decoder, as does `cache`.
  // The geometry and the rebuilds come from the cache's skeleton (shared_cache::skeleton), the
  // worker's model too.
  window_decoder(const image_info& info, shared_cache& cache, decoder_options options);

  // REQUIRES: `w` lies inside the frame at its level (the client checks windows first).
  result<decoded_window> decode(const window& w);
  decoder_stats stats() const;

 private:
  struct cell_state;
  struct plan;
  result<void> make_plan(const window& w, plan& p);
  result<void> decode_missing(plan& p, decoded_window& out);
  std::shared_ptr<const data_stamp> stamp_of(const codestream_index& ix, const cell_grid& g,
                                             std::uint32_t i, std::uint32_t j,
                                             const std::vector<std::uint32_t>& comps) const;

  const image_info& info_;
  shared_cache& cache_;
  decoder_options options_;
  std::vector<cell_grid> grids_;  // per discard level
  tile_cache cells_;
  std::atomic<std::uint64_t> cells_decoded_{0};
  std::atomic<std::uint64_t> cells_decoded_openjph_{0};

  std::uint64_t epoch_ = 0;  // guarded by cache_.mutex
};

}  // namespace pipit::client
