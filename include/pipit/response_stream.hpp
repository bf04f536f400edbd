// A JPIP response body produced piece by piece (15444-9 D.3, docs/jpip-notes.md §7.4), for servers
// that send it in chunks and may cut it short between two chunks.
//
// `stream_model` is a session's (or one stateless request's) model of the client cache: the core
// cache_model for header, precinct and metadata bins, plus the tile data-bins of JPT-streams.
//
// `response_stream` walks a `stream_plan` in a fixed order and appends JPP (or JPT) messages:
//   1. metadata-bin 0: the whole bin, or only the byte ranges of the boxes `metareq` asked for;
//   2. for each codestream of the plan: the main header bin and the tile header bins of the
//      window's tiles (JPP), then
//   3. JPP: precinct data, in one of two orders (the precincts as window_precincts orders them:
//      resolutions low to high, components, tiles, precincts, filter margin included):
//      - when all the codestream's window still needs fits in what is left of `len` (always, for
//        a request without `len`), precinct by precinct, all its missing layers in one message:
//        resolution-progressive, and a third of the messages of (2) on a three-layer image;
//      - otherwise layer by layer, one message per packet (for each layer, every precinct), so a
//        response cut by `len` leaves the whole window at an even quality.
//      The client ends up with the same bytes either way; only the order within a response
//      differs. JPT: the tile data-bins of the window's tiles, one message per tile-part.
// Every byte the model holds is skipped and every byte written is added to the model. The plan's
// `len` bounds the message bytes of the whole response (the EOR excluded); when the next message
// does not fit, as much of it as fits is sent (unless `align`: messages then end only at packet,
// tile-part or bin boundaries) and the response ends with EOR 4. Chunks never split a message, so
// the bytes of a response do not depend on the chunk size.
//
// Message bodies are not copied: next(gather_buffer&) appends views of the mapped file and of the
// source's header bins (alive as long as the source) and owns only the message headers, so a
// server writes a chunk with one gathering call. next(std::vector&) copies, for callers that want
// the bytes in one buffer.
//
// Thread-safety: a response_stream is used by one thread at a time, and the caller serialises
// access to the model it writes (a session's models are shared by its channels).
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <unordered_map>
#include <vector>

#include "pipit/cache_model.hpp"
#include "pipit/databins.hpp"
#include "pipit/gather_buffer.hpp"
#include "pipit/jpp.hpp"
#include "pipit/window.hpp"

namespace pipit {

// Like cache_model, it costs memory in proportion to what it holds: the tile data-bins of JPT
// sessions are kept in a map of the tiles sent. The index must outlive the model.
class stream_model {
 public:
  stream_model() = default;
  explicit stream_model(const image_index& index) : base_(index), index_(&index) {}

  std::uint64_t held(const bin_id& id) const;
  bool known(const bin_id& id) const;
  void prefetch(const bin_id& id) const {
    if (id.kind != bin_kind::tile) base_.prefetch(id);
  }
  void hold(const bin_id& id, std::uint64_t bytes);
  // cache_model::count_slot. REQUIRES: id is not a tile data-bin.
  std::uint32_t* count_slot(const bin_id& id) { return base_.count_slot(id); }
  void forget(const bin_id& id, std::uint64_t bytes = 0);
  void clear();
  // The heap memory of the model (O(1)).
  std::uint64_t memory_bytes() const {
    return base_.memory_bytes() + tiles_.size() * 48 + tiles_.bucket_count() * sizeof(void*);
  }

 private:
  // Tile indexes are 16-bit (Isot) and codestream numbers 32-bit; other ids are not tiles.
  static std::uint64_t tile_key(const bin_id& id) {
    return id.id > 0xFFFF || id.csn > 0xFFFFFFFF ? ~std::uint64_t{0} : id.csn << 16 | id.id;
  }
  cache_model base_;
  const image_index* index_ = nullptr;
  std::unordered_map<std::uint64_t, std::uint64_t> tiles_;  // tile_key: bytes held + 1
};

inline std::uint64_t stream_model::held(const bin_id& id) const {
  if (id.kind != bin_kind::tile) return base_.held(id);
  const auto it = tiles_.find(tile_key(id));
  return it == tiles_.end() || it->second == 0 ? 0 : it->second - 1;
}

inline bool stream_model::known(const bin_id& id) const {
  if (id.kind != bin_kind::tile) return base_.known(id);
  const auto it = tiles_.find(tile_key(id));
  return it != tiles_.end() && it->second != 0;
}

// A byte range [from, to) of a data-bin.
struct bin_range {
  std::uint64_t from = 0;
  std::uint64_t to = 0;
  friend bool operator==(const bin_range&, const bin_range&) = default;
};

struct stream_codestream {
  std::uint32_t csn = 0;
  window_spec window;
  bool headers = true;  // main header and tile headers
};

struct stream_plan {
  bool jpt = false;                        // JPT-stream: tile data-bins instead of precincts
  bool align = false;                      // messages end at natural boundaries only
  bool whole_metadata = true;              // all of metadata-bin 0 (JP2/JPX targets)
  std::vector<bin_range> metadata_ranges;  // else these ranges of metadata-bin 0, in order
  std::vector<stream_codestream> codestreams;
  std::uint64_t len = std::numeric_limits<std::uint64_t>::max();  // message bytes, EOR excluded
};

// True when the window is the whole image of the codestream at full resolution and quality.
bool whole_image_window(const codestream_index& cs, const window_spec& w);

class response_stream {
 public:
  // REQUIRES: src, model and plan outlive the stream; every csn < src.num_codestreams().
  response_stream(const databin_source& src, stream_model& model, stream_plan plan);

