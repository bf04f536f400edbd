// Rebuilding a decodable codestream from whatever part of a data-bin cache is present
// (15444-9 client side; docs/jpip-notes.md §6).
//
// The rebuilt codestream has the main header bin with the progression set to RPCL (layers
// innermost, so each precinct's packets are contiguous) and POC, TLM, PLM and PPM removed; then
// every tile, with a correct Psot, its tile header bin (COD progression likewise, POC, PLT, PPT
// and TLM removed), SOD, and its packets in RPCL order: each precinct's complete packets copied
// from its bin, every missing or incomplete packet replaced by an empty packet (0x00, followed by
// EPH where the coding style has it); then EOC. Complete packets are found by decoding the packet
// headers of the bin's contiguous prefix, so a short or misaligned packet never reaches the
// decoder whatever the server marked complete.
//
// The JP2 rebuild writes metadata-bin 0's boxes and puts each codestream back in place of its
// placeholder, so that georeferencing boxes can be read from the result.
//
// Thread-safety: reads the cache; the caller keeps it unchanged during the call.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "pipit/codestream.hpp"
#include "pipit/databin_cache.hpp"
#include "pipit/error.hpp"
#include "pipit/window.hpp"

namespace pipit {

struct rebuild_options {
  std::uint32_t csn = 0;
  std::uint32_t max_layers = 0;  // 0: every layer present
  // When set, only the precincts this window needs (window_precincts, filter reach included)
  // are copied; every other packet is written empty. Decoding the window's region then gives
  // the same samples as a full rebuild, for a fraction of the copying.
  std::optional<window_spec> window;
  // The skeleton's index limit (index_options::max_index_bytes): header bins that declare more
  // packets than this allows (each costs the rebuild a listed packet and an output byte) are
  // refused with errc::limit before anything is written.
  std::uint64_t max_index_bytes = index_options{}.max_index_bytes;
  // rebuild_jp2: put back codestream csn alone and drop the other codestream placeholders (a
  // client browsing one codestream of a JPX holds the header bins of that one only).
  bool one_codestream = false;
};

struct rebuild_stats {
  std::uint64_t packets = 0;          // packets in the rebuilt codestream
  std::uint64_t packets_present = 0;  // of which copied from the cache
  std::uint64_t bytes = 0;
};

// The geometry of codestream `csn` as the cache's header bins describe it (main header and the
// complete tile header bins, rewritten for RPCL), and the packets each precinct bin holds.
// Rebuild once the skeleton when the header bins change; query it between responses.
class codestream_skeleton {
 public:
  // Fails (errc::not_found) when the main header bin is absent or incomplete, and (corrupt)
  // when the header bins cannot be parsed, (limit) when they declare more than
  // `max_index_bytes` allows (see rebuild_options).
  static result<codestream_skeleton> build(
      const databin_cache& cache, std::uint32_t csn = 0,
      std::uint64_t max_index_bytes = index_options{}.max_index_bytes);

  const codestream_index& index() const { return *index_; }
  // The same index, for holders that outlive the skeleton (it is immutable).
  std::shared_ptr<const codestream_index> shared_index() const { return index_; }
  std::uint32_t csn() const { return csn_; }

  // End offsets, within the bin, of the complete leading packets of precinct bin `in_class_id`
  // held in the cache's contiguous prefix (at most `max_layers`, 0 = the tile's layer count).
  std::vector<std::uint64_t> complete_packets(const databin_cache& cache, std::uint64_t in_class_id,
                                              unsigned max_layers = 0) const;

  // The rebuilt codestream: every precinct, or only those `window` needs (see rebuild_options).
  // From a cache of tile data-bins (a JPT-stream), the JPT rebuild instead: see holds_tile_bins.
  std::vector<std::uint8_t> codestream(const databin_cache& cache, unsigned max_layers = 0,
                                       rebuild_stats* stats = nullptr,
                                       const window_spec* window = nullptr) const;

  // A codestream of tile `t` alone, as a one-tile image: SIZ's image and tile offsets are moved
  // to the tile (XOsiz = the tile's x0, XTOsiz = its column's origin, Xsiz = its x1; alike in
  // y), the tile is renumbered 0, and its packets are written as codestream() writes them. The
  // tile keeps its place on the reference grid, so every decoder gives the same samples as for
  // that tile of the whole codestream; a decoder that can only decode whole images (OpenJPH)
  // decodes one tile this way.
  // REQUIRES: t < the number of tiles.
  std::vector<std::uint8_t> tile_codestream(const databin_cache& cache, std::uint32_t t,
                                            unsigned max_layers = 0,
                                            rebuild_stats* stats = nullptr) const;

  // True when the cache holds a tile data-bin of the codestream (a JPT-stream; 15444-9 A.3.4,
  // docs/jpip-notes.md §5.3, §6). Its rebuild is the main header bin (less TLM and PLM; its
  // progression, POC and PPM kept), then every tile in index order: the leading complete
  // tile-parts of its tile data-bin, copied as they are (Psot 0 resolved, TNsot set to the parts
  // written when some are missing), or, for a tile without one (or outside `window`), an empty
  // tile of the main header's coding (its samples the DC level); then EOC. `max_layers` is not
  // applied (decoders limit layers themselves). Under PPM, tiles without data are left out, and
  // the result is right only when every tile-part is present in the original order.
  bool holds_tile_bins(const databin_cache& cache) const;

 private:
  std::uint32_t csn_ = 0;
  std::vector<std::uint8_t> jpt_codestream(const databin_cache& cache, rebuild_stats* stats,
                                           const window_spec* window) const;

  std::vector<std::uint8_t> head_;                     // SOC .. the last main header segment
  std::vector<std::vector<std::uint8_t>> tile_heads_;  // rewritten tile header bins
  std::shared_ptr<const codestream_index> index_;      // headers-only index of the skeleton
};

// One-shot: the skeleton's codestream. Fails as codestream_skeleton::build, and (corrupt) when
// the codestream has both tile data-bins and precinct or tile header data-bins.
result<std::vector<std::uint8_t>> rebuild_codestream(const databin_cache& cache,
                                                     const rebuild_options& options = {},
                                                     rebuild_stats* stats = nullptr);

// How many codestreams the target has: one more than the highest CSID of metadata-bin 0's
// codestream placeholders, 1 when metadata-bin 0 is empty (a raw codestream). Fails with
// errc::not_found while metadata-bin 0 is not complete.
result<std::uint32_t> count_codestreams(const databin_cache& cache);

// A JP2/JPX file: needs metadata-bin 0 (complete); each codestream placeholder is replaced by a
// jp2c box holding the rebuilt codestream (or only codestream o.csn's, o.one_codestream). Fails
// with errc::not_found when metadata-bin 0 is absent (e.g. the target is a raw codestream).
result<std::vector<std::uint8_t>> rebuild_jp2(const databin_cache& cache,
                                              const rebuild_options& options = {});

}  // namespace pipit
