// libFuzzer target: the box reader, the marker parser and the packet index over arbitrary bytes.
#include <cstddef>
#include <cstdint>

#include "pipit/image_index.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  pipit::bytes_view b(data, size);
  for (bool plt : {true, false}) {
    pipit::index_options o;
    o.use_pointer_markers = plt;
    o.max_packets = 1u << 20;
    o.max_blocks_per_precinct = 1u << 16;
    o.max_index_bytes = 64u << 20;
    auto ix = pipit::image_index::build(b, o);
    if (ix) {
      // Walk the result so that inconsistent indexes show up as out-of-bounds reads.
      for (const auto& cs : ix->codestreams)
        for (const auto& p : cs.packets)
          if (p.end() > size) __builtin_trap();
    }
  }
  return 0;
}
