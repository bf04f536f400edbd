// Bounds-checked big-endian reading of untrusted bytes.
//
// A byte_reader walks a span of bytes; every read checks the remaining length and reports a
// `truncated` error carrying the absolute offset (the span's base offset plus the position) when
// the bytes run out. It never reads outside the span.
//
// Thread-safety: a reader is a cursor; use one per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "pipit/error.hpp"

namespace pipit {

using bytes_view = std::span<const std::uint8_t>;

class byte_reader {
 public:
  // `base` is the absolute offset of data[0] in the enclosing file, used in error messages.
  explicit byte_reader(bytes_view data, std::uint64_t base = 0) : data_(data), base_(base) {}

  std::size_t pos() const { return pos_; }
  std::uint64_t abs_pos() const { return base_ + pos_; }
  std::size_t remaining() const { return data_.size() - pos_; }
  bool at_end() const { return pos_ >= data_.size(); }
  bytes_view data() const { return data_; }

  result<std::uint8_t> u8(const char* what);
  result<std::uint16_t> u16(const char* what);
  result<std::uint32_t> u32(const char* what);
  result<std::uint64_t> u64(const char* what);
  result<bytes_view> take(std::size_t n, const char* what);
  result<void> skip(std::size_t n, const char* what);
  void seek(std::size_t pos) { pos_ = pos < data_.size() ? pos : data_.size(); }

 private:
  error short_read(const char* what, std::size_t need) const;

  bytes_view data_;
  std::uint64_t base_ = 0;
  std::size_t pos_ = 0;
};

inline std::uint16_t load_be16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
inline std::uint32_t load_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}
inline void store_be16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
inline void store_be32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

}  // namespace pipit
