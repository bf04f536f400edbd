// One HTTP/1.1 connection (Beast 1.74 callback style, on its own strand): read a request with a
// timeout and size limits, hand it to the jpip_handler, write the reply (a text body with
// Content-Length, or a chunked JPP/JPT-stream produced chunk by chunk), repeat while keep-alive.
// Every read and write has a timeout; a malformed HTTP request gets a 400 (431, 413 for the size
// limits) and the connection closes; a request the handler refuses gets its 4xx/5xx and the
// connection stays open.
//
// Thread-safety: owned by its own async chain (shared_from_this); nothing shared but the handler.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include "server/jpip_handler.hpp"
#include "server/net.hpp"

namespace pipit::server {

struct connection_limits {
  std::chrono::seconds read_timeout{30};   // idle keep-alive connections close after this
  std::chrono::seconds write_timeout{60};  // per write
  std::uint32_t header_limit = 16 * 1024;
  std::uint64_t body_limit = 64 * 1024;
  std::chrono::milliseconds chunk_delay{0};  // pause between chunks (tests of preemption)
};

// Headers every reply carries (CORS, caching, server name).
void add_common_headers(http::fields& f);

class http_connection : public std::enable_shared_from_this<http_connection> {
 public:
  http_connection(tcp::socket&& socket, jpip_handler& handler, const connection_limits& limits);
  void run();

 private:
  void do_read();
  void on_read(beast::error_code ec, std::size_t);
  void send_text(unsigned status, http::fields extra, std::string text, bool keep_alive);
  void send_reply(reply r, bool keep_alive);
  void on_header(beast::error_code ec, std::size_t);
  void next_chunk();
  void on_chunk(bool more, beast::error_code ec, std::size_t);
  void on_done(beast::error_code ec, std::size_t);
  void close();

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  jpip_handler& handler_;
  connection_limits limits_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<http::response<http::string_body>> text_;
  http::response<http::empty_body> head_;
  std::optional<http::response_serializer<http::empty_body>> serializer_;
  std::shared_ptr<body_source> body_;
  std::vector<std::uint8_t> chunk_;
  net::steady_timer pause_;
  bool keep_alive_ = false;
};

}  // namespace pipit::server
