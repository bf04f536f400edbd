#include "server/admin_endpoints.hpp"

namespace pipit::server {

std::optional<reply> admin_reply(std::string_view request_target, const server_context& ctx) {
  if (!ctx.metrics_enabled.load(std::memory_order_relaxed)) return std::nullopt;
  const std::string_view path = request_target.substr(0, request_target.find('?'));
  reply r;
  if (path == "/metrics") {
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.text = ctx.metrics.render(ctx.gauges());
    return r;
  }
  if (path == "/healthz") {
    const bool draining = ctx.draining.load();
    r.status = draining ? 503 : 200;
    r.text = draining ? "draining\n" : "ok\n";
    return r;
  }
  return std::nullopt;
}

}  // namespace pipit::server
