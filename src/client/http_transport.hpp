// One HTTP/1.1 connection's worth of GET requests through a libcurl easy handle (keep-alive,
// chunked bodies, TLS verification, proxy, authentication, extra headers, cookies and timeouts
// from transport_options), whole or of a byte range. The JPIP client and the server's reads of
// objects on a storage origin (server/remote_storage.hpp) both use it: it is built as a library
// of its own (pipit_http, libcurl only).
//
// The body of a 2xx response is handed to the caller as it arrives; the body of any other status
// is kept (up to 4 KiB) as the error text. Failures are reported in the result, classified so the
// caller can decide whether to retry: a connection that could not be made or was dropped is
// retryable, a TLS verification failure is not.
//
// Thread-safety: none; one transport per thread.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pipit/byte_reader.hpp"
#include "pipit/client.hpp"

namespace pipit::client {

enum class transfer_failure : std::uint8_t {
  none,
  connect,  // could not resolve or connect; retryable
  dropped,  // the connection broke mid-response; retryable
  timeout,  // a timeout of transport_options expired (connect, total, or too slow / silent)
  tls,      // TLS handshake or certificate verification failed; not retryable
  aborted,  // the body consumer refused the data (corrupt stream) or the caller stopped
  other,    // anything else libcurl reports
};

struct http_response {
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in order
  std::string error_body;                                    // non-2xx bodies (truncated)
  std::uint64_t body_bytes = 0;
  double seconds = 0;  // total transfer time
  transfer_failure failure = transfer_failure::none;
  std::string failure_text;  // libcurl's message when failure != none

  // The value of the first header named `name` (lower-case), or "".
  std::string header(std::string_view name) const;
  bool has_header(std::string_view name) const;
  bool ok() const { return failure == transfer_failure::none && status >= 200 && status < 300; }
};

class http_transport {
 public:
  explicit http_transport(transport_options options);
  ~http_transport();
  http_transport(const http_transport&) = delete;
  http_transport& operator=(const http_transport&) = delete;

  // GET `url`. `on_body` receives 2xx body bytes as they arrive; returning false aborts the
  // transfer (failure = aborted). `should_stop` is polled during the transfer.
  // `on_headers` (optional) sees the status and headers once, before the first body byte (or at
  // the end when there is no body). `range` (optional, "first-last" as in a Range header's
  // bytes=) asks for those bytes only: a server that honours it answers 206 with Content-Range,
  // one that does not answers 200 with the whole body.
  http_response get(const std::string& url, const std::function<bool(bytes_view)>& on_body,
                    const std::function<bool()>& should_stop = {},
                    const std::function<void(const http_response&)>& on_headers = {},
                    const std::string& range = {});

  // The next request opens a fresh connection.
  void drop_connection();

 private:
  void configure();
  // The header list of the next request: options_.headers, then header_file's lines (read
  // again for each request, so a token refreshed in the file is used at once).
  void set_headers();

  transport_options options_;
  void* curl_ = nullptr;     // CURL*
  void* headers_ = nullptr;  // curl_slist* of the current request
  bool fresh_connect_ = false;
};

}  // namespace pipit::client
