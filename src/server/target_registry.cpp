#include "server/target_registry.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace pipit::server {
namespace fs = std::filesystem;
namespace {

bool served_extension(std::string_view name) {
  const auto dot = name.rfind('.');
  if (dot == std::string_view::npos) return false;
  std::string ext(name.substr(dot + 1));
  for (auto& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return ext == "jp2" || ext == "j2k" || ext == "j2c" || ext == "jpx" || ext == "jpf" ||
         ext == "jph";
}

tl::unexpected<error> no_target(std::string_view name) {
  std::string shown(name.substr(0, 200));
  for (auto& ch : shown)
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7F) ch = '?';
  return fail(errc::not_found, no_offset, "target '" + shown + "' does not exist");
}

// Whether `p` lies inside `root` (both canonical).
bool inside(const fs::path& root, const fs::path& p) {
  auto r = root.begin(), q = p.begin();
  for (; r != root.end(); ++r, ++q)
    if (q == p.end() || *r != *q) return false;
  return q != p.end();
}

}  // namespace

result<std::string> normalize_target_name(std::string_view name) {
  if (name.empty() || name.size() > 4096 || name.front() == '/') return no_target(name);
  std::string out;
  std::size_t pos = 0;
  while (pos <= name.size()) {
    const auto slash = std::min(name.find('/', pos), name.size());
    const std::string_view seg = name.substr(pos, slash - pos);
    pos = slash + 1;
    if (seg.empty()) return no_target(name);  // "a//b", "a.jp2/"
    if (seg == "." || seg == "..") return no_target(name);
    for (char ch : seg)
      if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7F || ch == '\\') return no_target(name);
    if (!out.empty()) out += '/';
    out += seg;
  }
  if (out.empty() || !served_extension(out)) return no_target(name);
  return out;
}

std::string make_target_id(std::string_view name, std::uint64_t size, std::int64_t mtime_ns) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&](const void* p, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) {
      h ^= b[i];
      h *= 0x100000001b3ull;
    }
  };
  mix(name.data(), name.size());
  const unsigned char zero = 0;
  mix(&zero, 1);
  mix(&size, sizeof size);
  mix(&mtime_ns, sizeof mtime_ns);
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::uint64_t estimate_target_memory(const target& t) {
  std::uint64_t n = sizeof(target) + t.index.boxes.size() * sizeof(box);
  for (const auto& cs : t.index.codestreams) {
    n += sizeof(cs) + cs.packets.size() * sizeof(packet_entry) +
         cs.tile_parts.size() * sizeof(tile_part);
    n += cs.main_markers.size() * sizeof(marker_segment);
    for (const auto& te : cs.tiles) {
      n += sizeof(te) + te.parts.size() * 4 + te.comp_res_base.size() * 4 +
           te.packet_of_slot.size() * 4;
      n += te.resolutions.size() * sizeof(tile_entry::resolution_info) +
           te.packed_headers.size() * sizeof(byte_range);
    }
  }
  if (t.source) {
    n += t.source->metadata_bin0().size() + t.source->precinct_table_bytes();
    for (std::uint32_t c = 0; c < t.source->num_codestreams(); ++c) {
      n += t.source->main_header(c).size() + t.source->main_header(c, true).size();
      for (std::uint32_t k = 0; k < t.index.codestreams[c].tiles.size(); ++k)
        n += t.source->tile_header(c, k).size() + 24;
    }
  }
  return n;
}

target_registry::target_registry(const fs::path& root, std::size_t max_cached,
                                 std::uint64_t max_bytes)
    : root_(fs::canonical(root)),
      max_cached_(std::max<std::size_t>(max_cached, 1)),
      max_bytes_(max_bytes) {}

std::size_t target_registry::cached() const {
  std::lock_guard lk(mutex_);
  return cache_.size();
}

std::uint64_t target_registry::cached_bytes() const {
  std::lock_guard lk(mutex_);
  return bytes_;
}

void target_registry::set_limits(std::size_t max_cached, std::uint64_t max_bytes) {
  std::lock_guard lk(mutex_);
  max_cached_ = std::max<std::size_t>(max_cached, 1);
  max_bytes_ = max_bytes;
  evict_locked();
}

// Least recently used out until within both limits; the newest entry always stays.
void target_registry::evict_locked() {
  while (cache_.size() > 1 && (cache_.size() > max_cached_ || bytes_ > max_bytes_)) {
    auto victim = std::min_element(cache_.begin(), cache_.end(), [](const auto& a, const auto& b) {
      return a.second.last_use < b.second.last_use;
    });
    bytes_ -= victim->second.t->memory;
    cache_.erase(victim);
  }
}

result<std::shared_ptr<const target>> target_registry::open(std::string_view requested) {
  PIPIT_TRY_ASSIGN(name, normalize_target_name(requested));
  std::error_code ec;
  const fs::path real = fs::canonical(root_ / fs::path(name), ec);
  if (ec || !inside(root_, real)) return no_target(name);
  struct ::stat st {};
  if (::stat(real.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return no_target(name);
  const auto size = static_cast<std::uint64_t>(st.st_size);
  const std::int64_t mtime = std::int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
  {
    std::lock_guard lk(mutex_);
    auto it = cache_.find(name);
    if (it != cache_.end() && it->second.t->size == size && it->second.t->mtime_ns == mtime) {
      it->second.last_use = ++uses_;
      hits_.fetch_add(1, std::memory_order_relaxed);
      return it->second.t;
    }
  }
  std::lock_guard build(build_mutex_);
  {
    // Another request may have indexed it while this one waited.
    std::lock_guard lk(mutex_);
    auto it = cache_.find(name);
    if (it != cache_.end() && it->second.t->size == size && it->second.t->mtime_ns == mtime) {
      hits_.fetch_add(1, std::memory_order_relaxed);
      return it->second.t;
    }
  }
  misses_.fetch_add(1, std::memory_order_relaxed);
  auto t = std::make_shared<target>();
  t->name = name;
  t->size = size;
  t->mtime_ns = mtime;
  t->tid = make_target_id(name, size, mtime);
  auto file = mapped_file::open(real.string());
  if (!file) return fail(errc::io, no_offset, "target '" + name + "' cannot be read");
  t->file = std::move(*file);
  auto ix = image_index::build(t->file.bytes());
  if (!ix)
    return fail(
        ix.error().code == errc::limit ? errc::limit : errc::corrupt, no_offset,
        "target '" + name + "' is not a JPEG 2000 file Pipit can serve: " + ix.error().to_string());
  if (ix->codestreams.empty())
    return fail(errc::corrupt, no_offset, "target '" + name + "' holds no codestream");
  t->index = std::move(*ix);
  t->source = std::make_unique<databin_source>(t->file.bytes(), t->index);
  t->memory = estimate_target_memory(*t);
  std::shared_ptr<const target> ct = t;
  std::lock_guard lk(mutex_);
  auto& slot = cache_[name];
  if (slot.t) bytes_ -= slot.t->memory;
  slot = entry{ct, ++uses_};
  bytes_ += ct->memory;
  evict_locked();
  return ct;
}

}  // namespace pipit::server
