// The `pipit` command line: one subcommand per file (info_command.cpp, ...), registered here.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include "commands.hpp"

int main(int argc, char** argv) {
  try {
    CLI::App app{"Pipit: JPEG 2000 over JPIP", "pipit"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "pipit 0.1.0");
    std::vector<pipit::tools::command> commands = pipit::tools::all_commands(app);
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      int rc = app.exit(e);
      return rc == 0 ? 0 : 2;  // usage errors exit 2
    }
    for (auto& c : commands)
      if (c.app->parsed()) return c.run();
    return 2;
  } catch (const std::exception& e) {
    // A failure no subcommand turned into an error message (out of memory, ...): said, not aborted.
    std::fprintf(stderr, "pipit: %s\n", e.what());
    return 1;
  }
}
