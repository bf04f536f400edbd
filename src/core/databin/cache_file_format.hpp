// Private to the core: constants of the cache file format (docs/formats/cache-file.md) and the
// codec that databin_cache befriends.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "pipit/databin_cache.hpp"

namespace pipit {

namespace cache_file_format {

inline constexpr std::uint8_t magic[8] = {'P', 'I', 'P', 'I', 'T', 'C', 0x00, 0x01};
inline constexpr std::uint32_t format_version = 1;
inline constexpr std::size_t header_bytes = 24;       // magic, version, flags, payload length
inline constexpr std::size_t trailer_bytes = 4;       // CRC-32C
inline constexpr std::size_t bin_fixed_bytes = 30;    // kind, flags, csn, id, known length, count
inline constexpr std::size_t range_fixed_bytes = 16;  // offset, length
inline constexpr std::uint32_t max_target_id_bytes = 1024;
inline constexpr std::uint8_t flag_known_length = 0x01;

}  // namespace cache_file_format

// Where encoded bytes go (a vector, a file).
class byte_sink {
 public:
  virtual ~byte_sink() = default;
  virtual result<void> write(bytes_view bytes) = 0;
};

struct cache_file_codec {
  // Streams the file into `sink`; the bins' bytes are passed through without copying.
  static result<void> encode(const databin_cache& cache, byte_sink& sink);
  static result<databin_cache> decode(bytes_view file, std::string_view expected_target_id);

 private:
  static result<void> decode_bin(byte_reader& r, databin_cache& cache);
};

}  // namespace pipit
