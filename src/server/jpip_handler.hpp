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
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pipit/gather_buffer.hpp"
#include "pipit/jpp.hpp"
#include "pipit/request.hpp"
#include "pipit/response_stream.hpp"
#include "pipit/view_window.hpp"
#include "server/error_status.hpp"
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
  int eor() const { return eor_; }
  // Ends a body whose next() threw: appends EOR 255 (non-specified) to `out`, and then the body
  // is finished. A session's body also forgets the session's cache model, which may count bytes
  // of the lost chunk: the session's next responses send again what the client may lack.
  virtual void abandon(gather_buffer& out);

 protected:
  // Appends an EOR message to `out` and finishes the body with it.
  void finish_with(gather_buffer& out, eor_reason why);
  int eor_ = -1;
};

struct reply {
  // The target is being indexed: nothing to send yet; handle() again once on_ready is called.
  bool pending = false;
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

// The `path` of JPIP-cnew: "jpip", or "jpip/<instance>" for a named instance behind a load
// balancer (a proxy may route on that prefix as on the cid's; requests on a channel are served
// whatever their path).
std::string channel_path(std::string_view instance);

// Percent-decodes a URL path; false on a bad escape or a decoded NUL.
bool decode_url_path(std::string_view in, std::string& out);

// What one response may send: `len` as asked, lowered to max-len and to what the session may
// still receive (session-max-bytes). A response cut by the session's remaining bytes ends with
// EOR 6 (session limit), one cut by len with EOR 4; a session with nothing left gets EOR 6 alone.
struct response_budget {
  std::uint64_t len = std::numeric_limits<std::uint64_t>::max();
  bool session_bound = false;  // len is the session's remaining bytes
  bool exhausted = false;      // the session has nothing left
  // The EOR of a response the composer ended with `composed`.
  eor_reason end_reason(eor_reason composed) const;
};

// A response's plan: what the composer sends (stream), under which budget, for which codestreams.
struct response_plan {
  stream_plan stream;
  response_budget budget;
  std::vector<std::uint32_t> codestreams;  // as requested (the model's default codestreams)
};

// A step of handle(): its result, or the reply that ends the request there.
template <class T>
using step = tl::expected<T, reply>;

class jpip_handler {
 public:
  jpip_handler(target_registry& targets, session_registry& sessions, handler_options options = {});

  // method: "GET" or "POST" (the query in a form-encoded body); request_target: "/a.jp2?fsiz=..".
  // With `on_ready`, a target not yet indexed is indexed on the registry's builder and the reply
  // is `pending`: on_ready is called (on a builder thread) when it is done, and the caller then
  // calls handle() again. Without, handle() waits for the index.
  //
  // The steps: read_request (method, path, fields, what Pipit does not offer), resolve_channel
  // (session, channel, target), start_reply (JPIP-cnew, -tid, -qid), cclose, plan_response
  // (codestreams, windows and what changed in them, the budget), cache_model_for (the session's
  // model or a stateless one, with model= applied), then the body.
  reply handle(std::string_view method, std::string_view request_target, std::string_view body = {},
               std::function<void()> on_ready = {});

  // New limits for later requests.
  void set_limits(const stream_limits& l);
  // Every body not yet finished ends at its next chunk with EOR 6.
  void cut_responses() { cut_ = true; }

 private:
  struct incoming {
    jpip_request rq;
    std::string path;  // the URL path, percent-decoded
    bool jpt = false;  // type=jpt-stream asked
  };
  struct resolved {
    channel_ref ref;  // empty for a stateless request
    bool new_channel = false;
    std::uint64_t generation = 0;
    std::shared_ptr<const target> tgt;
    bool jpt = false;
  };
  step<incoming> read_request(std::string_view method, std::string_view request_target,
                              std::string_view body) const;
  step<resolved> resolve_channel(const incoming& in, std::function<void()> on_ready);
  reply start_reply(const incoming& in, const resolved& res, bool& tid_ok) const;
  response_budget budget_of(const jpip_request& rq, const channel_ref& ref, reply& r) const;
  response_plan plan_response(const incoming& in, const resolved& res, reply& r) const;
  static void report_window(const served_window& sw, reply& r);
  static void report_layers_and_comps(const jpip_request& rq, const codestream_index& cs,
                                      const window_spec& w, reply& r);
  step<std::unique_ptr<stream_model>> cache_model_for(const incoming& in, const resolved& res,
                                                      const response_plan& plan, bool tid_ok) const;

  target_registry& targets_;
  session_registry& sessions_;
  handler_options options_;  // channel_path and max_codestreams; the limits are below
  std::atomic<std::size_t> chunk_bytes_;
  std::atomic<std::uint64_t> max_len_, session_max_bytes_;
  std::atomic<bool> cut_{false};
};

// An error reply: status and text "<status> <phrase>: <message>\n" from error_status.hpp.
reply error_reply(const error& e);
reply error_reply(refusal_kind kind, std::string_view message);

}  // namespace pipit::server
