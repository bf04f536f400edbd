#include "session.hpp"

#include <charconv>

namespace pipit::client {
namespace {

// Parses "cid=...,path=...,transport=http,host=...,port=..." (any order).
std::vector<std::pair<std::string, std::string>> split_cnew(const std::string& v) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t pos = 0;
  while (pos <= v.size()) {
    std::size_t comma = v.find(',', pos);
    if (comma == std::string::npos) comma = v.size();
    std::string item = v.substr(pos, comma - pos);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    const auto eq = item.find('=');
    if (eq != std::string::npos) out.emplace_back(item.substr(0, eq), item.substr(eq + 1));
    pos = comma + 1;
  }
  return out;
}

std::string describe_status(const http_response& r) {
  std::string s = "HTTP " + std::to_string(r.status);
  std::string body = r.error_body;
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
  // A short plain-text reason helps; an HTML error page does not.
  if (!body.empty() && body.size() < 300 && body.front() != '<') s += ": " + body;
  return s;
}

}  // namespace

session::session(jpip_url url, const transport_options& transport, bool use_session,
                 shared_cache& cache, bool jpt, std::uint32_t codestream)
    : url_(std::move(url)),
      transport_(transport),
      use_session_(use_session),
      cache_(cache),
      jpt_(jpt),
      codestream_(codestream) {}

void session::take_cnew(const std::string& value) {
  std::string host = url_.host, path = url_.path;
  std::uint16_t port = url_.port;
  for (const auto& [k, v] : split_cnew(value)) {
    if (k == "cid")
      cid_ = v;
    else if (k == "path")
      path = absolute_path(v);
    else if (k == "host")
      host = v;
    else if (k == "port") {
      unsigned p = 0;
      auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), p);
      if (ec == std::errc() && ptr == v.data() + v.size() && p > 0 && p < 65536)
        port = static_cast<std::uint16_t>(p);
    }
  }
  jpip_url u = url_;
  u.host = host;
  u.port = port;
  u.path = path;
  channel_base_ = u.base();
}

exchange_result session::open(std::uint64_t len, const std::optional<cache_model_spec>& model,
                              const std::function<bool()>& should_stop) {
  open_ = false;
  cid_.clear();
  channel_base_.clear();
  jpip_request r;
  std::string tid;
  {
    std::lock_guard lock(cache_.mutex);
    tid = cache_.cache.target_id();
  }
  r.tid = (tid.empty() || tid == "0") ? std::string("0") : tid;
  if (use_session_) r.cnew = channel_new{{"http"}};
  r.type = return_types{{return_type{jpt_ ? "jpt-stream" : "jpp-stream", ""}}};
  r.stream = std::vector<sampled_range>{sampled_range{codestream_, codestream_, 1}};
  r.len = len;
  if (model && *r.tid != "0") r.model = model;
  std::string url = url_.base() + "?" + format_request(r);
  if (!url_.query.empty()) url += "&" + url_.query;
  exchange_result x = exchange(url, false, should_stop);
  if (x.result == exchange_result::outcome::ok) open_ = true;
  return x;
}

exchange_result session::send(jpip_request view, std::uint64_t len,
                              const std::function<bool()>& should_stop) {
  view.stream = std::vector<sampled_range>{sampled_range{codestream_, codestream_, 1}};
  view.len = len;
  std::string url;
  if (!cid_.empty()) {
    view.cid = cid_;
    url = channel_base_ + "?" + format_request(view);
  } else {
    std::string tid;
    {
      std::lock_guard lock(cache_.mutex);
      tid = cache_.cache.target_id();
    }
    view.tid = tid.empty() ? std::string("0") : tid;
    view.type = return_types{{return_type{jpt_ ? "jpt-stream" : "jpp-stream", ""}}};
    if (view.tid == "0") view.model.reset();
    url = url_.base() + "?" + format_request(view);
    if (!url_.query.empty()) url += "&" + url_.query;
  }
  return exchange(url, !cid_.empty(), should_stop);
}

void session::close() {
  if (open_ && !cid_.empty()) {
    jpip_request r;
    r.cid = cid_;
    r.cclose = channel_close{false, {cid_}};
    r.stream = std::vector<sampled_range>{sampled_range{codestream_, codestream_, 1}};
    r.len = 0;
    transport_.get(channel_base_ + "?" + format_request(r), [](bytes_view) { return true; });
    ++requests_;
  }
  open_ = false;
  cid_.clear();
}

