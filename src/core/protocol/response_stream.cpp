#include "pipit/response_stream.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

namespace pipit {

// ---- stream_model ------------------------------------------------------------------------------

void stream_model::hold(const bin_id& id, std::uint64_t bytes) {
  if (id.kind != bin_kind::tile) return base_.hold(id, bytes);
  if (!index_ || id.csn >= index_->codestreams.size() ||
      id.id >= index_->codestreams[id.csn].tiles.size() || id.id > 0xFFFF)
    return;
  auto& v = tiles_[tile_key(id)];
  v = std::max(v, bytes + 1);
}

void stream_model::forget(const bin_id& id, std::uint64_t bytes) {
  if (id.kind != bin_kind::tile) return base_.forget(id, bytes);
  const auto it = tiles_.find(tile_key(id));
  if (it == tiles_.end()) return;
  if (bytes == 0)
    tiles_.erase(it);
  else if (it->second > bytes + 1)
    it->second = bytes + 1;
}

void stream_model::clear() {
  base_.clear();
  tiles_ = {};
}

// ---- response_stream ---------------------------------------------------------------------------

bool whole_image_window(const codestream_index& cs, const window_spec& w) {
  if (w.discard_levels != 0 || !w.comps.empty() || w.no_precinct_data) return false;
  if (w.layers != 0) {
    if (w.layers < cs.defaults.layers) return false;
    for (const auto& t : cs.tiles)
      if (w.layers < t.coding.layers) return false;
  }
  return contains(w.region, cs.siz.image_rect());
}

response_stream::response_stream(const databin_source& src, stream_model& model, stream_plan plan)
    : src_(src), model_(model), plan_(std::move(plan)), writer_(no_output_) {
  writer_.begin_response();
}

void response_stream::append_eor(std::vector<std::uint8_t>& out, eor_reason reason) {
  jpp_writer w(out);
  w.add_eor(reason);
}

void response_stream::add_body(const segment& s, std::uint64_t from, std::uint64_t to) {
  if (s.id.kind == bin_kind::precinct) return add_precinct_body(layout_at(at_), from, to);
  const bytes_view file = src_.codestream_file(static_cast<std::uint32_t>(s.id.csn));
  if (s.id.kind == bin_kind::tile) {
    const codestream_index& cs = src_.index().codestreams[s.id.csn];
    std::uint64_t pos = 0;
    for (std::uint32_t pi : cs.tiles[s.id.id].parts) {
      const tile_part& tp = cs.tile_parts[pi];
      const std::uint64_t len = tp.end - tp.sot_offset;
      const std::uint64_t a = std::max(from, pos), e = std::min(to, pos + len);
      if (a < e)
        out_->add_view(file.subspan(static_cast<std::size_t>(tp.sot_offset + (a - pos)),
                                    static_cast<std::size_t>(e - a)));
      pos += len;
      if (pos >= to) break;
    }
    return;
  }
  // Header and metadata bins live in the source.
  const std::vector<std::uint8_t>* bin = nullptr;
  if (s.id.kind == bin_kind::metadata)
    bin = &src_.metadata_bin0();
  else if (s.id.kind == bin_kind::main_header)
    bin = &src_.main_header(static_cast<std::uint32_t>(s.id.csn), plan_.jpt);
  else if (s.id.kind == bin_kind::tile_header)
    bin = &src_.tile_header(static_cast<std::uint32_t>(s.id.csn),
                            static_cast<std::uint32_t>(s.id.id));
  if (bin == nullptr) return;
  to = std::min<std::uint64_t>(to, bin->size());
  if (from < to)
    out_->add_view(bytes_view(*bin).subspan(static_cast<std::size_t>(from),
                                            static_cast<std::size_t>(to - from)));
}

void response_stream::add_precinct_body(const precinct_layout& layout, std::uint64_t from,
                                        std::uint64_t to) {
  const bytes_view file = src_.codestream_file(csn_);
  std::uint64_t pos = 0;
  for (const bin_piece& p : layout.pieces) {
    if (pos >= to) break;
    const std::uint64_t a = std::max(from, pos), e = std::min(to, pos + p.length);
    if (a < e)
      out_->add_view(file.subspan(static_cast<std::size_t>(p.file_offset + (a - pos)),
                                  static_cast<std::size_t>(e - a)));
    pos += p.length;
  }
}

void response_stream::send_whole_precinct() {
  const precinct_layout layout = layout_at(at_);
  const auto& ends = layout.layer_end;
  if (ends.empty()) {
    send(absent_precinct(id_at(at_)));
    return;
  }
  const unsigned n = wanted_layers(layout);
  if (n == 0) return;
  const bin_id id{bin_kind::precinct, csn_, id_at(at_)};
  std::uint32_t* count = model_.count_slot(id);
  const std::uint64_t to = ends[n - 1], length = ends.back();
  const std::uint64_t from = count != nullptr && *count != 0 ? *count - 1u : 0;
  // An empty bin is still announced once (a zero-length message with the completion bit).
  if (from >= to && !(length == 0 && (count == nullptr || *count == 0))) return;
  const std::uint64_t body = to > from ? to - from : 0;
  std::uint8_t head[jpp_writer::max_header_bytes];
  const std::size_t h = writer_.encode_header(0, csn_, id.id, from, body, to == length, head);
  if (body < gather_buffer::small_copy) {
    // Header and body copied at once (gather_buffer would copy a body this small anyway).
    std::uint8_t* p = out_->append_owned(h + static_cast<std::size_t>(body));
    std::memcpy(p, head, h);
    p += h;
    const std::uint8_t* file = src_.codestream_file(csn_).data();
    std::uint64_t pos = 0;
    for (const bin_piece& piece : layout.pieces) {
      if (pos >= to) break;
      const std::uint64_t a = std::max(from, pos), e = std::min(to, pos + piece.length);
      if (a < e) {
        std::memcpy(p, file + piece.file_offset + (a - pos), static_cast<std::size_t>(e - a));
        p += e - a;
      }
      pos += piece.length;
    }
  } else {
    out_->add_copy(bytes_view(head, h));
    add_precinct_body(layout, from, to);
  }
  writer_.note_written(0, csn_);
  bytes_ += h + body;
  ++messages_;
  if (count != nullptr)
    cache_model::raise(count, to);
  else
    model_.hold(id, to);
}

void response_stream::emit(const segment& s, std::uint64_t from, std::uint64_t n,
                           const std::uint8_t* head, std::size_t head_size) {
  // Owned header bytes; a small body view is copied after them by gather_buffer::add_view.
  out_->add_copy(bytes_view(head, head_size));
  writer_.note_written(s.msg_class, s.id.csn);
  bytes_ += head_size + n;
  add_body(s, from, from + n);
  ++messages_;
  model_.hold(s.id, from + n);
}

bool response_stream::send(const segment& s) {
  const std::uint64_t from = std::max(s.from, model_.held(s.id));
  // An empty bin is still announced once (a zero-length message with the completion bit).
  if (from >= s.to && !(s.length == 0 && !model_.known(s.id))) return true;
  std::uint64_t n = s.to > from ? s.to - from : 0;
  const std::uint64_t left = plan_.len - std::min(plan_.len, bytes_);
  std::uint8_t head[jpp_writer::max_header_bytes];
  auto header = [&](std::uint64_t k) {
    return writer_.encode_header(s.msg_class, s.id.csn, s.id.id, from, k, from + k == s.length,
                                 head);
  };
  std::size_t h = header(n);
  if (h + n <= left) {
    emit(s, from, n, head, h);
    return true;
  }
  if (!plan_.align) {
    // Fill the rest of the budget with a partial message when at least one body byte fits.
    for (int k = 0; k < 4 && n > 0; ++k) {
      h = header(n);
      if (h + n <= left) break;
      n = left > h ? std::min<std::uint64_t>(n - 1, left - h) : 0;
    }
    if (n > 0 && (h = header(n)) + n <= left) emit(s, from, n, head, h);
  }
  budget_out_ = true;
  return false;
}

void response_stream::enter_codestream() {
  const stream_codestream& sc = plan_.codestreams[cs_k_];
  const codestream_index& cs = src_.index().codestreams[sc.csn];
  csn_ = sc.csn;
  tiles_ = window_tiles(cs, sc.window);
  blocks_.clear();
  block_id0_.clear();
  tile_lengths_.clear();
  layer_ = max_layers_ = 0;
  k_ = part_k_ = hdr_k_ = 0;
  at_ = cursor{};
  if (plan_.jpt) {
    for (std::uint32_t t : tiles_) {
      std::uint64_t n = 0;
      for (std::uint32_t pi : cs.tiles[t].parts)
        n += cs.tile_parts[pi].end - cs.tile_parts[pi].sot_offset;
      tile_lengths_.push_back(n);
    }
    return;
  }
  if (sc.window.no_precinct_data) return;
  blocks_ = window_precinct_blocks(cs, sc.window);
  block_id0_.reserve(blocks_.size());
  const std::uint64_t nc = cs.num_components(), nt = cs.tiles.size();
  id_step_ = nc * nt;
  for (const precinct_block& b : blocks_) {
    const std::uint32_t s0 = b.slot_base - cs.tiles[b.tile].comp_slot_base(b.component);
    block_id0_.push_back(precinct_bin_id(b.tile, b.component, s0, nc, nt));
  }
  // A precinct bin holds at most its tile's layers (fewer when the file lacks some packets).
  for (std::uint32_t t : tiles_)
    max_layers_ = std::max<unsigned>(max_layers_, cs.tiles[t].coding.layers);
  if (sc.window.layers != 0) max_layers_ = std::min<unsigned>(max_layers_, sc.window.layers);
  at_ = first_precinct();
}

bool response_stream::next(std::vector<std::uint8_t>& out, std::size_t target) {
  copy_out_.clear();
  const bool more = next(copy_out_, target);
  copy_out_.append_to(out);
  copy_out_.clear();
  return more;
}

bool response_stream::window_fits_budget() const {
  if (plan_.len == std::numeric_limits<std::uint64_t>::max()) return true;
  const std::uint64_t left = plan_.len - std::min(plan_.len, bytes_);
  std::uint64_t need = 0;
  for (cursor c = first_precinct(); !past_end(c); advance(c)) {
    const precinct_layout layout = layout_at(c);
    const unsigned n = wanted_layers(layout);
    const bin_id id{bin_kind::precinct, csn_, id_at(c)};
    if (layout.layer_end.empty() && !model_.known(id)) need += jpp_writer::max_header_bytes;
    if (n == 0) continue;
    const std::uint64_t end = layout.layer_end[n - 1], held = model_.held(id);
    if (held < end)
      need += end - held + jpp_writer::max_header_bytes;
    else if (end == 0 && !model_.known(id))
      need += jpp_writer::max_header_bytes;
    if (need > left) return false;
  }
  return true;
}

bool response_stream::next(gather_buffer& out, std::size_t target) {
  if (done_) return false;
  out_ = &out;
  const std::size_t start = out.size();
  while (!budget_out_ && phase_ < 3 && out.size() - start < target) {
    if (phase_ == 0) {
      const bool jp2 = src_.index().is_jp2;  // only a JP2 family file has metadata
      if (jp2 && plan_.whole_metadata) {
        const auto n = src_.metadata_bin0().size();
        if (send(segment{8, bin_id{bin_kind::metadata, 0, 0}, 0, n, n})) phase_ = 1;
      } else if (jp2 && meta_k_ < plan_.metadata_ranges.size()) {
        const auto n = src_.metadata_bin0().size();
        const bin_range& r = plan_.metadata_ranges[meta_k_];
        if (send(segment{8, bin_id{bin_kind::metadata, 0, 0}, r.from,
                         std::min<std::uint64_t>(r.to, n), n}))
          ++meta_k_;
      } else {
        phase_ = 1;
      }
      if (phase_ == 1) {
        if (plan_.codestreams.empty())
          phase_ = 3;
        else
          enter_codestream();
      }
      continue;
    }
    const stream_codestream& sc = plan_.codestreams[cs_k_];
    const std::uint32_t csn = sc.csn;
    if (phase_ == 1) {
      if (!sc.headers || (plan_.jpt && hdr_k_ > 0) || hdr_k_ > tiles_.size()) {
        phase_ = 2;
        per_precinct_ = !plan_.jpt && window_fits_budget();
        continue;
      }
      const auto& h = hdr_k_ == 0 ? src_.main_header(csn, plan_.jpt)
                                  : src_.tile_header(csn, tiles_[hdr_k_ - 1]);
      const segment s =
          hdr_k_ == 0 ? segment{6, bin_id{bin_kind::main_header, csn, 0}, 0, h.size(), h.size()}
                      : segment{2, bin_id{bin_kind::tile_header, csn, tiles_[hdr_k_ - 1]}, 0,
                                h.size(), h.size()};
      if (send(s)) ++hdr_k_;
      continue;
    }
    // phase_ == 2: the codestream's data.
    bool finished = false;
    if (plan_.jpt) {
      if (k_ >= tiles_.size()) {
        finished = true;
      } else {
        const codestream_index& cs = src_.index().codestreams[csn];
        const auto& parts = cs.tiles[tiles_[k_]].parts;
        if (part_k_ >= parts.size()) {
          ++k_;
          part_k_ = 0;
          continue;
        }
        std::uint64_t a = 0;
        for (std::size_t i = 0; i < part_k_; ++i)
          a += cs.tile_parts[parts[i]].end - cs.tile_parts[parts[i]].sot_offset;
        const tile_part& tp = cs.tile_parts[parts[part_k_]];
        if (send(segment{4, bin_id{bin_kind::tile, csn, tiles_[k_]}, a,
                         a + (tp.end - tp.sot_offset), tile_lengths_[k_]}))
          ++part_k_;
      }
    } else if (per_precinct_) {
      if (past_end(at_)) {
        finished = true;
      } else if (plan_.len == std::numeric_limits<std::uint64_t>::max()) {
        send_whole_precinct();
        advance(at_);
      } else {
        // The window fitted when this codestream began; the general path still checks the
        // budget, since another channel of the session may have changed the model since.
        const precinct_layout layout = layout_at(at_);
        const auto& ends = layout.layer_end;
        const unsigned n = wanted_layers(layout);
        if (ends.empty() ? send(absent_precinct(id_at(at_)))
                         : n == 0 || send(segment{0, bin_id{bin_kind::precinct, csn, id_at(at_)}, 0,
                                                  ends[n - 1], ends.back()}))
          advance(at_);
      }
    } else if (layer_ >= max_layers_) {
      finished = true;
    } else if (past_end(at_)) {
      ++layer_;
      at_ = first_precinct();
    } else {
      const precinct_layout layout = layout_at(at_);
      const auto& ends = layout.layer_end;
      if (ends.empty() && layer_ == 0) {
        if (send(absent_precinct(id_at(at_)))) advance(at_);
      } else if (layer_ >= ends.size()) {
        advance(at_);
      } else {
        const std::uint64_t a = layer_ == 0 ? 0 : ends[layer_ - 1], b = ends[layer_];
        if (send(segment{0, bin_id{bin_kind::precinct, csn, id_at(at_)}, a, b, ends.back()}))
          advance(at_);
      }
    }
    if (finished) {
      if (++cs_k_ < plan_.codestreams.size()) {
        phase_ = 1;
        enter_codestream();
      } else {
        phase_ = 3;
      }
    }
  }
  out_ = nullptr;
  if (budget_out_) {
    done_ = true;
    reason_ = eor_reason::byte_limit;
  } else if (phase_ == 3) {
    done_ = true;
    // A raw codestream has no metadata: its whole image is all there is.
    bool whole = (plan_.whole_metadata || !src_.index().is_jp2) &&
                 plan_.codestreams.size() == src_.num_codestreams();
    for (const auto& sc : plan_.codestreams)
      whole =
          whole && sc.headers && whole_image_window(src_.index().codestreams[sc.csn], sc.window);
    reason_ = whole ? eor_reason::image_done : eor_reason::window_done;
  }
  return !done_;
}

}  // namespace pipit
