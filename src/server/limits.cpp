#include "server/limits.hpp"

#include <algorithm>

namespace pipit::server {

server_limits limits_from_config(const serve_config& c) {
  server_limits l;
  auto& cn = l.connection;
  cn.read_timeout = std::chrono::seconds(c.read_timeout);
  cn.write_timeout = std::chrono::seconds(c.write_timeout);
  cn.header_limit =
      static_cast<std::uint32_t>(std::min<std::uint64_t>(c.max_header_bytes, 1u << 24));
  cn.max_headers = static_cast<std::uint32_t>(std::min<std::uint64_t>(c.max_headers, 1u << 20));
  cn.body_limit = c.max_body_bytes;
  cn.max_connections = c.max_connections;
  l.sessions.max_sessions = c.max_sessions;
  l.sessions.max_channels_per_session = c.max_channels;
  l.sessions.idle_timeout = std::chrono::seconds(c.session_idle);
  l.stream.max_len = c.max_len;
  l.stream.session_max_bytes = c.session_max_bytes;
  l.stream.chunk_bytes = static_cast<std::size_t>(std::max<std::uint64_t>(c.chunk_bytes, 1));
  l.cache.files = static_cast<std::size_t>(std::max<std::uint64_t>(c.index_cache_files, 1));
  l.cache.bytes = c.index_cache_bytes;
  l.cache.builds.threads =
      static_cast<unsigned>(std::clamp<std::uint64_t>(c.index_threads, 1, 256));
  l.cache.builds.bytes = c.index_build_bytes;
  l.sessions.max_memory = c.session_memory;
  return l;
}

}  // namespace pipit::server
