#include "server/config.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <filesystem>

#include "server/remote_storage.hpp"
#include "server/server.hpp"

namespace pipit::server {
namespace {

using sc = serve_config;  // short, for the member pointers of the key table

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

// 'text', appended piece by piece: GCC 12 warns (-Wrestrict, falsely) on "'" + std::string.
std::string quoted(std::string_view text) {
  std::string s(1, '\'');
  s += text;
  s += '\'';
  return s;
}

tl::unexpected<error> bad(std::string_view key, const std::string& why) {
  return fail(errc::invalid_argument, no_offset, std::string(key) + ": " + why);
}

std::string toml_quote(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + '"';
}

}  // namespace

bool valid_instance_id(std::string_view id) {
  if (id.size() > 32) return false;
  return std::all_of(id.begin(), id.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '-';
  });
}

const std::vector<config_key>& config_keys() {
  static const std::vector<config_key> keys = {
      {"root", &sc::root,
       "folder whose .jp2 .j2k .j2c .jpx .jpf .jph files are served, or an http:// or https:// "
       "URL prefix of a storage origin whose objects are read by range",
       false},
      {"storage-cache", &sc::storage_cache,
       "with a URL root: folder of the on-disk cache of the objects' fetched bytes, kept by "
       "ETag across restarts and shared by instances (empty: memory only)",
       false},
      {"storage-revalidate", &sc::storage_revalidate,
       "with a URL root: seconds an object is served before its ETag is checked again", false},
      {"storage-timeout", &sc::storage_timeout,
       "with a URL root: seconds one request to the origin may take (0: no limit)", false},
      {"storage-header-file", &sc::storage_header_file,
       "with a URL root: file of 'Name: value' lines sent with every request to the origin "
       "(read each time: a refreshed token is used at once)",
       false},
      {"storage-ca-file", &sc::storage_ca_file,
       "with an https root: PEM bundle to verify the origin with instead of the system's", false},
      {"listen", &sc::listen, "HOST:PORT to listen on (port 0: any free port)", false},
      {"threads", &sc::threads, "I/O threads (0: one per core)", false},
      {"tls-cert", &sc::tls_cert,
       "PEM certificate chain: with tls-key the port speaks HTTPS (jpips://)", false},
      {"tls-key", &sc::tls_key, "PEM private key of tls-cert", false},
      {"plain-http", &sc::plain_http,
       "with TLS, also answer plain HTTP on the same port (else 400 and close)", false},
      {"instance-id", &sc::instance_id,
       "this instance's name behind a load balancer: channel ids are '<id>.<random>' and the "
       "channel path 'jpip/<id>' (1-32 of A-Z a-z 0-9 _ -; empty: none)",
       false},
      {"max-connections", &sc::max_connections,
       "open connections; more are answered 503 and closed", true},
      {"max-sessions", &sc::max_sessions, "open JPIP sessions; cnew beyond is 503", true},
      {"max-channels", &sc::max_channels, "channels per session; cnew beyond is 503", true},
      {"session-idle", &sc::session_idle, "seconds after which an idle session ends", true},
      {"session-max-bytes", &sc::session_max_bytes,
       "bytes one session may receive, then EOR 6 (0: no limit)", true},
      {"max-len", &sc::max_len,
       "cap on a response's len= in bytes, reported as JPIP-len (0: no cap)", true},
      {"max-header-bytes", &sc::max_header_bytes,
       "bytes of a request line and headers (431 beyond)", true},
      {"max-headers", &sc::max_headers, "header fields in a request (431 beyond)", true},
      {"max-body-bytes", &sc::max_body_bytes, "bytes of a POST body (413 beyond)", true},
      {"read-timeout", &sc::read_timeout,
       "seconds to receive a whole request; idle keep-alive connections close", true},
      {"write-timeout", &sc::write_timeout, "seconds a client may take to accept one chunk", true},
      {"index-cache-files", &sc::index_cache_files, "indexed files kept in memory", true},
      {"index-cache-bytes", &sc::index_cache_bytes,
       "memory of the kept indexes, in bytes (estimated)", true},
      {"index-threads", &sc::index_threads,
       "threads that index files, off the I/O threads (files indexed at once)", false},
      {"index-build-bytes", &sc::index_build_bytes,
       "memory of the index builds running at once, in bytes (each: this / index-threads)", false},
      {"session-memory", &sc::session_memory,
       "memory of all sessions' cache models, in bytes; cnew beyond is 503 (0: no limit)", true},
      {"chunk-bytes", &sc::chunk_bytes, "target size of one chunk of a response body", true},
      {"shutdown-grace", &sc::shutdown_grace,
       "seconds in-flight responses get to finish on SIGTERM", true},
      {"log-level", &sc::log_level,
       "application log level: trace debug info warn error critical off", true},
      {"log-file", &sc::log_file, "application log file (empty: standard error)", true},
      {"access-log", &sc::access_log,
       "access log file, one line per request (empty: none; -: standard output)", true},
      {"metrics", &sc::metrics, "serve /metrics (Prometheus) and /healthz", true},
  };
  return keys;
}

