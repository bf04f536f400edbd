// The small fixtures kept in tests/data/ (tests/data/README.md says how each was made), and
// reading test files. A missing or unreadable file throws an exception naming its path, which
// GoogleTest reports as the failure of the test that needed it: never an empty buffer that a
// test would index into.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace pipit::testing {

// tests/data/NAME, checked to exist.
inline std::filesystem::path data_path(const std::string& name) {
  std::filesystem::path p = std::filesystem::path(PIPIT_TEST_DATA) / name;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(p, ec))
    throw std::runtime_error("missing test fixture " + p.string() +
                             " (the repository's tests/data/ holds it)");
  return p;
}

// The bytes of a file; a file that cannot be read is an error naming it.
inline std::vector<std::uint8_t> read_file(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read test file " + path.string());
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// The bytes of tests/data/NAME.
inline std::vector<std::uint8_t> read_data(const std::string& name) {
  return read_file(data_path(name));
}

}  // namespace pipit::testing
