// JPIP sessions and channels (15444-9 B.2, Annex F; docs/jpip-notes.md §9).
//
// A session holds a target snapshot and the server's model of the client's cache for it; it has
// one or more channels, each named by a channel id (cid) the client sends with every request.
// Channel ids are 128 random bits from the operating system (std::random_device), in hex: they
// cannot be guessed from other ids. A registry given an instance id (behind a load balancer)
// puts it in front, "<instance>.<32 hex digits>", so a proxy can route on it; the random part is
// the same 128 bits. A channel counts the requests that arrived on it
// (`generation`): a response checks it between chunks and ends with EOR 3 (window change) when a
// newer request took over the channel.
//
// Sessions idle longer than the idle timeout are reaped (reap()); a session whose last channel
// is closed ends. Limits on sessions and channels per session give errc::limit (HTTP 503).
//
// Memory: a session costs its cache model (sparse: in proportion to what it was sent) and a few
// hundred bytes. Every session counts its memory in a meter shared by the registry (recount()
// after each change of its model); a new session is refused (errc::limit) while the meter is at
// max_memory or above. A session's memory leaves the meter when the session is destroyed (a
// response in flight may keep it a little beyond its end); what was freed is noted so the server
// can give it back to the system (malloc_trim) once enough has been.
//
// Thread-safety: the registry's members may be called concurrently. A session's model and type
// are guarded by session::mutex, which a response holds while it composes each chunk.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "pipit/error.hpp"
#include "pipit/response_stream.hpp"
#include "server/target_registry.hpp"

namespace pipit::server {

using clock = std::chrono::steady_clock;

struct channel {
  std::string cid;
  std::atomic<std::uint64_t> generation{0};  // requests seen on this channel
  std::atomic<bool> closed{false};
};

// The memory of all sessions.
struct session_meter {
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<std::uint64_t> freed{0};  // by ended sessions, since the last take
};

struct session {
  session() = default;
  session(const session&) = delete;
  session& operator=(const session&) = delete;
  ~session();

  std::shared_ptr<const target> tgt;
  std::mutex mutex;  // guards everything below
  stream_model model;
  bool jpt = false;  // return type chosen when the session was opened
  std::atomic<clock::rep> last_used{0};
  std::atomic<std::uint64_t> bytes_sent{0};  // message bytes of all its responses
  std::shared_ptr<session_meter> meter;
  std::uint64_t counted = 0;  // what `meter` counts for this session

  void touch(clock::time_point now = clock::now()) { last_used = now.time_since_epoch().count(); }
  // Counts the session's memory in the meter again. REQUIRES: mutex held.
  void recount();
};

struct channel_ref {
  std::shared_ptr<session> s;
  std::shared_ptr<channel> ch;
};

struct session_limits {
  std::size_t max_sessions = 10000;
  std::size_t max_channels_per_session = 32;
  std::chrono::seconds idle_timeout{600};
  std::uint64_t max_memory = 1ull << 30;  // of all sessions; 0: no limit
};

// 32 lower-case hex digits from std::random_device, after "<instance>." when `instance` is given.
std::string make_channel_id(std::string_view instance = {});

class session_registry {
 public:
  explicit session_registry(session_limits limits = {}, std::string instance = {})
      : instance_(std::move(instance)),
        limits_(limits),
        meter_(std::make_shared<session_meter>()) {}

  // A new session on `t` with one channel.
  result<channel_ref> open_session(std::shared_ptr<const target> t, bool jpt);
  // A new channel in the session of `existing`.
  result<channel_ref> add_channel(const channel_ref& existing);
  // The channel named `cid` and its session; not_found when closed, reaped or never issued.
  result<channel_ref> find(const std::string& cid);
  // Closes channels of one session: `ids`, or all of them when `all`. Every id must name an
  // open channel of the same session (and of `owner`'s session when given), else nothing is
  // closed and the error is invalid_argument (or not_found for an unknown id).
  result<void> close(const std::vector<std::string>& ids, bool all,
                     const std::shared_ptr<session>& owner);
  // Ends the sessions idle since before now - idle_timeout; returns how many.
  std::size_t reap(clock::time_point now = clock::now());

  std::size_t sessions() const;
  std::size_t channels() const;
  // Memory of the sessions (and of ended ones still finishing a response).
  std::uint64_t memory() const { return meter_->bytes.load(std::memory_order_relaxed); }
  // Bytes freed by sessions destroyed since the last call.
  std::uint64_t take_freed() { return meter_->freed.exchange(0, std::memory_order_relaxed); }
  session_limits limits() const;
  // New limits apply to later requests (and the next reap); open sessions are kept.
  void set_limits(const session_limits& l);

 private:
  std::string fresh_id_locked();
  void erase_session_locked(const std::shared_ptr<session>& s);

  const std::string instance_;  // prefix of channel ids ("" : none)
  mutable std::mutex mutex_;    // guards everything below
  session_limits limits_;
  std::shared_ptr<session_meter> meter_;
  std::map<std::string, channel_ref> channels_;                    // by cid
  std::map<session*, std::vector<std::string>> session_channels_;  // open cids per session
};

}  // namespace pipit::server
