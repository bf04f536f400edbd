#include "server/metrics.hpp"

#include <cstdio>

#include "pipit/jpp.hpp"

namespace pipit::server {
namespace {

constexpr auto relaxed = std::memory_order_relaxed;

void head(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void line(std::string& out, const std::string& name, std::uint64_t v) {
  out += name;
  out += ' ';
  out += std::to_string(v);
  out += '\n';
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

void server_metrics::record(unsigned status, std::uint64_t bytes, int eor, double seconds) {
  by_status_[status < by_status_.size() ? status : 0].fetch_add(1, relaxed);
  bytes_.fetch_add(bytes, relaxed);
  if (eor >= 0 && eor < 256) by_eor_[static_cast<std::size_t>(eor)].fetch_add(1, relaxed);
  std::size_t b = 0;
  while (b < latency_buckets.size() && seconds > latency_buckets[b]) ++b;
  bucket_[b].fetch_add(1, relaxed);
  duration_us_.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), relaxed);
}

std::uint64_t server_metrics::requests(unsigned status) const {
  return status < by_status_.size() ? by_status_[status].load(relaxed) : 0;
}

std::uint64_t server_metrics::requests_total() const {
  std::uint64_t n = 0;
  for (const auto& c : by_status_) n += c.load(relaxed);
  return n;
}

std::string server_metrics::render(const metrics_gauges& g) const {
  std::string out;
  out.reserve(4096);
  head(out, "pipit_requests_total", "counter", "HTTP requests answered, by status.");
  for (std::size_t s = 0; s < by_status_.size(); ++s)
    if (const auto v = by_status_[s].load(relaxed))
      line(out, "pipit_requests_total{status=\"" + std::to_string(s) + "\"}", v);
  head(out, "pipit_response_bytes_total", "counter", "Response body bytes sent.");
  line(out, "pipit_response_bytes_total", bytes_.load(relaxed));
  head(out, "pipit_eor_total", "counter", "JPP/JPT-stream responses by EOR reason.");
  for (std::size_t r = 0; r < by_eor_.size(); ++r)
    if (const auto v = by_eor_[r].load(relaxed))
      line(out,
           std::string("pipit_eor_total{reason=\"") + eor_reason_name(static_cast<eor_reason>(r)) +
               "\"}",
           v);
  head(out, "pipit_response_duration_seconds", "histogram",
       "Time from a request read to its last byte written.");
  std::uint64_t cum = 0;
  for (std::size_t b = 0; b < latency_buckets.size(); ++b) {
    cum += bucket_[b].load(relaxed);
    line(out, "pipit_response_duration_seconds_bucket{le=\"" + number(latency_buckets[b]) + "\"}",
         cum);
  }
  cum += bucket_.back().load(relaxed);
  line(out, "pipit_response_duration_seconds_bucket{le=\"+Inf\"}", cum);
  out += "pipit_response_duration_seconds_sum " +
         number(static_cast<double>(duration_us_.load(relaxed)) / 1e6) + '\n';
  line(out, "pipit_response_duration_seconds_count", cum);
  head(out, "pipit_internal_errors_total", "counter",
       "Exceptions caught at the boundary of a request: answered 500 or cut with EOR 255.");
  line(out, "pipit_internal_errors_total", internal_errors_.load(relaxed));
  head(out, "pipit_connections_open", "gauge", "Open client connections.");
  line(out, "pipit_connections_open", g.connections_open);
  head(out, "pipit_sessions_open", "gauge", "Open JPIP sessions.");
  line(out, "pipit_sessions_open", g.sessions_open);
  head(out, "pipit_channels_open", "gauge", "Open JPIP channels.");
  line(out, "pipit_channels_open", g.channels_open);
  head(out, "pipit_index_cache_hits_total", "counter", "Target opens served from the index cache.");
  line(out, "pipit_index_cache_hits_total", g.index_cache_hits);
  head(out, "pipit_index_cache_misses_total", "counter", "Target opens that indexed the file.");
  line(out, "pipit_index_cache_misses_total", g.index_cache_misses);
  head(out, "pipit_index_cache_files", "gauge", "Indexed files kept in memory.");
  line(out, "pipit_index_cache_files", g.index_cache_files);
  head(out, "pipit_index_cache_bytes", "gauge", "Estimated memory of the kept indexes.");
  line(out, "pipit_index_cache_bytes", g.index_cache_bytes);
  head(out, "pipit_index_builds_pending", "gauge", "Files queued or being indexed.");
  line(out, "pipit_index_builds_pending", g.index_builds_pending);
  head(out, "pipit_index_failures_cached", "gauge",
       "Files kept in the index cache as failures (not indexed again until they change).");
  line(out, "pipit_index_failures_cached", g.index_failures_cached);
  head(out, "pipit_session_memory_bytes", "gauge", "Memory of the sessions' cache models.");
  line(out, "pipit_session_memory_bytes", g.session_memory_bytes);
  head(out, "pipit_session_memory_limit_bytes", "gauge",
       "session-memory: new sessions are refused at or above it (0: no limit).");
  line(out, "pipit_session_memory_limit_bytes", g.session_memory_limit);
  head(out, "pipit_descriptor_limit", "gauge", "The process's file descriptor limit.");
  line(out, "pipit_descriptor_limit", g.descriptor_limit);
  head(out, "pipit_max_connections", "gauge",
       "Connections served at once (max-connections, kept below the descriptor limit).");
  line(out, "pipit_max_connections", g.max_connections);
  head(out, "pipit_draining", "gauge", "1 while the server shuts down.");
  line(out, "pipit_draining", g.draining ? 1 : 0);
  return out;
}

}  // namespace pipit::server
