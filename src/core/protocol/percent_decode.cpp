// Percent-decoding (RFC 3986 §2.1) of request values, keeping a map back to query offsets, and
// the matching encoder used by format_request().
#include <string>
#include <string_view>

#include "protocol/field_value.hpp"

namespace pipit::protocol {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Unreserved characters, the JPIP syntax characters (safe in a query), and '=' (legal in a query
// value, and kept for naive servers: "type=jpp-stream;ptype=ext").
bool keep_literal(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return c != 0 &&
         std::string_view("-._~,:;*/!=").find(static_cast<char>(c)) != std::string_view::npos;
}

}  // namespace

result<decoded_value> percent_decode(std::string_view field, std::string_view raw,
                                     std::uint64_t base) {
  decoded_value out;
  out.text.reserve(raw.size());
  out.raw_offset.reserve(raw.size() + 1);
  for (std::size_t i = 0; i < raw.size();) {
    if (raw[i] != '%') {
      out.text.push_back(raw[i]);
      out.raw_offset.push_back(base + i);
      ++i;
      continue;
    }
    int hi = i + 1 < raw.size() ? hex_value(raw[i + 1]) : -1;
    int lo = i + 2 < raw.size() ? hex_value(raw[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      std::string bad(raw.substr(i, 3));
      return fail(errc::invalid_argument, base + i,
                  std::string(field) + ": bad percent escape \"" + bad +
                      "\" (expected % and two hex digits)");
    }
    out.text.push_back(static_cast<char>(hi * 16 + lo));
    out.raw_offset.push_back(base + i);
    i += 3;
  }
  out.raw_offset.push_back(base + raw.size());
  return out;
}

decoded_value plain_value(std::string_view text) {
  decoded_value out;
  out.text = std::string(text);
  out.raw_offset.reserve(text.size() + 1);
  for (std::size_t i = 0; i <= text.size(); ++i) out.raw_offset.push_back(i);
  return out;
}

void percent_encode(std::string_view text, std::string& out) {
  static constexpr char digits[] = "0123456789ABCDEF";
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (keep_literal(c)) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 15]);
    }
  }
}

}  // namespace pipit::protocol
