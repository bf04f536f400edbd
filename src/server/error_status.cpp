#include "server/error_status.hpp"

namespace pipit::server {

unsigned http_status_of(errc code) {
  switch (code) {
    case errc::invalid_argument: return 400;
    case errc::not_found: return 404;
    case errc::corrupt:
    case errc::truncated: return 415;
    case errc::unsupported: return 501;
    case errc::limit: return 503;
    case errc::io: return 500;
  }
  return 500;
}

std::string_view http_reason_phrase(unsigned status) {
  switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

}  // namespace pipit::server
