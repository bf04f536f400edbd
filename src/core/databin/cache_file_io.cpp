// Saving and loading cache files: atomic replacement on save, bounded whole-file read on load,
// and the locked read-merge-write of a file shared by several processes.
//
// POSIX calls (open, write, fsync, rename) are used because the standard library has no fsync;
// without it a crash after rename could leave an empty or partial file under the final name.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "databin/cache_file_format.hpp"

namespace pipit {
namespace {

// A cache file larger than this is refused rather than read into memory.
constexpr std::uint64_t max_file_bytes = std::uint64_t{64} << 30;

error io_error(const std::string& what, const std::filesystem::path& path, int err) {
  return error{errc::io, no_offset, what + " " + path.string() + ": " + std::strerror(err)};
}

class fd_guard {
 public:
  explicit fd_guard(int fd) : fd_(fd) {}
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  ~fd_guard() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

result<void> write_all(int fd, bytes_view b, const std::filesystem::path& path) {
  while (!b.empty()) {
    const ssize_t n = ::write(fd, b.data(), b.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(io_error("cannot write", path, n < 0 ? errno : EIO));
    b = b.subspan(static_cast<std::size_t>(n));
  }
  return {};
}

// Collects small writes into 64 KiB blocks; passes large ones straight through.
class file_sink final : public byte_sink {
 public:
  file_sink(int fd, const std::filesystem::path& path) : fd_(fd), path_(path) {}
  result<void> write(bytes_view b) override {
    if (buffer_.size() + b.size() > block) PIPIT_TRY(flush());
    if (b.size() >= block) return write_all(fd_, b, path_);
    buffer_.insert(buffer_.end(), b.begin(), b.end());
    return {};
  }
  result<void> flush() {
    auto r = write_all(fd_, buffer_, path_);
    buffer_.clear();
    return r;
  }

 private:
  static constexpr std::size_t block = std::size_t{64} * 1024;
  int fd_;
  const std::filesystem::path& path_;
  std::vector<std::uint8_t> buffer_;
};

result<void> write_file(const std::filesystem::path& tmp, const databin_cache& cache) {
  fd_guard fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) return fail(io_error("cannot create", tmp, errno));
  file_sink sink(fd.get(), tmp);
  PIPIT_TRY(cache_file_codec::encode(cache, sink));
  PIPIT_TRY(sink.flush());
  if (::fsync(fd.get()) != 0) return fail(io_error("cannot sync", tmp, errno));
  if (::close(fd.release()) != 0) return fail(io_error("cannot close", tmp, errno));
  return {};
}

}  // namespace

result<void> databin_cache::save(const std::filesystem::path& path) const {
  std::filesystem::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  if (auto written = write_file(tmp, *this); !written) {
    ::unlink(tmp.c_str());
    return written;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return fail(io_error("cannot rename " + tmp.string() + " to", path, err));
  }
  // Make the rename itself durable.
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  fd_guard dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() < 0 || ::fsync(dfd.get()) != 0) return fail(io_error("cannot sync", dir, errno));
  return {};
}

result<databin_cache> databin_cache::load(const std::filesystem::path& path,
                                          std::string_view expected_target_id) {
  fd_guard fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    const int err = errno;
    if (err == ENOENT) return fail(errc::not_found, no_offset, "no cache file " + path.string());
    return fail(io_error("cannot open", path, err));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail(io_error("cannot stat", path, errno));
  if (!S_ISREG(st.st_mode)) {
    return fail(errc::io, no_offset, "not a regular file: " + path.string());
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > max_file_bytes) {
    return fail(errc::limit, no_offset,
                "cache file " + path.string() + " is " + std::to_string(size) + " bytes (at most " +
                    std::to_string(max_file_bytes) + ")");
  }
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  std::size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::read(fd.get(), bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(io_error("cannot read", path, errno));
    if (n == 0) break;  // shrank meanwhile: decode() reports the truncation
    got += static_cast<std::size_t>(n);
  }
  bytes.resize(got);
  auto cache = cache_file_codec::decode(bytes, expected_target_id);
  if (!cache) cache.error().message += " (" + path.string() + ")";
  return cache;
}

namespace {

bool stamp_of(const std::filesystem::path& path, databin_cache::file_stamp& out) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return false;
  out.device = static_cast<std::uint64_t>(st.st_dev);
  out.inode = static_cast<std::uint64_t>(st.st_ino);
  out.size = static_cast<std::uint64_t>(st.st_size);
  out.mtime_ns = std::int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
  return true;
}

}  // namespace

std::uint64_t databin_cache::merge_from(const databin_cache& other) {
  std::uint64_t added = 0;
  for (const auto& lru : other.lru_) {
    for (const bin_id& id : lru) {
      const entry& e = other.bins_.at(id);
      if (is_complete(id)) continue;  // nothing to learn
      const std::uint64_t before = bytes_held_;
      bool ok = true;
      for (const auto& r : e.data.ranges()) {
        if (!add(id, r.offset, r.bytes, false)) {
          ok = false;
          break;
        }
      }
      if (ok && e.known_length) (void)add(id, *e.known_length, {}, true);
      if (!ok && !has(id)) continue;
      added += bytes_held_ >= before ? bytes_held_ - before : 0;
    }
  }
  return added;
}

result<std::uint64_t> databin_cache::sync_file(const std::filesystem::path& path,
                                               file_stamp* stamp) {
  std::filesystem::path lock_path = path;
  lock_path += ".lock";
  fd_guard lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (lock.get() < 0) return fail(io_error("cannot create", lock_path, errno));
  while (::flock(lock.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return fail(io_error("cannot lock", lock_path, errno));
  }
  std::uint64_t merged = 0;
  file_stamp now;
  if (stamp_of(path, now) && (stamp == nullptr || !(now == *stamp))) {
    auto theirs = load(path, target_id_);
    if (theirs && theirs->target_id() == target_id_) merged = merge_from(*theirs);
  }
  PIPIT_TRY(save(path));
  if (stamp != nullptr) stamp_of(path, *stamp);
  return merged;  // the lock goes with the descriptor
}

}  // namespace pipit
