// One HTTP/1.1 connection (Beast 1.74 callback style, on its own strand), plain or TLS: read a
// request with a timeout and size limits, hand it to the admin endpoints or the jpip_handler,
// write the reply (a text body with Content-Length, or a chunked JPP/JPT-stream produced chunk by
// chunk), repeat while keep-alive. A chunk's bytes are views of the image file and the target's
// header bins; on plain TCP they go out by sendmsg straight from them (socket_gather), the
// response header in the same call as the first chunk, on TLS through the TLS stream. Every read
// and write has a timeout, so a slow or stalled client holds no thread, only its connection; a
// malformed HTTP request gets a 400 (431, 413 for the size limits) and the connection closes; a
// request the handler refuses gets its 4xx/5xx and the connection stays open. A connection opened
// beyond max-connections (or plain HTTP on a TLS-only port) answers its first request with the
// refusal and closes.
//
// Framing (RFC 9112): the header is read first and checked before any body byte is read. A
// Transfer-Encoding other than exactly `chunked` (`gzip`, `chunked, identity`, `xchunked`, any in
// an HTTP/1.0 request), or together with Content-Length, is 400 and the connection closes: a
// request whose body length the server and a proxy in front could read differently must not be
// followed by another. An HTTP/1.1 request without exactly one Host is 400. `Expect:
// 100-continue` is answered with 100 Continue before the body is read (and a body above
// max-body-bytes is 413 without it); another expectation is 417. HTTP/1.0 requests never get a
// chunked body: a stream is sent close-delimited (Connection: close), a text with Content-Length
// (kept alive when the request asked `Connection: keep-alive`).
//
// Exception boundary: whatever a request throws (the handler, a body's next chunk) is caught
// here, logged and counted (pipit_internal_errors_total). Before the response header is written
// the request gets a 500; after, the stream ends at a message boundary with EOR 255
// (non-specified), the body is told (body_source::abandon) and the connection closes. The
// server goes on.
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

#include "server/error_status.hpp"
#include "server/jpip_handler.hpp"
#include "server/net.hpp"
#include "server/server_context.hpp"
#include "server/socket_gather.hpp"

namespace pipit::server {

// Headers every reply carries (CORS, caching, server name).
void add_common_headers(http::fields& f);

// How long a connection that is to be refused (over max-connections) waits for its request.
inline constexpr std::chrono::seconds refusal_read_timeout{2};

// A refusal a connection gives its first request instead of serving it.
struct refusal {
  refusal_kind kind = refusal_kind::unavailable;
  std::string reason;
  bool answers_admin = false;  // /healthz and /metrics are still answered (over a limit)
};

// What is wrong with a request's framing (RFC 9112 §3.2, §6), read from its header alone: a
// Transfer-Encoding other than exactly chunked, or in HTTP/1.0, or with Content-Length; an
// HTTP/1.1 request without exactly one Host. Such a request is refused and the connection closed.
std::optional<refusal> framing_refusal(const http::request_header<>& h);

// The bytes of a response header as Beast writes them: status line, fields, empty line.
std::string header_bytes(const http::response_header<>& h);

// Stream: beast::tcp_stream or tls_stream.
template <class Stream>
class http_connection final : public connection_base {
 public:
  // `buffer` holds bytes already read (the TLS detection's); `keep` is held for the connection's
  // life (its TLS context).
  http_connection(Stream&& stream, beast::flat_buffer&& buffer, server_context& ctx,
                  std::string peer, std::optional<refusal> refuse = {},
                  std::shared_ptr<void> keep = {});
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
  // The close-worthy read errors (the client left, a timeout): true when it closed.
  bool closed_by(beast::error_code ec);
  void begin_request();
  void on_header_read(beast::error_code ec, std::size_t);
  void on_continue_sent(beast::error_code ec, std::size_t);
  void read_body();
  void on_read(beast::error_code ec, std::size_t);
  void refuse_malformed(beast::error_code ec);
  void serve(const http::request<http::string_body>& req);
  void serve_guarded(const http::request<http::string_body>& req);
  void internal_error(const char* what);
  void send_text(unsigned status, const http::fields& extra, std::string text,
                 const std::string& content_type = {});
  void send_refusal(refusal_kind kind, std::string_view reason, const http::fields& extra = {});
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
  std::optional<refusal> refuse_;
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
  bool chunked_ = true;    // the body in chunks (HTTP/1.1); else close-delimited (HTTP/1.0)
  unsigned version_ = 11;  // of the request in flight
  socket_gather gather_;   // the same with the chunk framing (plain TCP)
  // The response header, until it is sent with the first chunk (plain TCP).
  std::string head_bytes_;
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
