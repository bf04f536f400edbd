// The one place that maps why a request is refused to an HTTP status, and the one builder of a
// refusal's text ("<status> <phrase>: <reason>\n", text/plain). Every refusal of the server, from
// the HTTP layer or the JPIP handler, goes through here.
//
//   kind                 status  when
//   bad_request          400     malformed request or framing, unknown field, bad combination
//   not_found            404     no such target (or outside the root), unknown channel
//   method_not_allowed   405     a method other than GET, POST, OPTIONS
//   payload_too_large    413     a POST body above max-body-bytes
//   expectation_failed   417     an Expect other than 100-continue
//   not_jpeg2000         415     the target is not a JPEG 2000 file Pipit can index
//   headers_too_large    431     request line and headers above max-header-bytes or max-headers
//   internal             500     the operating system refused a read; an unexpected exception
//   not_implemented      501     a known field or value Pipit does not honour
//   bad_gateway          502     the storage origin of a remote root failed: unreachable, timed
//                                out, an error status, an object that changed under a response
//   unavailable          503     a limit: connections, sessions, channels, session memory, builds
//
// The error kinds of the core (errc) map onto these: invalid_argument → bad_request, not_found →
// not_found, corrupt/truncated → not_jpeg2000, unsupported → not_implemented, limit →
// unavailable, io → internal, upstream → bad_gateway.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "pipit/error.hpp"

namespace pipit::server {

enum class refusal_kind {
  bad_request,
  not_found,
  method_not_allowed,
  payload_too_large,
  expectation_failed,
  not_jpeg2000,
  headers_too_large,
  internal,
  not_implemented,
  bad_gateway,
  unavailable,
};

refusal_kind refusal_of(errc code);
unsigned http_status_of(refusal_kind kind);
unsigned http_status_of(errc code);
std::string_view http_reason_phrase(unsigned status);
// "<status> <phrase>: <reason>\n".
std::string refusal_text(refusal_kind kind, std::string_view reason);

}  // namespace pipit::server
