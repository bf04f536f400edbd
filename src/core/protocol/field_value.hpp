// Private helpers of the request parser: percent-decoding with an offset map back into the query
// string, and a cursor over a decoded field value that builds uniform error messages
// ("fsiz: expected fx,fy[,round-down|round-up|closest], got \"12,a\"").
//
// Thread-safety: plain values; a cursor is used by one thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pipit/cache_model_spec.hpp"
#include "pipit/error.hpp"
#include "pipit/request.hpp"

namespace pipit::protocol {

// A decoded value; raw_offset[i] is the query offset of the escape or byte that produced text[i],
// and raw_offset[text.size()] the offset just past the raw value.
struct decoded_value {
  std::string text;
  std::vector<std::uint64_t> raw_offset;
};

// Decodes %XX escapes of `raw`, which starts at byte `base` of the query. '+' stays '+'.
result<decoded_value> percent_decode(std::string_view field, std::string_view raw,
                                     std::uint64_t base);

// The identity mapping, for values that were never encoded (public parse_cache_model).
decoded_value plain_value(std::string_view text);

// Appends `text` to `out`, escaping everything except unreserved characters and ",:;*/!=".
void percent_encode(std::string_view text, std::string& out);

class value_cursor {
 public:
  // `expected` describes the whole value's syntax, for fail_expected().
  value_cursor(std::string_view field, const decoded_value& value, std::string_view expected)
      : field_(field), value_(value), expected_(expected) {}

  bool at_end() const { return pos_ >= value_.text.size(); }
  char peek() const { return at_end() ? '\0' : value_.text[pos_]; }
  bool peek_is(char c) const { return !at_end() && value_.text[pos_] == c; }
  bool peek_digit() const { return !at_end() && peek() >= '0' && peek() <= '9'; }
  bool eat(char c);
  bool eat(std::string_view s);
  char next() { return value_.text[pos_++]; }  // REQUIRES: !at_end()
  std::size_t pos() const { return pos_; }
  void seek(std::size_t pos) { pos_ = pos; }
  std::string_view text() const { return value_.text; }
  std::string_view field() const { return field_; }

  // "<field>: expected <expected>, got \"<value>\"" at the current position.
  tl::unexpected<error> fail_expected() const;
  // "<field>: <what>, got \"<value>\"" at the current position.
  tl::unexpected<error> fail(std::string_view what) const;
  // As fail(), at decoded position `pos`.
  tl::unexpected<error> fail_at(std::size_t pos, std::string_view what) const;

  // One or more decimal digits with value <= max; an out-of-range number is an error naming it.
  result<std::uint64_t> read_uint(std::uint64_t max);
  result<std::uint32_t> read_u32();
  // UINT-RANGE; the open form "L-" only when allow_open. "*" is not accepted here.
  result<uint_range> read_uint_range(bool allow_open);
  // sampled-range = UINT-RANGE [":" UINT], factor >= 1.
  result<sampled_range> read_sampled_range();
  // Requires the whole value to have been consumed.
  result<void> expect_end() const;

 private:
  std::uint64_t offset_at(std::size_t pos) const;

  std::string_view field_;
  const decoded_value& value_;
  std::string_view expected_;
  std::size_t pos_ = 0;
};

// Shared by request_format.cpp and the model formatter.
void append_uint_range(const uint_range& r, std::string& out);
void append_sampled_range(const sampled_range& r, std::string& out);

// Parses a model value through a cursor (errors mapped to query offsets).
result<cache_model_spec> parse_model(value_cursor& cur);
// Parses a metareq value (docs/jpip-notes.md §2.4) through a cursor.
result<metadata_request> parse_metareq(value_cursor& cur);
// Appends the canonical, not yet percent-encoded text of a metareq value.
void append_metareq(const metadata_request& m, std::string& out);

}  // namespace pipit::protocol
