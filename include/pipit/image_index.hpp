// The index of a whole JPEG 2000 file: a raw codestream (J2K/J2C/JPH) or a JP2/JPX/JPH file
// with its box tree and one codestream_index per codestream: per contiguous codestream box
// (jp2c), and per fragment table (ftbl), whose codestream may lie in another file (a linked
// JPX). The files a linked JPX names are reached through a resolver the caller gives, which
// decides which references it follows (the server's keeps them inside its root).
//
// Thread-safety: immutable after build(); share freely. A mapped_file must outlive every view
// taken from it.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pipit/boxes.hpp"
#include "pipit/codestream.hpp"

namespace pipit {

// A read-only memory mapping of a whole file (empty files map to an empty view).
class mapped_file {
 public:
  // errc::not_found, errc::limit when the process or system has no descriptor left (EMFILE,
  // ENFILE), else errc::io.
  static result<mapped_file> open(const std::string& path);
  mapped_file() = default;
  mapped_file(mapped_file&& o) noexcept;
  mapped_file& operator=(mapped_file&& o) noexcept;
  mapped_file(const mapped_file&) = delete;
  mapped_file& operator=(const mapped_file&) = delete;
  ~mapped_file();

  bytes_view bytes() const { return {data_, size_}; }
  std::uint64_t size() const { return size_; }

 private:
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

// The bytes of the file a data reference (a url box of a linked JPX) names, kept readable by
// the caller while the index lives; an error refuses the reference and names why.
using data_reference_resolver = std::function<result<bytes_view>(const data_reference&)>;

struct image_index {
  bool is_jp2 = false;
  std::vector<box> boxes;  // top-level boxes (empty for a raw codestream)
  std::optional<jp2_description> jp2;
  std::vector<codestream_index> codestreams;
  // The bytes that codestream i's offsets refer to: `file` itself, or the linked file.
  std::vector<bytes_view> codestream_files;

  // Every data reference a codestream uses is resolved once; without a resolver a linked
  // codestream is errc::unsupported. A resolver's error is returned as it is, with the offset of
  // the url box.
  static result<image_index> build(bytes_view file, const index_options& options = {},
                                   const data_reference_resolver& resolve = {});
};

}  // namespace pipit
