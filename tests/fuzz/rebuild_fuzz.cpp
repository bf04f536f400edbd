// libFuzzer target: arbitrary bytes as a JPP-stream into a cache, then rebuild. Whatever the
// server sent, the rebuild either fails cleanly or yields a codestream our index accepts.
#include <cstddef>
#include <cstdint>
#include <variant>

#include "pipit/image_index.hpp"
#include "pipit/jpp.hpp"
#include "pipit/rebuild.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  pipit::jpp_reader reader;
  reader.feed(pipit::bytes_view(data, size));
  pipit::databin_cache cache;
  cache.set_memory_limit(8u << 20);
  for (int n = 0; n < 100000; ++n) {
    auto ev = reader.next();
    if (!ev || std::holds_alternative<pipit::jpp_need_more>(*ev)) break;
    if (std::holds_alternative<pipit::jpp_eor>(*ev)) {
      reader.begin_response();
      continue;
    }
    const auto& m = std::get<pipit::jpp_message>(*ev);
    (void)cache.add(m.bin(), m.msg_offset, m.body, m.is_last);
  }
  pipit::rebuild_options ro;
  ro.max_index_bytes = 64u << 20;
  auto cs = pipit::rebuild_codestream(cache, ro);
  if (cs && cs->size() < (64u << 20)) {
    pipit::index_options o;
    o.use_pointer_markers = false;
    o.max_packets = 1u << 20;
    o.max_index_bytes = 64u << 20;
    (void)pipit::image_index::build(*cs, o);
  }
  (void)pipit::rebuild_jp2(cache, ro);
  return 0;
}
