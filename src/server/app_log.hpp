// The application log (start, stop, reloads, refused configurations, unexpected errors): spdlog's
// default logger, on standard error or a file, apart from the access log (access_log.hpp).
//
// Thread-safety: configure_app_log is called from one thread (start and SIGHUP); logging through
// spdlog's default logger is thread-safe.
#pragma once

#include <string>

#include "pipit/error.hpp"

namespace pipit::server {

// Sets the level ("info", ...) and the destination (empty: standard error). Errors: io,
// invalid_argument (unknown level).
result<void> configure_app_log(const std::string& level, const std::string& file);

}  // namespace pipit::server
