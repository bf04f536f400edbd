#include "server/socket_gather.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <climits>

namespace pipit::server {

void socket_gather::add(const void* data, std::size_t size) {
  if (size == 0) return;
  iov_.push_back(iovec{const_cast<void*>(data), size});
}

int socket_gather::send(int fd) {
  while (k_ < iov_.size()) {
    msghdr m{};
    m.msg_iov = iov_.data() + k_;
    m.msg_iovlen = std::min<std::size_t>(iov_.size() - k_, IOV_MAX);
    const ssize_t r = ::sendmsg(fd, &m, MSG_NOSIGNAL);
    if (r < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    // Skip what was written: whole pieces, then the front of a partly written one.
    auto left = static_cast<std::size_t>(r);
    while (k_ < iov_.size() && left >= iov_[k_].iov_len) left -= iov_[k_++].iov_len;
    if (left > 0) {
      iov_[k_].iov_base = static_cast<char*>(iov_[k_].iov_base) + left;
      iov_[k_].iov_len -= left;
    }
  }
  return 0;
}

}  // namespace pipit::server
