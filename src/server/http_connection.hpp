// One HTTP/1.1 connection (Beast 1.74 callback style, on its own strand), plain or TLS: read a
// request with a timeout and size limits, hand it to the admin endpoints or the jpip_handler,
// write the reply (a text body with Content-Length, or a chunked JPP/JPT-stream produced chunk by
// chunk), repeat while keep-alive. A chunk's bytes are views of the image file and the target's
// header bins; on plain TCP they go out by sendmsg straight from them (socket_gather), on TLS
// through the TLS stream. Every read and write has a timeout, so a slow or stalled
// client holds no thread, only its connection; a malformed HTTP request gets a 400 (431, 413 for
// the size limits) and the connection closes; a request the handler refuses gets its 4xx/5xx and
// the connection stays open. A connection opened beyond max-connections (or plain HTTP on a
// TLS-only port) answers its first request with the refusal and closes.
//
// Each answered request is counted in the metrics and written to the access log once its last
// byte is written (or the connection failed).
//
// Thread-safety: owned by its own async chain (shared_from_this); drain() posts to its strand.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "server/jpip_handler.hpp"
#include "server/net.hpp"
#include "server/server_context.hpp"
#include "server/socket_gather.hpp"

namespace pipit::server {

// Headers every reply carries (CORS, caching, server name).
void add_common_headers(http::fields& f);

// A refusal a connection gives its first request instead of serving it.
struct refusal {
  unsigned status = 0;  // 0: none
  std::string reason;
};

// Stream: beast::tcp_stream or tls_stream.
template <class Stream>
class http_connection final : public connection_base {
 public:
  // `buffer` holds bytes already read (the TLS detection's); `keep` is held for the connection's
  // life (its TLS context).
  http_connection(Stream&& stream, beast::flat_buffer&& buffer, server_context& ctx,
                  std::string peer, refusal refuse = {}, std::shared_ptr<void> keep = {});
  ~http_connection() override;
  void run();
  void drain() override;

 private:
  std::shared_ptr<http_connection> self() {
    return std::static_pointer_cast<http_connection>(shared_from_this());
  }
  auto& tcp() { return beast::get_lowest_layer(stream_); }
  void on_handshake(beast::error_code ec, std::size_t used);
  void do_read();
  void on_read(beast::error_code ec, std::size_t);
  void serve(const http::request<http::string_body>& req);
  void send_text(unsigned status, const http::fields& extra, std::string text,
                 const std::string& content_type = {});
  void send_reply(reply r);
  void on_header(beast::error_code ec, std::size_t);
  void next_chunk();
  void send_gathered(bool more);
  void on_writable(bool more, beast::error_code ec);
  void on_chunk(bool more, beast::error_code ec, std::size_t);
  void on_done(beast::error_code ec, std::size_t);
  void finish_request(bool failed);
  void close(bool graceful);

  Stream stream_;
  beast::flat_buffer buffer_;
  server_context& ctx_;
  std::string peer_;
  refusal refuse_;
  std::shared_ptr<void> keep_;
  std::optional<connection_tracker::handle> tracked_;
  std::shared_ptr<const connection_limits> limits_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<http::response<http::string_body>> text_;
  http::response<http::empty_body> head_;
  std::optional<http::response_serializer<http::empty_body>> serializer_;
  std::shared_ptr<body_source> body_;
  gather_buffer chunk_;
  std::vector<net::const_buffer> chunk_buffers_;  // chunk_'s pieces, for one gathering write (TLS)
  socket_gather gather_;                          // the same with the chunk framing (plain TCP)
  char chunk_size_[24] = {};
  net::steady_timer pause_;
  net::steady_timer write_timer_;  // bounds the wait for a full socket
  bool keep_alive_ = false;
  bool reading_ = false;  // waiting for a request (drain closes at once)
  bool closed_ = false;
  bool non_blocking_ = false;  // the socket was switched to non-blocking (once: it is a syscall)
  // The request in flight, for metrics and the access log.
  std::chrono::steady_clock::time_point started_;
  std::string method_, target_;
  unsigned status_ = 0;
  std::uint64_t bytes_ = 0;
  std::string log_cid_, log_target_, log_window_;
};

}  // namespace pipit::server
