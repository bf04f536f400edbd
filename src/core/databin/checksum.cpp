// CRC-32C, table-driven, one byte at a time (fast enough for cache files: no inner-loop branches).
#include "databin/checksum.hpp"

#include <array>

namespace pipit::detail {
namespace {

constexpr std::uint32_t castagnoli_reflected = 0x82F63B78u;

constexpr std::array<std::uint32_t, 256> make_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ castagnoli_reflected : c >> 1;
    table[i] = c;
  }
  return table;
}

constexpr std::array<std::uint32_t, 256> crc_table = make_table();

}  // namespace

std::uint32_t crc32c(bytes_view data, std::uint32_t crc) {
  std::uint32_t c = ~crc;
  for (std::uint8_t b : data) c = crc_table[(c ^ b) & 0xFFu] ^ (c >> 8);
  return ~c;
}

}  // namespace pipit::detail
