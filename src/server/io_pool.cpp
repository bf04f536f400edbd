#include "server/io_pool.hpp"

#include <thread>

namespace pipit::server {

io_pool::io_pool(unsigned threads, std::function<void(const char*)> on_exception)
    : on_exception_(std::move(on_exception)) {
  const unsigned n = threads == 0 ? 1 : threads;
  for (unsigned i = 0; i < n; ++i) {
    contexts_.push_back(std::make_unique<net::io_context>(1));
    guards_.emplace_back();
    if (i > 0) guards_.back().emplace(contexts_.back()->get_executor());
  }
}

net::io_context& io_pool::next() {
  return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
}

void io_pool::run_one(net::io_context& c) {
  for (;;) {
    try {
      c.run();
      return;
    } catch (const std::exception& e) {
      if (on_exception_) on_exception_(e.what());
    } catch (...) {
      if (on_exception_) on_exception_("an unknown exception");
    }
  }
}

void io_pool::run() {
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < contexts_.size(); ++i)
    threads.emplace_back([this, c = contexts_[i].get()] { run_one(*c); });
  run_one(*contexts_[0]);
  stop();
  for (auto& t : threads) t.join();
}

void io_pool::stop() {
  for (auto& g : guards_) g.reset();
  for (auto& c : contexts_) c->stop();
}

}  // namespace pipit::server
