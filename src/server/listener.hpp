// Accepts TCP connections and starts an http_connection on its own strand for each.
//
// Thread-safety: lives on the io_context; accept callbacks are serialised by its strand.
#pragma once

#include <memory>

#include "server/http_connection.hpp"
#include "server/net.hpp"

namespace pipit::server {

class listener : public std::enable_shared_from_this<listener> {
 public:
  // Binds and listens; errors are returned in `ec` (nothing runs then).
  listener(net::io_context& ioc, const tcp::endpoint& endpoint, jpip_handler& handler,
           const connection_limits& limits, beast::error_code& ec);
  void run();
  tcp::endpoint local_endpoint() const;

 private:
  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket socket);

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  jpip_handler& handler_;
  connection_limits limits_;
};

}  // namespace pipit::server
