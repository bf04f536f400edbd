// The server's counters, gauges and latency histogram, and their Prometheus text exposition
// (format 0.0.4), served on /metrics. No dependency: each metric is a few relaxed atomics.
//
//   pipit_requests_total{status="200"}          counter  requests answered, by HTTP status
//   pipit_response_bytes_total                  counter  body bytes written
//   pipit_eor_total{reason="window-done"}       counter  stream responses by their EOR reason
//   pipit_response_duration_seconds             histogram from request read to last byte sent
//   pipit_connections_open, pipit_sessions_open gauges
//   pipit_index_cache_hits_total / _misses_total, pipit_index_cache_files / _bytes
//   pipit_internal_errors_total                 counter  exceptions caught at a request's boundary
//   pipit_index_builds_pending, pipit_index_failures_cached                gauges
//   pipit_session_memory_bytes, pipit_session_memory_limit_bytes           gauges
//   pipit_descriptor_limit, pipit_max_connections                          gauges
//
// Thread-safety: every member may be called concurrently.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace pipit::server {

// Values the metrics read from elsewhere at exposition time.
struct metrics_gauges {
  std::uint64_t connections_open = 0;
  std::uint64_t sessions_open = 0;
  std::uint64_t channels_open = 0;
  std::uint64_t index_cache_files = 0;
  std::uint64_t index_cache_bytes = 0;
  std::uint64_t index_cache_hits = 0;
  std::uint64_t index_cache_misses = 0;
  std::uint64_t index_builds_pending = 0;
  std::uint64_t index_failures_cached = 0;
  std::uint64_t session_memory_bytes = 0;
  std::uint64_t session_memory_limit = 0;
  std::uint64_t descriptor_limit = 0;
  std::uint64_t max_connections = 0;
  bool draining = false;
};

class server_metrics {
 public:
  static constexpr std::array<double, 14> latency_buckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0};

  // One answered request: its status, body bytes, EOR reason (-1: none) and duration.
  void record(unsigned status, std::uint64_t bytes, int eor, double seconds);

  std::uint64_t requests(unsigned status) const;
  std::uint64_t requests_total() const;
  std::uint64_t bytes() const { return bytes_.load(std::memory_order_relaxed); }
  // An exception caught at the boundary of a request (or of an I/O thread).
  void count_internal_error() { internal_errors_.fetch_add(1, std::memory_order_relaxed); }
  std::uint64_t internal_errors() const { return internal_errors_.load(std::memory_order_relaxed); }

  // The whole exposition text.
  std::string render(const metrics_gauges& g) const;

 private:
  std::array<std::atomic<std::uint64_t>, 600> by_status_{};
  std::array<std::atomic<std::uint64_t>, 256> by_eor_{};
  std::atomic<std::uint64_t> bytes_{0};
  std::array<std::atomic<std::uint64_t>, latency_buckets.size() + 1> bucket_{};  // last: +Inf
  std::atomic<std::uint64_t> duration_us_{0};
  std::atomic<std::uint64_t> internal_errors_{0};
};

}  // namespace pipit::server
