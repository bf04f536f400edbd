#include "server/listener.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "server/http_connection.hpp"

namespace pipit::server {
namespace {

std::string peer_text(const tcp::socket& s) {
  beast::error_code ec;
  const auto ep = s.remote_endpoint(ec);
  if (ec) return "-";
  const std::string a = ep.address().to_string();
  return (ep.address().is_v6() ? "[" + a + "]" : a) + ":" + std::to_string(ep.port());
}

std::optional<refusal> over_limit(const server_context& ctx) {
  const auto l = ctx.limits.get();
  // The accepting socket itself is counted while it is being detected.
  if (ctx.connections.serving() >= l->max_connections)
    return refusal{refusal_kind::unavailable, "too many connections", true};
  return std::nullopt;
}

void start_plain(beast::tcp_stream&& stream, beast::flat_buffer&& buffer, server_context& ctx,
                 std::string peer, std::optional<refusal> refuse) {
  std::make_shared<http_connection<beast::tcp_stream>>(std::move(stream), std::move(buffer), ctx,
                                                       std::move(peer), std::move(refuse))
      ->run();
}

// Reads the first bytes of a connection to tell a TLS handshake from plain HTTP.
class tls_detector : public std::enable_shared_from_this<tls_detector> {
 public:
  tls_detector(tcp::socket&& socket, server_context& ctx, std::shared_ptr<ssl::context> tls,
               std::string peer)
      : stream_(std::move(socket)),
        ctx_(ctx),
        tls_(std::move(tls)),
        peer_(std::move(peer)),
        counted_(ctx.connections) {}

  void run() {
    const auto l = ctx_.limits.get();
    // Over the limit, the first bytes get less time.
    stream_.expires_after(ctx_.connections.open() > l->max_connections
                              ? std::min(l->read_timeout, refusal_read_timeout)
                              : l->read_timeout);
    beast::async_detect_ssl(
        stream_, buffer_, beast::bind_front_handler(&tls_detector::on_detect, shared_from_this()));
  }

 private:
  void on_detect(beast::error_code ec, bool is_tls) {
    if (ec) {
      stream_.socket().close(ec);
      return;
    }
    std::optional<refusal> refuse = over_limit(ctx_);
    if (is_tls) {
      auto& tls = *tls_;
      std::make_shared<http_connection<tls_stream>>(tls_stream(std::move(stream_), tls),
                                                    std::move(buffer_), ctx_, std::move(peer_),
                                                    std::move(refuse), tls_)
          ->run();
      return;
    }
    if (!ctx_.plain_http)
      refuse = refusal{refusal_kind::bad_request,
                       "this port speaks HTTPS only (use https:// or jpips://)"};
    start_plain(std::move(stream_), std::move(buffer_), ctx_, std::move(peer_), std::move(refuse));
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  server_context& ctx_;
  std::shared_ptr<ssl::context> tls_;
  std::string peer_;
  connection_tracker::accepting counted_;  // until the connection is made
};

}  // namespace

listener::listener(io_pool& pool, const tcp::endpoint& endpoint, server_context& ctx,
                   beast::error_code& ec)
    : pool_(pool),
      acceptor_(net::make_strand(pool.main())),
      ctx_(ctx),
      backoff_(acceptor_.get_executor()),
      spare_fd_(::open("/dev/null", O_RDONLY | O_CLOEXEC)) {
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

listener::~listener() {
  if (spare_fd_ >= 0) ::close(spare_fd_);
}

void listener::run() { do_accept(); }

void listener::stop() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    beast::error_code ec;
    self->acceptor_.close(ec);
  });
}

void listener::do_accept() {
  acceptor_.async_accept(net::make_strand(pool_.next()),
                         beast::bind_front_handler(&listener::on_accept, shared_from_this()));
}

// Out of descriptors: the spare one makes room to accept one waiting connection, tell it 503 and
// close it, so clients are answered rather than left in the backlog.
void listener::shed_one() {
  if (spare_fd_ < 0) return;
  ::close(spare_fd_);
  spare_fd_ = -1;
  const int fd =
      ::accept4(acceptor_.native_handle(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0) {
    const refusal_kind kind = refusal_kind::unavailable;
    const std::string text = refusal_text(kind, "too many connections (no descriptor left)");
    const unsigned status = http_status_of(kind);
    const std::string head = "HTTP/1.1 " + std::to_string(status) + " " +
                             std::string(http_reason_phrase(status)) +
                             "\r\nConnection: close\r\n"
                             "Content-Type: text/plain; charset=utf-8\r\nContent-Length: " +
                             std::to_string(text.size()) + "\r\n\r\n" + text;
    (void)!::send(fd, head.data(), head.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    ::close(fd);
    ctx_.metrics.record(status, text.size(), -1, 0);
  }
  spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void listener::on_accept(beast::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec == net::error::no_descriptors || ec.value() == ENFILE ||
      ec == net::error::no_buffer_space || ec == net::error::no_memory) {
    shed_one();
    backoff_.expires_after(std::chrono::milliseconds(100));
    backoff_.async_wait([self = shared_from_this()](beast::error_code e) {
      if (!e) self->do_accept();
    });
    return;
  }
  if (!ec) {
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::string peer = peer_text(socket);
    if (auto tls = ctx_.tls()) {
      std::make_shared<tls_detector>(std::move(socket), ctx_, std::move(tls), std::move(peer))
          ->run();
    } else {
      start_plain(beast::tcp_stream(std::move(socket)), beast::flat_buffer(), ctx_, std::move(peer),
                  over_limit(ctx_));
    }
  }
  do_accept();
}

}  // namespace pipit::server
