// The configuration of `pipit serve`: one flat table of keys, read from a TOML file
// (`--config FILE`) and from same-named command-line flags (`max-sessions = 100` in the file is
// `--max-sessions 100` on the command line; flags win over the file, the file over defaults).
//
// Every key has a type (text, whole number, yes/no), a default and a one-line help text; the
// table (config_keys()) drives the TOML reader, the flags of serve_command.cpp, --print-config
// and the operator documentation, so a key added here appears everywhere. Numbers are plain
// counts, bytes or seconds as the key's name says; 0 means "no limit" where the help says so.
//
// Thread-safety: serve_config is a plain value; the functions are pure (load_config_file reads
// one file).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "pipit/error.hpp"

namespace pipit::server {

struct serve_config {
  // Where and how to listen.
  std::string root;  // a folder, or an http(s):// URL prefix of a storage origin
  std::string listen = "127.0.0.1:8080";
  std::uint64_t threads = 0;  // 0: one per core
  std::string tls_cert;       // PEM certificate chain; with tls_key, the port speaks HTTPS
  std::string tls_key;        // PEM private key
  bool plain_http = false;    // with TLS: also answer plain HTTP on the same port
  // Behind a load balancer: this instance's name, the prefix of its channel ids ("<id>.<hex>")
  // and of its channel path ("jpip/<id>"), so a proxy sends a session's requests here.
  std::string instance_id;
  // A root on a storage origin (server/remote_storage.hpp).
  std::string storage_cache;              // folder of the on-disk cache of objects (empty: memory)
  std::uint64_t storage_revalidate = 60;  // seconds an object is served before its ETag is checked
  std::uint64_t storage_timeout = 30;     // seconds per request to the origin (0: no limit)
  std::string storage_header_file;        // "Name: value" lines sent to the origin
  std::string storage_ca_file;            // PEM bundle to verify an https origin with
  // Limits.
  std::uint64_t max_connections = 10000;
  std::uint64_t max_sessions = 10000;
  std::uint64_t max_channels = 32;      // per session
  std::uint64_t session_idle = 600;     // seconds
  std::uint64_t session_max_bytes = 0;  // bytes one session may receive (0: no limit)
  std::uint64_t max_len = 0;            // cap on a response's `len` (0: no cap)
  std::uint64_t max_header_bytes = 16384;
  std::uint64_t max_headers = 100;
  std::uint64_t max_body_bytes = 65536;
  std::uint64_t read_timeout = 30;   // seconds for a whole request (and idle keep-alive)
  std::uint64_t write_timeout = 60;  // seconds per write
  std::uint64_t index_cache_files = 256;
  std::uint64_t index_cache_bytes = 1ull << 30;
  std::uint64_t index_threads = 2;               // builder threads (files indexed at once)
  std::uint64_t index_build_bytes = 4ull << 30;  // memory of the builds running at once
  std::uint64_t session_memory = 1ull << 30;     // cache models of all sessions (0: no limit)
  std::uint64_t chunk_bytes = 65536;
  std::uint64_t shutdown_grace = 10;  // seconds in-flight responses get on SIGTERM
  // Logs and metrics.
  std::string log_level = "info";  // trace debug info warn error critical off
  std::string log_file;            // application log; empty: standard error
  std::string access_log;          // one line per request; empty: none, "-": standard output
  bool metrics = true;             // /metrics and /healthz
};

struct config_key {
  using member = std::variant<std::string serve_config::*, std::uint64_t serve_config::*,
                              bool serve_config::*>;
  std::string_view name;  // "max-sessions": the TOML key and the flag --max-sessions
  member field;
  std::string_view help;
  bool reloadable;  // applied by SIGHUP
};

// Every key, in the order --print-config prints them.
const std::vector<config_key>& config_keys();
const config_key* find_config_key(std::string_view name);

// Sets one key from its text form (a flag's value): numbers in decimal, yes/no as
// true/false/yes/no/on/off/1/0. Errors: invalid_argument naming the key.
result<void> set_config_value(serve_config& c, std::string_view name, std::string_view text);
// The text form of one key's value.
std::string config_value_text(const serve_config& c, const config_key& k);

// Reads a TOML file over `c`: unknown keys, tables and wrongly typed values are errors
// (invalid_argument with file:line); io when the file cannot be read.
result<void> load_config_file(serve_config& c, const std::string& path);
// The same, from TOML text (`origin` names it in messages).
result<void> load_config_text(serve_config& c, std::string_view toml_text, std::string_view origin);

// Whether `id` may be an instance-id: at most 32 of A-Z a-z 0-9 _ - (empty: none). Such an id
// is an HTTP token and a URL path segment as it is, so a proxy matches it without decoding.
bool valid_instance_id(std::string_view id);

// Checks values and combinations (root a folder, listen HOST:PORT, both TLS files or neither and
// both readable, log level known, numbers in range). Errors: invalid_argument.
result<void> check_config(const serve_config& c);

// The whole configuration as a TOML document (every key, with its help as a comment).
std::string print_config(const serve_config& c);

}  // namespace pipit::server
