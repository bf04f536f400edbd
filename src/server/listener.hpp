// Accepts TCP connections and starts each on the next context of the io_pool (on a strand): plain
// HTTP, or, with a TLS context, whatever the first bytes say (TLS handshake or plain HTTP, the
// latter refused with 400 unless plain-http is on).
//
// Descriptors: connections beyond max-connections (which the server keeps below the descriptor
// limit) are accepted and answer their first request, read within 2 seconds, with 503 and close
// (/healthz and /metrics are still answered). When accept fails for want of descriptors (EMFILE,
// ENFILE) the listener sheds one waiting connection with a spare descriptor kept for that (a 503
// written at once, then closed) and waits 100 ms before accepting again, instead of spinning on a
// backlog it cannot take.
//
// Thread-safety: lives on the pool's main context; accept callbacks are serialised by its strand;
// stop() may be called from any thread.
#pragma once

#include <memory>

#include "server/io_pool.hpp"
#include "server/net.hpp"
#include "server/server_context.hpp"

namespace pipit::server {

class listener : public std::enable_shared_from_this<listener> {
 public:
  // Binds and listens; errors are returned in `ec` (nothing runs then).
  listener(io_pool& pool, const tcp::endpoint& endpoint, server_context& ctx,
           beast::error_code& ec);
  void run();
  void stop();
  tcp::endpoint local_endpoint() const;

 private:
  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
  void shed_one();

  io_pool& pool_;
  tcp::acceptor acceptor_;
  server_context& ctx_;
  net::steady_timer backoff_;
  int spare_fd_ = -1;

 public:
  ~listener();
};

}  // namespace pipit::server
