#include "server/http_connection.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
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
        "JPIP-stream,JPIP-quality,JPIP-pref,JPIP-len,Warning");
}

namespace {
template <class Stream>
constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;
}

namespace {

std::string lower_trimmed(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  std::string out(v);
  for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

// The comma-separated members of every field named `name`, lower-cased and trimmed.
std::vector<std::string> members(const http::request_header<>& h, http::field name) {
  std::vector<std::string> out;
  auto range = h.equal_range(name);
  for (auto it = range.first; it != range.second; ++it) {
    const std::string_view v(it->value().data(), it->value().size());
    std::size_t pos = 0;
    while (pos <= v.size()) {
      const auto comma = std::min(v.find(',', pos), v.size());
      std::string m = lower_trimmed(v.substr(pos, comma - pos));
      if (!m.empty()) out.push_back(std::move(m));
      pos = comma + 1;
    }
  }
  return out;
}

}  // namespace

std::optional<refusal> framing_refusal(const http::request_header<>& h) {
  if (h.count(http::field::transfer_encoding) != 0) {
    const auto te = members(h, http::field::transfer_encoding);
    std::string shown;
    for (const auto& m : te) shown += (shown.empty() ? "" : ", ") + m;
    if (h.version() < 11)
      return refusal{refusal_kind::bad_request, "Transfer-Encoding in an HTTP/1.0 request"};
    if (te.size() != 1 || te.front() != "chunked")
      return refusal{refusal_kind::bad_request, "Transfer-Encoding '" + shown.substr(0, 100) +
                                                    "': requests may use chunked alone"};
    if (h.count(http::field::content_length) != 0)
      return refusal{refusal_kind::bad_request, "Transfer-Encoding together with Content-Length"};
  }
  if (h.version() >= 11 && h.count(http::field::host) != 1)
    return refusal{refusal_kind::bad_request, h.count(http::field::host) == 0
                                                  ? "an HTTP/1.1 request needs a Host field"
                                                  : "more than one Host field"};
  return std::nullopt;
}

std::string header_bytes(const http::response_header<>& h) {
  std::string out = "HTTP/1.1 ";
  out += std::to_string(h.result_int());
  out += ' ';
  out.append(h.reason().data(), h.reason().size());
  out += "\r\n";
  for (const auto& f : h) {
    out.append(f.name_string().data(), f.name_string().size());
    out += ": ";
    out.append(f.value().data(), f.value().size());
    out += "\r\n";
  }
  out += "\r\n";
  return out;
}

template <class Stream>
http_connection<Stream>::http_connection(Stream&& stream, beast::flat_buffer&& buffer,
                                         server_context& ctx, std::string peer,
                                         std::optional<refusal> refuse, std::shared_ptr<void> keep)
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
      self->tcp().expires_after(self->refuse_
                                    ? std::min(self->limits_->read_timeout, refusal_read_timeout)
                                    : self->limits_->read_timeout);
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
  tcp().expires_after(refuse_ ? std::min(limits_->read_timeout, refusal_read_timeout)
                              : limits_->read_timeout);
  reading_ = true;
  http::async_read_header(stream_, buffer_, *parser_,
                          beast::bind_front_handler(&http_connection::on_header_read, self()));
}

template <class Stream>
bool http_connection<Stream>::closed_by(beast::error_code ec) {
  if (closed_) return true;
  if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
      ec == net::error::operation_aborted || ec == net::error::connection_reset ||
      ec == net::error::eof || ec == ssl::error::stream_truncated) {
    close(false);
    return true;
  }
  return false;
}

template <class Stream>
void http_connection<Stream>::begin_request() {
  started_ = std::chrono::steady_clock::now();
  bytes_ = 0;
  method_.clear();
  target_.clear();
  log_cid_.clear();
  log_target_.clear();
  log_window_.clear();
  keep_alive_ = false;
  chunked_ = true;
  version_ = 11;
  head_bytes_.clear();
}

