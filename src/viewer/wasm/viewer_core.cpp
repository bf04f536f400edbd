// The browser viewer's half of Pipit, compiled to WebAssembly: the same core the native client
// uses (jpp_reader, databin_cache, codestream_skeleton, window_precincts) behind a thin embind
// class. The page does the HTTP and the decoding; this keeps the data-bin cache, says which bins
// a view-window needs and what the cache holds of them (the `model` statements), and rebuilds
// decodable codestreams from whatever has arrived.
//
// Decoding is per tile: tile_codestream() cuts one tile of the rebuilt codestream out as a
// codestream of its own whose image area is exactly that tile (SIZ origin, size and tile grid
// set to the tile's rectangle, Isot 0). Tile-component, precinct and code-block geometry depend
// only on the tile's rectangle on the reference grid, so the tile decodes to the same samples as
// inside the whole image, and a decoder without region decoding decodes only that tile.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "pipit/boxes.hpp"
#include "pipit/byte_reader.hpp"
#include "pipit/databin_cache.hpp"
#include "pipit/jpp.hpp"
#include "pipit/rebuild.hpp"
#include "pipit/request.hpp"
#include "pipit/view_window.hpp"
#include "pipit/window.hpp"
#include "window_bins.hpp"

namespace {

using emscripten::val;
using pipit::bin_id;
using pipit::bin_kind;

class viewer_core {
 public:
  // Starts a new HTTP response: its JPP-stream restarts class/CSn inheritance, and bytes left
  // from a response that was cut off are dropped.
  void begin_response() { reader_.reset(); }

  void set_target_id(const std::string& tid) {
    if (tid != cache_.target_id()) {
      cache_.set_target_id(tid);
      declared_.clear();
      skeleton_.reset();
    }
  }
  std::string target_id() const { return cache_.target_id(); }

  // Feeds response bytes; returns {newBytes, messages, eor (-1: none yet), error ("": none)}.
  val feed(const val& bytes) {
    const std::vector<std::uint8_t> data =
        emscripten::convertJSArrayToNumberVector<std::uint8_t>(bytes);
    reader_.feed(pipit::bytes_view(data.data(), data.size()));
    std::uint64_t new_bytes = 0, messages = 0;
    int eor = -1;
    std::string failure;
    for (;;) {
      auto ev = reader_.next();
      if (!ev) {
        failure = "damaged JPP-stream at byte " + std::to_string(ev.error().offset) + ": " +
                  ev.error().message;
        break;
      }
      if (auto* m = std::get_if<pipit::jpp_message>(&*ev)) {
        const bin_id id = m->bin();
        const std::uint64_t before = cache_.bytes_held();
        auto added = cache_.add(id, m->msg_offset, m->body, m->is_last);
        if (!added) {
          failure = "bad message for " + pipit::to_string(id) + ": " + added.error().message;
          break;
        }
        new_bytes += cache_.bytes_held() - std::min(before, cache_.bytes_held());
        ++messages;
        if (id.kind != bin_kind::precinct) skeleton_.reset();
        ++version_;
      } else if (auto* e = std::get_if<pipit::jpp_eor>(&*ev)) {
        eor = static_cast<int>(e->reason);
        reader_.begin_response();
      } else {
        break;
      }
    }
    val out = val::object();
    out.set("newBytes", double(new_bytes));
    out.set("messages", double(messages));
    out.set("eor", eor);
    out.set("error", failure);
    return out;
  }

  // True once the main header (and, for JP2, metadata-bin 0) can be parsed.
  bool ready() { return skeleton() != nullptr; }

  // What the page needs to lay out the image, as an object; null before ready().
  val info() {
    const auto* sk = skeleton();
    if (sk == nullptr) return val::null();
    const pipit::codestream_index& cs = sk->index();
    const auto& s = cs.siz;
    val o = val::object();
    o.set("Xsiz", s.Xsiz);
    o.set("Ysiz", s.Ysiz);
    o.set("XOsiz", s.XOsiz);
    o.set("YOsiz", s.YOsiz);
    o.set("XTsiz", s.XTsiz);
    o.set("YTsiz", s.YTsiz);
    o.set("XTOsiz", s.XTOsiz);
    o.set("YTOsiz", s.YTOsiz);
    o.set("tilesX", s.tiles_x());
    o.set("tilesY", s.tiles_y());
    val comps = val::array();
    bool subsampled = false;
    for (const auto& c : s.components) {
      val v = val::object();
      v.set("precision", c.precision);
      v.set("signed", c.is_signed);
      comps.call<void>("push", v);
      subsampled = subsampled || c.XRsiz != 1 || c.YRsiz != 1;
    }
    o.set("components", comps);
    o.set("subsampled", subsampled);
    o.set("levels", levels(cs));
    std::uint32_t layers = cs.defaults.layers;
    for (const auto& t : cs.tiles) layers = std::max<std::uint32_t>(layers, t.coding.layers);
    o.set("layers", layers);
    o.set("ht", cs.ht);
    o.set("isJp2", is_jp2());
    return o;
  }

