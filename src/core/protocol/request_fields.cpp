// Per-field value parsers of a JPIP request (docs/jpip-notes.md §2). Structured fields with a
// grammar of their own live in model_parser.cpp and metareq_parser.cpp.
#include <array>
#include <limits>
#include <string>

#include "protocol/request_fields.hpp"

namespace pipit::protocol {
namespace {

// clang-format off
enum field : std::size_t {
  f_target, f_tid, f_cid, f_cnew, f_cclose, f_qid, f_type, f_stream, f_context, f_fsiz, f_roff,
  f_rsiz, f_comps, f_layers, f_len, f_quality, f_metareq, f_model, f_wait, f_align, f_cap,
  f_pref, f_csf, f_handled, f_srate, f_roi, f_drate, f_subtarget, f_upload, f_need, f_tpneed,
  f_tpmodel, f_mset, f_count
};
// clang-format on

static_assert(f_count <= max_known_fields);

using fs = field_status;
constexpr std::array<field_info, f_count> table{{
    {"target", fs::parsed, "a target name without control characters"},
    {"tid", fs::parsed, "a target-id of 1 to 255 printable characters"},
    {"cid", fs::parsed, "a channel-id of 1 to 255 printable characters other than ','"},
    {"cnew", fs::parsed, "a list of transport names such as http,http-tcp"},
    {"cclose", fs::parsed, "* or a list of channel-ids"},
    {"qid", fs::parsed, "an unsigned integer"},
    {"type", fs::parsed, "a list of return types such as jpp-stream,jpp-stream;ptype=ext"},
    {"stream", fs::parsed, "a list of sampled ranges such as 0,2-5:2,7-"},
    {"context", fs::parsed, "a list of context ranges such as jpxl<0-3>"},
    {"fsiz", fs::parsed, "fx,fy[,round-up|round-down|closest]"},
    {"roff", fs::parsed, "x,y"},
    {"rsiz", fs::parsed, "x,y"},
    {"comps", fs::parsed, "a list of ranges such as 0,2-3,5-"},
    {"layers", fs::parsed, "an unsigned integer"},
    {"len", fs::parsed, "an unsigned integer"},
    {"quality", fs::parsed, "an integer from 0 to 100"},
    {"metareq", fs::parsed, "[box-type[:limit][/wsga][!];...][R<bin>][D<depth>],...[!!]"},
    {"model", fs::parsed,
     "model items like Hm, H*, M2, P0:20, P12:L3, -P5, [0-2]Hm or t0-3c0r2p*:L2"},
    {"wait", fs::parsed, "yes or no"},
    {"align", fs::parsed, "yes or no"},
    {"cap", fs::recorded, "text"},
    {"pref", fs::recorded, "text"},
    {"csf", fs::recorded, "text"},
    {"handled", fs::recorded, "text"},
    {"srate", fs::recorded, "text"},
    {"roi", fs::recorded, "text"},
    {"drate", fs::recorded, "text"},
    {"subtarget", fs::unsupported, ""},
    {"upload", fs::unsupported, ""},
    {"need", fs::unsupported, ""},
    {"tpneed", fs::unsupported, ""},
    {"tpmodel", fs::unsupported, ""},
    {"mset", fs::unsupported, ""},
}};

// Reads the rest of the value as an identifier whose bytes all lie in [lo, hi] and are not
// `stop`; length 1..255.
result<std::string> read_ident(value_cursor& cur, unsigned char lo, unsigned char hi, char stop) {
  std::size_t start = cur.pos();
  while (!cur.at_end() && cur.peek() != stop) {
    auto c = static_cast<unsigned char>(cur.peek());
    if (c < lo || c > hi) return cur.fail_expected();
    cur.next();
  }
  std::size_t n = cur.pos() - start;
  if (n == 0 || n > 255) return cur.fail_at(start, "expected 1 to 255 characters");
  return std::string(cur.text().substr(start, n));
}

// Any non-empty text without control characters (bytes >= 0x80 pass: UTF-8 names).
result<std::string> read_target(value_cursor& cur) {
  if (cur.at_end()) return cur.fail_expected();
  while (!cur.at_end()) {
    auto c = static_cast<unsigned char>(cur.peek());
    if (c < 0x20 || c == 0x7F) return cur.fail("control character in the target name");
    cur.next();
  }
  return std::string(cur.text());
}

bool token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '+' || c == '/' || c == '=';
}

// 1*token_char, not including '=' unless allow_eq.
result<std::string> read_token(value_cursor& cur, bool allow_eq) {
  std::size_t start = cur.pos();
  while (!cur.at_end() && token_char(cur.peek()) && (allow_eq || cur.peek() != '=')) cur.next();
  if (cur.pos() == start) return cur.fail_expected();
  return std::string(cur.text().substr(start, cur.pos() - start));
}

result<point> read_point(value_cursor& cur) {
  point p;
  PIPIT_TRY_ASSIGN(x, cur.read_u32());
  if (!cur.eat(',')) return cur.fail_expected();
  PIPIT_TRY_ASSIGN(y, cur.read_u32());
  PIPIT_TRY(cur.expect_end());
  p.x = x;
  p.y = y;
  return p;
}

result<frame_size> read_fsiz(value_cursor& cur) {
  frame_size f;
  PIPIT_TRY_ASSIGN(fx, cur.read_u32());
  if (!cur.eat(',')) return cur.fail_expected();
  PIPIT_TRY_ASSIGN(fy, cur.read_u32());
  f.fx = fx;
  f.fy = fy;
  if (cur.eat(',')) {
    if (cur.eat("round-down")) {
      f.round = round_direction::round_down;
    } else if (cur.eat("round-up")) {
      f.round = round_direction::round_up;
    } else if (cur.eat("closest")) {
      f.round = round_direction::closest;
    } else {
      return cur.fail_expected();
    }
  }
  PIPIT_TRY(cur.expect_end());
  return f;
}

result<return_types> read_types(value_cursor& cur) {
  return_types types;
  do {
    return_type t;
    PIPIT_TRY_ASSIGN(name, read_token(cur, false));
    t.name = std::move(name);
    if (cur.eat(';')) {
      std::size_t at = cur.pos();
      while (!cur.at_end() && (token_char(cur.peek()) || cur.peek() == ';')) cur.next();
      t.params = std::string(cur.text().substr(at, cur.pos() - at));
      if (t.params.empty()) return cur.fail_expected();
      if ((t.name == "jpp-stream" && t.params != "ptype=ext") ||
          (t.name == "jpt-stream" && t.params != "ttype=ext") || t.name == "raw") {
        return cur.fail_at(at, "unknown parameter for " + t.name);
      }
    }
    types.items.push_back(std::move(t));
  } while (cur.eat(','));
  PIPIT_TRY(cur.expect_end());
  return types;
}

// context: top-level items split at ',' outside <> and []; jpxl<...> ranges are parsed.
result<context_spec> read_context(value_cursor& cur) {
  context_spec ctx;
  ctx.raw = std::string(cur.text());
  do {
    std::size_t start = cur.pos();
    while ((cur.peek() >= 'a' && cur.peek() <= 'z') || (cur.pos() > start && cur.peek_digit())) {
      cur.next();
    }
    std::string_view kind = cur.text().substr(start, cur.pos() - start);
    if (kind.empty() || !cur.eat('<')) return cur.fail_expected();
    if (kind == "jpxl") {
      do {
        PIPIT_TRY_ASSIGN(r, cur.read_sampled_range());
        ctx.jpx_layers.push_back(r);
      } while (cur.eat(','));
      if (!cur.eat('>')) return cur.fail("expected ',' or '>' in jpxl<...>");
    } else {
      while (!cur.at_end() && cur.peek() != '>') cur.next();
      if (!cur.eat('>')) return cur.fail("missing '>'");
    }
    if (cur.eat('[')) {
      while (!cur.at_end() && cur.peek() != ']') cur.next();
      if (!cur.eat(']')) return cur.fail("missing ']'");
    }
  } while (cur.eat(','));
  PIPIT_TRY(cur.expect_end());
  return ctx;
}

result<bool> read_yes_no(value_cursor& cur) {
  bool v = false;
  if (cur.eat("yes")) {
    v = true;
  } else if (!cur.eat("no")) {
    return cur.fail_expected();
  }
  PIPIT_TRY(cur.expect_end());
  return v;
}

template <class T, class F>
result<std::vector<T>> read_list(value_cursor& cur, F read_one) {
  std::vector<T> out;
  do {
    PIPIT_TRY_ASSIGN(v, read_one());
    out.push_back(std::move(v));
  } while (cur.eat(','));
  PIPIT_TRY(cur.expect_end());
  return out;
}

result<std::uint64_t> read_whole_uint(value_cursor& cur, std::uint64_t max) {
  PIPIT_TRY_ASSIGN(v, cur.read_uint(max));
  PIPIT_TRY(cur.expect_end());
  return v;
}

template <class T, class R>
result<void> store(std::optional<T>& slot, R&& parsed) {
  if (!parsed) return fail(std::move(parsed.error()));
  slot = static_cast<T>(std::move(*parsed));
  return {};
}

}  // namespace

