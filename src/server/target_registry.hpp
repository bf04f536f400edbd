// The images a server may serve: every .jp2 .j2k .j2c .jpx .jpf .jph file under one root folder,
// named by its path relative to the root ("maps/a.jp2").
//
// `normalize_target_name` is the first gate (pure): it refuses empty names, absolute paths, any
// "." or ".." segment, backslashes, control characters and other extensions. `open` then
// resolves the name under the root with symlinks followed and refuses anything whose real path is
// not inside the root's real path (a symlink leading out), or is not a regular file. Every refusal
// is errc::not_found with a message naming only the requested name, never a server path.
//
// A linked JPX (a dtbl whose url boxes name the files holding its codestreams) is served when
// every file it names resolves, by the same rules, to a served file under the root: a relative
// URL (percent-decoded, against the JPX's folder, "../" allowed while it stays under the root),
// an absolute path or a file: URL (file:///..., file://localhost/...) inside the root's real
// path. Anything else is refused, never followed: a path out of the root, a symlink leading out,
// a remote URL (http:, a file: URL naming another host); the target then fails to open, with an
// error naming the url box and the URL (HTTP 415). The linked files are mapped with the target
// and checked when the JPX is indexed: a frame file changed later is seen when the JPX changes.
//
// A target is indexed on first use, on a builder thread of the registry, never on the caller's:
// open_or_wait() answers at once from the cache, or queues the build and calls back when it is
// done, so a slow index delays no other request. One build per file at a time: requests for a
// file being indexed wait for that build (beyond max_waiting requests, or max_queued files
// waiting for a builder, errc::limit: 503). Failures are cached as well as successes, keyed like
// them by the file's size and mtime, so a file that cannot be indexed costs one build, not one
// per request; only a file that could not be opened (no descriptor left, a permission) is tried
// again, after build_limits::retry_unopened. The memory of the builds running at once is bounded:
// each build may commit at most its share, build_limits::per_build() = bytes / threads, to what a
// codestream's headers declare (index_options::max_index_bytes, checked by the core before it
// allocates; a file over it is a cached failure, 503), and after a failed build the freed memory is
// given back to the system (malloc_trim).
//
// Kept entries (up to a number of files and an estimate of their index memory, least recently
// used out) are checked against the file's size and mtime on each use; a changed file is indexed
// again and gets a new target id (tid = hash of name, size and mtime). Targets are shared
// (shared_ptr): a session keeps the snapshot it started with even when the registry has moved on.
//
// A remote root (server/remote_storage.hpp: an http(s):// URL prefix) is served alike, with these
// differences: a name is not resolved on the caller's thread (that needs the origin): an entry is
// used for `revalidate` after it was built or last checked, then the next request waits while a
// builder asks the origin for the object's validator (one small range GET): the same ETag (or
// Content-Length and Last-Modified) keeps the target, another one indexes the object again (a
// new target id). A build fetches the bytes the index reads (fetch_structure); a response's
// bytes are fetched before it is sent (ensure_bytes). An origin that could not be reached or
// answered an error is a failure of the environment (errc::upstream, 502), tried again after
// retry_unopened; a 404 is a cached failure until the next check. The files a linked JPX names
// are objects under the same prefix (relative URLs only), read whole.
//
// Thread-safety: all members may be called concurrently; a target is immutable.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "pipit/databins.hpp"
#include "pipit/error.hpp"
#include "pipit/gather_buffer.hpp"
#include "pipit/image_index.hpp"
#include "server/remote_storage.hpp"

namespace pipit::server {

struct target {
  std::string name;  // normalized relative name
  std::string tid;   // target id sent as JPIP-tid
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  mapped_file file;
  image_index index;
  std::vector<mapped_file> linked;         // the files a linked JPX names, as its index uses them
  std::unique_ptr<databin_source> source;  // over `file` (or `object`) and `index`
  std::uint64_t memory = 0;                // estimated bytes of index and source (not the mapping)
  std::vector<std::string> warnings;       // damage the index went past, "codestream C: ..."
  // Under a remote root: the object (its bytes are what `file` holds for a local one) and the
  // objects of a linked JPX's frames; `file` and `linked` are then empty.
  std::shared_ptr<remote_object> object;
  std::vector<std::shared_ptr<remote_object>> linked_objects;
};

// Under a remote root, fetches from the origin the bytes of `t` that `g` points at and that
// are not held yet (a response's packets, before it is sent); nothing for a local target.
result<void> ensure_bytes(const target& t, const gather_buffer& g);

// An estimate of the heap memory of a target's index and data-bin source.
std::uint64_t estimate_target_memory(const target& t);

// The canonical relative name for a requested one, or not_found.
result<std::string> normalize_target_name(std::string_view name);

// The name (relative to the root, like a target's) of the file that the URL `location` of a
// linked JPX named `jpx_name` designates, or an error saying why it is not followed (pure: the
// file is then resolved as targets are). `real_root` is the root's canonical path.
result<std::string> linked_file_name(std::string_view jpx_name, std::string_view location,
                                     const std::filesystem::path& real_root);

// Maps the file that the url box `ref` of the linked JPX t.name names, by the rules above, into
// t.linked, and returns its bytes; else an error naming the box and the URL (errc::not_found).
// `real_root` is the root's canonical path. The registry's builds use it.
result<bytes_view> map_linked_file(target& t, const data_reference& ref,
                                   const std::filesystem::path& real_root);

// Indexes the local t.file as the registry indexes a target t.name under `real_root` (a linked
// JPX's files mapped by map_linked_file), into t.index and t.source: what `pipit info` and
// `pipit stream` read files with.
result<void> index_local_target(target& t, const std::filesystem::path& real_root,
                                const index_options& options = {});

// The target id of a file: 16 hex digits of a 64-bit FNV-1a hash of name, size and mtime.
std::string make_target_id(std::string_view name, std::uint64_t size, std::int64_t mtime_ns);

struct build_limits {
  unsigned threads = 2;              // builder threads: builds running at once
  std::uint64_t bytes = 4ull << 30;  // memory of the builds running at once (estimated)
  std::size_t max_waiting = 4096;    // requests waiting for builds
  std::size_t max_queued = 256;      // files waiting for a builder
  // A file that could not be opened is refused from the cache for this long, then tried again.
  std::chrono::milliseconds retry_unopened{1000};
  // The index memory one build may commit (index_options::max_index_bytes): an equal share of
  // `bytes` for each builder thread.
  std::uint64_t per_build() const {
    return std::max<std::uint64_t>(1, bytes / std::max(1u, threads));
  }
};

class target_registry {
 public:
  using outcome = result<std::shared_ptr<const target>>;

