#include "server/http_connection.hpp"

#include <cerrno>
#include <cstdio>
#include <string>

#include "server/admin_endpoints.hpp"
#include "server/error_status.hpp"
#include "server/viewer_endpoints.hpp"

namespace pipit::server {

void add_common_headers(http::fields& f) {
  f.set(http::field::server, "Pipit/0.1");
  f.set(http::field::cache_control, "no-cache");
  f.set(http::field::access_control_allow_origin, "*");
  f.set(http::field::access_control_expose_headers,
        "JPIP-cnew,JPIP-tid,JPIP-qid,JPIP-fsiz,JPIP-roff,JPIP-rsiz,JPIP-layers,JPIP-comps,"
        "JPIP-stream,JPIP-quality,JPIP-pref,JPIP-len");
}

namespace {
template <class Stream>
constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;
}

template <class Stream>
http_connection<Stream>::http_connection(Stream&& stream, beast::flat_buffer&& buffer,
                                         server_context& ctx, std::string peer, refusal refuse,
                                         std::shared_ptr<void> keep)
    : stream_(std::move(stream)),
      buffer_(std::move(buffer)),
      ctx_(ctx),
      peer_(std::move(peer)),
      refuse_(std::move(refuse)),
      keep_(std::move(keep)),
      limits_(ctx.limits.get()),
      pause_(stream_.get_executor()),
      write_timer_(stream_.get_executor()) {}

template <class Stream>
http_connection<Stream>::~http_connection() {
  if (tracked_) ctx_.connections.remove(*tracked_);
}

template <class Stream>
void http_connection<Stream>::run() {
  tracked_ = ctx_.connections.add(weak_from_this());
  net::dispatch(stream_.get_executor(), [self = self()] {
    if constexpr (is_tls<Stream>) {
      self->tcp().expires_after(self->limits_->read_timeout);
      self->stream_.async_handshake(
          ssl::stream_base::server, self->buffer_.data(),
          beast::bind_front_handler(&http_connection::on_handshake, self));
    } else {
      self->do_read();
    }
  });
}

template <class Stream>
void http_connection<Stream>::on_handshake(beast::error_code ec, std::size_t used) {
  if (ec) return close(false);
  buffer_.consume(used);
  do_read();
}

template <class Stream>
void http_connection<Stream>::drain() {
  net::post(stream_.get_executor(), [self = self()] {
    if (self->reading_) self->close(false);
  });
}

template <class Stream>
void http_connection<Stream>::do_read() {
  if (ctx_.draining.load()) return close(true);
  limits_ = ctx_.limits.get();
  parser_.emplace();
  parser_->header_limit(limits_->header_limit);
  parser_->body_limit(limits_->body_limit);
  tcp().expires_after(limits_->read_timeout);
  reading_ = true;
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&http_connection::on_read, self()));
}

template <class Stream>
void http_connection<Stream>::on_read(beast::error_code ec, std::size_t) {
  reading_ = false;
  if (closed_) return;
  if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
      ec == net::error::operation_aborted || ec == net::error::connection_reset ||
      ec == net::error::eof || ec == ssl::error::stream_truncated) {
    return close(false);
  }
  started_ = std::chrono::steady_clock::now();
  bytes_ = 0;
  method_.clear();
  target_.clear();
  log_cid_.clear();
  log_target_.clear();
  log_window_.clear();
  keep_alive_ = false;
  if (ec) {
    // A malformed or oversized request: answer it, then close (the stream cannot be
    // resynchronised).
    unsigned status = 400;
    if (ec == http::error::header_limit)
      status = 431;
    else if (ec == http::error::body_limit)
      status = 413;
    return send_text(status, {},
                     std::to_string(status) + ' ' + std::string(http_reason_phrase(status)) + ": " +
                         ec.message() + '\n');
  }
  serve(parser_->get());
}

