// socket_gather against a real socket pair: thousands of pieces, a reader slower than the writer
// (so sendmsg writes partly and the socket fills), every byte arrives once and in order.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <random>
#include <thread>
#include <vector>

#include "server/socket_gather.hpp"

using pipit::server::socket_gather;

TEST(SocketGather, PartialWritesResumeWhereTheyStopped) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  ASSERT_EQ(::fcntl(fds[0], F_SETFL, ::fcntl(fds[0], F_GETFL) | O_NONBLOCK), 0);
  int small = 4096;
  ::setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);

  std::vector<std::uint8_t> data(3 << 20);
  std::mt19937 rng(3);
  for (auto& b : data) b = static_cast<std::uint8_t>(rng());
  socket_gather g;
  std::vector<std::uint8_t> want;
  for (std::size_t pos = 0; pos < data.size();) {  // pieces of 0..3000 bytes, some repeated
    const std::size_t n = std::min<std::size_t>(rng() % 3000, data.size() - pos);
    const std::size_t at = rng() % 4 == 0 && pos > n ? pos - n : pos;
    g.add(data.data() + at, n);
    want.insert(want.end(), data.begin() + static_cast<std::ptrdiff_t>(at),
                data.begin() + static_cast<std::ptrdiff_t>(at + n));
    pos += n + (n == 0);
  }

  std::vector<std::uint8_t> got;
  std::thread reader([&] {
    std::vector<std::uint8_t> buf(1500);
    for (;;) {
      const ssize_t r = ::read(fds[1], buf.data(), buf.size());
      if (r <= 0) break;
      got.insert(got.end(), buf.begin(), buf.begin() + r);
      if (got.size() % 7 == 0) std::this_thread::yield();
    }
  });
  int would_block = 0;
  for (;;) {
    const int e = g.send(fds[0]);
    if (e == 0) break;
    ASSERT_TRUE(e == EAGAIN || e == EWOULDBLOCK) << e;
    ++would_block;
    pollfd p{fds[0], POLLOUT, 0};
    ASSERT_EQ(::poll(&p, 1, 5000), 1);
  }
  EXPECT_TRUE(g.done());
  ::close(fds[0]);
  reader.join();
  ::close(fds[1]);
  EXPECT_GT(would_block, 0);  // the socket did fill: partial writes were resumed
  ASSERT_EQ(got.size(), want.size());
  EXPECT_TRUE(got == want);
}

TEST(SocketGather, ReportsTheErrorOfAClosedPeer) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  ::close(fds[1]);
  static const char bytes[] = "hello";
  socket_gather g;
  g.add(bytes, 5);
  EXPECT_EQ(g.send(fds[0]), EPIPE);  // MSG_NOSIGNAL: an error, not a signal
  ::close(fds[0]);
}
