// Images on a storage origin: a served root that is an http:// or https:// URL prefix (a web
// server, a bucket's HTTPS endpoint, a CDN) whose objects are read by byte range
// (docs/server.md, *Images on a storage origin*).
//
// An object (remote_object) is one memory view of the object's size, as a mapped file is, so the
// core indexes it and composes responses from it unchanged; what was not fetched yet reads as
// zeros. The view is an anonymous mapping, or with a cache folder a sparse file of that size
// (`<key>.data`, MAP_SHARED) and a record of the blocks it holds (`<key>.meta`), the key being a
// hash of the object's URL (without its query) and validator (its ETag, else Content-Length and
// Last-Modified): a restarted instance, or another one sharing the folder, finds the bytes it
// needs (headers, tile-part headers, packets already fetched) there instead of asking the origin
// again. A changed object has another validator, hence another key and files: a file in use is
// never truncated or rewritten with other bytes.
//
// Bytes are fetched in blocks (block_bytes) by range GETs through the client's libcurl transport
// (client/http_transport.hpp): missing blocks next to each other, or a few blocks apart, are asked
// in one request. Two threads needing the same block wait for one fetch.
//
//   open(name)         one request (bytes=0-0): the object's size and validator;
//   fetch_structure()  what image_index::build reads: the box headers and every box but the
//                      codestreams (jp2c) and media data (mdat), each codestream's main header
//                      and every tile-part header (walked by SOT/Psot); a tile's bodies too
//                      unless each of its tile-parts has PLT (or the main header PLM) and no
//                      SOP markers, since otherwise the packets are found by reading their
//                      headers in the bodies;
//   ensure(ranges)     before a response is sent, the bytes it points at.
//
// Origin answers: 404/410 → errc::not_found naming the object; no connection, a timeout, 401/403,
// 5xx, a response without Range support, or an object whose validator changed under a fetch →
// errc::upstream (502, server/error_status.hpp). Messages name the object (the served name),
// never the origin's URL, whose query may hold a token.
//
// Thread-safety: all members may be called concurrently.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "pipit/codestream.hpp"
#include "pipit/error.hpp"

namespace pipit::server {

struct storage_options {
  // "http(s)://host[:port]/prefix/": an object's URL is the prefix, its name (percent-encoded),
  // and the root's query if it has one (a token valid for every object of the prefix).
  std::string root;
  std::filesystem::path cache_dir;  // the on-disk cache; empty: fetched bytes kept in memory only
  std::string header_file;          // "Name: value" lines sent with every request (read each time)
  std::string ca_file;              // PEM bundle to verify the origin with instead of the system's
  long timeout_ms = 30000;          // one request to the origin (0: no limit)
  std::uint64_t block_bytes = 16384;
};

// Whether a root names a storage origin (http:// or https://) rather than a folder.
bool is_remote_root(std::string_view root);

// Checks a remote root (scheme, host, no fragment): errc::invalid_argument naming what is wrong.
result<void> check_remote_root(std::string_view root);

class remote_storage;
struct storage_origin;  // the shared state: options, transports, counters

class remote_object {
 public:
  remote_object(const remote_object&) = delete;
  remote_object& operator=(const remote_object&) = delete;
  ~remote_object();

  const std::string& name() const { return name_; }
  std::uint64_t size() const { return size_; }
  // The ETag ("etag:..."), else "lm:<Last-Modified>" (empty when the origin gives neither).
  const std::string& validator() const { return validator_; }
  // The whole object's view; bytes not fetched yet read as zeros.
  bytes_view bytes() const { return {data_, static_cast<std::size_t>(size_)}; }
  bool holds(const std::uint8_t* p) const { return p >= data_ && p < data_ + size_; }
  // Whether the on-disk cache is used for this object.
  bool on_disk() const { return fd_ >= 0; }

  // Fetches what is missing of [offset, offset + length) (clamped to the object).
  result<void> ensure(std::uint64_t offset, std::uint64_t length);
  result<void> ensure(const std::vector<byte_range>& ranges);
  // Whether every byte of the range is present.
  bool present(std::uint64_t offset, std::uint64_t length) const;

 private:
  friend class remote_storage;
  remote_object() = default;
  result<void> fetch_run(std::uint64_t first_block, std::uint64_t end_block);
  void save_record();  // under mutex_

  std::shared_ptr<storage_origin> origin_;
  std::string name_, url_, etag_, validator_;
  std::uint64_t size_ = 0;
  std::uint8_t* data_ = nullptr;
  std::size_t mapped_ = 0;
  int fd_ = -1;
  std::filesystem::path record_;  // <key>.meta
  std::uint64_t block_ = 16384;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  enum : std::uint8_t { missing = 0, in_flight = 1, held = 2 };
  std::vector<std::uint8_t> blocks_;  // per block
};

class remote_storage {
 public:
  explicit remote_storage(storage_options options);
  ~remote_storage();
  remote_storage(const remote_storage&) = delete;
  remote_storage& operator=(const remote_storage&) = delete;

  // The object `name` (a normalized target name): asks the origin for its size and validator
  // and maps it, with what the on-disk cache holds of it.
  result<std::shared_ptr<remote_object>> open(const std::string& name);
  // Fetches what indexing the object reads (see above).
  static result<void> fetch_structure(remote_object& object);

  // Requests sent to the origin, and body bytes received from it, since the start.
  std::uint64_t requests() const;
  std::uint64_t bytes() const;
  // The root as given, less its query (for logs).
  std::string shown_root() const;

 private:
  std::shared_ptr<storage_origin> origin_;
};

}  // namespace pipit::server
