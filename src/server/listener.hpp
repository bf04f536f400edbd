// Accepts TCP connections and starts each on the next context of the io_pool (on a strand): plain
// HTTP, or, with a TLS context, whatever the first bytes say (TLS handshake or plain HTTP, the
// latter refused with 400 when plain-http is off). Connections beyond max-connections are accepted
// and answer their first request with 503.
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

  io_pool& pool_;
  tcp::acceptor acceptor_;
  server_context& ctx_;
};

}  // namespace pipit::server
