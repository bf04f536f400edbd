#include "http_transport.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <mutex>

namespace pipit::client {
namespace {

std::once_flag curl_init_once;

struct transfer {
  http_response* response = nullptr;
  const std::function<bool(bytes_view)>* on_body = nullptr;
  const std::function<bool()>* should_stop = nullptr;
  const std::function<void(const http_response&)>* on_headers = nullptr;
  bool headers_seen = false;
  CURL* curl = nullptr;
  bool consumer_refused = false;
};

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return std::string(s);
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<transfer*>(user);
  const std::string_view line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    // A new status line (after 100 Continue or a redirect): forget earlier headers.
    t->response->headers.clear();
    const auto sp = line.find(' ');
    if (sp != std::string_view::npos)
      t->response->status = std::atol(std::string(line.substr(sp + 1, 3)).c_str());
    return size * n;
  }
  const auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    t->response->headers.emplace_back(trim(name), trim(line.substr(colon + 1)));
  }
  return size * n;
}

std::size_t on_write(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<transfer*>(user);
  const std::size_t bytes = size * n;
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  t->response->body_bytes += bytes;
  if (!t->headers_seen) {
    t->headers_seen = true;
    t->response->status = status;
    if (*t->on_headers) (*t->on_headers)(*t->response);
  }
  if (status < 200 || status >= 300) {
    auto& e = t->response->error_body;
    if (e.size() < 4096) e.append(data, std::min<std::size_t>(bytes, 4096 - e.size()));
    return bytes;
  }
  if (*t->on_body &&
      !(*t->on_body)(bytes_view(reinterpret_cast<const std::uint8_t*>(data), bytes))) {
    t->consumer_refused = true;
    return 0;  // CURLE_WRITE_ERROR
  }
  return bytes;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<transfer*>(user);
  return (*t->should_stop && (*t->should_stop)()) ? 1 : 0;
}

transfer_failure classify(CURLcode c) {
  switch (c) {
    case CURLE_OK: return transfer_failure::none;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT: return transfer_failure::connect;
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING: return transfer_failure::dropped;
    case CURLE_OPERATION_TIMEDOUT: return transfer_failure::timeout;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS: return transfer_failure::tls;
    case CURLE_WRITE_ERROR:
    case CURLE_ABORTED_BY_CALLBACK: return transfer_failure::aborted;
    default: return transfer_failure::other;
  }
}

long auth_mask(std::string scheme) {
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (scheme == "digest") return static_cast<long>(CURLAUTH_DIGEST);
  if (scheme == "ntlm") return static_cast<long>(CURLAUTH_NTLM);
  if (scheme == "negotiate") return static_cast<long>(CURLAUTH_NEGOTIATE);
  if (scheme == "any") return static_cast<long>(CURLAUTH_ANY);
  if (scheme == "anysafe") return static_cast<long>(CURLAUTH_ANYSAFE);
  if (scheme == "bearer") return static_cast<long>(CURLAUTH_BEARER);
  return static_cast<long>(CURLAUTH_BASIC);
}

}  // namespace

std::string http_response::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return v;
  return {};
}

bool http_response::has_header(std::string_view name) const {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& h) { return h.first == name; });
}

http_transport::http_transport(transport_options options) : options_(std::move(options)) {
  std::call_once(curl_init_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  curl_ = curl_easy_init();
  configure();
}

http_transport::~http_transport() {
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
  curl_slist_free_all(static_cast<curl_slist*>(headers_));
}

void http_transport::set_headers() {
  CURL* c = static_cast<CURL*>(curl_);
  curl_slist* list = nullptr;
  auto add = [&](std::string line) {
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
    if (line.find(':') == std::string::npos && line.find(';') == std::string::npos) return;
    if (curl_slist* l = curl_slist_append(list, line.c_str()); l != nullptr) list = l;
  };
  for (const auto& h : options_.headers) add(h);
  if (!options_.header_file.empty()) {
    std::ifstream f(options_.header_file);
    for (std::string line; std::getline(f, line);) add(line);
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  curl_slist_free_all(static_cast<curl_slist*>(headers_));
  headers_ = list;
}

void http_transport::configure() {
  CURL* c = static_cast<CURL*>(curl_);
  if (c == nullptr) return;
  curl_easy_setopt(c, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");  // gzip/deflate when a server uses them
  curl_easy_setopt(c, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);
  if (!options_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_file.c_str());
  if (!options_.proxy.empty()) curl_easy_setopt(c, CURLOPT_PROXY, options_.proxy.c_str());
  if (!options_.proxy_auth.empty())
    curl_easy_setopt(c, CURLOPT_PROXYUSERPWD, options_.proxy_auth.c_str());
  const bool bearer = auth_mask(options_.auth) == static_cast<long>(CURLAUTH_BEARER);
  if (bearer && !options_.bearer.empty()) {
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BEARER));
    curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, options_.bearer.c_str());
  } else if (!options_.user_password.empty()) {
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, auth_mask(options_.auth));
    curl_easy_setopt(c, CURLOPT_USERPWD, options_.user_password.c_str());
  }
  if (!options_.cookie.empty()) curl_easy_setopt(c, CURLOPT_COOKIE, options_.cookie.c_str());
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, options_.connect_timeout_ms);
  if (options_.timeout_ms > 0) curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, options_.timeout_ms);
  if (const long idle = options_.effective_low_speed_seconds(); idle > 0) {
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, std::max(1L, options_.low_speed_limit));
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, idle);
  }
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &on_write);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &on_progress);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
}

http_response http_transport::get(const std::string& url,
                                  const std::function<bool(bytes_view)>& on_body,
                                  const std::function<bool()>& should_stop,
                                  const std::function<void(const http_response&)>& on_headers,
                                  const std::string& range) {
  http_response response;
  CURL* c = static_cast<CURL*>(curl_);
  if (c == nullptr) {
    response.failure = transfer_failure::other;
    response.failure_text = "libcurl could not be initialised";
    return response;
  }
  transfer t;
  t.response = &response;
  t.on_body = &on_body;
  t.should_stop = &should_stop;
  t.on_headers = &on_headers;
  t.curl = c;
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, fresh_connect_ ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_RANGE, range.empty() ? nullptr : range.c_str());
  if (!options_.headers.empty() || !options_.header_file.empty()) set_headers();
  fresh_connect_ = false;
  const CURLcode rc = curl_easy_perform(c);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
  if (!t.headers_seen && rc == CURLE_OK) {
    t.headers_seen = true;
    if (on_headers) on_headers(response);
  }
  double secs = 0;
  curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &secs);
  response.seconds = secs;
  if (rc != CURLE_OK) {
    response.failure = classify(rc);
    if (t.consumer_refused) response.failure = transfer_failure::aborted;
    response.failure_text =
        errbuf[0] != 0 ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
    while (!response.failure_text.empty() && response.failure_text.back() == '\n')
      response.failure_text.pop_back();
    fresh_connect_ = true;
  }
  return response;
}

void http_transport::drop_connection() { fresh_connect_ = true; }

}  // namespace pipit::client