std::span<const field_info> known_fields() { return table; }

std::optional<std::size_t> find_field(std::string_view name) {
  for (std::size_t i = 0; i < table.size(); ++i) {
    if (table[i].name == name) return i;
  }
  return std::nullopt;
}

result<void> parse_field_value(std::size_t f, value_cursor& cur, jpip_request& r) {
  constexpr std::uint64_t u64_max = std::numeric_limits<std::uint64_t>::max();
  constexpr std::uint64_t u32_max = std::numeric_limits<std::uint32_t>::max();
  switch (f) {
    case f_target: return store(r.target, read_target(cur));
    case f_tid: {
      PIPIT_TRY_ASSIGN(tid, read_ident(cur, 0x20, 0x7E, '\0'));
      PIPIT_TRY(cur.expect_end());
      r.tid = std::move(tid);
      return {};
    }
    case f_cid: {
      PIPIT_TRY_ASSIGN(cid, read_ident(cur, 0x21, 0x7E, ','));
      PIPIT_TRY(cur.expect_end());
      r.cid = std::move(cid);
      return {};
    }
    case f_cnew: {
      PIPIT_TRY_ASSIGN(names, read_list<std::string>(cur, [&] { return read_token(cur, false); }));
      r.cnew = channel_new{std::move(names)};
      return {};
    }
    case f_cclose: {
      if (cur.text() == "*") {
        r.cclose = channel_close{true, {}};
        return {};
      }
      PIPIT_TRY_ASSIGN(ids, read_list<std::string>(cur, [&]() -> result<std::string> {
                         if (cur.peek_is('*')) return cur.fail("'*' must stand alone");
                         return read_ident(cur, 0x21, 0x7E, ',');
                       }));
      r.cclose = channel_close{false, std::move(ids)};
      return {};
    }
    case f_qid: return store(r.qid, read_whole_uint(cur, u64_max));
    case f_type: return store(r.type, read_types(cur));
    case f_stream:
      return store(r.stream,
                   read_list<sampled_range>(cur, [&] { return cur.read_sampled_range(); }));
    case f_context: return store(r.context, read_context(cur));
    case f_fsiz: return store(r.fsiz, read_fsiz(cur));
    case f_roff: return store(r.roff, read_point(cur));
    case f_rsiz: return store(r.rsiz, read_point(cur));
    case f_comps:
      return store(r.comps, read_list<uint_range>(cur, [&] { return cur.read_uint_range(true); }));
    case f_layers: return store(r.layers, read_whole_uint(cur, u32_max));
    case f_len: return store(r.len, read_whole_uint(cur, u64_max));
    case f_quality: return store(r.quality, read_whole_uint(cur, 100));
    case f_metareq: return store(r.metareq, parse_metareq(cur));
    case f_model: return store(r.model, parse_model(cur));
    case f_wait: return store(r.wait, read_yes_no(cur));
    case f_align: return store(r.align, read_yes_no(cur));
    case f_cap: r.cap = std::string(cur.text()); return {};
    case f_pref: r.pref = std::string(cur.text()); return {};
    case f_csf: r.csf = std::string(cur.text()); return {};
    case f_handled: r.handled = std::string(cur.text()); return {};
    case f_srate: r.srate = std::string(cur.text()); return {};
    case f_roi: r.roi = std::string(cur.text()); return {};
    case f_drate: r.drate = std::string(cur.text()); return {};
    default: return cur.fail("internal: field has no parser");
  }
}

}  // namespace pipit::protocol
