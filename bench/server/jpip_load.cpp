// jpip_load: the load generator of bench/server (plain C++, POSIX sockets, no dependency).
//
//   jpip_load browse --port P --target NAME --width W --height H --clients N --seconds S
//                    [--per-session 20] [--sizes-out FILE] [--requests R]
//     N threads, each running JPIP sessions one after another on a keep-alive connection: a
//     session opens with cnew=http, asks 20 random 512x512 windows at four scales (fsiz = the
//     image, 1/2, 1/4, 1/8) and closes with cclose; new sessions throughout. --sizes-out writes
//     every response's body size, one per line (the static-file run replays them). --requests
//     stops each client after R requests: the same request sequence every run (for callgrind).
//   jpip_load static --port P --clients N --seconds S --files K [--per-session 20]
//     The same shape against a static file server: GET /f<k> (k cycling through 0..K-1 from a
//     different start per thread), a new connection every 20 requests.
//   jpip_load idle --port P --target NAME --sessions M
//     Opens M sessions (one small request each) and leaves them open; prints "ready".
//
// Prints one line: requests, seconds, requests/s, MB/s, p50 and p99 latency in ms, errors.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using steady = std::chrono::steady_clock;

struct options {
  std::string mode;
  int port = 0;
  std::string target;
  unsigned width = 0, height = 0, clients = 1, per_session = 20, files = 1, sessions = 1000;
  unsigned requests = 0;  // per client; 0: no limit
  double seconds = 5;
  std::string sizes_out;
};

// One blocking HTTP/1.1 connection with a read buffer.
class connection {
 public:
  explicit connection(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ok_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~connection() { ::close(fd_); }
  bool ok() const { return ok_; }

  // Sends a GET; returns the status (0 on failure); fills the body and the JPIP-cnew value.
  int get(const std::string& url, std::string& body, std::string* cnew = nullptr) {
    const std::string req = "GET " + url + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    if (::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size()))
      return 0;
    std::string head;
    if (!read_until("\r\n\r\n", head)) return 0;
    const int status = std::atoi(head.c_str() + 9);
    std::string lower = head;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (cnew) {
      const auto p = lower.find("\r\njpip-cnew:");
      if (p != std::string::npos) *cnew = head.substr(p + 12, head.find("\r\n", p + 2) - p - 12);
    }
    body.clear();
    if (lower.find("transfer-encoding: chunked") != std::string::npos) {
      for (;;) {
        std::string line;
        if (!read_until("\r\n", line)) return 0;
        const std::size_t n = std::strtoul(line.c_str(), nullptr, 16);
        if (!read_n(n + 2, body)) return 0;
        body.resize(body.size() - 2);
        if (n == 0) break;
      }
    } else {
      const auto p = lower.find("content-length:");
      const std::size_t n =
          p == std::string::npos ? 0 : std::strtoul(lower.c_str() + p + 15, nullptr, 10);
      if (!read_n(n, body)) return 0;
    }
    return status;
  }

 private:
  bool fill() {
    char tmp[65536];
    const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }
  bool read_until(const char* delim, std::string& out) {
    for (;;) {
      const auto p = buf_.find(delim);
      if (p != std::string::npos) {
        out.assign(buf_, 0, p);
        buf_.erase(0, p + std::strlen(delim));
        return true;
      }
      if (!fill()) return false;
    }
  }
  bool read_n(std::size_t n, std::string& out) {
    while (buf_.size() < n)
      if (!fill()) return false;
    out.append(buf_, 0, n);
    buf_.erase(0, n);
    return true;
  }

  int fd_ = -1;
  bool ok_ = false;
  std::string buf_;
};

struct totals {
  std::mutex m;
  std::vector<double> latency_ms;
  std::vector<std::size_t> sizes;
  std::uint64_t bytes = 0, errors = 0;
};

std::string cid_of(const std::string& cnew) {
  const auto p = cnew.find("cid=");
  if (p == std::string::npos) return {};
  return cnew.substr(p + 4, cnew.find(',', p) == std::string::npos ? std::string::npos
                                                                   : cnew.find(',', p) - p - 4);
}

void browse_worker(const options& o, unsigned k, steady::time_point end, totals& t) {
  std::mt19937 rng(1234 + k);
  std::vector<double> lat;
  std::vector<std::size_t> sizes;
  std::uint64_t bytes = 0, errors = 0;
  std::string body;
  unsigned done = 0;
  const auto more = [&] { return steady::now() < end && (o.requests == 0 || done < o.requests); };
  while (more()) {
    connection c(o.port);
    if (!c.ok()) {
      ++errors;
      continue;
    }
    std::string cid;
    for (unsigned i = 0; i < o.per_session && more(); ++i, ++done) {
      const unsigned s = std::uniform_int_distribution<unsigned>(0, 3)(rng);
      const unsigned fw = std::max(1u, o.width >> s), fh = std::max(1u, o.height >> s);
      const unsigned w = std::min(512u, fw), h = std::min(512u, fh);
      const unsigned x = std::uniform_int_distribution<unsigned>(0, fw - w)(rng);
      const unsigned y = std::uniform_int_distribution<unsigned>(0, fh - h)(rng);
      std::string url =
          cid.empty() ? "/" + o.target + "?cnew=http&type=jpp-stream&" : "/jpip?cid=" + cid + "&";
      url += "fsiz=" + std::to_string(fw) + "," + std::to_string(fh) +
             "&roff=" + std::to_string(x) + "," + std::to_string(y) + "&rsiz=" + std::to_string(w) +
             "," + std::to_string(h);
      std::string cnew;
      const auto t0 = steady::now();
      const int st = c.get(url, body, cid.empty() ? &cnew : nullptr);
      const double ms = std::chrono::duration<double, std::milli>(steady::now() - t0).count();
      if (st != 200) {
        ++errors;
        break;
      }
      if (cid.empty()) cid = cid_of(cnew);
      lat.push_back(ms);
      sizes.push_back(body.size());
      bytes += body.size();
    }
    if (!cid.empty()) c.get("/jpip?cclose=" + cid + "&cid=" + cid + "&len=0", body);
  }
  std::lock_guard lk(t.m);
  t.latency_ms.insert(t.latency_ms.end(), lat.begin(), lat.end());
  t.sizes.insert(t.sizes.end(), sizes.begin(), sizes.end());
  t.bytes += bytes;
  t.errors += errors;
}