template <class Stream>
void http_connection<Stream>::serve(const http::request<http::string_body>& req) {
  method_ = std::string(req.method_string());
  target_ = std::string(req.target());
  std::size_t fields = 0;
  for (auto it = req.begin(); it != req.end(); ++it) ++fields;
  if (fields > limits_->max_headers)
    return send_text(431, {},
                     "431 Request Header Fields Too Large: more than " +
                         std::to_string(limits_->max_headers) + " header fields\n");
  if (refuse_.status != 0)
    return send_text(refuse_.status, {},
                     std::to_string(refuse_.status) + ' ' +
                         std::string(http_reason_phrase(refuse_.status)) + ": " + refuse_.reason +
                         '\n');
  keep_alive_ = req.keep_alive() && !ctx_.draining.load();
  if (req.method() == http::verb::options) {
    http::fields extra;
    extra.set(http::field::access_control_allow_methods, "GET, POST, OPTIONS");
    extra.set(http::field::access_control_allow_headers, "*");
    extra.set(http::field::access_control_max_age, "86400");
    return send_text(204, extra, "");
  }
  if (req.method() != http::verb::get && req.method() != http::verb::post) {
    http::fields extra;
    extra.set(http::field::allow, "GET, POST, OPTIONS");
    return send_text(405, extra, "405 Method Not Allowed: JPIP requests use GET or POST\n");
  }
  const std::string_view target(req.target().data(), req.target().size());
  if (req.method() == http::verb::get)
    if (auto a = admin_reply(target, ctx_)) return send_reply(std::move(*a));
  if (req.method() == http::verb::get)
    if (auto v = viewer_reply(target, ctx_)) return send_reply(std::move(*v));
  send_reply(
      ctx_.handler.handle(req.method() == http::verb::get ? "GET" : "POST", target, req.body()));
}

template <class Stream>
void http_connection<Stream>::send_text(unsigned status, const http::fields& extra,
                                        std::string text, const std::string& content_type) {
  status_ = status;
  bytes_ = text.size();
  text_ =
      std::make_shared<http::response<http::string_body>>(static_cast<http::status>(status), 11);
  add_common_headers(*text_);
  for (const auto& f : extra) text_->set(f.name_string(), f.value());
  if (status != 204)
    text_->set(http::field::content_type,
               content_type.empty() ? "text/plain; charset=utf-8" : content_type);
  text_->body() = std::move(text);
  text_->keep_alive(keep_alive_);
  text_->prepare_payload();
  tcp().expires_after(limits_->write_timeout);
  http::async_write(stream_, *text_, beast::bind_front_handler(&http_connection::on_done, self()));
}

template <class Stream>
void http_connection<Stream>::send_reply(reply r) {
  log_cid_ = std::move(r.log_cid);
  log_target_ = std::move(r.log_target);
  log_window_ = std::move(r.log_window);
  if (!r.body) {
    http::fields extra;
    for (const auto& [k, v] : r.headers) extra.set(k, v);
    return send_text(r.status, extra, std::move(r.text), r.content_type);
  }
  status_ = r.status;
  head_ = http::response<http::empty_body>(static_cast<http::status>(r.status), 11);
  add_common_headers(head_);
  for (const auto& [k, v] : r.headers) head_.set(k, v);
  head_.set(http::field::content_type, r.content_type);
  head_.keep_alive(keep_alive_);
  head_.chunked(true);
  body_ = std::move(r.body);
  serializer_.emplace(head_);
  tcp().expires_after(limits_->write_timeout);
  http::async_write_header(stream_, *serializer_,
                           beast::bind_front_handler(&http_connection::on_header, self()));
}

template <class Stream>
void http_connection<Stream>::on_header(beast::error_code ec, std::size_t) {
  if (ec) return on_done(ec, 0);
  next_chunk();
}

template <class Stream>
void http_connection<Stream>::next_chunk() {
  chunk_.clear();
  bool more = body_->next(chunk_);
  while (more && chunk_.empty()) more = body_->next(chunk_);
  tcp().expires_after(limits_->write_timeout);
  if (chunk_.empty()) {
    net::async_write(stream_, http::make_chunk_last(),
                     beast::bind_front_handler(&http_connection::on_done, self()));
    return;
  }
  bytes_ += chunk_.size();
  if constexpr (!is_tls<Stream>) return send_gathered(more);
  chunk_buffers_.clear();
  chunk_.for_each(
      [this](const std::uint8_t* p, std::size_t n) { chunk_buffers_.emplace_back(p, n); });
  if (!more) {
    // The last chunk and the terminating zero-length chunk in one write.
    net::async_write(stream_,
                     beast::buffers_cat(http::make_chunk(chunk_buffers_), http::make_chunk_last()),
                     beast::bind_front_handler(&http_connection::on_done, self()));
    return;
  }
  net::async_write(stream_, http::make_chunk(chunk_buffers_),
                   beast::bind_front_handler(&http_connection::on_chunk, self(), more));
}