  // The rebuilt JP2 header boxes (metadata-bin 0 with the codestream put back), for the page to
  // read georeferencing from; empty for a raw codestream.
  val jp2_header() {
    if (!is_jp2()) return val::null();
    auto j = pipit::rebuild_jp2(cache_);
    if (!j) return val::null();
    scratch_ = std::move(*j);
    return val(emscripten::typed_memory_view(scratch_.size(), scratch_.data()));
  }

  // The query fields of a view-window request at `d` discarded levels, region (x, y, w, h) of
  // that frame: fsiz/roff/rsiz and the `model` of what the cache holds of the window's bins (in a
  // session, only what was not declared before). `stateless`: every held bin is declared.
  std::string view_request(unsigned d, unsigned x, unsigned y, unsigned w, unsigned h,
                           bool stateless) {
    const auto* sk = skeleton();
    if (sk == nullptr) return "";
    const pipit::codestream_index& cs = sk->index();
    const auto fr = pipit::frame_at(geometry(cs), d);
    pipit::jpip_request r;
    r.fsiz = pipit::frame_size{fr.fx, fr.fy, pipit::round_direction::round_down};
    r.roff = pipit::point{x, y};
    r.rsiz = pipit::point{w, h};
    const auto bins = pipit::client::bins_for_window(cs, 0, is_jp2(), client_window(d, x, y, w, h));
    r.model = pipit::client::model_for(cache_, bins, stateless ? nullptr : &declared_, {});
    return pipit::format_request(r);
  }

  // A new session knows nothing of what was declared to the previous one.
  void forget_declared() { declared_.clear(); }

  // {complete, bins, completeBins, bytes, layers}: how much of a view-window's bins the cache
  // holds.
  val window_state(unsigned d, unsigned x, unsigned y, unsigned w, unsigned h) {
    val o = val::object();
    const auto* sk = skeleton();
    if (sk == nullptr) {
      o.set("complete", false);
      return o;
    }
    const auto bins =
        pipit::client::bins_for_window(sk->index(), 0, is_jp2(), client_window(d, x, y, w, h));
    std::uint64_t bytes = 0, complete = 0;
    for (const auto* list : {&bins.headers, &bins.precincts})
      for (const auto& b : *list) {
        bytes += cache_.contiguous_prefix(b).size();
        complete += cache_.is_complete(b) ? 1 : 0;
      }
    // Quality layers every precinct of the window holds whole.
    std::size_t layers = 0xFFFF;
    for (const auto& b : bins.precincts)
      layers = std::min(layers, sk->complete_packets(cache_, b.id).size());
    o.set("layers", bins.precincts.empty() ? 0 : double(layers));
    o.set("complete", pipit::client::window_in_cache(cache_, bins));
    o.set("bins", double(bins.headers.size() + bins.precincts.size()));
    o.set("completeBins", double(complete));
    o.set("bytes", double(bytes));
    return o;
  }

  // Rebuilds the codestream with the precincts of view-window (d, x, y, w, h); returns the tiles
  // it meets, each {tile, x0, y0, x1, y1} in the frame at d (the tile's samples there).
  val prepare_window(unsigned d, unsigned x, unsigned y, unsigned w, unsigned h) {
    val tiles = val::array();
    const auto* sk = skeleton();
    if (sk == nullptr) return tiles;
    const pipit::codestream_index& cs = sk->index();
    const pipit::window_spec spec =
        pipit::client::spec_for_window(cs.siz.XOsiz, cs.siz.YOsiz, client_window(d, x, y, w, h));
    rebuilt_ = sk->codestream(cache_, 0, nullptr, &spec);
    const pipit::rect image = pipit::scale_down(cs.siz.image_rect(), d);
    for (std::uint32_t t : pipit::window_tiles(cs, spec)) {
      // The tile in the frame's coordinates.
      const pipit::rect r =
          pipit::translate(pipit::scale_down(cs.siz.tile_rect(t), d), -image.x0, -image.y0);
      val v = val::object();
      v.set("tile", t);
      v.set("x0", double(r.x0));
      v.set("y0", double(r.y0));
      v.set("x1", double(r.x1));
      v.set("y1", double(r.y1));
      tiles.call<void>("push", v);
    }
    return tiles;
  }

