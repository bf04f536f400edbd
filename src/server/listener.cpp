#include "server/listener.hpp"

namespace pipit::server {

listener::listener(net::io_context& ioc, const tcp::endpoint& endpoint, jpip_handler& handler,
                   const connection_limits& limits, beast::error_code& ec)
    : ioc_(ioc), acceptor_(net::make_strand(ioc)), handler_(handler), limits_(limits) {
  acceptor_.open(endpoint.protocol(), ec);
  if (ec) return;
  acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (ec) return;
  acceptor_.bind(endpoint, ec);
  if (ec) return;
  acceptor_.listen(net::socket_base::max_listen_connections, ec);
}

tcp::endpoint listener::local_endpoint() const {
  beast::error_code ec;
  return acceptor_.local_endpoint(ec);
}

void listener::run() { do_accept(); }

void listener::do_accept() {
  acceptor_.async_accept(net::make_strand(ioc_), beast::bind_front_handler(&listener::on_accept, shared_from_this()));
}

void listener::on_accept(beast::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted) return;
  if (!ec) std::make_shared<http_connection>(std::move(socket), handler_, limits_)->run();
  do_accept();
}

}  // namespace pipit::server
