// A JPIP session over HTTP (15444-9 Annex F, docs/jpip-notes.md §9.1): the session-opening request
// (`cnew=http&type=jpp-stream&stream=N&tid=...&len=...`, N the codestream browsed, or
// `type=jpt-stream`), the channel's
// path/host/port/cid taken from JPIP-cnew, stateless requests when no channel was granted, `cclose`
// at the end; and the JPP-stream of each response fed into the data-bin cache as it arrives.
//
// Thread-safety: none; a session belongs to the client's worker thread (and to open()/close()
// while no worker runs). The cache is reached through the caller's mutex.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "http_transport.hpp"
#include "pipit/databin_cache.hpp"
#include "pipit/jpp.hpp"
#include "pipit/rebuild.hpp"
#include "pipit/request.hpp"
#include "url.hpp"

namespace pipit::client {

// The data-bin cache shared by the worker (writer) and decoders (readers), and the one model of
// the codestream they both work from: the core's skeleton of the cache's header bins.
struct shared_cache {
  std::mutex mutex;
  databin_cache cache;
  std::uint64_t version = 0;  // bumped whenever bytes are added or bins dropped
  std::uint64_t epoch = 0;    // bumped when the cache is emptied for a new target
  // Bumped whenever a header bin (main header, tile header, metadata) gains bytes or completes,
  // and with epoch: the skeleton is rebuilt only then.
  std::uint64_t header_version = 0;
  std::uint32_t csn = 0;  // the codestream browsed (set before any use)

  // Marks a change of bin `b` (new bytes or completion).
  void changed(const bin_id& b) {
    ++version;
    if (b.kind != bin_kind::precinct && b.kind != bin_kind::tile) ++header_version;
  }
  // Marks a change of any bin (a reload, a merge, a new target).
  void changed_all() {
    ++version;
    ++header_version;
  }

  // The skeleton of codestream csn as the header bins held now describe it (main header and the
  // complete tile header bins): the geometry, coding and precinct ids of the worker's windows and
  // the decoder's rebuilds. Rebuilt when header_version changed.
  // REQUIRES: `mutex` held; the pointer is valid while it is held.
  result<const codestream_skeleton*> skeleton() {
    if (!skeleton_ || skeleton_version_ != header_version) {
      auto sk = codestream_skeleton::build(cache, csn);
      if (!sk) return fail(sk.error());
      skeleton_ = std::move(*sk);
      skeleton_version_ = header_version;
    }
    return &*skeleton_;
  }

 private:
  std::optional<codestream_skeleton> skeleton_;
  std::uint64_t skeleton_version_ = 0;
};

// What one response did.
struct exchange_result {
  enum class outcome : std::uint8_t {
    ok,             // a JPP-stream ending in EOR
    retry,          // connection failed or dropped, or no EOR: try again (maybe a new session)
    retry_limited,  // a timeout, or HTTP 429/500/502/503/504: try again within max_retry
    session_lost,   // the server no longer knows the channel (an error status on a cid request)
    fatal,          // TLS, 404 on the target, corrupt stream, other HTTP errors
  };
  outcome result = outcome::ok;
  std::optional<eor_reason> eor;
  std::uint64_t new_bytes = 0;  // bytes the cache did not hold
  std::uint64_t body_bytes = 0;
  double seconds = 0;
  error failure;                // when result != ok
  std::set<bin_id> touched;     // bins that received messages
  bool target_changed = false;  // JPIP-tid differed: the cache was emptied
};

class session {
 public:
  // `jpt`: ask for JPT-streams (type=jpt-stream) instead of JPP-streams. Every request names
  // codestream `codestream` (stream=N).
  session(jpip_url url, const transport_options& transport, bool use_session, shared_cache& cache,
          bool jpt = false, std::uint32_t codestream = 0);

  // Opens a session (or, when the server grants none, falls back to stateless requests).
  // `model` (optional) declares what the cache holds, for a known `tid`.
  exchange_result open(std::uint64_t len, const std::optional<cache_model_spec>& model,
                       const std::function<bool()>& should_stop = {});
  // One request on the channel (or a stateless one). `view` holds the view-window fields.
  exchange_result send(jpip_request view, std::uint64_t len,
                       const std::function<bool()>& should_stop = {});
  // cclose for the channel (best effort); the session becomes closed.
  void close();

  bool is_open() const { return open_; }
  bool stateless() const { return open_ && cid_.empty(); }
  void forget() {
    open_ = false;
    cid_.clear();
  }
  const std::string& cid() const { return cid_; }
  std::uint64_t requests() const { return requests_; }
  std::uint64_t body_bytes() const { return body_bytes_; }
  std::uint64_t new_bytes() const { return new_bytes_; }
  http_transport& transport() { return transport_; }

 private:
  exchange_result exchange(const std::string& url, bool is_session_request,
                           const std::function<bool()>& should_stop);
  void take_cnew(const std::string& value);

  jpip_url url_;
  http_transport transport_;
  bool use_session_;
  shared_cache& cache_;
  bool jpt_ = false;
  std::uint32_t codestream_ = 0;
  bool open_ = false;
  std::string cid_;
  std::string channel_base_;  // origin + path for channel requests
  std::uint64_t requests_ = 0, body_bytes_ = 0, new_bytes_ = 0;
};

}  // namespace pipit::client
