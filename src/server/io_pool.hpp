// The server's threads: one io_context per thread, each connection on one of them for its whole
// life (round robin at accept), so a connection's handlers never move between threads. With one
// shared io_context and a strand per connection, a response's chunks hopped between the threads,
// paying futex wake-ups and cold caches: 25% fewer requests/s with one client.
//
// Context 0 is the main one (the acceptor, signals and timers live there; it serves connections
// too) and runs on the thread that calls run(); the others run on threads of their own.
//
// Thread-safety: next() may be called from any thread; run() once; stop() from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "server/net.hpp"

namespace pipit::server {

class io_pool {
 public:
  // `on_exception` is called (with what()) for an exception that escaped a handler; the thread
  // then goes on running its context. Requests have their own boundary (http_connection): this
  // is the last one.
  explicit io_pool(unsigned threads, std::function<void(const char*)> on_exception = {});

  net::io_context& main() { return *contexts_[0]; }
  // The context of the next connection.
  net::io_context& next();
  // Runs every context until main() stops, then stops and joins the others.
  void run();
  // Stops every context (pending handlers are dropped).
  void stop();

 private:
  using guard = net::executor_work_guard<net::io_context::executor_type>;
  std::vector<std::unique_ptr<net::io_context>> contexts_;
  std::vector<std::optional<guard>> guards_;  // keep the other contexts running while idle
  std::atomic<std::size_t> next_{0};
  std::function<void(const char*)> on_exception_;
  void run_one(net::io_context& c);
};

}  // namespace pipit::server
