// Helpers of the codestream tests: the fixtures of tests/data/ and the generated corpus.
#pragma once

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "pipit/byte_writer.hpp"
#include "test_data.hpp"

namespace pipit::testing {

// tests/data/NAME as a string (throws when the fixture is missing).
inline std::string vector_path(const std::string& name) { return data_path(name).string(); }

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

namespace pipit::testing {

// A complete one-tile codestream (SOC SIZ COD QCD SOT SOD body EOC) whose headers declare
// `components` x (`levels` + 1) precincts x `layers` packets over `body` zero bytes: with many
// components and layers, a few kilobytes that declare a billion packets (a header bomb).
inline std::vector<std::uint8_t> header_bomb(unsigned components, unsigned layers, unsigned levels,
                                             unsigned body, unsigned size = 16) {
  std::vector<std::uint8_t> v;
  byte_writer w(v);
  auto u8 = [&](unsigned x) { w.u8(static_cast<std::uint8_t>(x)); };
  auto u16 = [&](unsigned x) { w.u16(static_cast<std::uint16_t>(x)); };
  auto u32 = [&](std::uint32_t x) { w.u32(x); };
  u16(0xFF4F);
  u16(0xFF51), u16(38 + 3 * components), u16(0);
  for (std::uint32_t f : {size, size, 0u, 0u, size, size, 0u, 0u}) u32(f);
  u16(components);
  for (unsigned c = 0; c < components; ++c) u8(7), u8(1), u8(1);
  u16(0xFF52), u16(12), u8(0), u8(0), u16(layers), u8(0), u8(levels), u8(4), u8(4), u8(0), u8(1);
  u16(0xFF5C), u16(3 + 3 * levels + 1), u8(0x40);
  for (unsigned b = 0; b < 3 * levels + 1; ++b) u8(0x40);
  u16(0xFF90), u16(10), u16(0), u32(14 + body), u8(0), u8(1), u16(0xFF93);
  v.insert(v.end(), body, 0);
  u16(0xFFD9);
  return v;
}

}  // namespace pipit::testing
