// The browser viewer beside JPIP, on the same port (static files only; the page speaks JPIP to
// the same server from the browser):
//   GET /view/               an HTML index of the served images, each a link to its viewer
//   GET /view/NAME           the viewer page for image NAME (a served target name)
//   GET /view/assets/FILE    the viewer's built files (script, WebAssembly, style)
// The files come from the first folder holding index.html among: $PIPIT_VIEWER_DIR, the
// installed share/pipit/viewer beside the executable's bin/, and the build tree's viewer/.
// Without one, /view/ answers 404 saying the viewer was not built. No /view/ path can name a
// target: target names end in a JPEG 2000 extension and never start with "view/".
//
// Thread-safety: as server_context.
#pragma once

#include <filesystem>
#include <optional>
#include <string_view>

#include "server/jpip_handler.hpp"
#include "server/server_context.hpp"

namespace pipit::server {

// The reply for `request_target` when it is a /view path, else nothing.
std::optional<reply> viewer_reply(std::string_view request_target, const server_context& ctx);

// The folder the viewer's files are served from; empty when none is found.
const std::filesystem::path& viewer_dir();

}  // namespace pipit::server