template <class Stream>
void http_connection<Stream>::on_header_read(beast::error_code ec, std::size_t) {
  reading_ = false;
  if (closed_by(ec)) return;
  begin_request();
  if (ec) return refuse_malformed(ec);
  const auto& h = parser_->get();
  method_ = std::string(h.method_string());
  target_ = std::string(h.target());
  version_ = h.version();
  // Framing first: after a refusal the connection closes, whatever the request said.
  if (auto r = framing_refusal(h)) return send_refusal(r->kind, r->reason);
  const auto expect = members(h, http::field::expect);
  if (!expect.empty() && !(expect.size() == 1 && expect.front() == "100-continue"))
    return send_refusal(refusal_kind::expectation_failed,
                        "Pipit knows the expectation 100-continue only");
  if (!expect.empty() && !parser_->is_done() && h.version() >= 11) {
    static constexpr char continue_line[] = "HTTP/1.1 100 Continue\r\n\r\n";
    net::async_write(stream_, net::buffer(continue_line, sizeof continue_line - 1),
                     beast::bind_front_handler(&http_connection::on_continue_sent, self()));
    return;
  }
  // A request without a body (every GET) is complete with its header: served now, without an
  // asynchronous read that would only complete at once.
  if (parser_->is_done()) return serve_guarded(parser_->get());
  read_body();
}

template <class Stream>
void http_connection<Stream>::on_continue_sent(beast::error_code ec, std::size_t) {
  if (ec) return close(false);
  read_body();
}

template <class Stream>
void http_connection<Stream>::read_body() {
  reading_ = true;
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&http_connection::on_read, self()));
}

template <class Stream>
void http_connection<Stream>::on_read(beast::error_code ec, std::size_t) {
  reading_ = false;
  if (closed_by(ec)) return;
  if (ec) return refuse_malformed(ec);
  serve_guarded(parser_->get());
}

template <class Stream>
void http_connection<Stream>::refuse_malformed(beast::error_code ec) {
  // A malformed or oversized request: answer it, then close (the stream cannot be
  // resynchronised).
  refusal_kind kind = refusal_kind::bad_request;
  if (ec == http::error::header_limit)
    kind = refusal_kind::headers_too_large;
  else if (ec == http::error::body_limit)
    kind = refusal_kind::payload_too_large;
  send_refusal(kind, ec.message());
}

template <class Stream>
void http_connection<Stream>::serve_guarded(const http::request<http::string_body>& req) {
  try {
    serve(req);
  } catch (const std::exception& e) {
    internal_error(e.what());
  } catch (...) {
    internal_error("an unknown exception");
  }
}

template <class Stream>
void http_connection<Stream>::internal_error(const char* what) {
  ctx_.metrics.count_internal_error();
  spdlog::error("{} {} {}: internal error: {}", peer_, method_, target_.substr(0, 200), what);
  keep_alive_ = false;
  body_.reset();
  serializer_.reset();
  send_refusal(refusal_kind::internal, "the request could not be completed");
}

template <class Stream>
void http_connection<Stream>::serve(const http::request<http::string_body>& req) {
  std::size_t fields = 0;
  for (auto it = req.begin(); it != req.end(); ++it) ++fields;
  if (fields > limits_->max_headers)
    return send_refusal(refusal_kind::headers_too_large,
                        "more than " + std::to_string(limits_->max_headers) + " header fields");
  const std::string_view target(req.target().data(), req.target().size());
  if (refuse_) {
    // Over a limit the server still says whether it is alive and how it fares.
    if (req.method() == http::verb::get && refuse_->answers_admin)
      if (auto a = admin_reply(target, ctx_)) return send_reply(std::move(*a));
    return send_refusal(refuse_->kind, refuse_->reason);
  }
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
    return send_refusal(refusal_kind::method_not_allowed, "JPIP requests use GET or POST", extra);
  }
  if (req.method() == http::verb::get)
    if (auto a = admin_reply(target, ctx_)) return send_reply(std::move(*a));
  if (req.method() == http::verb::get)
    if (auto v = viewer_reply(target, ctx_)) return send_reply(std::move(*v));
  // A target not yet indexed is indexed on the registry's builders; the request is served again
  // here, on the connection's strand, when its index (or failure) is ready.
  auto again = [self = self()] {
    net::post(self->stream_.get_executor(), [self] { self->serve_guarded(self->parser_->get()); });
  };
  reply r = ctx_.handler.handle(req.method() == http::verb::get ? "GET" : "POST", target,
                                req.body(), std::move(again));
  if (r.pending) return;
  send_reply(std::move(r));
}

