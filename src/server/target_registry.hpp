// The images a server may serve: every .jp2 .j2k .j2c .jpx .jpf .jph file under one root folder,
// named by its path relative to the root ("maps/a.jp2").
//
// `normalize_target_name` is the first gate (pure): it refuses empty names, absolute paths, any
// "." or ".." segment, backslashes, control characters and other extensions. `open` then
// resolves the name under the root with symlinks followed and refuses anything whose real path is
// not inside the root's real path (a symlink leading out), or is not a regular file. Every refusal
// is errc::not_found with a message naming only the requested name, never a server path.
//
// A target is indexed on first use and kept (up to a number of files and an estimate of their
// index memory, least recently used out); each use compares the file's size and mtime with the
// indexed ones and re-indexes a changed file, which then gets a new target id
// (tid = hash of name, size and mtime). Targets are shared (shared_ptr): a session keeps the
// snapshot it started with even when the registry has moved on.
//
// Thread-safety: all members may be called concurrently; a target is immutable.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "pipit/databins.hpp"
#include "pipit/error.hpp"
#include "pipit/image_index.hpp"

namespace pipit::server {

struct target {
  std::string name;  // normalized relative name
  std::string tid;   // target id sent as JPIP-tid
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  mapped_file file;
  image_index index;
  std::unique_ptr<databin_source> source;  // over `file` and `index`
  std::uint64_t memory = 0;                // estimated bytes of index and source (not the mapping)
};

// An estimate of the heap memory of a target's index and data-bin source.
std::uint64_t estimate_target_memory(const target& t);

// The canonical relative name for a requested one, or not_found.
result<std::string> normalize_target_name(std::string_view name);

// The target id of a file: 16 hex digits of a 64-bit FNV-1a hash of name, size and mtime.
std::string make_target_id(std::string_view name, std::uint64_t size, std::int64_t mtime_ns);

class target_registry {
 public:
  // REQUIRES: root is an existing directory.
  explicit target_registry(const std::filesystem::path& root, std::size_t max_cached = 256,
                           std::uint64_t max_bytes = 1ull << 30);

  // The target named `name` (already percent-decoded), indexed.
  result<std::shared_ptr<const target>> open(std::string_view name);

  // The canonical root folder.
  const std::filesystem::path& root() const { return root_; }

  std::size_t cached() const;
  std::uint64_t cached_bytes() const;
  std::uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  std::uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }
  // New cache limits (the next open evicts down to them).
  void set_limits(std::size_t max_cached, std::uint64_t max_bytes);

 private:
  struct entry {
    std::shared_ptr<const target> t;
    std::uint64_t last_use = 0;
  };
  std::filesystem::path root_;  // canonical
  mutable std::mutex mutex_;    // guards the limits, cache_, bytes_ and uses_
  std::size_t max_cached_;
  std::uint64_t max_bytes_;
  std::uint64_t bytes_ = 0;
  std::atomic<std::uint64_t> hits_{0}, misses_{0};
  std::map<std::string, entry> cache_;  // by normalized name
  std::uint64_t uses_ = 0;
  std::mutex build_mutex_;  // one index build at a time

  void evict_locked();
};

}  // namespace pipit::server
