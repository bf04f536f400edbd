// What every benchmark program needs besides its measurement: failing with a message, reading a
// whole file, timing. Header-only; each program sets bench::program to its name first thing.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace bench {

using clock_type = std::chrono::steady_clock;

inline const char* program = "bench";

[[noreturn]] inline void die(const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", program, what.c_str());
  std::exit(2);
}

inline double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// Reads the first buf.size() bytes of `path` into `buf`; dies on an error or a short file.
inline void read_into(const std::string& path, std::vector<std::uint8_t>& buf) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) die(path + ": " + std::strerror(errno));
  std::size_t done = 0;
  while (done < buf.size()) {
    const ssize_t n = ::read(fd, buf.data() + done, buf.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) die(path + ": short read");
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
}

inline std::vector<std::uint8_t> read_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) die(path + ": " + std::strerror(errno));
  std::vector<std::uint8_t> buf(static_cast<std::size_t>(st.st_size));
  read_into(path, buf);
  return buf;
}

}  // namespace bench