  // Appends whole messages to `out` until at least `target` bytes were appended or the response
  // is complete. Returns false once nothing is left to send (then reason() says why).
  // The views appended stay valid while the source lives.
  bool next(gather_buffer& out, std::size_t target);
  bool next(std::vector<std::uint8_t>& out, std::size_t target);

  bool done() const { return done_; }
  // EOR reason once done(): byte_limit, image_done (every codestream's window is its whole
  // image, or everything of it is sent) or window_done.
  eor_reason reason() const { return reason_; }
  std::uint64_t bytes() const { return bytes_; }
  std::uint64_t messages() const { return messages_; }

  // Appends an EOR with the given reason (writer state is per response).
  static void append_eor(std::vector<std::uint8_t>& out, eor_reason reason);

 private:
  struct segment {
    unsigned msg_class = 0;
    bin_id id;
    std::uint64_t from = 0, to = 0, length = 0;
  };
  // A position in the window's precincts: column i, row j of block b (blocks_[b]); past the last
  // precinct, b == blocks_.size().
  struct cursor {
    std::size_t b = 0;
    std::uint32_t i = 0, j = 0;
  };
  cursor first_precinct() const {
    return blocks_.empty() ? cursor{} : cursor{0, blocks_[0].i0, blocks_[0].j0};
  }
  bool past_end(const cursor& c) const { return c.b >= blocks_.size(); }
  void advance(cursor& c) const {
    const precinct_block& k = blocks_[c.b];
    if (++c.i < k.i1) return;
    c.i = k.i0;
    if (++c.j < k.j1) return;
    if (++c.b < blocks_.size()) c = cursor{c.b, blocks_[c.b].i0, blocks_[c.b].j0};
  }
  precinct_layout layout_at(const cursor& c) const {
    const precinct_block& k = blocks_[c.b];
    return src_.precinct(csn_, k.tile, k.slot_base + c.j * k.nx + c.i);
  }
  std::uint64_t id_at(const cursor& c) const {
    return block_id0_[c.b] + (std::uint64_t{c.j} * blocks_[c.b].nx + c.i) * id_step_;
  }

  bool send(const segment& s);
  void emit(const segment& s, std::uint64_t from, std::uint64_t n, const std::uint8_t* head,
            std::size_t head_size);
  void add_body(const segment& s, std::uint64_t from, std::uint64_t to);
  // Bytes [from, to) of a precinct bin of codestream csn_.
  void add_precinct_body(const precinct_layout& layout, std::uint64_t from, std::uint64_t to);
  // The precinct at at_: its missing wanted layers as one message, for a response without `len`
  // (no budget to check). It does emit's steps itself, with one lookup of the model and the
  // header and a small body copied at once: most of the messages of a browse go this way.
  void send_whole_precinct();
  // A precinct the file holds none of the packets of (a damaged codestream: its tile has no
  // tile-part, or was cut before it): an empty bin, complete, announced once.
  segment absent_precinct(std::uint64_t id) const {
    return segment{0, bin_id{bin_kind::precinct, csn_, id}, 0, 0, 0};
  }
  void enter_codestream();
  // Layers of a precinct the request asks for.
  unsigned wanted_layers(const precinct_layout& p) const {
    return std::min<unsigned>(static_cast<unsigned>(p.layer_end.size()), max_layers_);
  }
  // True when everything the current codestream's window still needs fits in the budget left.
  bool window_fits_budget() const;

  const databin_source& src_;
  stream_model& model_;
  stream_plan plan_;
  gather_buffer* out_ = nullptr;         // during next()
  gather_buffer copy_out_;               // next(std::vector&)'s gather
  std::vector<std::uint8_t> no_output_;  // the writer only encodes headers (encode_header)
  jpp_writer writer_;

  // Cursor: phase 0 metadata, 1 codestream headers, 2 codestream data, 3 finished.
  int phase_ = 0;
  std::size_t meta_k_ = 0;
  std::size_t cs_k_ = 0;
  std::size_t hdr_k_ = 0;  // 0 main header, 1.. tile headers
  std::uint32_t csn_ = 0;  // of the current codestream
  std::vector<std::uint32_t> tiles_;
  // The window's precincts (window_precinct_blocks), and the bin id of each block's grid origin:
  // precinct (i, j) of block b is bin block_id0_[b] + (j * nx + i) * id_step_.
  std::vector<precinct_block> blocks_;
  std::vector<std::uint64_t> block_id0_;
  std::uint64_t id_step_ = 0;
  cursor at_;                                // the next precinct to send
  std::vector<std::uint64_t> tile_lengths_;  // JPT: bin length per entry of tiles_
  // Layers to send: the most of the window's tiles, bounded by the request's `layers`.
  unsigned layer_ = 0, max_layers_ = 0;
  bool per_precinct_ = false;       // this codestream's data goes precinct by precinct (see above)
  std::size_t k_ = 0, part_k_ = 0;  // JPT: entry of tiles_ and its tile-part

  bool done_ = false;
  bool budget_out_ = false;
  eor_reason reason_ = eor_reason::window_done;
  std::uint64_t bytes_ = 0, messages_ = 0;
};

}  // namespace pipit
