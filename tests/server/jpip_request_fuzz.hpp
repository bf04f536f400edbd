// One fuzz input through the whole request path without sockets: the bytes become an HTTP
// request-target (or a POST body), the handler answers, and any stream body is drained and
// parsed. Must never crash, and every reply must be a valid status with either a text reason or
// a JPP-stream ending in exactly one EOR. Shared by the libFuzzer target and a unit test.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>
#include <variant>

#include "pipit/jpp.hpp"
#include "server/jpip_handler.hpp"

namespace pipit::server::testing {

inline void fuzz_one_request(jpip_handler& handler, const std::uint8_t* data, std::size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  const unsigned mode = size ? data[0] % 4 : 0;
  if (size) in.erase(0, 1);
  reply r;
  switch (mode) {
    case 0: r = handler.handle("GET", "/g_plt.j2k?" + in); break;  // the query
    case 1: r = handler.handle("GET", "/" + in); break;            // path and query
    case 2: r = handler.handle("POST", "/g_plt.j2k", in); break;   // a form body
    default: {
      // A session request: open a channel, then the input on it.
      reply o = handler.handle("GET", "/g_plt.j2k?cnew=http&len=100");
      const std::string* cnew = o.header("JPIP-cnew");
      if (!cnew) std::abort();
      const auto a = cnew->find("cid=") + 4;
      r = handler.handle("GET", "/jpip?cid=" + cnew->substr(a, cnew->find(',', a) - a) + "&" + in);
      handler.handle("GET", "/jpip?cclose=" + cnew->substr(a, cnew->find(',', a) - a));
    }
  }
  if (r.status < 200 || r.status > 599) std::abort();
  if (!r.body) {
    if (r.status == 200 || r.text.empty()) std::abort();
    return;
  }
  if (r.status != 200) std::abort();
  std::vector<std::uint8_t> body;
  for (int k = 0; r.body->next(body) && k < 100000; ++k) {
  }
  jpp_reader reader;
  reader.feed(body);
  for (;;) {
    auto ev = reader.next();
    if (!ev) std::abort();
    if (std::holds_alternative<jpp_eor>(*ev)) break;
    if (std::holds_alternative<jpp_need_more>(*ev)) std::abort();  // no EOR at the end
  }
  if (reader.buffered() != 0) std::abort();  // bytes after the EOR
}

}  // namespace pipit::server::testing
