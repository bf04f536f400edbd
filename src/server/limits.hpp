// Every limit of the server, derived from the configuration in one place (pure), and applied at
// start and again on SIGHUP:
//
//   connection_limits  per connection: request size, header count, timeouts, open connections
//   session_limits     sessions, channels per session, idle time,    (session_registry.hpp)
//                      memory of the sessions' cache models
//   stream_limits      len cap, bytes per session, chunk size        (jpip_handler.hpp)
//   cache limits       indexed files and their memory, index builds  (target_registry.hpp)
//
// What a client sees when one is reached: 503 for connections, sessions and channels beyond
// their count; 431 for too many or too large headers, 413 for a large body (the connection then
// closes); a timeout closes the connection; `len` above max-len is lowered (JPIP-len says so) and
// the response ends with EOR 4; a session past session-max-bytes gets EOR 6 (session limit).
//
// Thread-safety: connection limits are read through live_limits, which may be swapped while
// connections read it (each connection takes a snapshot per request).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>

#include "server/config.hpp"
#include "server/session_registry.hpp"

namespace pipit::server {

struct connection_limits {
  std::chrono::seconds read_timeout{30};   // a whole request; idle keep-alive connections close
  std::chrono::seconds write_timeout{60};  // per write
  std::uint32_t header_limit = 16 * 1024;  // request line and headers, bytes
  std::uint32_t max_headers = 100;         // header fields
  std::uint64_t body_limit = std::uint64_t{64} * 1024;
  std::uint64_t max_connections = 10000;
  std::chrono::milliseconds chunk_delay{0};  // pause between chunks (tests of preemption)
};

struct stream_limits {
  std::uint64_t max_len = 0;            // 0: no cap
  std::uint64_t session_max_bytes = 0;  // 0: no limit
  std::size_t chunk_bytes = std::size_t{64} * 1024;
};

struct cache_limits {
  std::size_t files = 256;
  std::uint64_t bytes = 1ull << 30;
  build_limits builds;
};

struct server_limits {
  connection_limits connection;
  session_limits sessions;
  stream_limits stream;
  cache_limits cache;
};

server_limits limits_from_config(const serve_config& c);

// The connection limits in force; swapped on reload.
class live_limits {
 public:
  explicit live_limits(const connection_limits& l)
      : current_(std::make_shared<const connection_limits>(l)) {}
  std::shared_ptr<const connection_limits> get() const {
    std::lock_guard lk(mutex_);
    return current_;
  }
  void set(const connection_limits& l) {
    auto next = std::make_shared<const connection_limits>(l);
    std::lock_guard lk(mutex_);
    current_ = std::move(next);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const connection_limits> current_;
};

}  // namespace pipit::server
