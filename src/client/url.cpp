#include "url.hpp"

#include <charconv>
#include <cstdio>

namespace pipit::client {
namespace {

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char a = s[i];
    if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
    if (a != prefix[i]) return false;
  }
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 percent-decoding of the user information; false on a bad escape.
bool percent_decode(std::string_view in, std::string& out) {
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

}  // namespace

std::string jpip_url::origin() const {
  std::string s = tls ? "https://" : "http://";
  s += host;
  if (port != 0) {
    s += ':';
    s += std::to_string(port);
  }
  return s;
}

std::string jpip_url::base() const { return origin() + path; }

std::string jpip_url::cache_key() const {
  // FNV-1a of the origin and path, plus a readable tail of the path.
  const std::string key = origin() + path;
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : key) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  std::string tail;
  for (char c : path) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_';
    tail += ok ? c : '_';
  }
  if (tail.size() > 48) tail = tail.substr(tail.size() - 48);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return std::string(hex) + tail;
}

result<jpip_url> parse_url(std::string_view url) {
  jpip_url u;
  std::string_view rest;
  if (starts_with_ci(url, "jpip://") || starts_with_ci(url, "http://")) {
    rest = url.substr(7);
  } else if (starts_with_ci(url, "jpips://") || starts_with_ci(url, "https://")) {
    u.tls = true;
    rest = url.substr(8);
  } else {
    return fail(errc::invalid_argument, no_offset,
                "not a JPIP URL (jpip://, jpips://, http:// or https://): " + std::string(url));
  }
  const std::size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  std::string_view path_query =
      slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    if (!percent_decode(authority.substr(0, at), u.user_password))
      return fail(errc::invalid_argument, no_offset,
                  "bad percent-escape in the user name or password of a JPIP URL");
    authority = authority.substr(at + 1);
  }
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos)
      return fail(errc::invalid_argument, no_offset, "bad IPv6 host in " + std::string(url));
    u.host = std::string(authority.substr(0, close + 1));
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':')
        return fail(errc::invalid_argument, no_offset, "bad host in " + std::string(url));
      port_text = authority.substr(close + 2);
    }
  } else {
    const auto colon = authority.find(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (u.host.empty() || u.host == "[]")
    return fail(errc::invalid_argument, no_offset, "no host in " + std::string(url));
  if (!port_text.empty()) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), v);
    if (ec != std::errc() || p != port_text.data() + port_text.size() || v == 0 || v > 65535)
      return fail(errc::invalid_argument, no_offset, "bad port in " + std::string(url));
    u.port = static_cast<std::uint16_t>(v);
  }
  const auto q = path_query.find('?');
  u.path = std::string(path_query.substr(0, q));
  if (q != std::string_view::npos) u.query = std::string(path_query.substr(q + 1));
  if (u.path.empty()) u.path = "/";
  return u;
}

std::string absolute_path(std::string_view path) {
  if (!path.empty() && path.front() == '/') return std::string(path);
  std::string out(1, '/');
  out += path;
  return out;
}

}  // namespace pipit::client
