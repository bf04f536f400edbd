#include "pipit/error.hpp"

namespace pipit {

std::string_view errc_name(errc code) {
  switch (code) {
    case errc::truncated: return "truncated";
    case errc::corrupt: return "corrupt";
    case errc::unsupported: return "unsupported";
    case errc::invalid_argument: return "invalid argument";
    case errc::io: return "i/o error";
    case errc::limit: return "limit reached";
    case errc::not_found: return "not found";
    case errc::upstream: return "storage origin error";
  }
  return "error";
}

std::string error::to_string() const {
  std::string s(errc_name(code));
  if (offset != no_offset) {
    s += " at byte ";
    s += std::to_string(offset);
  }
  s += ": ";
  s += message;
  return s;
}

}  // namespace pipit
