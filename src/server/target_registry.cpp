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
  return ext == "jp2" || ext == "j2k" || ext == "j2c" || ext == "jpx" || ext == "jpf" || ext == "jph";
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

target_registry::target_registry(const fs::path& root, std::size_t max_cached)
    : root_(fs::canonical(root)), max_cached_(std::max<std::size_t>(max_cached, 1)) {}

std::size_t target_registry::cached() const {
  std::lock_guard lk(mutex_);
  return cache_.size();
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
      return it->second.t;
    }
  }
  std::lock_guard build(build_mutex_);
  {
    // Another request may have indexed it while this one waited.
    std::lock_guard lk(mutex_);
    auto it = cache_.find(name);
    if (it != cache_.end() && it->second.t->size == size && it->second.t->mtime_ns == mtime)
      return it->second.t;
  }
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
    return fail(ix.error().code == errc::limit ? errc::limit : errc::corrupt, no_offset,
                "target '" + name + "' is not a JPEG 2000 file Pipit can serve: " + ix.error().to_string());
  if (ix->codestreams.empty())
    return fail(errc::corrupt, no_offset, "target '" + name + "' holds no codestream");
  t->index = std::move(*ix);
  t->source = std::make_unique<databin_source>(t->file.bytes(), t->index);
  std::shared_ptr<const target> ct = t;
  std::lock_guard lk(mutex_);
  cache_[name] = entry{ct, ++uses_};
  while (cache_.size() > max_cached_) {
    auto victim = std::min_element(cache_.begin(), cache_.end(), [](const auto& a, const auto& b) {
      return a.second.last_use < b.second.last_use;
    });
    cache_.erase(victim);
  }
  return ct;
}

}  // namespace pipit::server
