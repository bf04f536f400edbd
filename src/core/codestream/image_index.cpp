#include "pipit/image_index.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace pipit {

result<mapped_file> mapped_file::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    // Out of descriptors is the process's state, not the file's: a limit, worth trying again.
    const errc code = e == ENOENT                  ? errc::not_found
                      : e == EMFILE || e == ENFILE ? errc::limit
                                                   : errc::io;
    return fail(code, no_offset, path + ": " + std::strerror(e));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail(errc::io, no_offset, path + ": not a regular file");
  }
  mapped_file m;
  m.size_ = static_cast<std::size_t>(st.st_size);
  if (m.size_ > 0) {
    void* p = ::mmap(nullptr, m.size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int e = errno;
      ::close(fd);
      return fail(errc::io, no_offset, path + ": mmap: " + std::strerror(e));
    }
    m.data_ = static_cast<const std::uint8_t*>(p);
  }
  ::close(fd);
  return m;
}

mapped_file::mapped_file(mapped_file&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}

mapped_file& mapped_file::operator=(mapped_file&& o) noexcept {
  if (this != &o) {
    if (data_) ::munmap(const_cast<std::uint8_t*>(data_), size_);
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
  }
  return *this;
}

mapped_file::~mapped_file() {
  if (data_) ::munmap(const_cast<std::uint8_t*>(data_), size_);
}

result<image_index> image_index::build(bytes_view file, const index_options& options,
                                       const data_reference_resolver& resolve) {
  image_index ix;
  if (file.size() >= 2 && load_be16(file.data()) == SOC) {
    PIPIT_TRY_ASSIGN(cs, codestream_index::build(file, byte_range{0, file.size()}, options));
    ix.codestreams.push_back(std::move(cs));
    ix.codestream_files.push_back(file);
    return ix;
  }
  if (!has_jp2_signature(file))
    return fail(errc::corrupt, 0,
                "not a JPEG 2000 file: neither an SOC marker nor a JP2 signature");
  ix.is_jp2 = true;
  PIPIT_TRY_ASSIGN(boxes, read_boxes(file, byte_range{0, file.size()}));
  ix.boxes = std::move(boxes);
  PIPIT_TRY_ASSIGN(d, describe_jp2(file, ix.boxes));
  // Data reference i (1-based) resolved on first use.
  std::vector<std::optional<bytes_view>> linked(d.data_references.size());
  for (std::size_t n = 0; n < d.codestreams.size(); ++n) {
    const codestream_location& loc = d.codestreams[n];
    bytes_view where = file;
    if (loc.data_reference != 0) {
      const data_reference& ref = d.data_references[loc.data_reference - 1];
      auto& slot = linked[loc.data_reference - 1];
      if (!slot) {
        if (!resolve)
          return fail(errc::unsupported, ref.box_offset,
                      "codestream " + std::to_string(n) + " is in the linked file '" +
                          ref.location + "', which is not opened here");
        auto bytes = resolve(ref);
        if (!bytes) return fail(bytes.error().code, ref.box_offset, bytes.error().message);
        slot = *bytes;
      }
      where = *slot;
    }
    if (loc.range.offset > where.size() || loc.range.length > where.size() - loc.range.offset)
      return fail(errc::truncated, loc.box_offset,
                  "codestream " + std::to_string(n) + ": its " + std::to_string(loc.range.length) +
                      " bytes at " + std::to_string(loc.range.offset) + " run past the end of " +
                      (loc.data_reference != 0
                           ? "'" + d.data_references[loc.data_reference - 1].location + "'"
                           : std::string("the file")) +
                      " (" + std::to_string(where.size()) + " bytes)");
    auto cs = codestream_index::build(where, loc.range, options);
    if (!cs) {
      if (loc.data_reference == 0) return fail(cs.error());
      const error& e = cs.error();
      return fail(e.code, e.offset,
                  "in '" + d.data_references[loc.data_reference - 1].location + "': " + e.message);
    }
    ix.codestreams.push_back(std::move(*cs));
    ix.codestream_files.push_back(where);
  }
  ix.jp2 = std::move(d);
  return ix;
}

}  // namespace pipit