const config_key* find_config_key(std::string_view name) {
  for (const auto& k : config_keys())
    if (k.name == name) return &k;
  return nullptr;
}

result<void> set_config_value(serve_config& c, std::string_view name, std::string_view text) {
  const config_key* k = find_config_key(name);
  if (!k) return bad(name, "unknown configuration key");
  if (auto s = std::get_if<std::string sc::*>(&k->field)) {
    c.*(*s) = std::string(text);
  } else if (auto n = std::get_if<std::uint64_t sc::*>(&k->field)) {
    std::uint64_t v = 0;
    const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc{} || p != text.data() + text.size())
      return bad(name, quoted(text) + " is not a whole number");
    c.*(*n) = v;
  } else {
    const std::string t = lower(text);
    bool v;
    if (t == "true" || t == "yes" || t == "on" || t == "1")
      v = true;
    else if (t == "false" || t == "no" || t == "off" || t == "0")
      v = false;
    else
      return bad(name, quoted(text) + " is not true or false");
    c.*std::get<bool sc::*>(k->field) = v;
  }
  return {};
}

std::string config_value_text(const serve_config& c, const config_key& k) {
  if (auto s = std::get_if<std::string sc::*>(&k.field)) return c.*(*s);
  if (auto n = std::get_if<std::uint64_t sc::*>(&k.field)) return std::to_string(c.*(*n));
  return c.*std::get<bool sc::*>(k.field) ? "true" : "false";
}

result<void> load_config_text(serve_config& c, std::string_view text, std::string_view origin) {
  toml::table tbl;
  try {
    tbl = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    return fail(errc::invalid_argument, no_offset,
                std::string(origin) + ":" + std::to_string(e.source().begin.line) + ": " +
                    std::string(e.description()));
  }
  for (auto&& [key, node] : tbl) {
    const std::string where =
        std::string(origin) + ":" + std::to_string(node.source().begin.line) + ": ";
    const config_key* k = find_config_key(key.str());
    if (!k)
      return fail(errc::invalid_argument, no_offset,
                  where + "unknown key '" + std::string(key.str()) + "'");
    if (auto s = std::get_if<std::string sc::*>(&k->field)) {
      if (!node.is_string())
        return fail(errc::invalid_argument, no_offset,
                    where + std::string(k->name) + " must be a string");
      c.*(*s) = node.as_string()->get();
    } else if (auto n = std::get_if<std::uint64_t sc::*>(&k->field)) {
      if (!node.is_integer() || node.as_integer()->get() < 0)
        return fail(errc::invalid_argument, no_offset,
                    where + std::string(k->name) + " must be a whole number >= 0");
      c.*(*n) = static_cast<std::uint64_t>(node.as_integer()->get());
    } else {
      if (!node.is_boolean())
        return fail(errc::invalid_argument, no_offset,
                    where + std::string(k->name) + " must be true or false");
      c.*std::get<bool sc::*>(k->field) = node.as_boolean()->get();
    }
  }
  return {};
}

