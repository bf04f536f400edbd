#include "commands.hpp"

namespace pipit::tools {

command register_info(CLI::App& app) {
  auto* sub = app.add_subcommand("info", "Describe a JPEG 2000 file");
  return command{sub, [] { return 0; }};
}

}  // namespace pipit::tools
