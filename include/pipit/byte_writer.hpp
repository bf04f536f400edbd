// Big-endian writing of codestream, box and cache-file fields: the other side of byte_reader.
//
// A byte_writer appends to a byte vector it does not own; every call returns the writer, so a
// marker segment or a box header is one line: `byte_writer(out).u16(SOT).u16(10).u16(t)...`.
//
// Thread-safety: a writer is a cursor over one vector; use one per thread.
#pragma once

#include <cstdint>
#include <vector>

#include "pipit/byte_reader.hpp"

namespace pipit {

class byte_writer {
 public:
  explicit byte_writer(std::vector<std::uint8_t>& out) : out_(&out) {}

  byte_writer& u8(std::uint8_t v) {
    out_->push_back(v);
    return *this;
  }
  byte_writer& u16(std::uint16_t v) {
    std::uint8_t b[2];
    store_be16(b, v);
    out_->insert(out_->end(), b, b + 2);
    return *this;
  }
  byte_writer& u32(std::uint32_t v) {
    std::uint8_t b[4];
    store_be32(b, v);
    out_->insert(out_->end(), b, b + 4);
    return *this;
  }
  byte_writer& u64(std::uint64_t v) {
    return u32(static_cast<std::uint32_t>(v >> 32)).u32(static_cast<std::uint32_t>(v));
  }
  byte_writer& bytes(bytes_view b) {
    out_->insert(out_->end(), b.begin(), b.end());
    return *this;
  }

 private:
  std::vector<std::uint8_t>* out_;
};

}  // namespace pipit
