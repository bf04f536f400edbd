// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of Pipit's cache files.
//
// crc32c("123456789") == 0xE3069283. Incremental use: pass the previous result as `crc`.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>

#include "pipit/byte_reader.hpp"

namespace pipit::detail {

std::uint32_t crc32c(bytes_view data, std::uint32_t crc = 0);

}  // namespace pipit::detail
