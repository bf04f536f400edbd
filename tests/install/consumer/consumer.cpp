// A program built against an installed Pipit (find_package(Pipit) or pkg-config): indexes the
// JPEG 2000 file given as its argument and prints "WIDTHxHEIGHT COMPONENTS LEVELS PACKETS".
#include <cstdio>

#include <pipit/image_index.hpp>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: consumer FILE.j2k\n");
    return 2;
  }
  auto file = pipit::mapped_file::open(argv[1]);
  if (!file) {
    std::fprintf(stderr, "consumer: %s\n", file.error().to_string().c_str());
    return 1;
  }
  auto index = pipit::image_index::build(file->bytes());
  if (!index || index->codestreams.empty()) {
    std::fprintf(stderr, "consumer: %s\n",
                 index ? "no codestream" : index.error().to_string().c_str());
    return 1;
  }
  const auto& cs = index->codestreams.front();
  std::printf("%ux%u %u %u %zu\n", cs.siz.width(), cs.siz.height(), cs.num_components(),
              unsigned{cs.defaults.max_levels()}, cs.packets.size());
  return 0;
}
