// A local file read by `pipit info` and `pipit stream` as `pipit serve` reads its targets.
#pragma once

#include <memory>
#include <string>

#include "pipit/error.hpp"
#include "pipit/image_index.hpp"
#include "server/target_registry.hpp"

namespace pipit::tools {

// The file `path` indexed by the server's code (server::index_local_target,
// server::map_linked_file) as a target under `root` (empty: the file's folder): the files a linked
// JPX's url boxes name are followed only to files under that root, by the server's rules; anything
// else is an error naming the url box and the URL.
result<std::unique_ptr<server::target>> open_local_target(const std::string& path,
                                                          const std::string& root,
                                                          const index_options& options = {});

}  // namespace pipit::tools
