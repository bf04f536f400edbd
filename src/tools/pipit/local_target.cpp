#include "local_target.hpp"

#include <filesystem>
#include <system_error>

namespace pipit::tools {

namespace fs = std::filesystem;

result<std::unique_ptr<server::target>> open_local_target(const std::string& path,
                                                          const std::string& root,
                                                          const index_options& options) {
  std::error_code ec;
  const fs::path real = fs::canonical(path, ec);
  if (ec) return fail(errc::not_found, no_offset, path + ": " + ec.message());
  const fs::path real_root = fs::canonical(root.empty() ? real.parent_path() : fs::path(root), ec);
  if (ec) return fail(errc::not_found, no_offset, "--root " + root + ": " + ec.message());
  const fs::path name = real.lexically_relative(real_root);
  if (name.empty() || *name.begin() == "..")
    return fail(errc::not_found, no_offset,
                path + " is not under the root folder " + real_root.string());
  auto t = std::make_unique<server::target>();
  t->name = name.generic_string();
  PIPIT_TRY_ASSIGN(file, mapped_file::open(real.string()));
  t->file = std::move(file);
  PIPIT_TRY(server::index_local_target(*t, real_root, options));
  return t;
}

}  // namespace pipit::tools
