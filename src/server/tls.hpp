// TLS for `pipit serve` (jpips://): an OpenSSL 3 server context made through Asio SSL from a PEM
// certificate chain and private key. TLS 1.2 and 1.3 only; the key must match the certificate.
// TLS 1.2 offers forward-secret AEAD suites only (ECDHE with AES-GCM or ChaCha20-Poly1305), the
// server's order first; no compression, no renegotiation.
//
// The first bytes of a connection say whether it opens with a TLS handshake (Beast's
// detect_ssl); plain HTTP is refused with 400 and the connection closed, unless plain-http is on
// (then the same port answers it too).
//
// Thread-safety: a context is immutable once made and may be shared by connections; SIGHUP
// makes a new one (certificate rotation) for later connections.
#pragma once

#include <memory>
#include <string>

#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>

#include "pipit/error.hpp"
#include "server/net.hpp"

namespace pipit::server {

namespace ssl = net::ssl;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

// Errors: invalid_argument naming the file that OpenSSL refused, and why.
result<std::shared_ptr<ssl::context>> make_tls_context(const std::string& cert_file,
                                                       const std::string& key_file);

}  // namespace pipit::server
