// Data-bin identity (ISO/IEC 15444-9 A.2.2, A.3).
//
// A data-bin is named by its kind, the codestream it belongs to (CSn) and its in-class id.
// Message classes 0/1 (precinct, extended precinct) name the same precinct bins, and classes 4/5
// the same tile bins: `bin_kind` folds each pair into one kind.
//
// Thread-safety: plain values.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <string>

namespace pipit {

enum class bin_kind : std::uint8_t {
  precinct = 0,     // message classes 0 and 1
  tile_header = 2,  // message class 2
  tile = 4,         // message classes 4 and 5 (JPT-stream)
  main_header = 6,  // message class 6
  metadata = 8,     // message class 8
};

struct bin_id {
  bin_kind kind = bin_kind::main_header;
  std::uint64_t csn = 0;  // codestream number
  std::uint64_t id = 0;   // in-class id

  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 flags the `0` of a defaulted <=>.
  friend auto operator<=>(const bin_id&, const bin_id&) = default;
};

// The data-bin a message class addresses; false when the class is not defined (3, 7, > 8).
bool bin_kind_from_class(unsigned message_class, bin_kind& out);

// "precinct", "tile-header", "tile", "main-header", "metadata".
const char* bin_kind_name(bin_kind kind);

// "precinct 42 of codestream 0"
std::string to_string(const bin_id& id);

struct bin_id_hash {
  std::size_t operator()(const bin_id& b) const noexcept {
    std::uint64_t h = b.id * 0x9E3779B97F4A7C15ull;
    h ^= (b.csn + 0x632BE59BD9B4E019ull + (h << 6) + (h >> 2));
    h ^= static_cast<std::uint64_t>(b.kind) * 0xC2B2AE3D27D4EB4Full;
    return static_cast<std::size_t>(h);
  }
};

}  // namespace pipit
