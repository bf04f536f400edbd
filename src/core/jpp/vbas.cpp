// VBAS integers and the Bin-ID field (ISO/IEC 15444-9 A.2.1, A.2.2).
#include "pipit/jpp.hpp"

#include <bit>

namespace pipit {

namespace {

// Continues a VBAS whose first `used` bytes (already at in[start .. start+used)) gave `value`
// and whose last byte read had its continuation bit set. Shared by VBAS and Bin-ID decoding.
vbas_status continue_vbas(bytes_view in, std::size_t start, std::size_t used, std::uint64_t value,
                          std::size_t& pos, std::uint64_t& out) {
  for (;;) {
    if (used == vbas_max_bytes) return vbas_status::too_long;
    if (start + used >= in.size()) return vbas_status::need_more;
    const std::uint8_t b = in[start + used];
    ++used;
    if (value >> 57 != 0) return vbas_status::overflow;  // shifting by 7 would lose bits
    value = (value << 7) | (b & 0x7Fu);
    if ((b & 0x80u) == 0) break;
  }
  pos = start + used;
  out = value;
  return vbas_status::ok;
}

}  // namespace

std::size_t vbas_size(std::uint64_t v) {
  // 7 bits per byte, at least one byte.
  return v == 0 ? 1 : (static_cast<std::size_t>(std::bit_width(v)) + 6) / 7;
}

std::uint8_t* vbas_put_long(std::uint8_t* p, std::uint64_t v) {
  const std::size_t n = vbas_size(v);
  for (std::size_t i = n; i-- > 0;) {
    auto b = static_cast<std::uint8_t>((v >> (7 * i)) & 0x7Fu);
    if (i != 0) b |= 0x80u;
    *p++ = b;
  }
  return p;
}

void vbas_append(std::vector<std::uint8_t>& out, std::uint64_t v) {
  std::uint8_t b[vbas_max_bytes];
  out.insert(out.end(), b, vbas_put(b, v));
}

vbas_status vbas_decode(bytes_view in, std::size_t& pos, std::uint64_t& value) {
  return continue_vbas(in, pos, 0, 0, pos, value);
}

result<std::uint64_t> vbas_read(byte_reader& r, const char* what) {
  std::size_t pos = r.pos();
  std::uint64_t v = 0;
  switch (vbas_decode(r.data(), pos, v)) {
    case vbas_status::ok: r.seek(pos); return v;
    case vbas_status::need_more:
      return fail(errc::truncated, r.abs_pos(),
                  std::string(what) + ": VBAS runs past the end of the input");
    case vbas_status::too_long:
      return fail(errc::corrupt, r.abs_pos(), std::string(what) + ": VBAS longer than 10 bytes");
    case vbas_status::overflow:
      return fail(errc::corrupt, r.abs_pos(), std::string(what) + ": VBAS value above 2^64-1");
  }
  return fail(errc::corrupt, r.abs_pos(), what);
}

std::size_t bin_id_field_size(std::uint64_t in_class_id) {
  // A k-byte field carries 4 + 7(k-1) bits.
  const auto bits = static_cast<std::size_t>(std::bit_width(in_class_id));
  return bits <= 4 ? 1 : 1 + (bits - 4 + 6) / 7;
}

std::uint8_t* bin_id_field_put_long(std::uint8_t* p, const bin_id_field& f) {
  const std::size_t n = bin_id_field_size(f.in_class_id);
  const std::size_t low_bits = 7 * (n - 1);  // bits carried by the continuation bytes
  auto first = static_cast<std::uint8_t>(((f.bb & 3u) << 5) | (f.is_last ? 0x10u : 0u) |
                                         ((f.in_class_id >> low_bits) & 0x0Fu));
  if (n > 1) first |= 0x80u;
  *p++ = first;
  for (std::size_t i = n - 1; i-- > 0;) {
    auto b = static_cast<std::uint8_t>((f.in_class_id >> (7 * i)) & 0x7Fu);
    if (i != 0) b |= 0x80u;
    *p++ = b;
  }
  return p;
}

void bin_id_field_append(std::vector<std::uint8_t>& out, const bin_id_field& f) {
  std::uint8_t b[vbas_max_bytes];
  out.insert(out.end(), b, bin_id_field_put(b, f));
}

vbas_status bin_id_field_decode(bytes_view in, std::size_t& pos, bin_id_field& out) {
  if (pos >= in.size()) return vbas_status::need_more;
  const std::uint8_t b0 = in[pos];
  std::size_t end = pos + 1;
  std::uint64_t id = b0 & 0x0Fu;
  if (b0 & 0x80u) {
    const vbas_status st = continue_vbas(in, pos, 1, id, end, id);
    if (st != vbas_status::ok) return st;
  }
  out.bb = static_cast<std::uint8_t>((b0 >> 5) & 3u);
  out.is_last = (b0 & 0x10u) != 0;
  out.in_class_id = id;
  pos = end;
  return vbas_status::ok;
}

}  // namespace pipit
