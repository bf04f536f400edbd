// value_cursor: reading numbers and ranges out of a decoded request value, with errors that name
// the field, show the value and point at the offending byte of the query string.
#include <limits>
#include <string>

#include "protocol/field_value.hpp"

namespace pipit::protocol {
namespace {

constexpr std::size_t max_quoted = 80;

// The value as shown in an error message: quoted, non-printable bytes as \xNN, long values cut.
std::string quoted(std::string_view text) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < max_quoted; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\') {
      out += "\\x";
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 15]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (text.size() > max_quoted) out += "...";
  out += '"';
  return out;
}

}  // namespace

bool value_cursor::eat(char c) {
  if (!peek_is(c)) return false;
  ++pos_;
  return true;
}

bool value_cursor::eat(std::string_view s) {
  if (value_.text.compare(pos_, s.size(), s) != 0) return false;
  pos_ += s.size();
  return true;
}

std::uint64_t value_cursor::offset_at(std::size_t pos) const {
  return pos < value_.raw_offset.size() ? value_.raw_offset[pos] : value_.raw_offset.back();
}

tl::unexpected<error> value_cursor::fail_expected() const {
  return fail(std::string("expected ") + std::string(expected_));
}

tl::unexpected<error> value_cursor::fail(std::string_view what) const {
  return fail_at(pos_, what);
}

tl::unexpected<error> value_cursor::fail_at(std::size_t pos, std::string_view what) const {
  std::string msg(field_);
  msg += ": ";
  msg += what;
  msg += ", got ";
  msg += quoted(value_.text);
  return pipit::fail(errc::invalid_argument, offset_at(pos), std::move(msg));
}

result<std::uint64_t> value_cursor::read_uint(std::uint64_t max) {
  if (!peek_digit()) return fail_expected();
  std::size_t start = pos_;
  std::uint64_t v = 0;
  bool overflow = false;
  while (peek_digit()) {
    auto digit = static_cast<std::uint64_t>(next() - '0');
    if (v > (max - digit) / 10) overflow = true;
    if (!overflow) v = v * 10 + digit;
  }
  if (overflow) {
    std::string num(value_.text.substr(start, pos_ - start));
    return fail_at(start, "number " + num + " is out of range (max " + std::to_string(max) + ")");
  }
  return v;
}

result<std::uint32_t> value_cursor::read_u32() {
  PIPIT_TRY_ASSIGN(v, read_uint(std::numeric_limits<std::uint32_t>::max()));
  return static_cast<std::uint32_t>(v);
}

result<uint_range> value_cursor::read_uint_range(bool allow_open) {
  uint_range r;
  std::size_t start = pos_;
  PIPIT_TRY_ASSIGN(from, read_u32());
  r.from = from;
  if (!eat('-')) {
    r.to = from;
    return r;
  }
  if (!peek_digit()) {
    if (!allow_open) return fail_expected();
    return r;  // "L-": open upper bound
  }
  PIPIT_TRY_ASSIGN(to, read_u32());
  if (to < from) {
    return fail_at(start, "range " + std::to_string(from) + "-" + std::to_string(to) +
                              " has its upper bound below its lower bound");
  }
  r.to = to;
  return r;
}

result<sampled_range> value_cursor::read_sampled_range() {
  PIPIT_TRY_ASSIGN(range, read_uint_range(true));
  sampled_range s{range.from, range.to, 1};
  if (eat(':')) {
    std::size_t at = pos_;
    PIPIT_TRY_ASSIGN(step, read_u32());
    if (step == 0) return fail_at(at, "sampling factor must be at least 1");
    s.step = step;
  }
  return s;
}

result<void> value_cursor::expect_end() const {
  if (!at_end()) return fail_expected();
  return {};
}

void append_uint_range(const uint_range& r, std::string& out) {
  out += std::to_string(r.from);
  if (!r.to) {
    out += '-';
  } else if (*r.to != r.from) {
    out += '-';
    out += std::to_string(*r.to);
  }
}

void append_sampled_range(const sampled_range& r, std::string& out) {
  append_uint_range(uint_range{r.from, r.to}, out);
  if (r.step != 1) {
    out += ':';
    out += std::to_string(r.step);
  }
}

}  // namespace pipit::protocol
