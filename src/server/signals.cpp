#include "server/signals.hpp"

#include <csignal>

namespace pipit::server {

signal_watch::signal_watch(net::io_context& ioc, std::function<void()> on_stop,
                           std::function<void()> on_force_stop, std::function<void()> on_reload)
    : stop_(ioc, SIGINT, SIGTERM),
      hup_(ioc, SIGHUP),
      on_stop_(std::move(on_stop)),
      on_force_stop_(std::move(on_force_stop)),
      on_reload_(std::move(on_reload)) {
  wait_stop();
  wait_reload();
}

void signal_watch::cancel() {
  beast::error_code ec;
  stop_.cancel(ec);
  hup_.cancel(ec);
}

void signal_watch::wait_stop() {
  stop_.async_wait([this](beast::error_code ec, int) {
    if (ec) return;
    if (stopping_) return on_force_stop_();
    stopping_ = true;
    on_stop_();
    wait_stop();
  });
}

void signal_watch::wait_reload() {
  hup_.async_wait([this](beast::error_code ec, int) {
    if (ec) return;
    on_reload_();
    wait_reload();
  });
}

}  // namespace pipit::server
