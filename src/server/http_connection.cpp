#include "server/http_connection.hpp"

#include <string>

#include "server/error_status.hpp"

namespace pipit::server {

void add_common_headers(http::fields& f) {
  f.set(http::field::server, "Pipit/0.1");
  f.set(http::field::cache_control, "no-cache");
  f.set(http::field::access_control_allow_origin, "*");
  f.set(http::field::access_control_expose_headers,
        "JPIP-cnew,JPIP-tid,JPIP-qid,JPIP-fsiz,JPIP-roff,JPIP-rsiz,JPIP-layers,JPIP-comps,"
        "JPIP-stream,JPIP-quality,JPIP-pref");
}

http_connection::http_connection(tcp::socket&& socket, jpip_handler& handler, const connection_limits& limits)
    : stream_(std::move(socket)), handler_(handler), limits_(limits), pause_(stream_.get_executor()) {}

void http_connection::run() {
  net::dispatch(stream_.get_executor(), beast::bind_front_handler(&http_connection::do_read, shared_from_this()));
}

void http_connection::do_read() {
  parser_.emplace();
  parser_->header_limit(limits_.header_limit);
  parser_->body_limit(limits_.body_limit);
  stream_.expires_after(limits_.read_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&http_connection::on_read, shared_from_this()));
}

void http_connection::on_read(beast::error_code ec, std::size_t) {
  if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::operation_aborted ||
      ec == net::error::connection_reset || ec == net::error::eof) {
    return close();
  }
  if (ec) {
    // A malformed or oversized request: answer it, then close (the stream cannot be resynchronised).
    unsigned status = 400;
    if (ec == http::error::header_limit) status = 431;
    else if (ec == http::error::body_limit) status = 413;
    return send_text(status, {}, std::to_string(status) + ' ' + std::string(http_reason_phrase(status)) +
                                     ": " + ec.message() + '\n', false);
  }
  auto& req = parser_->get();
  const bool keep_alive = req.keep_alive();
  if (req.method() == http::verb::options) {
    http::fields extra;
    extra.set(http::field::access_control_allow_methods, "GET, POST, OPTIONS");
    extra.set(http::field::access_control_allow_headers, "*");
    extra.set(http::field::access_control_max_age, "86400");
    return send_text(204, std::move(extra), "", keep_alive);
  }
  if (req.method() != http::verb::get && req.method() != http::verb::post) {
    http::fields extra;
    extra.set(http::field::allow, "GET, POST, OPTIONS");
    return send_text(405, std::move(extra), "405 Method Not Allowed: JPIP requests use GET or POST\n", keep_alive);
  }
  reply r = handler_.handle(req.method() == http::verb::get ? "GET" : "POST",
                            std::string_view(req.target().data(), req.target().size()), req.body());
  send_reply(std::move(r), keep_alive);
}

void http_connection::send_text(unsigned status, http::fields extra, std::string text, bool keep_alive) {
  text_ = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(status), 11);
  add_common_headers(*text_);
  for (const auto& f : extra) text_->set(f.name_string(), f.value());
  if (status != 204) text_->set(http::field::content_type, "text/plain; charset=utf-8");
  text_->body() = std::move(text);
  text_->keep_alive(keep_alive);
  text_->prepare_payload();
  keep_alive_ = keep_alive;
  stream_.expires_after(limits_.write_timeout);
  http::async_write(stream_, *text_, beast::bind_front_handler(&http_connection::on_done, shared_from_this()));
}

void http_connection::send_reply(reply r, bool keep_alive) {
  if (!r.body) {
    http::fields extra;
    for (const auto& [k, v] : r.headers) extra.set(k, v);
    return send_text(r.status, std::move(extra), std::move(r.text), keep_alive);
  }
  head_ = http::response<http::empty_body>(static_cast<http::status>(r.status), 11);
  add_common_headers(head_);
  for (const auto& [k, v] : r.headers) head_.set(k, v);
  head_.set(http::field::content_type, r.content_type);
  head_.keep_alive(keep_alive);
  head_.chunked(true);
  keep_alive_ = keep_alive;
  body_ = std::move(r.body);
  serializer_.emplace(head_);
  stream_.expires_after(limits_.write_timeout);
  http::async_write_header(stream_, *serializer_,
                           beast::bind_front_handler(&http_connection::on_header, shared_from_this()));
}

void http_connection::on_header(beast::error_code ec, std::size_t) {
  if (ec) return close();
  next_chunk();
}

void http_connection::next_chunk() {
  chunk_.clear();
  bool more = body_->next(chunk_);
  while (more && chunk_.empty()) more = body_->next(chunk_);
  stream_.expires_after(limits_.write_timeout);
  if (chunk_.empty()) {
    net::async_write(stream_, http::make_chunk_last(),
                     beast::bind_front_handler(&http_connection::on_done, shared_from_this()));
    return;
  }
  net::async_write(stream_, http::make_chunk(net::buffer(chunk_)),
                   beast::bind_front_handler(&http_connection::on_chunk, shared_from_this(), more));
}

void http_connection::on_chunk(bool more, beast::error_code ec, std::size_t) {
  if (ec) return close();
  if (more) {
    if (limits_.chunk_delay.count() > 0) {
      pause_.expires_after(limits_.chunk_delay);
      pause_.async_wait([self = shared_from_this()](beast::error_code) { self->next_chunk(); });
      return;
    }
    return next_chunk();
  }
  stream_.expires_after(limits_.write_timeout);
  net::async_write(stream_, http::make_chunk_last(),
                   beast::bind_front_handler(&http_connection::on_done, shared_from_this()));
}

void http_connection::on_done(beast::error_code ec, std::size_t) {
  body_.reset();
  serializer_.reset();
  text_.reset();
  if (ec || !keep_alive_) return close();
  do_read();
}

void http_connection::close() {
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream_.socket().close(ec);
}

}  // namespace pipit::server
