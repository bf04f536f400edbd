#include "pipit/databin_id.hpp"

namespace pipit {

bool bin_kind_from_class(unsigned message_class, bin_kind& out) {
  switch (message_class) {
    case 0:
    case 1: out = bin_kind::precinct; return true;
    case 2: out = bin_kind::tile_header; return true;
    case 4:
    case 5: out = bin_kind::tile; return true;
    case 6: out = bin_kind::main_header; return true;
    case 8: out = bin_kind::metadata; return true;
    default: return false;
  }
}

const char* bin_kind_name(bin_kind kind) {
  switch (kind) {
    case bin_kind::precinct: return "precinct";
    case bin_kind::tile_header: return "tile-header";
    case bin_kind::tile: return "tile";
    case bin_kind::main_header: return "main-header";
    case bin_kind::metadata: return "metadata";
  }
  return "unknown";
}

std::string to_string(const bin_id& b) {
  return std::string(bin_kind_name(b.kind)) + " " + std::to_string(b.id) + " of codestream " +
         std::to_string(b.csn);
}

}  // namespace pipit
