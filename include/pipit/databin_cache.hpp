// The client's data-bin cache (ISO/IEC 15444-9 A.3, B.3).
//
// A JPIP client receives the bytes of every data-bin in messages that may arrive in any order,
// overlap, repeat or leave gaps. A `databin_cache` keeps, per `bin_id`, the sparse byte ranges
// received so far (merged as they arrive), whether the bin's total length is known (a message with
// the "last byte" bit was seen) and a least-recently-used order used to stay within a memory
// limit. What a decoder can use is the contiguous prefix [0, n) of a bin, handed out as a view
// without copying. The cache belongs to one target (the server's `JPIP-tid`) and can be saved to
// and loaded from a checksummed file so that a later session can resume with `model` statements.
//
// Completeness is the server's claim: a bin is complete when its length is known and every byte
// before it is present. Servers in the field have marked bins complete too early, so whoever counts
// packets must parse packet headers over the prefix and treat completeness as a hint.
//
// Thread-safety: like a standard container. Concurrent calls to const members are safe; any call
// to a non-const member (add, touch, erase, set_memory_limit, ...) requires exclusive access.
// Views returned by contiguous_prefix() and sparse_ranges::prefix() stay valid until the next call
// to a non-const member of the cache (any mutation may reallocate, merge or evict).
#pragma once

#include <cstdint>
#include <filesystem>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pipit/byte_reader.hpp"
#include "pipit/databin_id.hpp"
#include "pipit/error.hpp"

namespace pipit {

// The bytes of one data-bin: a contiguous prefix [0, n) stored in one buffer, plus "islands" of
// bytes received beyond a gap. Islands are sorted, non-empty, and never touch each other or the
// prefix (touching ranges are merged), so a bin received in order costs one byte buffer.
// Overlapping bytes keep the value received first; disagreeing bytes are counted.
class sparse_ranges {
 public:
  struct insert_result {
    std::uint64_t new_bytes = 0;          // bytes not held before
    std::uint64_t overlapping_bytes = 0;  // bytes already held (equal or not)
    std::uint64_t conflicting_bytes = 0;  // bytes already held with a different value (kept)
  };
  struct range_view {
    std::uint64_t offset = 0;
    bytes_view bytes;
  };

  // Merges bytes [offset, offset + bytes.size()).
  // REQUIRES: offset + bytes.size() does not overflow; `bytes` does not alias this object.
  insert_result insert(std::uint64_t offset, bytes_view bytes);

  // Bytes [0, n); empty when byte 0 is missing. Valid until the next non-const call.
  bytes_view prefix() const { return prefix_; }
  // One past the highest byte held (0 when empty).
  std::uint64_t extent() const;
  // Number of bytes held.
  std::uint64_t size() const;
  bool empty() const { return prefix_.empty() && islands_.empty(); }
  // True when every byte of [begin, end) is held.
  bool contains(std::uint64_t begin, std::uint64_t end) const;
  // The disjoint ranges in increasing offset order (the prefix first when non-empty).
  std::vector<range_view> ranges() const;
  std::size_t range_count() const { return islands_.size() + (prefix_.empty() ? 0 : 1); }

  void shrink_to_fit();
  void clear();

 private:
  struct island {
    std::uint64_t begin = 0;
    std::vector<std::uint8_t> bytes;
    std::uint64_t end() const { return begin + bytes.size(); }
  };

  void merge_into(std::vector<std::uint8_t>& base, std::uint64_t base_begin, std::uint64_t offset,
                  bytes_view bytes, std::size_t first_island, insert_result& out);

  std::vector<std::uint8_t> prefix_;
  std::vector<island> islands_;
};

class databin_cache {
 public:
  // A message that would make a bin longer than this is refused (errc::limit).
  static constexpr std::uint64_t max_bin_bytes = std::uint64_t{1} << 30;
  static constexpr std::uint64_t no_memory_limit = ~std::uint64_t{0};

  // One bin, as needed to write a `model=` statement.
  struct bin_info {
    bin_id id;
    std::uint64_t prefix_length = 0;  // bytes [0, prefix_length) are held
    std::uint64_t bytes_held = 0;     // including bytes beyond a gap
    std::optional<std::uint64_t> known_length;
    bool complete = false;
  };

  struct statistics {
    std::uint64_t messages = 0;              // successful add() calls
    std::uint64_t duplicate_bytes = 0;       // bytes received again (equal or not)
    std::uint64_t conflicting_bytes = 0;     // bytes received again with a different value
    std::uint64_t conflicting_messages = 0;  // messages with at least one conflicting byte
    std::uint64_t evicted_bins = 0;
  };

  databin_cache() = default;
  explicit databin_cache(std::string target_id) : target_id_(std::move(target_id)) {}
  databin_cache(databin_cache&&) = default;
  // clang-tidy 14 names the implicit loop over an array member `__i0`:
  // NOLINTNEXTLINE(bugprone-reserved-identifier,readability-identifier-naming)
  databin_cache& operator=(databin_cache&&) = default;
  databin_cache(const databin_cache&) = delete;
  databin_cache& operator=(const databin_cache&) = delete;

  // Stores one message's bytes [offset, offset + bytes.size()) of bin `id`. `is_last` says the
  // message carries the bin's final byte, so the bin's length becomes offset + bytes.size() (a
  // zero-length message with is_last makes an empty, complete bin). Creates the bin if needed,
  // marks it used, then evicts down to the memory limit.
  // Errors (the cache is unchanged): errc::limit when the message ends past max_bin_bytes;
  // errc::corrupt when it contradicts the bin's known length (extends past it, or announces a
  // different one, or ends a bin whose held bytes reach further). The error's offset is no_offset;
  // a stream parser may fill in its own position.
  // REQUIRES: `bytes` does not point into this cache.
  result<void> add(const bin_id& id, std::uint64_t offset, bytes_view bytes, bool is_last);

