#include "server/server.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <algorithm>

#include <filesystem>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "server/app_log.hpp"
#include "server/io_pool.hpp"
#include "server/limits.hpp"
#include "server/listener.hpp"
#include "server/net.hpp"
#include "server/server_context.hpp"
#include "server/signals.hpp"

namespace pipit::server {

bool parse_listen(const std::string& text, std::string& host, std::uint16_t& port) {
  std::string p;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return false;
    host = text.substr(1, close - 1);
    p = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos) return false;
    host = text.substr(0, colon);
    p = text.substr(colon + 1);
  }
  if (host.empty() || p.empty() || p.size() > 5) return false;
  unsigned v = 0;
  for (char c : p) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > 65535) return false;
  port = static_cast<std::uint16_t>(v);
  return true;
}

namespace {

// Raises the soft descriptor limit to the hard one; returns the limit in force (0: unlimited).
std::uint64_t raise_descriptor_limit() {
  struct ::rlimit rl {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  if (rl.rlim_cur < rl.rlim_max) {
    struct ::rlimit up = rl;
    up.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &up) == 0) rl = up;
  }
  return rl.rlim_cur == RLIM_INFINITY ? 0 : static_cast<std::uint64_t>(rl.rlim_cur);
}

// The storage origin of a URL root, or null for a folder.
std::shared_ptr<remote_storage> remote_of(const serve_config& c) {
  if (!is_remote_root(c.root)) return nullptr;
  storage_options o;
  o.root = c.root;
  o.cache_dir = c.storage_cache;
  o.header_file = c.storage_header_file;
  o.ca_file = c.storage_ca_file;
  o.timeout_ms = static_cast<long>(std::min<std::uint64_t>(c.storage_timeout, 86400) * 1000);
  return std::make_shared<remote_storage>(std::move(o));
}

// Everything a running server owns, and what start, reload and stop do to it.
class running_server {
 public:
  running_server(const serve_config& c, run_hooks hooks, unsigned threads,
                 std::uint64_t descriptor_limit)
      : config_(c),
        hooks_(std::move(hooks)),
        descriptor_limit_(descriptor_limit),
        limits_(limits_from_config(c)),
        targets_(is_remote_root(c.root) ? std::filesystem::path() : std::filesystem::path(c.root),
                 limits_.cache.files, limits_.cache.bytes, limits_.cache.builds, remote_of(c),
                 std::chrono::seconds(c.storage_revalidate)),
        sessions_(limits_.sessions, c.instance_id),
        handler_(targets_, sessions_,
                 handler_options{limits_.stream.chunk_bytes, channel_path(c.instance_id), 4096,
                                 limits_.stream.max_len, limits_.stream.session_max_bytes}),
        ctx_(handler_, sessions_, targets_, with_delay(limits_.connection)),
        pool_(threads,
              [this](const char* what) {
                ctx_.metrics.count_internal_error();
                spdlog::error("internal error on an I/O thread: {}", what);
              }),
        ioc_(pool_.main()),
        ticker_(ioc_),
        grace_(ioc_) {
    ctx_.metrics_enabled = c.metrics;
    ctx_.plain_http = c.plain_http;
    ctx_.descriptor_limit = descriptor_limit;
  }

  result<void> start(const tcp::endpoint& ep) {
    if (!config_.tls_cert.empty()) {
      PIPIT_TRY_ASSIGN(tls, make_tls_context(config_.tls_cert, config_.tls_key));
      ctx_.set_tls(std::move(tls));
    }
    PIPIT_TRY(ctx_.access.open(config_.access_log));
    beast::error_code ec;
    listener_ = std::make_shared<listener>(pool_, ep, ctx_, ec);
    if (ec)
      return fail(errc::io, no_offset, "cannot listen on " + config_.listen + ": " + ec.message());
    listener_->run();
    signals_ = std::make_unique<signal_watch>(
        ioc_, [this] { begin_stop(); }, [this] { ioc_.stop(); }, [this] { reload(); });
    tick();
    return {};
  }

  std::string bound() const {
    const auto ep = listener_->local_endpoint();
    const std::string a = ep.address().to_string();
    return (ep.address().is_v6() ? "[" + a + "]" : a) + ":" + std::to_string(ep.port());
  }

  // Serves until stopped.
  void run() { pool_.run(); }
  void flush() { ctx_.access.flush(); }

 private:
  // The connection limits in force: max-connections kept below the descriptor limit (a reserve
  // for the listener, logs, timers and the index builds), and the test hook.
  connection_limits with_delay(connection_limits l) const {
    l.chunk_delay = hooks_.chunk_delay;
    if (descriptor_limit_ != 0) {
      const std::uint64_t reserve = std::max<std::uint64_t>(64, descriptor_limit_ / 8);
      const std::uint64_t most =
          descriptor_limit_ > 2 * reserve ? descriptor_limit_ - reserve : descriptor_limit_ / 2;
      if (l.max_connections > most) {
        spdlog::warn("max-connections {} lowered to {}: the descriptor limit is {}",
                     l.max_connections, most, descriptor_limit_);
        l.max_connections = most;
      }
    }
    return l;
  }

  // Once a second: flush the access log; every ten: reap idle sessions; while stopping: end
  // when the last connection is gone.
  void tick() {
    ticker_.expires_after(stopping_ ? std::chrono::milliseconds(50) : std::chrono::seconds(1));
    ticker_.async_wait([this](beast::error_code ec) {
      if (ec) return;
      ctx_.access.flush();
      if (stopping_) {
        if (ctx_.connections.serving() == 0) return ioc_.stop();
      } else if (++ticks_ % 10 == 0) {
        if (const auto n = sessions_.reap()) spdlog::debug("reaped {} idle sessions", n);
      }
      give_back_memory();
      tick();
    });
  }

