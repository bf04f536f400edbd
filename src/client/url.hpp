// JPIP URLs: jpip://[user:password@]host[:port]/path is http, jpips:// is https (http:// and
// https:// pass). The credentials are kept apart: origin(), base() and cache_key() never hold
// them, so they appear in no request line, error message or cache file name.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "pipit/error.hpp"

namespace pipit::client {

struct jpip_url {
  bool tls = false;
  std::string host;           // as written (an IPv6 literal keeps its brackets)
  std::uint16_t port = 0;     // 0: the scheme's default
  std::string path;           // starts with '/'; percent-encoding kept as written
  std::string query;          // after '?', without it; may be empty
  std::string user_password;  // "user:password", percent-decoded; empty when the URL has none

  // "http://host:port" (no path).
  std::string origin() const;
  // origin() + path.
  std::string base() const;
  // A stable key for the persistent cache file name.
  std::string cache_key() const;
};

// Errors: errc::invalid_argument for an unknown scheme, an empty host, a bad port or a bad
// percent-escape in the user information.
result<jpip_url> parse_url(std::string_view url);

// The path of a JPIP-cnew `path` value as a URL path ("jpip" -> "/jpip").
std::string absolute_path(std::string_view path);

}  // namespace pipit::client
