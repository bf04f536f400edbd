// `pipit serve`: the JPIP server put together — target and session registries, the request
// handler, the listener and the io_context threads, an idle-session reaper, and SIGINT/SIGTERM
// for a clean stop.
//
// Thread-safety: run() blocks until stopped; stop() may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "pipit/error.hpp"
#include "server/http_connection.hpp"
#include "server/jpip_handler.hpp"
#include "server/session_registry.hpp"

namespace pipit::server {

struct server_config {
  std::string root;                    // folder of the images
  std::string listen = "127.0.0.1:8080";  // host:port; port 0 picks a free one
  unsigned threads = 0;                // 0: one per core
  session_limits sessions;
  handler_options handler;
  connection_limits connection;
  std::size_t max_cached_targets = 256;
};

// Splits "host:port" ("[::1]:80" for IPv6); false when malformed.
bool parse_listen(const std::string& text, std::string& host, std::uint16_t& port);

// Runs the server until SIGINT/SIGTERM. `on_listening` is called with the bound address
// ("127.0.0.1:PORT") once it accepts connections. Errors: invalid_argument (bad config), io
// (cannot bind).
result<void> run_server(const server_config& config, const std::function<void(const std::string&)>& on_listening);

}  // namespace pipit::server
