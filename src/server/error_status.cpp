#include "server/error_status.hpp"

namespace pipit::server {

refusal_kind refusal_of(errc code) {
  switch (code) {
    case errc::invalid_argument: return refusal_kind::bad_request;
    case errc::not_found: return refusal_kind::not_found;
    case errc::corrupt:
    case errc::truncated: return refusal_kind::not_jpeg2000;
    case errc::unsupported: return refusal_kind::not_implemented;
    case errc::limit: return refusal_kind::unavailable;
    case errc::io: return refusal_kind::internal;
    case errc::upstream: return refusal_kind::bad_gateway;
  }
  return refusal_kind::internal;
}

unsigned http_status_of(refusal_kind kind) {
  switch (kind) {
    case refusal_kind::bad_request: return 400;
    case refusal_kind::not_found: return 404;
    case refusal_kind::method_not_allowed: return 405;
    case refusal_kind::payload_too_large: return 413;
    case refusal_kind::expectation_failed: return 417;
    case refusal_kind::not_jpeg2000: return 415;
    case refusal_kind::headers_too_large: return 431;
    case refusal_kind::internal: return 500;
    case refusal_kind::not_implemented: return 501;
    case refusal_kind::bad_gateway: return 502;
    case refusal_kind::unavailable: return 503;
  }
  return 500;
}

unsigned http_status_of(errc code) { return http_status_of(refusal_of(code)); }

std::string_view http_reason_phrase(unsigned status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

std::string refusal_text(refusal_kind kind, std::string_view reason) {
  const unsigned status = http_status_of(kind);
  std::string s = std::to_string(status);
  s += ' ';
  s += http_reason_phrase(status);
  s += ": ";
  s += reason;
  s += '\n';
  return s;
}

}  // namespace pipit::server
