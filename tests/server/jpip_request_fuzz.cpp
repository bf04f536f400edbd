// libFuzzer target: arbitrary bytes as a JPIP request (query, URL path, POST body, or a request
// on an open channel) through jpip_handler. The image root is a temporary folder holding
// g_plt.j2k from PIPIT_FUZZ_IMAGE (environment) or tests/data/.
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "jpip_request_fuzz.hpp"
#include "test_data.hpp"

namespace {

struct fixture {
  std::filesystem::path root;
  std::unique_ptr<pipit::server::target_registry> targets;
  std::unique_ptr<pipit::server::session_registry> sessions;
  std::unique_ptr<pipit::server::jpip_handler> handler;

  fixture() {
    namespace fs = std::filesystem;
    const char* image = std::getenv("PIPIT_FUZZ_IMAGE");
    const fs::path src = image ? fs::path(image) : pipit::testing::data_path("g_plt.j2k");
    root = fs::temp_directory_path() / "pipit-request-fuzz";
    fs::create_directories(root);
    fs::copy_file(src, root / "g_plt.j2k", fs::copy_options::overwrite_existing);
    targets = std::make_unique<pipit::server::target_registry>(root);
    sessions = std::make_unique<pipit::server::session_registry>();
    handler = std::make_unique<pipit::server::jpip_handler>(
        *targets, *sessions, pipit::server::handler_options{4096, "jpip", 16});
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fixture f;
  pipit::server::testing::fuzz_one_request(*f.handler, data, size);
  if (f.sessions->sessions() > 1000)
    f.sessions->reap(pipit::server::clock::now() + std::chrono::hours(1));
  return 0;
}