  // Tile `t` of the last prepare_window() as a codestream of its own (see the file comment);
  // a view into WebAssembly memory, valid until the next call. Empty when `t` is absent.
  val tile_codestream(unsigned t) {
    scratch_.clear();
    const auto* sk = skeleton();
    if (sk == nullptr || rebuilt_.size() < 4)
      return val(emscripten::typed_memory_view(0, scratch_.data()));
    const auto& b = rebuilt_;
    // Main header: SOC, SIZ first, then segments up to the first SOT.
    std::size_t p = 2;
    while (p + 4 <= b.size() && pipit::load_be16(b.data() + p) != 0xFF90)
      p += 2 + pipit::load_be16(b.data() + p + 2);
    scratch_.assign(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(p));
    const pipit::rect r = sk->index().siz.tile_rect(t);
    pipit::store_be32(scratch_.data() + 8, static_cast<std::uint32_t>(r.x1));          // Xsiz
    pipit::store_be32(scratch_.data() + 12, static_cast<std::uint32_t>(r.y1));         // Ysiz
    pipit::store_be32(scratch_.data() + 16, static_cast<std::uint32_t>(r.x0));         // XOsiz
    pipit::store_be32(scratch_.data() + 20, static_cast<std::uint32_t>(r.y0));         // YOsiz
    pipit::store_be32(scratch_.data() + 24, static_cast<std::uint32_t>(r.x1 - r.x0));  // XTsiz
    pipit::store_be32(scratch_.data() + 28, static_cast<std::uint32_t>(r.y1 - r.y0));  // YTsiz
    pipit::store_be32(scratch_.data() + 32, static_cast<std::uint32_t>(r.x0));         // XTOsiz
    pipit::store_be32(scratch_.data() + 36, static_cast<std::uint32_t>(r.y0));         // YTOsiz
    bool found = false;
    while (p + 12 <= b.size() && pipit::load_be16(b.data() + p) == 0xFF90) {
      const std::uint32_t psot = pipit::load_be32(b.data() + p + 6);
      const std::size_t end = psot == 0 ? b.size() - 2 : std::min<std::size_t>(b.size(), p + psot);
      if (pipit::load_be16(b.data() + p + 4) == t) {
        const std::size_t at = scratch_.size();
        scratch_.insert(scratch_.end(), b.begin() + static_cast<std::ptrdiff_t>(p),
                        b.begin() + static_cast<std::ptrdiff_t>(end));
        scratch_[at + 4] = 0;
        scratch_[at + 5] = 0;
        found = true;
      }
      if (end <= p) break;
      p = end;
    }
    if (!found)
      scratch_.clear();
    else {
      scratch_.push_back(0xFF);
      scratch_.push_back(0xD9);
    }
    return val(emscripten::typed_memory_view(scratch_.size(), scratch_.data()));
  }

  double bytes_held() const { return double(cache_.bytes_held()); }
  double bin_count() const { return double(cache_.bin_count()); }
  double version() const { return double(version_); }

 private:
  static std::uint32_t levels(const pipit::codestream_index& cs) {
    std::uint32_t levels = 32;
    auto consider = [&](const pipit::tile_coding& tc) {
      for (const auto& cc : tc.components) levels = std::min<std::uint32_t>(levels, cc.levels);
    };
    consider(cs.defaults);
    for (const auto& t : cs.tiles) consider(t.coding);
    return levels == 32 ? 0 : levels;
  }
  static pipit::image_geometry geometry(const pipit::codestream_index& cs) {
    return pipit::image_geometry{cs.siz.Xsiz, cs.siz.Ysiz, cs.siz.XOsiz, cs.siz.YOsiz, levels(cs)};
  }
  static pipit::client::window client_window(unsigned d, unsigned x, unsigned y, unsigned w,
                                             unsigned h) {
    pipit::client::window cw;
    cw.discard_levels = d;
    cw.region = pipit::rect{x, y, std::int64_t{x} + w, std::int64_t{y} + h};
    return cw;
  }
  bool is_jp2() const {
    const bin_id md{bin_kind::metadata, 0, 0};
    return cache_.is_complete(md) && !cache_.contiguous_prefix(md).empty();
  }
  const pipit::codestream_skeleton* skeleton() {
    if (!skeleton_) {
      auto sk = pipit::codestream_skeleton::build(cache_);
      if (!sk) return nullptr;
      skeleton_ = std::move(*sk);
    }
    return &*skeleton_;
  }

  pipit::jpp_reader reader_;
  pipit::databin_cache cache_;
  std::optional<pipit::codestream_skeleton> skeleton_;  // rebuilt when a header bin changes
  std::set<bin_id> declared_;                           // told to the server in this session
  std::vector<std::uint8_t> rebuilt_, scratch_;
  std::uint64_t version_ = 0;
};

}  // namespace

EMSCRIPTEN_BINDINGS(pipit_viewer) {
  emscripten::class_<viewer_core>("ViewerCore")
      .constructor<>()
      .function("beginResponse", &viewer_core::begin_response)
      .function("setTargetId", &viewer_core::set_target_id)
      .function("targetId", &viewer_core::target_id)
      .function("feed", &viewer_core::feed)
      .function("ready", &viewer_core::ready)
      .function("info", &viewer_core::info)
      .function("jp2Header", &viewer_core::jp2_header)
      .function("viewRequest", &viewer_core::view_request)
      .function("forgetDeclared", &viewer_core::forget_declared)
      .function("windowState", &viewer_core::window_state)
      .function("prepareWindow", &viewer_core::prepare_window)
      .function("tileCodestream", &viewer_core::tile_codestream)
      .function("bytesHeld", &viewer_core::bytes_held)
      .function("binCount", &viewer_core::bin_count)
      .function("version", &viewer_core::version);
}