template <class Stream>
void http_connection<Stream>::send_refusal(refusal_kind kind, std::string_view reason,
                                           const http::fields& extra) {
  send_text(http_status_of(kind), extra, refusal_text(kind, reason));
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
  // An HTTP/1.0 client keeps the connection only when told so.
  if (keep_alive_ && version_ < 11) text_->set(http::field::connection, "keep-alive");
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
  // HTTP/1.0 has no chunked coding: the body ends when the connection closes.
  chunked_ = version_ >= 11;
  if (!chunked_) keep_alive_ = false;
  head_.keep_alive(keep_alive_);
  head_.chunked(chunked_);
  body_ = std::move(r.body);
  if constexpr (!is_tls<Stream>) {
    // Plain TCP: the header goes out with the first chunk, in one sendmsg.
    head_bytes_ = header_bytes(head_);
    return next_chunk();
  }
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
  bool more = false;
  try {
    more = body_->next(chunk_);
    while (more && chunk_.empty()) more = body_->next(chunk_);
  } catch (...) {
    // The response header is out: end the stream at the last whole chunk with EOR 255 and close.
    const char* what = "an unknown exception";
    std::string text;
    try {
      throw;
    } catch (const std::exception& e) {
      text = e.what();
      what = text.c_str();
    } catch (...) {
    }
    ctx_.metrics.count_internal_error();
    spdlog::error("{} {} {}: internal error in a response body: {}", peer_, method_,
                  target_.substr(0, 200), what);
    keep_alive_ = false;
    chunk_.clear();
    body_->abandon(chunk_);
    more = false;
  }
  tcp().expires_after(limits_->write_timeout);
  if constexpr (!is_tls<Stream>) {
    bytes_ += chunk_.size();
    return send_gathered(more);
  }
  if (chunk_.empty()) {
    if (!chunked_) return on_done({}, 0);
    net::async_write(stream_, http::make_chunk_last(),
                     beast::bind_front_handler(&http_connection::on_done, self()));
    return;
  }
  bytes_ += chunk_.size();
  chunk_buffers_.clear();
  chunk_.for_each(
      [this](const std::uint8_t* p, std::size_t n) { chunk_buffers_.emplace_back(p, n); });
  if (!chunked_) {
    net::async_write(stream_, chunk_buffers_,
                     beast::bind_front_handler(&http_connection::on_chunk, self(), more));
    return;
  }
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
  // The response header before the first chunk; chunk-size CRLF, the data, CRLF, and after the
  // last chunk the zero-length chunk.
  gather_.clear();
  gather_.add(head_bytes_.data(), head_bytes_.size());
  static constexpr char crlf[] = "\r\n0\r\n\r\n";  // a chunk's end, and the last chunk
  if (chunked_ && !chunk_.empty()) {
    const int n = std::snprintf(chunk_size_, sizeof chunk_size_, "%zx\r\n", chunk_.size());
    gather_.add(chunk_size_, static_cast<std::size_t>(n));
    chunk_.for_each([this](const std::uint8_t* p, std::size_t k) { gather_.add(p, k); });
    gather_.add(crlf, more ? 2 : 7);
  } else if (chunked_ && !more) {
    gather_.add(crlf + 2, 5);
  } else {
    chunk_.for_each([this](const std::uint8_t* p, std::size_t k) { gather_.add(p, k); });
  }
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
  if (err == 0) head_bytes_.clear();  // sent (gather_ points into it until then)
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