result<void> load_config_file(serve_config& c, const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec)
    return fail(errc::io, no_offset,
                "cannot read the configuration file " + path + ": " + ec.message());
  if (size > (1u << 20))
    return fail(errc::invalid_argument, no_offset, path + ": larger than 1 MiB");
  std::string text(size, '\0');
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return fail(errc::io, no_offset, "cannot read the configuration file " + path);
  const std::size_t got = std::fread(text.data(), 1, text.size(), f);
  std::fclose(f);
  text.resize(got);
  return load_config_text(c, text, path);
}

result<void> check_config(const serve_config& c) {
  std::error_code ec;
  if (c.root.empty()) return bad("root", "required (the folder of the images, or a URL prefix)");
  if (is_remote_root(c.root)) {
    PIPIT_TRY(check_remote_root(c.root));
  } else if (!std::filesystem::is_directory(c.root, ec)) {
    return bad("root", "'" + c.root + "' is not a folder");
  }
  for (const auto* f : {&c.storage_header_file, &c.storage_ca_file})
    if (!f->empty() && ::access(f->c_str(), R_OK) != 0)
      return bad(f == &c.storage_header_file ? "storage-header-file" : "storage-ca-file",
                 "cannot read '" + *f + "'");
  std::string host;
  std::uint16_t port = 0;
  if (!parse_listen(c.listen, host, port))
    return bad("listen", "must be HOST:PORT, e.g. 127.0.0.1:8080");
  if (c.tls_cert.empty() != c.tls_key.empty())
    return bad("tls-cert", "tls-cert and tls-key go together");
  for (const auto* f : {&c.tls_cert, &c.tls_key})
    if (!f->empty() && ::access(f->c_str(), R_OK) != 0)
      return bad(f == &c.tls_cert ? "tls-cert" : "tls-key", "cannot read '" + *f + "'");
  if (c.threads > 1024) return bad("threads", "at most 1024");
  if (!valid_instance_id(c.instance_id))
    return bad("instance-id",
               "'" + c.instance_id + "' must be 1 to 32 characters of A-Z a-z 0-9 _ - (or empty)");
  const std::vector<std::string> levels = {"trace", "debug",    "info", "warn",
                                           "error", "critical", "off"};
  if (std::find(levels.begin(), levels.end(), lower(c.log_level)) == levels.end())
    return bad("log-level",
               "'" + c.log_level + "' is not one of trace debug info warn error critical off");
  if (c.max_connections == 0) return bad("max-connections", "must be at least 1");
  if (c.max_channels == 0) return bad("max-channels", "must be at least 1");
  if (c.max_header_bytes < 256 || c.max_header_bytes > (1u << 24))
    return bad("max-header-bytes", "between 256 and 16777216");
  if (c.max_headers == 0) return bad("max-headers", "must be at least 1");
  if (c.read_timeout == 0 || c.write_timeout == 0)
    return bad("read-timeout", "timeouts must be at least 1 second");
  if (c.session_idle == 0) return bad("session-idle", "must be at least 1 second");
  if (c.index_cache_files == 0) return bad("index-cache-files", "must be at least 1");
  if (c.index_threads == 0 || c.index_threads > 256)
    return bad("index-threads", "between 1 and 256");
  if (c.index_build_bytes < (1u << 20)) return bad("index-build-bytes", "at least 1048576");
  if (c.chunk_bytes == 0 || c.chunk_bytes > (64u << 20))
    return bad("chunk-bytes", "between 1 and 67108864");
  if (c.shutdown_grace > 3600) return bad("shutdown-grace", "at most 3600 seconds");
  return {};
}

std::string print_config(const serve_config& c) {
  std::string out = "# pipit serve configuration (every key is also a --flag of the same name)\n";
  for (const auto& k : config_keys()) {
    out += "\n# " + std::string(k.help) + (k.reloadable ? "" : " [restart to change]") + "\n";
    out += std::string(k.name) + " = ";
    const std::string v = config_value_text(c, k);
    out += std::holds_alternative<std::string sc::*>(k.field) ? toml_quote(v) : v;
    out += '\n';
  }
  return out;
}

}  // namespace pipit::server
