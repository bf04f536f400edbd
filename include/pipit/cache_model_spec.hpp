// Cache-model statements of a JPIP request (the `model` field, ISO/IEC 15444-9 C.8,
// docs/jpip-notes.md §8.1) and the numeric range types that several request fields share
// (UINT-RANGE, sampled-range).
//
// A cache_model_spec is the parsed text of a `model=` value: an ordered list of items, each
// naming data-bins the client holds (additive) or has dropped (subtractive, `-`), either
// explicitly by class and in-class id (`Hm`, `H3`, `P*`, `M2:20`, `P12:L3`) or implicitly by
// tile/component/resolution/precinct ranges (`t0-3c0r2p*:L2`). A `[codestream-ranges]` prefix
// is kept on the item it was written before; as in esajpip and Kakadu it applies to that item and
// to every following item up to the next prefix (callers walk the list carrying it forward).
// This is syntax only: it knows nothing of the image, so ids are not checked against it.
//
// Thread-safety: plain values; the functions are pure and may be called from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "pipit/databin_id.hpp"
#include "pipit/error.hpp"

namespace pipit {

// UINT-RANGE = UINT ["-" [UINT]].  "5" is the one-element range 5-5; "5-" is open above.
struct uint_range {
  std::uint32_t from = 0;
  std::optional<std::uint32_t> to;  // inclusive upper bound; nullopt = no upper bound

  bool contains(std::uint32_t v) const { return v >= from && (!to || v <= *to); }
  friend bool operator==(const uint_range&, const uint_range&) = default;
};

// sampled-range = UINT-RANGE [":" sampling-factor]: from, from+step, from+2*step, ... <= to.
struct sampled_range {
  std::uint32_t from = 0;
  std::optional<std::uint32_t> to;  // inclusive upper bound; nullopt = no upper bound
  std::uint32_t step = 1;           // sampling factor, >= 1

  bool contains(std::uint32_t v) const {
    return v >= from && (!to || v <= *to) && (v - from) % step == 0;
  }
  friend bool operator==(const sampled_range&, const sampled_range&) = default;
};

// Explicit bin descriptor: "Hm" (main_header, id 0), "H<n>"/"H*" (tile_header), "T<n>"/"T*"
// (tile), "P<n>"/"P*" (precinct, n = in-class id I), "M<n>"/"M*" (metadata).
struct explicit_bins {
  bin_kind kind = bin_kind::precinct;
  std::optional<std::uint64_t> id;  // in-class id; nullopt = "*" (all); 0 for main_header

  friend bool operator==(const explicit_bins&, const explicit_bins&) = default;
};

// Implicit precinct descriptor "t<range>c<range>r<range>p<range>": each axis is optional (at
// least one is present) and "*" is stored as the open range 0-.
struct implicit_bins {
  std::optional<uint_range> t;  // tile indices
  std::optional<uint_range> c;  // component indices
  std::optional<uint_range> r;  // resolution levels
  std::optional<uint_range> p;  // precinct indices within each tile-component-resolution

  friend bool operator==(const implicit_bins&, const implicit_bins&) = default;
};

enum class model_limit_kind : std::uint8_t {
  whole,   // no qualifier: the whole bin
  bytes,   // ":<n>": the first n bytes
  layers,  // ":L<n>": the first n layers (packets); precinct bins only
};

struct model_item {
  std::optional<std::vector<sampled_range>> codestreams;  // "[a-b;c]" written before this item
  bool subtractive = false;                               // "-": the client no longer holds it
  std::variant<explicit_bins, implicit_bins> bins;
  model_limit_kind limit_kind = model_limit_kind::whole;
  std::uint64_t limit = 0;  // bytes or layers, per limit_kind; 0 when whole

  friend bool operator==(const model_item&, const model_item&) = default;
};

struct cache_model_spec {
  std::vector<model_item> items;  // never empty after a successful parse

  friend bool operator==(const cache_model_spec&, const cache_model_spec&) = default;
};

// Parses an already percent-decoded `model` value ("Hm,H*,M2,P0:20"). Errors (kind
// invalid_argument) carry the byte offset in `value`.
result<cache_model_spec> parse_cache_model(std::string_view value);

// The canonical text of a model value, not percent-encoded ("[0-2]Hm,P3:L2,t*c0").
// REQUIRES: spec.items is non-empty; implicit items have at least one axis; no empty
// codestream prefix.
std::string format_cache_model(const cache_model_spec& spec);

}  // namespace pipit
