// The subcommands of `pipit`. Each lives in its own <name>_command.cpp and adds itself to the
// CLI11 app through a register function listed in all_commands().
#pragma once

#include <functional>
#include <vector>

#include <CLI/CLI.hpp>

namespace pipit::tools {

struct command {
  CLI::App* app = nullptr;
  std::function<int()> run;  // exit code: 0 success, 1 failure, 2 usage
};

command register_info(CLI::App& app);
command register_stream(CLI::App& app);
command register_rebuild(CLI::App& app);
command register_get(CLI::App& app);
command register_serve(CLI::App& app);

inline std::vector<command> all_commands(CLI::App& app) {
  std::vector<command> v;
  v.push_back(register_info(app));
  v.push_back(register_stream(app));
  v.push_back(register_rebuild(app));
  v.push_back(register_get(app));
  v.push_back(register_serve(app));
  return v;
}

}  // namespace pipit::tools
