// The `model` field (docs/jpip-notes.md §8.1):
//
//   model        = 1#model-item
//   model-item   = ["[" 1$sampled-range "]"] ["-"] (explicit / implicit) [qualifier]
//   explicit     = "Hm" / ("H" / "T" / "P" / "M") (UINT / "*")
//   implicit     = ["t" axis] ["c" axis] ["r" axis] ["p" axis]     (at least one, in this order)
//   axis         = UINT-RANGE / "*"
//   qualifier    = ":" UINT      (bytes; explicit bins)
//                / ":L" UINT     (layers; precinct bins, explicit or implicit)
#include <limits>
#include <string>

#include "protocol/field_value.hpp"

namespace pipit::protocol {
namespace {

constexpr std::string_view model_syntax =
    "model items like Hm, H*, M2, P0:20, P12:L3, -P5, [0-2]Hm or t0-3c0r2p*:L2";
constexpr std::uint64_t u64_max = std::numeric_limits<std::uint64_t>::max();

result<std::vector<sampled_range>> read_codestream_prefix(value_cursor& cur) {
  std::vector<sampled_range> ranges;
  do {
    PIPIT_TRY_ASSIGN(r, cur.read_sampled_range());
    ranges.push_back(r);
  } while (cur.eat(';'));
  if (!cur.eat(']')) return cur.fail("expected ';' or ']' in the codestream prefix");
  return ranges;
}

result<explicit_bins> read_explicit(value_cursor& cur) {
  explicit_bins b;
  char letter = cur.next();
  switch (letter) {
    case 'H': b.kind = bin_kind::tile_header; break;
    case 'T': b.kind = bin_kind::tile; break;
    case 'P': b.kind = bin_kind::precinct; break;
    default: b.kind = bin_kind::metadata; break;  // 'M'
  }
  if (letter == 'H' && cur.eat('m')) {
    b.kind = bin_kind::main_header;
    b.id = 0;
    return b;
  }
  if (cur.eat('*')) return b;
  if (!cur.peek_digit()) {
    return cur.fail(std::string("expected an in-class id or '*' after '") + letter + "'");
  }
  PIPIT_TRY_ASSIGN(id, cur.read_uint(u64_max));
  b.id = id;
  return b;
}

result<std::optional<uint_range>> read_axis(value_cursor& cur, char letter) {
  if (!cur.eat(letter)) return std::optional<uint_range>{};
  if (cur.eat('*')) return std::optional<uint_range>{uint_range{0, std::nullopt}};
  if (!cur.peek_digit()) {
    return cur.fail(std::string("expected a range or '*' after '") + letter + "'");
  }
  PIPIT_TRY_ASSIGN(r, cur.read_uint_range(true));
  return std::optional<uint_range>{r};
}

result<implicit_bins> read_implicit(value_cursor& cur) {
  implicit_bins b;
  PIPIT_TRY_ASSIGN(t, read_axis(cur, 't'));
  PIPIT_TRY_ASSIGN(c, read_axis(cur, 'c'));
  PIPIT_TRY_ASSIGN(r, read_axis(cur, 'r'));
  PIPIT_TRY_ASSIGN(p, read_axis(cur, 'p'));
  b.t = t;
  b.c = c;
  b.r = r;
  b.p = p;
  return b;
}

result<void> read_qualifier(value_cursor& cur, model_item& item) {
  if (!cur.eat(':')) return {};
  const auto* ex = std::get_if<explicit_bins>(&item.bins);
  bool precinct = !ex || ex->kind == bin_kind::precinct;
  if (cur.eat('L')) {
    if (!precinct) return cur.fail("a layer limit ':L<n>' applies to precinct bins only");
    item.limit_kind = model_limit_kind::layers;
  } else {
    if (!ex) return cur.fail("an implicit descriptor takes only a layer limit ':L<n>'");
    item.limit_kind = model_limit_kind::bytes;
  }
  if (!cur.peek_digit()) return cur.fail("expected a number after ':'");
  PIPIT_TRY_ASSIGN(n, cur.read_uint(u64_max));
  item.limit = n;
  return {};
}

result<model_item> read_item(value_cursor& cur) {
  model_item item;
  if (cur.eat('[')) {
    PIPIT_TRY_ASSIGN(ranges, read_codestream_prefix(cur));
    item.codestreams = std::move(ranges);
  }
  item.subtractive = cur.eat('-');
  char c = cur.peek();
  if (c == 'H' || c == 'T' || c == 'P' || c == 'M') {
    PIPIT_TRY_ASSIGN(b, read_explicit(cur));
    item.bins = b;
  } else if (c == 't' || c == 'c' || c == 'r' || c == 'p') {
    PIPIT_TRY_ASSIGN(b, read_implicit(cur));
    item.bins = b;
  } else {
    return cur.fail_expected();
  }
  PIPIT_TRY(read_qualifier(cur, item));
  return item;
}

}  // namespace

result<cache_model_spec> parse_model(value_cursor& cur) {
  cache_model_spec spec;
  do {
    PIPIT_TRY_ASSIGN(item, read_item(cur));
    spec.items.push_back(std::move(item));
  } while (cur.eat(','));
  PIPIT_TRY(cur.expect_end());
  return spec;
}

}  // namespace pipit::protocol

namespace pipit {

result<cache_model_spec> parse_cache_model(std::string_view value) {
  protocol::decoded_value v = protocol::plain_value(value);
  protocol::value_cursor cur("model", v, protocol::model_syntax);
  return protocol::parse_model(cur);
}

std::string format_cache_model(const cache_model_spec& spec) {
  std::string out;
  for (std::size_t i = 0; i < spec.items.size(); ++i) {
    const model_item& item = spec.items[i];
    if (i > 0) out += ',';
    if (item.codestreams) {
      out += '[';
      for (std::size_t k = 0; k < item.codestreams->size(); ++k) {
        if (k > 0) out += ';';
        protocol::append_sampled_range((*item.codestreams)[k], out);
      }
      out += ']';
    }
    if (item.subtractive) out += '-';
    if (const auto* ex = std::get_if<explicit_bins>(&item.bins)) {
      switch (ex->kind) {
        case bin_kind::main_header: out += "Hm"; break;
        case bin_kind::tile_header: out += 'H'; break;
        case bin_kind::tile: out += 'T'; break;
        case bin_kind::precinct: out += 'P'; break;
        case bin_kind::metadata: out += 'M'; break;
      }
      if (ex->kind != bin_kind::main_header) out += ex->id ? std::to_string(*ex->id) : "*";
    } else {
      const auto& im = std::get<implicit_bins>(item.bins);
      auto axis = [&out](char letter, const std::optional<uint_range>& r) {
        if (!r) return;
        out += letter;
        if (r->from == 0 && !r->to) {
          out += '*';
        } else {
          protocol::append_uint_range(*r, out);
        }
      };
      axis('t', im.t);
      axis('c', im.c);
      axis('r', im.r);
      axis('p', im.p);
    }
    if (item.limit_kind == model_limit_kind::bytes) out += ':' + std::to_string(item.limit);
    if (item.limit_kind == model_limit_kind::layers) out += ":L" + std::to_string(item.limit);
  }
  return out;
}

}  // namespace pipit
