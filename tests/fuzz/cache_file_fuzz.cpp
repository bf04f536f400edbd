// libFuzzer target: arbitrary bytes as a cache file.
//
// Each input is tried twice: as a whole file (exercises the frame checks), and as the payload of a
// correctly framed and checksummed file (exercises the payload parser, which random bytes would
// otherwise never reach past the CRC). A loaded cache must re-encode to the same bytes it
// decodes from, and its accounting must hold together.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "databin/checksum.hpp"  // src/core (private to the core)
#include "pipit/databin_cache.hpp"

namespace {

std::vector<std::uint8_t> framed(pipit::bytes_view payload) {
  std::vector<std::uint8_t> f = {'P', 'I', 'P', 'I', 'T', 'C', 0, 1, 0, 0, 0, 1, 0, 0, 0, 0};
  for (int s = 56; s >= 0; s -= 8) f.push_back(static_cast<std::uint8_t>(payload.size() >> s));
  f.insert(f.end(), payload.begin(), payload.end());
  const std::uint32_t crc = pipit::detail::crc32c(f);
  for (int s = 24; s >= 0; s -= 8) f.push_back(static_cast<std::uint8_t>(crc >> s));
  return f;
}

void check(pipit::bytes_view file) {
  auto cache = pipit::databin_cache::load_from_bytes(file, "");
  if (!cache) return;
  std::uint64_t held = 0;
  for (const auto& b : cache->bins()) {
    held += b.bytes_held;
    if (b.complete != cache->is_complete(b.id)) std::abort();
    if (cache->contiguous_prefix(b.id).size() != b.prefix_length) std::abort();
  }
  if (held != cache->bytes_held()) std::abort();
  const auto again = cache->to_bytes();
  if (again.size() != file.size()) std::abort();  // the decoder accepts canonical files only
  cache->set_memory_limit(cache->bytes_held() / 2);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const pipit::bytes_view input(data, size);
  check(input);
  check(framed(input));
  return 0;
}
