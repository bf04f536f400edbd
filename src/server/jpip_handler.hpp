// JPIP request handling without sockets: an HTTP request (method, request-target, body) in, a
// reply (status, JPIP-* headers, and a body source producing the JPP/JPT-stream in chunks) out.
//
// What a request names (15444-9 C.2-C.3, Annex F; docs/jpip-notes.md §9):
//  * `cid=` names an open channel: the request is served in that channel's session, on its target
//    (the URL path is then the channel's path, "jpip", and is ignored; a `target=` must agree).
//  * `cnew=http` without cid opens a session on the target named by `target=` or, failing that,
//    by the URL path; with cid it opens another channel in that session. JPIP-cnew answers.
//  * neither: a stateless request on the named target; its `model` describes the client cache
//    for this request alone.
// The view-window comes from fsiz/roff/rsiz/comps/layers per codestream (stream= and
// context=jpxl<...>; default codestream 0). No fsiz means no image data: metadata-bin 0 and the
// main header only, as Kakadu serves a request without a window. Every change to what was asked
// is reported (JPIP-fsiz, -roff, -rsiz, -layers, -comps, -stream, -quality).
//
// The reply body (body_source) composes the response chunk by chunk under the session's lock,
// ends it with EOR 1, 2 or 4 (response_stream), or with EOR 3 when a newer request arrived on the
// channel in the meantime (unless that request asked wait=yes).
//
// Limits (stream_limits, changeable while serving): a `len` above max_len, or none, is lowered to
// max_len and reported as JPIP-len; a session that has received session_max_bytes message bytes
// gets EOR 6 (session limit) at the point it reaches them, and an EOR 6 alone for later requests.
// cut_responses() (shutdown) makes every unfinished body end at its next chunk with EOR 6.
//
// Thread-safety: handle() may be called concurrently; a body_source is used by one thread at a
// time.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pipit/gather_buffer.hpp"
#include "server/limits.hpp"
#include "server/session_registry.hpp"
#include "server/target_registry.hpp"

namespace pipit::server {

class body_source {
 public:
  virtual ~body_source() = default;
  // Appends the next chunk to `out`; returns false when it was the last (the EOR included).
  // The chunk's views (of the target's file and bins) stay valid while the body lives.
  virtual bool next(gather_buffer& out) = 0;
  // The same, copied into one buffer.
  bool next(std::vector<std::uint8_t>& out) {
    gather_buffer g;
    const bool more = next(g);
    g.append_to(out);
    return more;
  }
  // The EOR reason code the body ended with, -1 while unfinished (or none).
  virtual int eor() const { return -1; }
};

struct reply {
  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // JPIP-* and others
  std::string content_type = "text/plain; charset=utf-8";
  std::string text;                   // the body when `body` is null
  std::shared_ptr<body_source> body;  // a chunked JPP/JPT-stream
  // For the access log: the channel id, target name and view-window ("fsiz=..;roff=..;..").
  std::string log_cid, log_target, log_window;

  const std::string* header(std::string_view name) const;
};

struct handler_options {
  std::size_t chunk_bytes = std::size_t{64} * 1024;  // target size of one chunk of a stream body
  std::string channel_path = "jpip";                 // the `path` of JPIP-cnew
  std::size_t max_codestreams = 4096;                // per request
  std::uint64_t max_len = 0;                         // cap on len (0: none)
  std::uint64_t session_max_bytes = 0;               // message bytes per session (0: no limit)
};

// Percent-decodes a URL path; false on a bad escape or a decoded NUL.
bool decode_url_path(std::string_view in, std::string& out);

class jpip_handler {
 public:
  jpip_handler(target_registry& targets, session_registry& sessions, handler_options options = {});

  // method: "GET" or "POST" (the query in a form-encoded body); request_target: "/a.jp2?fsiz=..".
  reply handle(std::string_view method, std::string_view request_target,
               std::string_view body = {});

  // New limits for later requests.
  void set_limits(const stream_limits& l);
  // Every body not yet finished ends at its next chunk with EOR 6.
  void cut_responses() { cut_ = true; }

 private:
  target_registry& targets_;
  session_registry& sessions_;
  handler_options options_;  // channel_path and max_codestreams; the limits are below
  std::atomic<std::size_t> chunk_bytes_;
  std::atomic<std::uint64_t> max_len_, session_max_bytes_;
  std::atomic<bool> cut_{false};
};

// An error reply: status from the error kind, text "<status> <phrase>: <message>\n".
reply error_reply(const error& e);
reply error_reply(unsigned status, std::string_view message);

}  // namespace pipit::server
