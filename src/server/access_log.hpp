// The access log: one line per answered request, apart from the application log (app_log.hpp),
// written through its own spdlog logger named "access".
//
//   2025-05-01T12:00:00.123+00:00 127.0.0.1:50412 GET 200 bytes=18211 eor=window-done
//   dur_ms=1.42 session=3f..c1 target=maps/a.jp2 window=fsiz=512,512;roff=0,0;rsiz=256,256;len=-
//   "/maps/a.jp2?fsiz=512,512&..."        (one line; wrapped here)
//
// Fields are separated by single spaces, `-` stands for an absent value; the quoted request-target
// comes last, with control characters, quotes and backslashes escaped as \xHH, so a line can be
// split on spaces up to it. Lines go to a file (reopened by reopen(), e.g. on SIGHUP after log
// rotation) or to standard output ("-"); an empty path writes nothing.
//
// Thread-safety: write() may be called concurrently (spdlog's _mt sinks); open/reopen are called
// from one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "pipit/error.hpp"

namespace spdlog {
class logger;
}

namespace pipit::server {

struct access_record {
  std::string client;       // "127.0.0.1:50412"
  std::string_view method;  // "GET"
  std::string_view target;  // the request-target as received
  unsigned status = 0;
  std::uint64_t bytes = 0;   // body bytes sent
  int eor = -1;              // EOR reason code, -1: none
  double seconds = 0;        // request read to last byte written
  std::string_view session;  // channel id, empty: none
  std::string_view image;    // served target name, empty: none
  std::string_view window;   // "fsiz=..;roff=..;rsiz=..;len=..", empty: none
  bool cut = false;          // the connection failed before the response ended
};

// The line for one request, without time stamp and newline (pure).
std::string format_access_line(const access_record& r);

class access_log {
 public:
  access_log() = default;
  ~access_log();
  access_log(const access_log&) = delete;
  access_log& operator=(const access_log&) = delete;

  // Opens (or switches to) `path`: empty for none, "-" for standard output. Errors: io.
  result<void> open(const std::string& path);
  // Closes and reopens the current file (after rotation).
  result<void> reopen() { return open(path_); }

  void write(const access_record& r);
  void flush();

 private:
  std::string path_;
  std::mutex mutex_;  // guards logger_ (swapped by open)
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace pipit::server