template <class Stream>
void http_connection<Stream>::send_gathered(bool more) {
  // chunk-size CRLF, the data, CRLF, and after the last chunk the zero-length chunk.
  gather_.clear();
  const int n = std::snprintf(chunk_size_, sizeof chunk_size_, "%zx\r\n", chunk_.size());
  gather_.add(chunk_size_, static_cast<std::size_t>(n));
  chunk_.for_each([this](const std::uint8_t* p, std::size_t k) { gather_.add(p, k); });
  static constexpr char crlf[] = "\r\n", last[] = "\r\n0\r\n\r\n";
  if (more)
    gather_.add(crlf, 2);
  else
    gather_.add(last, 7);
  if (!non_blocking_) {
    beast::error_code ec;
    tcp().socket().non_blocking(true, ec);
    if (ec) return on_done(ec, 0);
    non_blocking_ = true;
  }
  on_writable(more, {});
}

template <class Stream>
void http_connection<Stream>::on_writable(bool more, beast::error_code ec) {
  write_timer_.cancel();
  if (ec) return on_done(ec, 0);
  const int err = gather_.send(tcp().socket().native_handle());
  if (err == 0) {
    if (more) return on_chunk(true, {}, 0);
    return on_done({}, 0);
  }
  if (err != EAGAIN && err != EWOULDBLOCK)
    return on_done(beast::error_code(err, boost::system::system_category()), 0);
  // The socket is full: wait until it drains, at most write_timeout.
  write_timer_.expires_after(limits_->write_timeout);
  write_timer_.async_wait([self = self()](beast::error_code e) {
    if (e) return;  // cancelled: the socket became writable first
    beast::error_code ignored;
    self->tcp().socket().cancel(ignored);
  });
  tcp().socket().async_wait(tcp::socket::wait_write, [self = self(), more](beast::error_code e) {
    if (e == net::error::operation_aborted && !self->closed_) e = beast::error::timeout;
    self->on_writable(more, e);
  });
}

template <class Stream>
void http_connection<Stream>::on_chunk(bool more, beast::error_code ec, std::size_t) {
  if (ec) return on_done(ec, 0);
  if (more && limits_->chunk_delay.count() > 0) {
    pause_.expires_after(limits_->chunk_delay);
    pause_.async_wait([self = self()](beast::error_code) { self->next_chunk(); });
    return;
  }
  next_chunk();
}

template <class Stream>
void http_connection<Stream>::on_done(beast::error_code ec, std::size_t) {
  finish_request(static_cast<bool>(ec));
  body_.reset();
  serializer_.reset();
  text_.reset();
  if (ec || !keep_alive_) return close(!ec);
  do_read();
}

template <class Stream>
void http_connection<Stream>::finish_request(bool failed) {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  const int eor = body_ ? body_->eor() : -1;
  ctx_.metrics.record(status_, bytes_, eor, seconds);
  access_record a;
  a.client = peer_;
  a.method = method_;
  a.target = target_;
  a.status = status_;
  a.bytes = bytes_;
  a.eor = eor;
  a.seconds = seconds;
  a.session = log_cid_;
  a.image = log_target_;
  a.window = log_window_;
  a.cut = failed;
  ctx_.access.write(a);
}

template <class Stream>
void http_connection<Stream>::close(bool graceful) {
  if (closed_) return;
  closed_ = true;
  pause_.cancel();
  write_timer_.cancel();
  beast::error_code ec;
  if constexpr (is_tls<Stream>) {
    if (graceful) {
      // close_notify, bounded by a short timeout; the socket closes when it is done.
      tcp().expires_after(std::chrono::seconds(2));
      stream_.async_shutdown([self = self()](beast::error_code) {
        beast::error_code ignored;
        self->tcp().socket().close(ignored);
      });
      return;
    }
  }
  tcp().socket().shutdown(tcp::socket::shutdown_send, ec);
  tcp().socket().close(ec);
}

template class http_connection<beast::tcp_stream>;
template class http_connection<tls_stream>;

}  // namespace pipit::server
