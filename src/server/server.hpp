// `pipit serve`: the JPIP server put together — configuration and limits, target and session
// registries, the request handler, metrics and logs, the listener (plain and TLS) on a pool of
// io_context threads, an idle-session reaper, and the signals: SIGTERM/SIGINT stop gracefully,
// SIGHUP reloads the configuration.
//
// Graceful stop: the listener closes, /healthz turns 503, connections waiting for a request
// close, responses in flight go on for shutdown-grace seconds and are then cut at their next
// chunk with EOR 6; the process returns once every connection is gone (or one second after the
// cut, whatever the clients do).
//
// Thread-safety: run_server() blocks until stopped.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "pipit/error.hpp"
#include "server/config.hpp"

namespace pipit::server {

// Splits "host:port" ("[::1]:80" for IPv6); false when malformed.
bool parse_listen(const std::string& text, std::string& host, std::uint16_t& port);

struct run_hooks {
  // Called with the bound address ("127.0.0.1:PORT") once the server accepts connections.
  std::function<void(const std::string&)> on_listening;
  // SIGHUP: the configuration to switch to (the file read again, the flags on top). Empty: SIGHUP
  // only reopens the log files.
  std::function<result<serve_config>()> reload;
  std::chrono::milliseconds chunk_delay{0};  // tests of preemption
};

// Runs the server until SIGINT/SIGTERM. Errors: invalid_argument (bad configuration), io
// (cannot bind, cannot open a log).
result<void> run_server(const serve_config& config, const run_hooks& hooks);

}  // namespace pipit::server
