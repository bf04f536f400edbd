// The operator's endpoints beside JPIP, on the same port:
//   GET /metrics   Prometheus text exposition (metrics.hpp), when metrics are on
//   GET /healthz   "ok" (200), or "draining" (503) while the server shuts down
// Neither path can name a target (targets end in a JPEG 2000 extension). With metrics off both
// fall through to the JPIP handler (and get its 404).
//
// Thread-safety: as server_context.
#pragma once

#include <optional>
#include <string_view>

#include "server/jpip_handler.hpp"
#include "server/server_context.hpp"

namespace pipit::server {

// The reply for `request_target` when it names an admin endpoint, else nothing.
std::optional<reply> admin_reply(std::string_view request_target, const server_context& ctx);

}  // namespace pipit::server
