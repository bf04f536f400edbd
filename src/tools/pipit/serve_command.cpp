// `pipit serve`: the JPIP server (src/server). Every configuration key (src/server/config.hpp)
// is a flag of the same name; `--config FILE` reads a TOML file first, flags win over it.
//   pipit serve --root DIR
//   pipit serve --config /etc/pipit/pipit.toml [--check-config | --print-config]
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "commands.hpp"
#include "server/config.hpp"
#include "server/server.hpp"
#include "server/tls.hpp"

namespace pipit::tools {
namespace {

namespace srv = pipit::server;

struct serve_options {
  std::string config_file;
  bool check = false;
  bool print = false;
  unsigned chunk_delay_ms = 0;
  std::map<std::string, std::string> flags;  // keys given on the command line, as text
};

// Defaults, then the file, then the flags.
result<srv::serve_config> effective_config(const serve_options& o) {
  srv::serve_config c;
  if (!o.config_file.empty()) PIPIT_TRY(srv::load_config_file(c, o.config_file));
  for (const auto& [k, v] : o.flags) PIPIT_TRY(srv::set_config_value(c, k, v));
  return c;
}

int usage_error(const std::string& message) {
  std::fprintf(stderr, "pipit serve: %s\n", message.c_str());
  return 2;
}

int run_serve(const serve_options& o) {
  auto c = effective_config(o);
  if (!c) return usage_error(c.error().message);
  if (o.print) {
    std::fputs(srv::print_config(*c).c_str(), stdout);
    return 0;
  }
  if (o.check) {
    if (auto r = srv::check_config(*c); !r) return usage_error(r.error().message);
    if (!c->tls_cert.empty())
      if (auto t = srv::make_tls_context(c->tls_cert, c->tls_key); !t)
        return usage_error(t.error().message);
    std::printf("pipit serve: configuration OK\n");
    return 0;
  }
  srv::run_hooks hooks;
  hooks.on_listening = [](const std::string& where) {
    std::printf("pipit serve: listening on %s\n", where.c_str());
    std::fflush(stdout);
  };
  hooks.chunk_delay = std::chrono::milliseconds(o.chunk_delay_ms);
  if (!o.config_file.empty()) hooks.reload = [&o] { return effective_config(o); };
  auto r = srv::run_server(*c, hooks);
  if (!r) {
    std::fprintf(stderr, "pipit serve: %s\n", r.error().message.c_str());
    return r.error().code == errc::invalid_argument ? 2 : 1;
  }
  return 0;
}

}  // namespace

command register_serve(CLI::App& app) {
  auto o = std::make_shared<serve_options>();
  auto* sub = app.add_subcommand(
      "serve", "Serve the JPEG 2000 files of a folder over JPIP (HTTP/1.1, HTTPS)");
  sub->add_option("--config", o->config_file,
                  "TOML configuration file (its keys are the flags below)");
  sub->add_flag("--check-config", o->check, "check the configuration (and TLS files), then exit");
  sub->add_flag("--print-config", o->print, "print the effective configuration as TOML, then exit");
  const srv::serve_config defaults;
  for (const auto& k : srv::config_keys()) {
    const std::string name(k.name);
    const bool is_bool = std::holds_alternative<bool srv::serve_config::*>(k.field);
    auto* opt = sub->add_option_function<std::string>(
        "--" + name, [o, name](const std::string& v) { o->flags[name] = v.empty() ? "true" : v; },
        std::string(k.help) + " [default: " + srv::config_value_text(defaults, k) + "]");
    if (is_bool) opt->expected(0, 1);
    opt->group(k.reloadable ? "Limits, logs and metrics (reloaded on SIGHUP)"
                            : "Listening (restart to change)");
  }
  sub->add_option("--chunk-delay-ms", o->chunk_delay_ms,
                  "pause between chunks (for tests of preemption)")
      ->group("");
  return command{sub, [o] { return run_serve(*o); }};
}

}  // namespace pipit::tools
