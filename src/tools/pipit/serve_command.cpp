// `pipit serve --root DIR [--listen 127.0.0.1:PORT]`: the JPIP server (src/server).
#include <cstdio>
#include <memory>
#include <string>

#include "commands.hpp"
#include "server/server.hpp"

namespace pipit::tools {
namespace {

struct serve_options {
  pipit::server::server_config config;
  unsigned idle_seconds = 600;
  unsigned chunk_delay_ms = 0;
  std::size_t chunk_bytes = 64 * 1024;
};

int run_serve(serve_options& o) {
  o.config.sessions.idle_timeout = std::chrono::seconds(o.idle_seconds);
  o.config.connection.chunk_delay = std::chrono::milliseconds(o.chunk_delay_ms);
  o.config.handler.chunk_bytes = o.chunk_bytes == 0 ? 1 : o.chunk_bytes;
  auto r = pipit::server::run_server(o.config, [](const std::string& where) {
    std::printf("pipit serve: listening on %s\n", where.c_str());
    std::fflush(stdout);
  });
  if (!r) {
    std::fprintf(stderr, "pipit serve: %s\n", r.error().message.c_str());
    return r.error().code == errc::invalid_argument ? 2 : 1;
  }
  return 0;
}

}  // namespace

command register_serve(CLI::App& app) {
  auto o = std::make_shared<serve_options>();
  auto* sub = app.add_subcommand("serve", "Serve the JPEG 2000 files of a folder over JPIP (HTTP/1.1)");
  sub->add_option("--root", o->config.root, "folder whose .jp2 .j2k .j2c .jpx .jpf .jph files are served")->required();
  sub->add_option("--listen", o->config.listen, "address and port to listen on (port 0: any free port)")
      ->capture_default_str();
  sub->add_option("--threads", o->config.threads, "I/O threads (0: one per core)")->capture_default_str();
  sub->add_option("--session-idle", o->idle_seconds, "seconds after which an idle session ends")->capture_default_str();
  sub->add_option("--max-sessions", o->config.sessions.max_sessions, "most open sessions")->capture_default_str();
  sub->add_option("--chunk-bytes", o->chunk_bytes, "target size of one chunk of a response body")->capture_default_str();
  sub->add_option("--chunk-delay-ms", o->chunk_delay_ms, "pause between chunks (for tests of preemption)")
      ->group("");
  return command{sub, [o] { return run_serve(*o); }};
}

}  // namespace pipit::tools
