#include "marker_walk.hpp"

#include <string>

namespace pipit::detail {

result<std::uint16_t> walk_header(byte_reader& r, std::uint16_t stop1, std::uint16_t stop2,
                                  const char* where, std::vector<marker_segment>& out) {
  char buf[8];
  while (true) {
    const std::uint64_t at = r.abs_pos();
    PIPIT_TRY_ASSIGN(code, r.u16(where));
    if (code == stop1 || code == stop2) return code;
    if ((code >> 8) != 0xFF || code < 0xFF30)
      return fail(
          errc::corrupt, at,
          std::string(where) + ": expected a marker, found bytes " + marker_name(code, buf));
    switch (code) {
      case SOC:
      case SOT:
      case SOD:
      case EOC:
      case SIZ:
      case SOP:
      case EPH:
        return fail(errc::corrupt, at,
                    std::string(where) + ": unexpected " + marker_name(code, buf) + " marker");
      default: break;
    }
    marker_segment m{code, at, 0};
    if (marker_has_segment(code)) {
      PIPIT_TRY_ASSIGN(len, r.u16(where));
      if (len < 2)
        return fail(errc::corrupt, at + 2,
                    std::string(where) + ": " + marker_name(code, buf) + " segment length " +
                        std::to_string(len) + " is below 2");
      if (r.remaining() < len - 2u)
        return fail(errc::truncated, at,
                    std::string(where) + ": " + marker_name(code, buf) + " segment of " +
                        std::to_string(len) + " bytes runs past the end of the data");
      PIPIT_TRY(r.skip(len - 2u, where));
      m.length = len;
    }
    out.push_back(m);
  }
}

result<void> read_packet_lengths(bytes_view data, std::uint64_t offset,
                                 std::vector<std::uint32_t>& out) {
  std::uint64_t v = 0;
  unsigned n = 0;
  for (std::size_t i = 0; i < data.size(); ++i) {
    v = (v << 7) | (data[i] & 0x7Fu);
    if (++n > 5 || v > 0xFFFFFFFFu)
      return fail(errc::corrupt, offset + i, "packet length field above 32 bits");
    if (!(data[i] & 0x80)) {
      out.push_back(static_cast<std::uint32_t>(v));
      v = 0;
      n = 0;
    }
  }
  if (n != 0)
    return fail(errc::corrupt, offset + data.size(),
                "packet length field cut at the end of its marker segment");
  return {};
}

}  // namespace pipit::detail
