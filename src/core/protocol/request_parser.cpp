// parse_request(): splits a query string into fields, checks names (unknown, unsupported,
// repeated), percent-decodes each value and hands it to its field parser, then checks the rules
// that span fields (roff/rsiz need fsiz).
#include <array>
#include <string>

#include "pipit/request.hpp"
#include "protocol/field_value.hpp"
#include "protocol/request_fields.hpp"

namespace pipit {
namespace {

constexpr std::uint64_t unseen = no_offset;

}  // namespace

result<jpip_request> parse_request(std::string_view query) {
  jpip_request r;
  auto fields = protocol::known_fields();
  // The query offset of each known field's first occurrence.
  std::array<std::uint64_t, protocol::max_known_fields> seen;
  seen.fill(unseen);
  if (query.empty()) return r;

  std::size_t pos = 0;
  while (true) {
    std::size_t end = query.find('&', pos);
    if (end == std::string_view::npos) end = query.size();
    std::string_view item = query.substr(pos, end - pos);
    if (item.empty()) {
      return fail(errc::invalid_argument, pos,
                  "empty field (a stray '&' at the start, the end or doubled)");
    }
    std::size_t eq = item.find('=');
    std::string_view name = item.substr(0, eq);
    if (name.empty()) return fail(errc::invalid_argument, pos, "empty field name before '='");
    std::string shown(name.substr(0, 40));
    auto field = protocol::find_field(name);
    if (!field) return fail(errc::invalid_argument, pos, shown + ": unknown field");
    const protocol::field_info& info = fields[*field];
    if (info.status == protocol::field_status::unsupported) {
      return fail(errc::unsupported, pos, shown + ": field not supported by this server");
    }
    if (seen[*field] != unseen) {
      return fail(errc::invalid_argument, pos,
                  shown + ": repeated field (first at byte " + std::to_string(seen[*field]) + ")");
    }
    seen[*field] = pos;
    if (eq == std::string_view::npos) {
      return fail(errc::invalid_argument, pos + item.size(),
                  shown + ": missing '=' and value (expected " + std::string(info.syntax) + ")");
    }
    PIPIT_TRY_ASSIGN(value, protocol::percent_decode(name, item.substr(eq + 1), pos + eq + 1));
    protocol::value_cursor cur(name, value, info.syntax);
    PIPIT_TRY(protocol::parse_field_value(*field, cur, r));
    if (end == query.size()) break;
    pos = end + 1;
  }

  auto needs_fsiz = [&](std::string_view name, bool present) -> result<void> {
    if (!present || r.fsiz) return {};
    auto f = protocol::find_field(name);
    return fail(errc::invalid_argument, seen[*f],
                std::string(name) + ": only valid together with fsiz");
  };
  PIPIT_TRY(needs_fsiz("roff", r.roff.has_value()));
  PIPIT_TRY(needs_fsiz("rsiz", r.rsiz.has_value()));
  return r;
}

}  // namespace pipit