  // A renewed certificate and key (the same files read again) for the connections to come.
  void reload_certificate(const serve_config& c) {
    if (!ctx_.tls() || c.tls_cert.empty()) return;
    auto t = make_tls_context(c.tls_cert, c.tls_key);
    if (t) {
      ctx_.set_tls(std::move(*t));
      spdlog::info("SIGHUP: certificate {} loaded", c.tls_cert);
    } else {
      spdlog::error("SIGHUP: keeping the current certificate: {}", t.error().message);
    }
  }

  // Ended sessions free their models; once enough was freed, the allocator gives it back to the
  // system (glibc keeps freed memory in its arenas otherwise).
  void give_back_memory() {
    freed_ += sessions_.take_freed();
    if (freed_ < (8u << 20)) return;
    freed_ = 0;
#ifdef __GLIBC__
    ::malloc_trim(0);
#endif
  }

  void begin_stop() {
    spdlog::info("stopping: {} connections, {} sessions open; grace {} s", ctx_.connections.open(),
                 sessions_.sessions(), config_.shutdown_grace);
    stopping_ = true;
    ctx_.draining = true;
    listener_->stop();
    ctx_.connections.drain_all();
    ticker_.cancel();
    tick();
    grace_.expires_after(std::chrono::seconds(config_.shutdown_grace));
    grace_.async_wait([this](beast::error_code ec) {
      if (ec) return;
      spdlog::info("grace period over: cutting {} responses", ctx_.connections.open());
      handler_.cut_responses();
      grace_.expires_after(std::chrono::seconds(1));
      grace_.async_wait([this](beast::error_code e) {
        if (!e) ioc_.stop();
      });
    });
  }

  void reload() {
    if (!hooks_.reload) {
      spdlog::info("SIGHUP: reopening the logs and the certificate");
      (void)configure_app_log(config_.log_level, config_.log_file);
      (void)ctx_.access.reopen();
      reload_certificate(config_);
      return;
    }
    auto next = hooks_.reload();
    if (!next) {
      spdlog::error("SIGHUP: configuration refused, keeping the current one: {}",
                    next.error().message);
      return;
    }
    const serve_config& n = *next;
    for (const auto& k : config_keys())
      if (!k.reloadable && config_value_text(n, k) != config_value_text(config_, k))
        spdlog::warn("SIGHUP: {} changed; restart the server to apply it", k.name);
    if (auto r = configure_app_log(n.log_level, n.log_file); !r)
      spdlog::error("SIGHUP: {}", r.error().message);
    if (auto r = ctx_.access.open(n.access_log); !r) spdlog::error("SIGHUP: {}", r.error().message);
    const server_limits l = limits_from_config(n);
    ctx_.limits.set(with_delay(l.connection));
    sessions_.set_limits(l.sessions);
    handler_.set_limits(l.stream);
    targets_.set_limits(l.cache.files, l.cache.bytes);
    ctx_.metrics_enabled = n.metrics;
    reload_certificate(n);
    // Keys that need a restart keep their running values.
    serve_config kept = n;
    for (const auto& k : config_keys())
      if (!k.reloadable) (void)set_config_value(kept, k.name, config_value_text(config_, k));
    config_ = kept;
    spdlog::info("SIGHUP: configuration reloaded");
  }

  serve_config config_;
  run_hooks hooks_;
  std::uint64_t descriptor_limit_;
  server_limits limits_;
  target_registry targets_;
  session_registry sessions_;
  jpip_handler handler_;
  server_context ctx_;
  io_pool pool_;
  net::io_context& ioc_;  // the pool's main context: acceptor, signals, timers
  net::steady_timer ticker_;
  net::steady_timer grace_;
  std::shared_ptr<listener> listener_;
  std::unique_ptr<signal_watch> signals_;
  bool stopping_ = false;
  std::uint64_t ticks_ = 0;
  std::uint64_t freed_ = 0;
};

}  // namespace

result<void> run_server(const serve_config& config, const run_hooks& hooks) {
  PIPIT_TRY(check_config(config));
  std::string host;
  std::uint16_t port = 0;
  parse_listen(config.listen, host, port);
  beast::error_code ec;
  const auto address = net::ip::make_address(host, ec);
  if (ec)
    return fail(errc::invalid_argument, no_offset, "listen: '" + host + "' is not an IP address");
  PIPIT_TRY(configure_app_log(config.log_level, config.log_file));

  const unsigned threads = config.threads ? static_cast<unsigned>(config.threads)
                                          : std::max(1u, std::thread::hardware_concurrency());
  const std::uint64_t descriptors = raise_descriptor_limit();
  running_server s(config, hooks, threads, descriptors);
  PIPIT_TRY(s.start(tcp::endpoint(address, port)));
  const std::string where = s.bound();
  spdlog::info("listening on {} ({}), root {}, {} threads, {} descriptors", where,
               config.tls_cert.empty() ? "http" : "https",
               config.root.substr(0, config.root.find('?')), threads, descriptors);
  if (hooks.on_listening) hooks.on_listening(where);
  s.run();
  s.flush();
  spdlog::info("stopped");
  return {};
}

}  // namespace pipit::server
