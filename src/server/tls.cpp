#include "server/tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace pipit::server {
namespace {

std::string openssl_reason(const boost::system::error_code& ec) {
  std::string s = ec.message();
  if (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    s = buf;
  }
  ERR_clear_error();
  return s;
}

}  // namespace

result<std::shared_ptr<ssl::context>> make_tls_context(const std::string& cert_file,
                                                       const std::string& key_file) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use,
                   ec);
  if (ec) return fail(errc::invalid_argument, no_offset, "TLS: " + openssl_reason(ec));
  // TLS 1.2: forward-secret AEAD suites only (ECDHE with AES-GCM or ChaCha20-Poly1305); no static
  // RSA key exchange, no CBC. TLS 1.3's suites are all of that kind already.
  static constexpr char tls12_suites[] =
      "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
      "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
      "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
  if (SSL_CTX_set_cipher_list(ctx->native_handle(), tls12_suites) != 1)
    return fail(errc::invalid_argument, no_offset, "TLS: no usable TLS 1.2 cipher suite");
  SSL_CTX_set_options(ctx->native_handle(), SSL_OP_CIPHER_SERVER_PREFERENCE |
                                                SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  ctx->use_certificate_chain_file(cert_file, ec);
  if (ec)
    return fail(errc::invalid_argument, no_offset,
                "tls-cert " + cert_file + ": " + openssl_reason(ec));
  ctx->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec)
    return fail(errc::invalid_argument, no_offset,
                "tls-key " + key_file + ": " + openssl_reason(ec));
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    ERR_clear_error();
    return fail(errc::invalid_argument, no_offset,
                "tls-key " + key_file + " does not match tls-cert " + cert_file);
  }
  return ctx;
}

}  // namespace pipit::server
