#include "server/app_log.hpp"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace pipit::server {

result<void> configure_app_log(const std::string& level, const std::string& file) {
  const auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off")
    return fail(errc::invalid_argument, no_offset, "log-level: unknown level '" + level + "'");
  std::shared_ptr<spdlog::logger> l;
  try {
    if (file.empty())
      l = std::make_shared<spdlog::logger>("pipit",
                                           std::make_shared<spdlog::sinks::stderr_sink_mt>());
    else
      l = std::make_shared<spdlog::logger>(
          "pipit", std::make_shared<spdlog::sinks::basic_file_sink_mt>(file));
  } catch (const spdlog::spdlog_ex& e) {
    return fail(errc::io, no_offset, "log-file: " + std::string(e.what()));
  }
  l->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z [%l] %v");
  l->set_level(lvl);
  l->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(l));
  return {};
}

}  // namespace pipit::server
