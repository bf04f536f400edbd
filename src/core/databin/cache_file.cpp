// The cache file: encoding and strict decoding (format: docs/formats/cache-file.md).
//
// Decoding checks the frame (magic, version, flags, length, CRC-32C) before reading the payload,
// then rejects anything a writer would not produce: unknown kinds or flags, duplicate bins,
// empty, unsorted, touching or oversized ranges, counts larger than the bytes left, trailing bytes.
#include <algorithm>
#include <string>

#include "databin/cache_file_format.hpp"
#include "databin/checksum.hpp"
#include "pipit/byte_writer.hpp"
#include "pipit/databin_cache.hpp"

namespace pipit {

using namespace cache_file_format;

namespace {

error corrupt(std::uint64_t offset, const std::string& what) {
  return error{errc::corrupt, offset, "cache file: " + what};
}

// byte_reader reports running out of bytes as `truncated`; inside a framed, checksummed file
// that can only mean a damaged or forged file.
error as_corrupt(error e) {
  e.code = errc::corrupt;
  e.message = "cache file: " + e.message;
  return e;
}

bool valid_kind(std::uint8_t k) { return k == 0 || k == 2 || k == 4 || k == 6 || k == 8; }

// Wraps a sink: keeps the running CRC and buffers the small fixed-size fields.
class checksummed_writer {
 public:
  explicit checksummed_writer(byte_sink& sink) : sink_(sink) {}
  std::vector<std::uint8_t>& fields() { return fields_; }
  result<void> flush_fields() {
    auto r = write(fields_);
    fields_.clear();
    return r;
  }
  result<void> write(bytes_view b) {
    crc_ = detail::crc32c(b, crc_);
    return sink_.write(b);
  }
  std::uint32_t crc() const { return crc_; }