  // REQUIRES: root is an existing directory, or `remote` is given (root is then unused).
  explicit target_registry(const std::filesystem::path& root, std::size_t max_cached = 256,
                           std::uint64_t max_bytes = 1ull << 30, build_limits builds = {},
                           std::shared_ptr<remote_storage> remote = {},
                           std::chrono::milliseconds revalidate = std::chrono::seconds(60));
  ~target_registry();
  target_registry(const target_registry&) = delete;
  target_registry& operator=(const target_registry&) = delete;

  // The target named `name` (already percent-decoded), indexed; waits for the build.
  outcome open(std::string_view name);
  // The outcome at once when the name is refused or the file's index (or failure) is cached;
  // else nullopt, and `ready` is called, on a builder thread, once the build it waits for is done
  // (then call again).
  std::optional<outcome> open_or_wait(std::string_view name, std::function<void()> ready);

  std::size_t builds_pending() const;     // queued or running
  std::uint64_t failures_cached() const;  // cached entries that are failures

  // The canonical root folder (empty under a remote root).
  const std::filesystem::path& root() const { return root_; }
  // The storage origin of a remote root, or null.
  const remote_storage* remote() const { return remote_.get(); }

  std::size_t cached() const;
  std::uint64_t cached_bytes() const;
  std::uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  std::uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }
  // New cache limits (the next open evicts down to them).
  void set_limits(std::size_t max_cached, std::uint64_t max_bytes);

 private:
  struct entry {
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;
    std::shared_ptr<const target> t;  // or, when null, the failure:
    error failure;
    std::uint64_t memory = 0;
    std::uint64_t last_use = 0;
    // A failure of the environment (the file could not be opened), not of the file: kept until
    // then only. Unset for a target and for a failure of the file's contents.
    std::optional<std::chrono::steady_clock::time_point> retry_at;
    // Remote root: used until then, checked against the origin after.
    std::chrono::steady_clock::time_point fresh_until;
  };
  struct job {
    std::string name;
    std::filesystem::path real;
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;
    std::vector<std::function<void()>> waiters;
    std::shared_ptr<const target> previous;  // remote root: kept when the object is unchanged
  };
  std::filesystem::path root_;  // canonical
  std::shared_ptr<remote_storage> remote_;
  std::chrono::milliseconds revalidate_;
  build_limits builds_;
  mutable std::mutex mutex_;  // guards everything below
  std::size_t max_cached_;
  std::uint64_t max_bytes_;
  std::uint64_t bytes_ = 0;
  std::atomic<std::uint64_t> hits_{0}, misses_{0};
  std::map<std::string, entry> cache_;  // by normalized name
  std::uint64_t uses_ = 0;
  std::uint64_t failures_ = 0;
  std::map<std::string, job> jobs_;  // builds queued or running, by name
  std::deque<std::string> queue_;    // names of the queued jobs
  std::size_t waiting_ = 0;
  bool stopping_ = false;
  std::condition_variable work_;
  std::vector<std::thread> builders_;

  std::optional<outcome> lookup(std::string_view name, std::function<void()> ready, bool count_hit);
  void evict_locked();
  void builder();
  // Indexes one file (no lock held); never throws. `unopened`: the file could not be opened.
  outcome build(const job& j, bool& unopened) const;
  outcome build_remote(const job& j, bool& unopened) const;
  // Indexes the bytes of t->file or t->object into t (no lock held).
  outcome index_target(std::shared_ptr<target> t, bytes_view bytes,
                       const data_reference_resolver& link) const;
};

}  // namespace pipit::server