  bool has(const bin_id& id) const { return bins_.count(id) != 0; }
  // Bytes [0, n) of the bin (empty if absent). Valid until the next non-const call.
  bytes_view contiguous_prefix(const bin_id& id) const;
  // Known length and every byte before it present.
  bool is_complete(const bin_id& id) const;
  std::optional<std::uint64_t> known_length(const bin_id& id) const;
  // The bin's bytes, gaps included; nullptr if absent. Valid until the next non-const call.
  const sparse_ranges* ranges(const bin_id& id) const;

  std::size_t bin_count() const { return bins_.size(); }
  std::uint64_t bytes_held() const { return bytes_held_; }
  // Every bin, ordered by bin_id (kind, csn, id).
  std::vector<bin_info> bins() const;
  const statistics& stats() const { return stats_; }

  // Marks the bin as just used (for eviction order). No effect if absent.
  void touch(const bin_id& id);

  // Eviction: while bytes_held() > limit, the least recently used precinct or tile bin is
  // removed; main header, tile header and metadata bins go (least recently used first) only when
  // no precinct or tile bin is left. The default is no limit; a client facing untrusted servers
  // should set one. Evicted ids are queued for take_evicted().
  void set_memory_limit(std::uint64_t bytes);
  std::uint64_t memory_limit() const { return memory_limit_; }
  // The bins evicted since the last call, oldest first (for subtractive `model` items).
  std::vector<bin_id> take_evicted();

  // Removes one bin (not reported by take_evicted). Returns whether it existed.
  bool erase(const bin_id& id);
  // Removes every bin; keeps the target id, the memory limit and the statistics.
  void clear();

  const std::string& target_id() const { return target_id_; }
  // Adopts the server's target id. When the cache already had a non-empty, different id, every
  // bin is dropped (the target changed; 15444-9 C.2 / docs/jpip-notes.md §8.2) and nothing is
  // queued for take_evicted(): the server's model of the old target is void anyway.
  void set_target_id(std::string target_id);

  // Persistence; the format is in docs/formats/cache-file.md. Bins are written least recently
  // used first, so a loaded cache keeps the eviction order.
  std::vector<std::uint8_t> to_bytes() const;
  // Writes `path` atomically: a temporary file in the same folder, fsync, rename, fsync of the
  // folder. Errors: errc::io.
  result<void> save(const std::filesystem::path& path) const;
  // Reads a file written by save(). errc::not_found if it does not exist, errc::io if it cannot
  // be read, errc::corrupt (with the byte offset) for bad magic, version, checksum, truncation or
  // impossible contents. If `expected_target_id` is non-empty and differs from the file's, the
  // result is an EMPTY cache for `expected_target_id` (not an error: the file is intact but stale,
  // and the caller's remedy is the same, start afresh). An empty `expected_target_id` accepts the
  // file's id: load, send it as `tid`, then set_target_id() with the server's answer.
  // The loaded cache has no memory limit and empty statistics.
  static result<databin_cache> load(const std::filesystem::path& path,
                                    std::string_view expected_target_id);
  // What a file looked like after this process last wrote or read it (device, inode, size,
  // modification time), so that sync_file() reads it again only when another process changed it.
  struct file_stamp {
    std::uint64_t device = 0, inode = 0, size = 0;
    std::int64_t mtime_ns = 0;
    bool operator==(const file_stamp&) const = default;
  };
  // Adds what `other` holds and this cache lacks (same target assumed): every range, and every
  // known length. A bin that contradicts this cache's copy is skipped. Returns the bytes added.
  std::uint64_t merge_from(const databin_cache& other);
  // save() for a file that other processes may write too, crash-safe and without losing their
  // bins: under an exclusive lock of `path` + ".lock" (flock), the file is read when it changed
  // since `*stamp` (any process may have replaced it) and its bins of the same target merged into
  // this cache (merge_from), then this cache is saved. A file that is damaged, stale (another
  // target id) or absent is simply replaced. `stamp` (may be null) is updated to the file written.
  // Returns the bytes merged in from the file. Errors: errc::io.
  result<std::uint64_t> sync_file(const std::filesystem::path& path, file_stamp* stamp = nullptr);
  // load() on bytes already in memory (what load() uses; also the fuzzing entry point).
  static result<databin_cache> load_from_bytes(bytes_view file,
                                               std::string_view expected_target_id);

 private:
  friend struct cache_file_codec;

  struct entry {
    sparse_ranges data;
    std::optional<std::uint64_t> known_length;
    std::list<bin_id>::iterator lru_pos;
  };

  // 0: precinct and tile bins (evicted first); 1: headers and metadata.
  static int tier_of(bin_kind kind) {
    return kind == bin_kind::precinct || kind == bin_kind::tile ? 0 : 1;
  }
  void remove(std::unordered_map<bin_id, entry, bin_id_hash>::iterator it);
  void evict_to_limit();

  std::string target_id_;
  std::unordered_map<bin_id, entry, bin_id_hash> bins_;
  std::list<bin_id> lru_[2];  // per tier, least recently used at the front
  std::uint64_t bytes_held_ = 0;
  std::uint64_t memory_limit_ = no_memory_limit;
  std::vector<bin_id> evicted_;
  statistics stats_;
};

}  // namespace pipit