 private:
  byte_sink& sink_;
  std::vector<std::uint8_t> fields_;
  std::uint32_t crc_ = 0;
};

}  // namespace

result<void> cache_file_codec::encode(const databin_cache& cache, byte_sink& sink) {
  std::uint64_t payload = 4 + cache.target_id_.size() + 8;
  for (const auto& [id, e] : cache.bins_) {
    payload += bin_fixed_bytes + e.data.range_count() * range_fixed_bytes + e.data.size();
  }
  checksummed_writer w(sink);
  auto& f = w.fields();
  f.assign(magic, magic + sizeof magic);
  byte_writer(f)
      .u32(format_version)
      .u32(0)  // flags
      .u64(payload)
      .u32(static_cast<std::uint32_t>(cache.target_id_.size()));
  f.insert(f.end(), cache.target_id_.begin(), cache.target_id_.end());
  byte_writer(f).u64(cache.bins_.size());
  PIPIT_TRY(w.flush_fields());

  for (const auto& lru : cache.lru_) {
    for (const bin_id& id : lru) {
      const auto& e = cache.bins_.at(id);
      byte_writer(f)
          .u8(static_cast<std::uint8_t>(id.kind))
          .u8(e.known_length ? flag_known_length : 0)
          .u64(id.csn)
          .u64(id.id)
          .u64(e.known_length.value_or(0));
      const auto ranges = e.data.ranges();
      byte_writer(f).u32(static_cast<std::uint32_t>(ranges.size()));
      for (const auto& r : ranges) {
        byte_writer(f).u64(r.offset).u64(r.bytes.size());
        PIPIT_TRY(w.flush_fields());
        PIPIT_TRY(w.write(r.bytes));
      }
      PIPIT_TRY(w.flush_fields());
    }
  }
  byte_writer(f).u32(w.crc());
  return sink.write(f);
}

result<databin_cache> cache_file_codec::decode(bytes_view file,
                                               std::string_view expected_target_id) {
  const bytes_view m(magic, sizeof magic);
  if (file.size() < m.size() || !std::equal(m.begin(), m.end(), file.begin())) {
    return fail(corrupt(0, "bad magic (not a Pipit cache file)"));
  }
  if (file.size() < header_bytes + trailer_bytes) {
    return fail(corrupt(file.size(), "truncated: " + std::to_string(file.size()) +
                                         " bytes, the header and checksum need " +
                                         std::to_string(header_bytes + trailer_bytes)));
  }
  const std::uint32_t version = load_be32(file.data() + 8);
  if (version != format_version) {
    return fail(corrupt(8, "unsupported format version " + std::to_string(version) +
                               " (this build reads " + std::to_string(format_version) + ")"));
  }
  if (load_be32(file.data() + 12) != 0) return fail(corrupt(12, "unknown header flags"));
  const std::uint64_t payload =
      (std::uint64_t{load_be32(file.data() + 16)} << 32) | load_be32(file.data() + 20);
  if (payload != file.size() - header_bytes - trailer_bytes) {
    return fail(corrupt(16, "payload length " + std::to_string(payload) +
                                " does not match the file size " + std::to_string(file.size()) +
                                " (truncated or extended file)"));
  }
  const std::size_t crc_at = file.size() - trailer_bytes;
  const std::uint32_t stored = load_be32(file.data() + crc_at);
  const std::uint32_t computed = detail::crc32c(file.first(crc_at));
  if (stored != computed) {
    return fail(corrupt(crc_at, "checksum mismatch: stored " + std::to_string(stored) +
                                    ", computed " + std::to_string(computed)));
  }

  byte_reader r(file.subspan(header_bytes, payload), header_bytes);
  auto tid_length = r.u32("target id length");
  if (!tid_length) return fail(as_corrupt(tid_length.error()));
  if (*tid_length > max_target_id_bytes) {
    return fail(corrupt(r.abs_pos() - 4, "target id of " + std::to_string(*tid_length) +
                                             " bytes (at most " +
                                             std::to_string(max_target_id_bytes) + ")"));
  }
  auto tid = r.take(*tid_length, "target id");
  if (!tid) return fail(as_corrupt(tid.error()));
  std::string target_id(tid->begin(), tid->end());
  if (!expected_target_id.empty() && target_id != expected_target_id) {
    return databin_cache(std::string(expected_target_id));  // intact but stale: start afresh
  }
  auto bin_count = r.u64("bin count");
  if (!bin_count) return fail(as_corrupt(bin_count.error()));
  if (*bin_count > r.remaining() / bin_fixed_bytes) {
    return fail(corrupt(r.abs_pos() - 8, "bin count " + std::to_string(*bin_count) +
                                             " cannot fit in the " + std::to_string(r.remaining()) +
                                             " bytes left"));
  }
  databin_cache cache(std::move(target_id));
  for (std::uint64_t i = 0; i < *bin_count; ++i) PIPIT_TRY(decode_bin(r, cache));
  if (!r.at_end()) {
    return fail(corrupt(r.abs_pos(), std::to_string(r.remaining()) + " bytes after the last bin"));
  }
  cache.stats_ = {};
  return cache;
}

result<void> cache_file_codec::decode_bin(byte_reader& r, databin_cache& cache) {
  const std::uint64_t at = r.abs_pos();
  if (r.remaining() < bin_fixed_bytes) {
    return fail(corrupt(at, "bin record needs " + std::to_string(bin_fixed_bytes) + " bytes, " +
                                std::to_string(r.remaining()) + " left"));
  }
  const std::uint8_t kind = *r.u8("kind");
  const std::uint8_t flags = *r.u8("flags");
  const bin_id id{static_cast<bin_kind>(kind), *r.u64("csn"), *r.u64("id")};
  const std::uint64_t known = *r.u64("known length");
  const std::uint32_t range_count = *r.u32("range count");
  if (!valid_kind(kind)) return fail(corrupt(at, "unknown bin kind " + std::to_string(kind)));
  if ((flags & ~flag_known_length) != 0) {
    return fail(corrupt(at + 1, "unknown bin flags " + std::to_string(flags)));
  }
  const bool has_known = (flags & flag_known_length) != 0;
  if (has_known ? known > databin_cache::max_bin_bytes : known != 0) {
    return fail(corrupt(at + 18, "bad known length " + std::to_string(known)));
  }
  if (cache.has(id)) return fail(corrupt(at, "second record for " + to_string(id)));
  if (range_count > r.remaining() / range_fixed_bytes) {
    return fail(corrupt(at + 26, "range count " + std::to_string(range_count) +
                                     " cannot fit in the " + std::to_string(r.remaining()) +
                                     " bytes left"));
  }

  std::uint64_t prev_end = 0;
  for (std::uint32_t k = 0; k < range_count; ++k) {
    const std::uint64_t range_at = r.abs_pos();
    auto offset = r.u64("range offset");
    if (!offset) return fail(as_corrupt(offset.error()));
    auto length = r.u64("range length");
    if (!length) return fail(as_corrupt(length.error()));
    const std::uint64_t max = databin_cache::max_bin_bytes;
    if (*length == 0 || *length > max || *offset > max - *length ||
        (k != 0 && *offset <= prev_end) || (has_known && *offset + *length > known)) {
      return fail(corrupt(range_at, to_string(id) + ": bad range at offset " +
                                        std::to_string(*offset) + " of " + std::to_string(*length) +
                                        " bytes"));
    }
    auto bytes = r.take(static_cast<std::size_t>(*length), "range bytes");
    if (!bytes) return fail(as_corrupt(bytes.error()));
    auto added = cache.add(id, *offset, *bytes, false);
    if (!added) return fail(corrupt(range_at, added.error().message));
    prev_end = *offset + *length;
  }
  auto added = cache.add(id, has_known ? known : 0, {}, has_known);
  if (!added) return fail(corrupt(at, added.error().message));
  return {};
}

// ---- databin_cache members ----

namespace {

class vector_sink final : public byte_sink {
 public:
  explicit vector_sink(std::vector<std::uint8_t>& out) : out_(out) {}
  result<void> write(bytes_view b) override {
    out_.insert(out_.end(), b.begin(), b.end());
    return {};
  }

 private:
  std::vector<std::uint8_t>& out_;
};

}  // namespace

std::vector<std::uint8_t> databin_cache::to_bytes() const {
  std::vector<std::uint8_t> out;
  out.reserve(header_bytes + trailer_bytes + bytes_held_);
  vector_sink sink(out);
  (void)cache_file_codec::encode(*this, sink);  // a vector sink cannot fail
  return out;
}

result<databin_cache> databin_cache::load_from_bytes(bytes_view file,
                                                     std::string_view expected_target_id) {
  return cache_file_codec::decode(file, expected_target_id);
}

// save() and load() are in cache_file_io.cpp.

}  // namespace pipit
