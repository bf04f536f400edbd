#include "pipit/response.hpp"

#include <algorithm>

namespace pipit {
namespace {

class composer {
 public:
  composer(cache_model& model, const response_options& o, std::vector<std::uint8_t>& out)
      : model_(model), opt_(o), out_(out), writer_(out) {
    writer_.begin_response();
  }

  // Sends bytes [from, to) of a bin whose full length is `length`, minus what the client holds.
  // `fill` appends bin bytes [a, b) to a buffer. Returns false when the budget ran out.
  template <class Fill>
  bool send(unsigned msg_class, const bin_id& id, std::uint64_t from, std::uint64_t to,
            std::uint64_t length, Fill&& fill) {
    from = std::max(from, model_.held(id));
    // An empty bin is still announced once (a zero-length message with the completion bit).
    if (from >= to && !(length == 0 && !model_.known(id))) return true;
    std::uint64_t n = to > from ? to - from : 0;
    const std::uint64_t left = opt_.len - std::min(opt_.len, summary_.bytes);
    if (writer_.header_size(msg_class, id.csn, id.id, from, n) + n <= left) {
      emit(msg_class, id, from, n, length, fill);
      return true;
    }
    // Fill the rest of the budget with a partial message when at least one body byte fits.
    for (int k = 0; k < 4 && n > 0; ++k) {
      const std::size_t h = writer_.header_size(msg_class, id.csn, id.id, from, n);
      if (h + n <= left) break;
      n = left > h ? std::min<std::uint64_t>(n - 1, left - h) : 0;
    }
    if (n > 0 && writer_.header_size(msg_class, id.csn, id.id, from, n) + n <= left)
      emit(msg_class, id, from, n, length, fill);
    return false;
  }

  response_summary summary_;

 private:
  template <class Fill>
  void emit(unsigned msg_class, const bin_id& id, std::uint64_t from, std::uint64_t n,
            std::uint64_t length, Fill&& fill) {
    scratch_.clear();
    fill(from, from + n, scratch_);
    const std::size_t before = out_.size();
    (void)writer_.add_message(msg_class, id.csn, id.id, from, scratch_, from + n == length);
    summary_.bytes += out_.size() - before;
    ++summary_.messages;
    model_.hold(id, from + n);
  }

  cache_model& model_;
  const response_options& opt_;
  std::vector<std::uint8_t>& out_;
  jpp_writer writer_;
  std::vector<std::uint8_t> scratch_;
};

void fill_pieces(bytes_view file, const precinct_layout& pl, std::uint64_t from, std::uint64_t to,
                 std::vector<std::uint8_t>& out) {
  std::uint64_t pos = 0;
  for (const auto& p : pl.pieces) {
    const std::uint64_t a = std::max(from, pos), e = std::min(to, pos + p.length);
    if (a < e) {
      auto b = file.subspan(static_cast<std::size_t>(p.file_offset + (a - pos)), static_cast<std::size_t>(e - a));
      out.insert(out.end(), b.begin(), b.end());
    }
    pos += p.length;
    if (pos >= to) break;
  }
}

bool whole_image(const codestream_index& cs, const window_spec& w) {
  if (w.discard_levels != 0 || !w.comps.empty()) return false;
  if (w.layers != 0 && w.layers < cs.defaults.layers) return false;
  for (const auto& t : cs.tiles)
    if (w.layers != 0 && w.layers < t.coding.layers) return false;
  return w.region.x0 <= cs.siz.XOsiz && w.region.y0 <= cs.siz.YOsiz && w.region.x1 >= cs.siz.Xsiz &&
         w.region.y1 >= cs.siz.Ysiz;
}

}  // namespace

response_summary compose_response(const databin_source& src, const window_spec& window,
                                   cache_model& model, const response_options& o,
                                   std::vector<std::uint8_t>& out) {
  composer c(model, o, out);
  const codestream_index& cs = src.index().codestreams[o.csn];
  const std::uint32_t csn = o.csn;
  auto vec_fill = [](const std::vector<std::uint8_t>& v) {
    return [&v](std::uint64_t a, std::uint64_t b, std::vector<std::uint8_t>& dst) {
      dst.insert(dst.end(), v.begin() + static_cast<std::ptrdiff_t>(a), v.begin() + static_cast<std::ptrdiff_t>(b));
    };
  };
  bool ok = true;
  if (o.send_metadata && src.index().is_jp2) {
    const auto& m = src.metadata_bin0();
    ok = c.send(8, bin_id{bin_kind::metadata, 0, 0}, 0, m.size(), m.size(), vec_fill(m));
  }
  if (ok) {
    const auto& m = src.main_header(csn);
    ok = c.send(6, bin_id{bin_kind::main_header, csn, 0}, 0, m.size(), m.size(), vec_fill(m));
  }
  const auto tiles = window_tiles(cs, window);
  for (std::size_t k = 0; ok && k < tiles.size(); ++k) {
    const auto& h = src.tile_header(csn, tiles[k]);
    ok = c.send(2, bin_id{bin_kind::tile_header, csn, tiles[k]}, 0, h.size(), h.size(), vec_fill(h));
  }
  if (ok && !window.no_precinct_data) {
    const auto precincts = window_precincts(cs, window);
    std::vector<precinct_layout> layouts;
    std::vector<std::uint64_t> ids;
    layouts.reserve(precincts.size());
    unsigned max_layers = 0;
    for (const auto& p : precincts) {
      layouts.push_back(src.precinct(csn, p.tile, p.slot));
      ids.push_back(src.precinct_id(csn, p.tile, p.slot));
      max_layers = std::max<unsigned>(max_layers, static_cast<unsigned>(layouts.back().layer_end.size()));
    }
    if (window.layers != 0) max_layers = std::min<unsigned>(max_layers, window.layers);
    for (unsigned l = 0; ok && l < max_layers; ++l) {
      for (std::size_t k = 0; ok && k < precincts.size(); ++k) {
        const auto& pl = layouts[k];
        if (l >= pl.layer_end.size()) continue;
        const std::uint64_t a = l == 0 ? 0 : pl.layer_end[l - 1], b = pl.layer_end[l];
        ok = c.send(0, bin_id{bin_kind::precinct, csn, ids[k]}, a, b, pl.length(),
                    [&](std::uint64_t x, std::uint64_t y, std::vector<std::uint8_t>& dst) {
                      fill_pieces(src.file(), pl, x, y, dst);
                    });
      }
    }
  }
  response_summary s = c.summary_;
  if (!ok) s.reason = eor_reason::byte_limit;
  else if (whole_image(cs, window)) s.reason = eor_reason::image_done;
  else s.reason = eor_reason::window_done;
  if (o.write_eor) {
    jpp_writer w(out);
    w.add_eor(s.reason);
  }
  return s;
}

}  // namespace pipit