exchange_result session::exchange(const std::string& url, bool is_session_request,
                                  const std::function<bool()>& should_stop) {
  exchange_result x;
  jpp_reader reader;
  std::optional<error> stream_error;
  auto on_body = [&](bytes_view chunk) -> bool {
    if (x.eor) return true;  // bytes after the EOR of this response: ignore
    reader.feed(chunk);
    std::lock_guard lock(cache_.mutex);
    for (;;) {
      auto ev = reader.next();
      if (!ev) {
        stream_error = ev.error();
        return false;
      }
      if (std::holds_alternative<jpp_need_more>(*ev)) break;
      if (const auto* e = std::get_if<jpp_eor>(&*ev)) {
        x.eor = e->reason;
        break;
      }
      const auto& m = std::get<jpp_message>(*ev);
      const bin_id b = m.bin();
      const auto* before = cache_.cache.ranges(b);
      const std::uint64_t held_before = before != nullptr ? before->size() : 0;
      const bool was_complete = cache_.cache.is_complete(b);
      auto added = cache_.cache.add(b, m.msg_offset, m.body, m.is_last);
      if (!added) {
        error e = added.error();
        e.offset = reader.last_event_offset();
        stream_error = e;
        return false;
      }
      const auto* after = cache_.cache.ranges(b);
      const std::uint64_t held_after = after != nullptr ? after->size() : 0;
      if (held_after > held_before || (!was_complete && cache_.cache.is_complete(b))) {
        x.new_bytes += held_after - held_before;
        cache_.changed(b);
      }
      x.touched.insert(b);
    }
    return true;
  };
  // Adopt the server's target id before any body byte reaches the cache (a new id voids it).
  auto on_headers = [&](const http_response& h) {
    if (h.status < 200 || h.status >= 300 || !h.has_header("jpip-tid")) return;
    std::lock_guard lock(cache_.mutex);
    const std::string tid = h.header("jpip-tid");
    if (tid != cache_.cache.target_id()) {
      const bool had = cache_.cache.bin_count() != 0;
      if (tid == "0") cache_.cache.clear();
      cache_.cache.set_target_id(tid);
      if (had) {
        cache_.changed_all();
        ++cache_.epoch;
      }
      x.target_changed = had;
    }
  };
  http_response resp = transport_.get(url, on_body, should_stop, on_headers);
  ++requests_;
  body_bytes_ += resp.body_bytes;
  new_bytes_ += x.new_bytes;
  x.body_bytes = resp.body_bytes;
  x.seconds = resp.seconds;
  std::string where = url_.host;
  if (url_.port != 0) {
    where += ':';
    where += std::to_string(url_.port);
  }
  where += url_.path;
  switch (resp.failure) {
    case transfer_failure::none: break;
    case transfer_failure::tls:
      x.result = exchange_result::outcome::fatal;
      x.failure =
          error{errc::io, no_offset,
                "TLS failure with " + url_.host + ": " + resp.failure_text +
                    " (check the certificate, give a CA file, or turn TLS verification off)"};
      return x;
    case transfer_failure::connect:
      x.result = exchange_result::outcome::retry;
      x.failure = error{errc::io, no_offset,
                        "cannot connect to " + url_.origin() + ": " + resp.failure_text};
      return x;
    case transfer_failure::timeout:
      x.result = exchange_result::outcome::retry_limited;
      x.failure = error{errc::io, no_offset,
                        "no answer from " + url_.origin() + " in time (" + resp.failure_text +
                            "): the server is unreachable or stalled"};
      return x;
    case transfer_failure::dropped:
      x.result = exchange_result::outcome::retry;
      x.failure = error{errc::io, no_offset,
                        "connection to " + url_.origin() + " lost: " + resp.failure_text};
      return x;
    case transfer_failure::aborted:
      if (stream_error) {
        x.result = exchange_result::outcome::fatal;
        x.failure = error{errc::corrupt, stream_error->offset,
                          "corrupt JPP-stream from " + where + ": " + stream_error->message};
      } else {
        x.result = exchange_result::outcome::retry;
        x.failure = error{errc::io, no_offset, "request to " + where + " interrupted"};
      }
      return x;
    case transfer_failure::other:
      x.result = exchange_result::outcome::retry;
      x.failure =
          error{errc::io, no_offset, "request to " + where + " failed: " + resp.failure_text};
      return x;
  }
  if (resp.status < 200 || resp.status >= 300) {
    if (is_session_request) {
      x.result = exchange_result::outcome::session_lost;
      x.failure = error{errc::io, no_offset, "session lost: " + describe_status(resp)};
      return x;
    }
    const long st = resp.status;
    const bool transient = st == 429 || st == 500 || st == 502 || st == 503 || st == 504;
    x.result =
        transient ? exchange_result::outcome::retry_limited : exchange_result::outcome::fatal;
    std::string what = "server refused the request for ";
    if (st == 404) what = "target not found: ";
    if (st == 401 || st == 407)
      what = std::string(st == 401 ? "authentication" : "proxy authentication") +
             " required or refused for ";
    if (st == 403) what = "access forbidden to ";
    x.failure = error{st == 404 ? errc::not_found : errc::io, no_offset,
                      what + where + " (" + describe_status(resp) + ")"};
    return x;
  }
  if (resp.has_header("jpip-cnew")) take_cnew(resp.header("jpip-cnew"));
  const std::string ctype = resp.header("content-type");
  const char* wanted = jpt_ ? "jpt-stream" : "jpp-stream";
  if (!ctype.empty() && ctype.find(wanted) == std::string::npos && resp.body_bytes > 0) {
    x.result = exchange_result::outcome::fatal;
    std::string hint;
    if (!jpt_ && ctype.find("jpt-stream") != std::string::npos)
      hint =
          " (the server speaks JPT: ask for JPT-streams, e.g. the GDAL open option "
          "STREAM_TYPE=JPT or pipit get --stream-type jpt)";
    x.failure = error{errc::corrupt, no_offset,
                      where + ": the server answered with " + ctype + ", not a " +
                          (jpt_ ? "JPT" : "JPP") + "-stream" + hint};
    return x;
  }
  if (!x.eor) {
    // A JPP-stream response ends with an EOR: without one, the response was cut short.
    x.result = exchange_result::outcome::retry;
    x.failure = error{errc::io, no_offset, where + ": response ended without EOR"};
    return x;
  }
  return x;
}

}  // namespace pipit::client
