#include "server/server.hpp"

#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

#include "server/listener.hpp"
#include "server/net.hpp"

namespace pipit::server {

bool parse_listen(const std::string& text, std::string& host, std::uint16_t& port) {
  std::string p;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') return false;
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

void schedule_reap(net::steady_timer& timer, session_registry& sessions) {
  timer.expires_after(std::chrono::seconds(10));
  timer.async_wait([&timer, &sessions](beast::error_code ec) {
    if (ec) return;
    sessions.reap();
    schedule_reap(timer, sessions);
  });
}

}  // namespace

result<void> run_server(const server_config& config, const std::function<void(const std::string&)>& on_listening) {
  std::error_code fec;
  if (config.root.empty() || !std::filesystem::is_directory(config.root, fec))
    return fail(errc::invalid_argument, no_offset, "--root must name a folder");
  std::string host;
  std::uint16_t port = 0;
  if (!parse_listen(config.listen, host, port))
    return fail(errc::invalid_argument, no_offset, "--listen must be HOST:PORT, e.g. 127.0.0.1:8080");
  beast::error_code ec;
  const auto address = net::ip::make_address(host, ec);
  if (ec) return fail(errc::invalid_argument, no_offset, "--listen: '" + host + "' is not an IP address");

  target_registry targets(config.root, config.max_cached_targets);
  session_registry sessions(config.sessions);
  jpip_handler handler(targets, sessions, config.handler);
  const unsigned threads = config.threads ? config.threads : std::max(1u, std::thread::hardware_concurrency());
  net::io_context ioc(static_cast<int>(threads));
  auto l = std::make_shared<listener>(ioc, tcp::endpoint(address, port), handler, config.connection, ec);
  if (ec) return fail(errc::io, no_offset, "cannot listen on " + config.listen + ": " + ec.message());
  l->run();
  net::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&ioc](beast::error_code, int) { ioc.stop(); });
  net::steady_timer reaper(ioc);
  schedule_reap(reaper, sessions);
  const auto ep = l->local_endpoint();
  if (on_listening) {
    const std::string a = ep.address().to_string();
    on_listening((ep.address().is_v6() ? "[" + a + "]" : a) + ":" + std::to_string(ep.port()));
  }
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& t : pool) t.join();
  return {};
}

}  // namespace pipit::server
