// The signals `pipit serve` answers, on its io_context:
//   SIGTERM, SIGINT  graceful stop (stop accepting, let in-flight responses finish for
//                    shutdown-grace seconds, then cut them with EOR 6); a second one stops at once
//   SIGHUP           reload the configuration file (and reopen the log files)
//
// Thread-safety: the callbacks run on the io_context; cancel() from any of its threads.
#pragma once

#include <functional>

#include "server/net.hpp"

namespace pipit::server {

class signal_watch {
 public:
  signal_watch(net::io_context& ioc, std::function<void()> on_stop,
               std::function<void()> on_force_stop, std::function<void()> on_reload);
  void cancel();

 private:
  void wait_stop();
  void wait_reload();

  net::signal_set stop_;
  net::signal_set hup_;
  std::function<void()> on_stop_, on_force_stop_, on_reload_;
  bool stopping_ = false;
};

}  // namespace pipit::server
