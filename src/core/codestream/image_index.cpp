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

result<image_index> image_index::build(bytes_view file, const index_options& options) {
  image_index ix;
  if (file.size() >= 2 && load_be16(file.data()) == SOC) {
    PIPIT_TRY_ASSIGN(cs, codestream_index::build(file, byte_range{0, file.size()}, options));
    ix.codestreams.push_back(std::move(cs));
    return ix;
  }
  if (!has_jp2_signature(file))
    return fail(errc::corrupt, 0,
                "not a JPEG 2000 file: neither an SOC marker nor a JP2 signature");
  ix.is_jp2 = true;
  PIPIT_TRY_ASSIGN(boxes, read_boxes(file, byte_range{0, file.size()}));
  ix.boxes = std::move(boxes);
  PIPIT_TRY_ASSIGN(d, describe_jp2(file, ix.boxes));
  for (const auto& r : d.codestreams) {
    PIPIT_TRY_ASSIGN(cs, codestream_index::build(file, r, options));
    ix.codestreams.push_back(std::move(cs));
  }
  ix.jp2 = std::move(d);
  return ix;
}

}  // namespace pipit