void static_worker(const options& o, unsigned k, steady::time_point end, totals& t) {
  std::vector<double> lat;
  std::uint64_t bytes = 0, errors = 0;
  std::string body;
  unsigned next = (k * 7919u) % o.files;
  while (steady::now() < end) {
    connection c(o.port);
    if (!c.ok()) {
      ++errors;
      continue;
    }
    for (unsigned i = 0; i < o.per_session && steady::now() < end; ++i) {
      const auto t0 = steady::now();
      const int st = c.get("/f" + std::to_string(next), body);
      const double ms = std::chrono::duration<double, std::milli>(steady::now() - t0).count();
      next = (next + 1) % o.files;
      if (st != 200) {
        ++errors;
        break;
      }
      lat.push_back(ms);
      bytes += body.size();
    }
  }
  std::lock_guard lk(t.m);
  t.latency_ms.insert(t.latency_ms.end(), lat.begin(), lat.end());
  t.bytes += bytes;
  t.errors += errors;
}

int usage() {
  std::fprintf(stderr, "usage: jpip_load browse|static|idle --port P [options] (see the source)\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  options o;
  o.mode = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--port")
      o.port = std::atoi(v.c_str());
    else if (k == "--target")
      o.target = v;
    else if (k == "--width")
      o.width = static_cast<unsigned>(std::atoi(v.c_str()));
    else if (k == "--height")
      o.height = static_cast<unsigned>(std::atoi(v.c_str()));
    else if (k == "--clients")
      o.clients = static_cast<unsigned>(std::max(1, std::atoi(v.c_str())));
    else if (k == "--per-session")
      o.per_session = static_cast<unsigned>(std::max(1, std::atoi(v.c_str())));
    else if (k == "--files")
      o.files = static_cast<unsigned>(std::max(1, std::atoi(v.c_str())));
    else if (k == "--sessions")
      o.sessions = static_cast<unsigned>(std::max(1, std::atoi(v.c_str())));
    else if (k == "--seconds")
      o.seconds = std::atof(v.c_str());
    else if (k == "--requests")
      o.requests = static_cast<unsigned>(std::max(0, std::atoi(v.c_str())));
    else if (k == "--sizes-out")
      o.sizes_out = v;
    else
      return usage();
  }
  if (o.port <= 0) return usage();

  if (o.mode == "idle") {
    std::string body;
    for (unsigned i = 0; i < o.sessions; ++i) {
      connection c(o.port);
      if (c.get("/" + o.target + "?cnew=http&fsiz=64,64&len=2000", body) != 200) {
        std::fprintf(stderr, "jpip_load: session %u refused\n", i);
        return 1;
      }
    }
    std::printf("ready %u sessions\n", o.sessions);
    return 0;
  }
  if (o.mode != "browse" && o.mode != "static") return usage();
  totals t;
  const auto start = steady::now();
  const auto end = start + std::chrono::duration_cast<steady::duration>(
                               std::chrono::duration<double>(o.seconds));
  std::vector<std::thread> threads;
  for (unsigned k = 0; k < o.clients; ++k)
    threads.emplace_back(
        [&, k] { o.mode == "browse" ? browse_worker(o, k, end, t) : static_worker(o, k, end, t); });
  for (auto& th : threads) th.join();
  const double secs = std::chrono::duration<double>(steady::now() - start).count();
  auto& l = t.latency_ms;
  std::sort(l.begin(), l.end());
  const auto pct = [&](double p) {
    return l.empty() ? 0.0 : l[std::min(l.size() - 1, static_cast<std::size_t>(p * l.size()))];
  };
  std::printf("requests=%zu seconds=%.2f rps=%.1f mbps=%.2f p50_ms=%.3f p99_ms=%.3f errors=%llu\n",
              l.size(), secs, static_cast<double>(l.size()) / secs,
              static_cast<double>(t.bytes) / secs / 1e6, pct(0.5), pct(0.99),
              static_cast<unsigned long long>(t.errors));
  if (!o.sizes_out.empty()) {
    std::ofstream f(o.sizes_out);
    for (auto s : t.sizes) f << s << '\n';
  }
  return 0;
}
