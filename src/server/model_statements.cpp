#include "server/model_statements.hpp"

#include <algorithm>
#include <span>

namespace pipit::server {
namespace {

struct applier {
  const databin_source& src;
  stream_model& model;
  bool jpt = false;
  const model_item* item = nullptr;

  // Records the item's statement for a bin of `length` bytes, `layer_end` for precincts.
  void apply(const bin_id& id, std::uint64_t length,
             const std::span<const std::uint64_t>* layer_end) {
    std::uint64_t bytes = length;
    if (item->limit_kind == model_limit_kind::bytes) {
      bytes = std::min<std::uint64_t>(item->limit, length);
    } else if (item->limit_kind == model_limit_kind::layers) {
      if (!layer_end) return;
      const std::uint64_t l = std::min<std::uint64_t>(item->limit, layer_end->size());
      bytes = l == 0 ? 0 : (*layer_end)[static_cast<std::size_t>(l - 1)];
    }
    if (item->subtractive) {
      // "The client holds at most `bytes`" (none for a whole-bin subtraction).
      model.forget(id, item->limit_kind == model_limit_kind::whole ? 0 : bytes);
    } else if (bytes > 0 || length == 0) {
      model.hold(id, bytes);  // an empty bin held whole is known to the client
    }
  }

  void precinct(std::uint32_t csn, std::uint32_t tile, std::uint32_t slot) {
    const precinct_layout pl = src.precinct(csn, tile, slot);
    apply(bin_id{bin_kind::precinct, csn, src.precinct_id(csn, tile, slot)}, pl.length(),
          &pl.layer_end);
  }

  std::uint64_t tile_length(const codestream_index& cs, std::uint32_t t) const {
    std::uint64_t n = 0;
    for (std::uint32_t pi : cs.tiles[t].parts)
      n += cs.tile_parts[pi].end - cs.tile_parts[pi].sot_offset;
    return n;
  }

  void explicit_item(const explicit_bins& e, std::uint32_t csn) {
    const codestream_index& cs = src.index().codestreams[csn];
    const auto nt = static_cast<std::uint32_t>(cs.tiles.size());
    switch (e.kind) {
      case bin_kind::main_header:
        apply(bin_id{bin_kind::main_header, csn, 0}, src.main_header(csn, jpt).size(), nullptr);
        return;
      case bin_kind::tile_header:
        for (std::uint32_t t = 0; t < nt; ++t)
          if (!e.id || *e.id == t)
            apply(bin_id{bin_kind::tile_header, csn, t}, src.tile_header(csn, t).size(), nullptr);
        return;
      case bin_kind::tile:
        for (std::uint32_t t = 0; t < nt; ++t)
          if (!e.id || *e.id == t)
            apply(bin_id{bin_kind::tile, csn, t}, tile_length(cs, t), nullptr);
        return;
      case bin_kind::precinct:
        if (e.id) {
          std::uint32_t t = 0, s = 0;
          if (src.precinct_slot(csn, *e.id, t, s)) precinct(csn, t, s);
        } else {
          for (std::uint32_t t = 0; t < nt; ++t)
            for (std::uint32_t s = 0; s < cs.tiles[t].num_slots; ++s) precinct(csn, t, s);
        }
        return;
      case bin_kind::metadata:
        if (!e.id || *e.id == 0)
          apply(bin_id{bin_kind::metadata, 0, 0}, src.metadata_bin0().size(), nullptr);
        return;
    }
  }

  void implicit_item(const implicit_bins& b, std::uint32_t csn) {
    const codestream_index& cs = src.index().codestreams[csn];
    auto in = [](const std::optional<uint_range>& r, std::uint64_t v) {
      return !r || r->contains(static_cast<std::uint32_t>(v));
    };
    for (std::uint32_t t = 0; t < cs.tiles.size(); ++t) {
      if (!in(b.t, t)) continue;
      const tile_entry& te = cs.tiles[t];
      for (std::uint32_t c = 0; c < cs.num_components(); ++c) {
        if (!in(b.c, c)) continue;
        const unsigned levels = te.coding.components[c].levels;
        for (unsigned r = 0; r <= levels; ++r) {
          if (!in(b.r, r)) continue;
          const auto n = te.res(c, r).grid.count();
          for (std::uint64_t p = 0; p < n; ++p)
            if (in(b.p, p)) precinct(csn, t, te.slot(c, r, static_cast<std::uint32_t>(p)));
        }
      }
    }
  }
};

}  // namespace

result<void> apply_model(const cache_model_spec& spec, const databin_source& src,
                         const std::vector<std::uint32_t>& default_csn, stream_model& model,
                         bool jpt) {
  applier a{src, model, jpt};
  const std::vector<sampled_range>* prefix = nullptr;
  for (const model_item& item : spec.items) {
    if (item.codestreams) prefix = &*item.codestreams;
    if (item.limit_kind == model_limit_kind::layers) {
      const bool precinct_item = std::holds_alternative<implicit_bins>(item.bins) ||
                                 std::get<explicit_bins>(item.bins).kind == bin_kind::precinct;
      if (!precinct_item)
        return fail(errc::invalid_argument, no_offset, "model: ':L' applies to precinct bins only");
    }
    a.item = &item;
    if (const auto* e = std::get_if<explicit_bins>(&item.bins);
        e && e->kind == bin_kind::metadata) {
      a.explicit_item(*e, 0);
      continue;
    }
    std::vector<std::uint32_t> csns;
    if (prefix) {
      for (std::uint32_t c = 0; c < src.num_codestreams(); ++c)
        for (const auto& r : *prefix)
          if (r.contains(c)) {
            csns.push_back(c);
            break;
          }
    } else {
      csns = default_csn;
    }
    for (std::uint32_t csn : csns) {
      if (csn >= src.num_codestreams()) continue;
      if (const auto* e = std::get_if<explicit_bins>(&item.bins))
        a.explicit_item(*e, csn);
      else
        a.implicit_item(std::get<implicit_bins>(item.bins), csn);
    }
  }
  return {};
}

}  // namespace pipit::server
