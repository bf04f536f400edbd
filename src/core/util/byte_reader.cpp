#include "pipit/byte_reader.hpp"

namespace pipit {

error byte_reader::short_read(const char* what, std::size_t need) const {
  return error{errc::truncated, abs_pos(),
               std::string(what) + ": need " + std::to_string(need) + " bytes, " +
                   std::to_string(remaining()) + " left"};
}

result<std::uint8_t> byte_reader::u8(const char* what) {
  if (remaining() < 1) return fail(short_read(what, 1));
  return data_[pos_++];
}

result<std::uint16_t> byte_reader::u16(const char* what) {
  if (remaining() < 2) return fail(short_read(what, 2));
  auto v = load_be16(data_.data() + pos_);
  pos_ += 2;
  return v;
}

result<std::uint32_t> byte_reader::u32(const char* what) {
  if (remaining() < 4) return fail(short_read(what, 4));
  auto v = load_be32(data_.data() + pos_);
  pos_ += 4;
  return v;
}

result<std::uint64_t> byte_reader::u64(const char* what) {
  if (remaining() < 8) return fail(short_read(what, 8));
  std::uint64_t v =
      (std::uint64_t{load_be32(data_.data() + pos_)} << 32) | load_be32(data_.data() + pos_ + 4);
  pos_ += 8;
  return v;
}

result<bytes_view> byte_reader::take(std::size_t n, const char* what) {
  if (remaining() < n) return fail(short_read(what, n));
  auto v = data_.subspan(pos_, n);
  pos_ += n;
  return v;
}

result<void> byte_reader::skip(std::size_t n, const char* what) {
  if (remaining() < n) return fail(short_read(what, n));
  pos_ += n;
  return {};
}

}  // namespace pipit
