// Shared helpers for codestream tests: reading files and listing the generated corpus.
#pragma once

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace pipit::testing {

inline std::vector<std::uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<std::uint8_t>((std::istreambuf_iterator<char>(f)),
                                   std::istreambuf_iterator<char>());
}

inline std::string vector_path(const std::string& name) {
  return std::string(PIPIT_SHARED_VECTORS) + "/" + name;
}

// Every JPEG 2000 file of the generated corpus (tests/corpus/make_corpus.sh), sorted.
// PIPIT_CORPUS in the environment overrides the build tree's corpus folder.
inline std::string corpus_dir() {
  const char* env = std::getenv("PIPIT_CORPUS");
  return env && *env ? env : PIPIT_CORPUS_DIR;
}

inline std::vector<std::string> corpus_files() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(corpus_dir(), ec)) {
    auto ext = e.path().extension().string();
    if (ext == ".j2k" || ext == ".jp2" || ext == ".j2c" || ext == ".jph" || ext == ".jpx")
      out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace pipit::testing
