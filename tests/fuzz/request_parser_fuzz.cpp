// libFuzzer target: parse_request() on arbitrary bytes must return a value or an error, never
// crash; every request it accepts must survive format_request() -> parse_request() unchanged, and
// the canonical form must be a fixed point.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "pipit/request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view query(reinterpret_cast<const char*>(data), size);
  auto parsed = pipit::parse_request(query);
  if (!parsed) {
    const pipit::error& e = parsed.error();
    if (e.code != pipit::errc::invalid_argument && e.code != pipit::errc::unsupported) std::abort();
    if (e.offset > size || e.message.empty()) std::abort();
    return 0;
  }
  std::string canonical = pipit::format_request(*parsed);
  auto again = pipit::parse_request(canonical);
  if (!again || !(*again == *parsed)) std::abort();
  if (pipit::format_request(*again) != canonical) std::abort();
  return 0;
}
