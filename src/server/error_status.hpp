// The one place that maps error kinds to HTTP statuses (iipsrv style).
//
//   invalid_argument  400 Bad Request        malformed request, unknown field, bad combination
//   not_found         404 Not Found          no such target (or outside the root), unknown channel
//   corrupt/truncated 415 Unsupported Media  the target is not a JPEG 2000 file Pipit can index
//   unsupported       501 Not Implemented    a known field or value Pipit does not honour
//   limit             503 Service Unavail.   too many sessions or channels
//   io                500 Internal Error     the operating system refused a read
//
// Thread-safety: pure functions.
#pragma once

#include <string_view>

#include "pipit/error.hpp"

namespace pipit::server {

unsigned http_status_of(errc code);
std::string_view http_reason_phrase(unsigned status);

}  // namespace pipit::server
