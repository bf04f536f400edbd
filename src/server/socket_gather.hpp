// Writing a list of byte pieces to a non-blocking socket with few system calls.
//
// Asio hands at most 16 buffers to one sendmsg, so a JPP chunk made of views of the image file
// (one per packet, with message headers between them) would take dozens of system calls; this
// sends up to IOV_MAX pieces per sendmsg and remembers where a partial write stopped.
//
//   socket_gather g;
//   g.add(p, n); ...
//   int e = g.send(fd);   // 0: all sent; EAGAIN: wait until writable, call again; else errno
//
// Thread-safety: none (one per connection, used on its strand).
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <vector>

namespace pipit::server {

class socket_gather {
 public:
  void clear() {
    iov_.clear();
    k_ = 0;
  }
  void add(const void* data, std::size_t size);
  bool done() const { return k_ >= iov_.size(); }

  // Sends (MSG_NOSIGNAL) until everything is written or the socket would block; returns 0,
  // EAGAIN (or EWOULDBLOCK), or the errno of a failed sendmsg. REQUIRES: fd is non-blocking.
  int send(int fd);

 private:
  std::vector<iovec> iov_;
  std::size_t k_ = 0;  // first piece not fully sent (its iov_base/iov_len advanced past sent bytes)
};

}  // namespace pipit::server
