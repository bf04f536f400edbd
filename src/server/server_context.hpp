// What every connection of a running server shares: the request handler and registries, metrics,
// the access log, the connection limits in force, the TLS context, and the set of open
// connections (for max-connections and for a graceful stop, which asks each one to drain).
//
// Thread-safety: all members may be used concurrently (atomics, or their own locks).
#pragma once

#include <atomic>
#include <list>
#include <memory>
#include <mutex>
#include <utility>

#include "server/access_log.hpp"
#include "server/jpip_handler.hpp"
#include "server/limits.hpp"
#include "server/metrics.hpp"
#include "server/tls.hpp"

namespace pipit::server {

// A connection as the tracker sees it.
class connection_base : public std::enable_shared_from_this<connection_base> {
 public:
  virtual ~connection_base() = default;
  // Asks the connection to end: at once when it waits for a request, else after the response
  // in flight. May be called from any thread.
  virtual void drain() = 0;
};

// Open connections: those serving HTTP (listed, so a stop can drain them) and those still in the
// TLS detection, counted by an `accepting` token. Both count against max-connections.
class connection_tracker {
 public:
  using handle = std::list<std::weak_ptr<connection_base>>::iterator;
  handle add(std::weak_ptr<connection_base> c) {
    std::lock_guard lk(mutex_);
    open_.fetch_add(1, std::memory_order_relaxed);
    return list_.insert(list_.end(), std::move(c));
  }
  void remove(handle h) {
    std::lock_guard lk(mutex_);
    list_.erase(h);
    open_.fetch_sub(1, std::memory_order_relaxed);
  }
  // Counts one accepted socket until the token is destroyed.
  class accepting {
   public:
    explicit accepting(connection_tracker& t) : t_(&t) {
      t_->accepting_.fetch_add(1, std::memory_order_relaxed);
    }
    accepting(accepting&& o) noexcept : t_(std::exchange(o.t_, nullptr)) {}
    accepting& operator=(accepting&&) = delete;
    ~accepting() {
      if (t_) t_->accepting_.fetch_sub(1, std::memory_order_relaxed);
    }

   private:
    connection_tracker* t_;
  };
  // Every open connection (serving or in TLS detection).
  std::size_t open() const {
    return open_.load(std::memory_order_relaxed) + accepting_.load(std::memory_order_relaxed);
  }
  // Connections serving HTTP.
  std::size_t serving() const { return open_.load(std::memory_order_relaxed); }
  void drain_all() {
    std::vector<std::shared_ptr<connection_base>> live;
    {
      std::lock_guard lk(mutex_);
      for (auto& w : list_)
        if (auto c = w.lock()) live.push_back(std::move(c));
    }
    for (auto& c : live) c->drain();
  }

 private:
  std::mutex mutex_;
  std::list<std::weak_ptr<connection_base>> list_;
  std::atomic<std::size_t> open_{0};
  std::atomic<std::size_t> accepting_{0};
};

struct server_context {
  server_context(jpip_handler& h, session_registry& s, target_registry& t,
                 const connection_limits& l)
      : handler(h), sessions(s), targets(t), limits(l) {}

  jpip_handler& handler;
  session_registry& sessions;
  target_registry& targets;
  server_metrics metrics;
  access_log access;
  live_limits limits;
  connection_tracker connections;
  std::atomic<bool> metrics_enabled{true};
  std::atomic<bool> draining{false};
  bool plain_http = false;             // with TLS: plain HTTP answered too (fixed at start)
  std::uint64_t descriptor_limit = 0;  // RLIMIT_NOFILE in force (fixed at start)

  std::shared_ptr<ssl::context> tls() const {
    std::lock_guard lk(tls_mutex_);
    return tls_;
  }
  void set_tls(std::shared_ptr<ssl::context> c) {
    std::lock_guard lk(tls_mutex_);
    tls_ = std::move(c);
  }

  metrics_gauges gauges() const {
    metrics_gauges g;
    g.connections_open = connections.open();
    g.sessions_open = sessions.sessions();
    g.channels_open = sessions.channels();
    g.index_cache_files = targets.cached();
    g.index_cache_bytes = targets.cached_bytes();
    g.index_cache_hits = targets.hits();
    g.index_cache_misses = targets.misses();
    g.index_builds_pending = targets.builds_pending();
    g.index_failures_cached = targets.failures_cached();
    g.session_memory_bytes = sessions.memory();
    g.session_memory_limit = sessions.limits().max_memory;
    g.descriptor_limit = descriptor_limit;
    g.max_connections = limits.get()->max_connections;
    g.draining = draining.load();
    return g;
  }

 private:
  mutable std::mutex tls_mutex_;
  std::shared_ptr<ssl::context> tls_;
};

}  // namespace pipit::server
