#include "server/target_registry.hpp"

#include <sys/stat.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <future>

#include <spdlog/spdlog.h>

#include "server/jpip_handler.hpp"  // decode_url_path

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

// A file under the root: its real path, size and modification time.
struct root_file {
  fs::path real;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
};

// The file a normalized name designates: its real path (symlinks followed) inside the root, a
// regular file; else not_found naming only `shown`.
result<root_file> resolve_in_root(const fs::path& root, const std::string& name,
                                  std::string_view shown) {
  std::error_code ec;
  root_file f;
  f.real = fs::canonical(root / fs::path(name), ec);
  if (ec || !inside(root, f.real)) return no_target(shown);
  struct ::stat st {};
  if (::stat(f.real.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return no_target(shown);
  f.size = static_cast<std::uint64_t>(st.st_size);
  f.mtime_ns = std::int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
  return f;
}

tl::unexpected<error> not_followed(std::string_view location, std::string_view why) {
  std::string shown(location.substr(0, 300));
  for (auto& ch : shown)
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7F) ch = '?';
  return fail(errc::not_found, no_offset,
              "url box: '" + shown + "' is not followed: " + std::string(why));
}

}  // namespace

result<std::string> linked_file_name(std::string_view jpx_name, std::string_view location,
                                     const fs::path& real_root) {
  // A scheme (RFC 3986 §3.1): letters, digits, + - . after a first letter, then ':'.
  std::string_view rest = location;
  const auto colon = location.find(':');
  const auto slash = location.find('/');
  if (colon != std::string_view::npos && colon > 0 &&
      (slash == std::string_view::npos || colon < slash) &&
      std::isalpha(static_cast<unsigned char>(location[0])) &&
      std::all_of(
          location.begin(), location.begin() + static_cast<std::ptrdiff_t>(colon), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
          })) {
    std::string scheme(location.substr(0, colon));
    for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (scheme != "file")
      return not_followed(location, "it is a remote URL (only files under the served folder are)");
    rest = location.substr(colon + 1);
    if (rest.substr(0, 2) == "//") {
      rest.remove_prefix(2);
      const auto end = std::min(rest.find('/'), rest.size());
      const std::string_view host = rest.substr(0, end);
      if (!host.empty() && host != "localhost")
        return not_followed(location, "it names a file of another host");
      rest.remove_prefix(end);
    }
    if (rest.empty() || rest.front() != '/')
      return not_followed(location, "it is a file: URL without an absolute path");
  }
  if (rest.find_first_of("?#") != std::string_view::npos)
    return not_followed(location, "it has a query or a fragment");
  std::string path;
  if (!decode_url_path(rest, path)) return not_followed(location, "it has a bad percent-escape");
  if (path.empty()) return not_followed(location, "it is empty");
  std::vector<std::string> segs;
  if (path.front() == '/') {
    // An absolute path: inside the root's real path, the rest a name under it.
    const std::string r = real_root.string();
    if (path.compare(0, r.size(), r) != 0 || path.size() <= r.size() || path[r.size()] != '/')
      return not_followed(location, "it is outside the served folder");
    path.erase(0, r.size());
  } else {
    // Relative to the folder of the JPX.
    const auto dir = jpx_name.rfind('/');
    if (dir != std::string_view::npos) path = std::string(jpx_name.substr(0, dir + 1)) + path;
  }
  std::size_t pos = 0;
  while (pos <= path.size()) {
    const auto end = std::min(path.find('/', pos), path.size());
    const std::string seg = path.substr(pos, end - pos);
    pos = end + 1;
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (segs.empty()) return not_followed(location, "it leads out of the served folder");
      segs.pop_back();
      continue;
    }
    segs.push_back(seg);
  }
  std::string name;
  for (const auto& s : segs) name += (name.empty() ? "" : "/") + s;
  auto normal = normalize_target_name(name);
  if (!normal)
    return not_followed(location, "it does not name a .jp2 .j2k .j2c .jpx .jpf or .jph file");
  return *normal;
}

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
                                 std::uint64_t max_bytes, build_limits builds,
                                 std::shared_ptr<remote_storage> remote,
                                 std::chrono::milliseconds revalidate)
    : root_(remote ? fs::path() : fs::canonical(root)),
      remote_(std::move(remote)),
      revalidate_(revalidate),
      builds_(builds),
      max_cached_(std::max<std::size_t>(max_cached, 1)),
      max_bytes_(max_bytes) {
  builds_.threads = std::max(1u, builds_.threads);
  for (unsigned i = 0; i < builds_.threads; ++i) builders_.emplace_back([this] { builder(); });
}

target_registry::~target_registry() {
  {
    std::lock_guard lk(mutex_);
    stopping_ = true;
  }
  work_.notify_all();
  for (auto& t : builders_) t.join();
}

std::size_t target_registry::cached() const {
  std::lock_guard lk(mutex_);
  return cache_.size();
}

std::uint64_t target_registry::cached_bytes() const {
  std::lock_guard lk(mutex_);
  return bytes_;
}

std::size_t target_registry::builds_pending() const {
  std::lock_guard lk(mutex_);
  return jobs_.size();
}

std::uint64_t target_registry::failures_cached() const {
  std::lock_guard lk(mutex_);
  return failures_;
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
    bytes_ -= victim->second.memory;
    if (!victim->second.t) --failures_;
    cache_.erase(victim);
  }
}

target_registry::outcome target_registry::open(std::string_view name) {
  for (bool first = true;; first = false) {
    auto done = std::make_shared<std::promise<void>>();
    // After a wait the outcome is the build's, not a cache hit.
    auto r = lookup(
        name, [done] { done->set_value(); }, first);
    if (r) return std::move(*r);
    done->get_future().wait();
  }
}

std::optional<target_registry::outcome> target_registry::open_or_wait(std::string_view requested,
                                                                      std::function<void()> ready) {
  return lookup(requested, std::move(ready), true);
}

std::optional<target_registry::outcome> target_registry::lookup(std::string_view requested,
                                                                std::function<void()> ready,
                                                                bool count_hit) {
  auto name = normalize_target_name(requested);
  if (!name) return tl::unexpected(name.error());
  // A local file: its path, size and mtime now. A remote object: what the origin says is
  // asked on a builder when the entry is due for a check.
  root_file found;
  if (!remote_) {
    auto f = resolve_in_root(root_, *name, *name);
    if (!f) return tl::unexpected(f.error());
    found = std::move(*f);
  }
  const fs::path& real = found.real;
  const auto size = found.size;
  const std::int64_t mtime = found.mtime_ns;
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lk(mutex_);
  auto it = cache_.find(*name);
  const bool current =
      it != cache_.end() && (remote_ ? now < it->second.fresh_until
                                     : it->second.size == size && it->second.mtime_ns == mtime);
  if (current && (!it->second.retry_at || now < *it->second.retry_at)) {
    it->second.last_use = ++uses_;
    if (count_hit) hits_.fetch_add(1, std::memory_order_relaxed);
    if (it->second.t) return outcome(it->second.t);
    return outcome(tl::unexpected(it->second.failure));
  }
  if (waiting_ >= builds_.max_waiting)
    return fail(errc::limit, no_offset, "too many requests wait for files to be indexed");
  auto j = jobs_.find(*name);
  if (j == jobs_.end()) {
    if (queue_.size() >= builds_.max_queued)
      return fail(errc::limit, no_offset, "too many files wait to be indexed");
    misses_.fetch_add(1, std::memory_order_relaxed);
    j = jobs_.emplace(*name, job{*name, real, size, mtime, {}, {}}).first;
    if (remote_ && it != cache_.end()) j->second.previous = it->second.t;
    queue_.push_back(*name);
    work_.notify_one();
  }
  // A build of an older version of the file is waited for too: the caller then asks again.
  j->second.waiters.push_back(std::move(ready));
  ++waiting_;
  return std::nullopt;
}

void target_registry::builder() {
  for (;;) {
    job j;
    {
      std::unique_lock lk(mutex_);
      work_.wait(lk, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      const std::string name = std::move(queue_.front());
      queue_.pop_front();
      const job& q = jobs_.at(name);
      j.name = q.name;
      j.real = q.real;
      j.size = q.size;
      j.mtime_ns = q.mtime_ns;
      j.previous = q.previous;
    }
    bool unopened = false;
    outcome r = build(j, unopened);
    const bool failed = !r;
    std::vector<std::function<void()>> waiters;
    {
      std::lock_guard lk(mutex_);
      auto it = jobs_.find(j.name);
      waiters = std::move(it->second.waiters);
      jobs_.erase(it);
      waiting_ -= waiters.size();
      auto& slot = cache_[j.name];
      if (slot.t || slot.last_use != 0) {
        bytes_ -= slot.memory;
        if (!slot.t) --failures_;
      }
      slot = entry{};
      slot.size = j.size;
      slot.mtime_ns = j.mtime_ns;
      slot.last_use = ++uses_;
      slot.fresh_until = std::chrono::steady_clock::now() + revalidate_;
      if (r) {
        slot.t = *r;
        slot.memory = slot.t->memory;
      } else {
        slot.failure = r.error();
        slot.memory = sizeof(entry) + slot.failure.message.size();
        if (unopened) slot.retry_at = std::chrono::steady_clock::now() + builds_.retry_unopened;
        ++failures_;
      }
      bytes_ += slot.memory;
      evict_locked();
    }
#ifdef __GLIBC__
    // A failed build may have freed a lot (a hostile file's declared geometry): give it back.
    if (failed) ::malloc_trim(0);
#endif
    for (auto& w : waiters) w();
  }
}

result<bytes_view> map_linked_file(target& t, const data_reference& ref,
                                   const fs::path& real_root) {
  PIPIT_TRY_ASSIGN(linked, linked_file_name(t.name, ref.location, real_root));
  auto f = resolve_in_root(real_root, linked, linked);
  if (!f) return not_followed(ref.location, "it names no file under the served folder");
  auto m = mapped_file::open(f->real.string());
  if (!m) return not_followed(ref.location, "it names a file that cannot be read");
  t.linked.push_back(std::move(*m));
  return t.linked.back().bytes();
}

result<void> index_local_target(target& t, const fs::path& real_root,
                                const index_options& options) {
  auto link = [&](const data_reference& ref) { return map_linked_file(t, ref, real_root); };
  PIPIT_TRY_ASSIGN(ix, image_index::build(t.file.bytes(), options, link));
  t.index = std::move(ix);
  t.source = std::make_unique<databin_source>(t.file.bytes(), t.index);
  return {};
}

target_registry::outcome target_registry::build(const job& j, bool& unopened) const {
  if (remote_) return build_remote(j, unopened);
  const std::string& name = j.name;
  try {
    auto t = std::make_shared<target>();
    t->name = name;
    t->size = j.size;
    t->mtime_ns = j.mtime_ns;
    t->tid = make_target_id(name, j.size, j.mtime_ns);
    auto file = mapped_file::open(j.real.string());
    if (!file) {
      unopened = true;
      if (file.error().code == errc::limit)
        return fail(errc::limit, no_offset,
                    "target '" + name + "' cannot be opened now: no file descriptor left");
      return fail(errc::io, no_offset, "target '" + name + "' cannot be read");
    }
    t->file = std::move(*file);
    index_options options;
    options.max_index_bytes = builds_.per_build();
    // The files of a linked JPX, by the rules of targets (the header says which).
    auto link = [&](const data_reference& ref) { return map_linked_file(*t, ref, root_); };
    const bytes_view bytes = t->file.bytes();
    return index_target(t, bytes, link);
  } catch (const std::bad_alloc&) {
    return fail(errc::limit, no_offset,
                "target '" + name + "' needs more memory to index than the server could get");
  } catch (const std::exception& e) {
    return fail(errc::corrupt, no_offset,
                "target '" + name + "' could not be indexed: " + std::string(e.what()));
  }
}

target_registry::outcome target_registry::build_remote(const job& j, bool& unopened) const {
  const std::string& name = j.name;
  try {
    auto object = remote_->open(name);
    if (!object) {
      // The origin's state, not the object's: asked again after retry_unopened.
      unopened = object.error().code == errc::upstream;
      return tl::unexpected(object.error());
    }
    const std::string& validator = (*object)->validator();
    // The validator in place of the mtime: every instance gives the object the same target id.
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (char ch : validator) h = (h ^ static_cast<unsigned char>(ch)) * 0x100000001b3ull;
    const auto version = static_cast<std::int64_t>(h);
    if (j.previous && j.previous->object && !validator.empty() &&
        j.previous->object->validator() == validator && j.previous->size == (*object)->size())
      return j.previous;  // unchanged: the same target, checked again after `revalidate`
    auto t = std::make_shared<target>();
    t->name = name;
    t->size = (*object)->size();
    t->mtime_ns = version;
    t->tid = make_target_id(name, t->size, version);
    t->object = *object;
    if (auto fetched = remote_storage::fetch_structure(*t->object); !fetched) {
      unopened = fetched.error().code == errc::upstream;
      return tl::unexpected(fetched.error());
    }
    // The frames of a linked JPX: objects under the same prefix, read whole.
    auto link = [&](const data_reference& ref) -> result<bytes_view> {
      if (!ref.location.empty() &&
          (ref.location.front() == '/' || ref.location.find(':') != std::string::npos))
        return not_followed(ref.location, "under a storage origin only relative URLs are");
      PIPIT_TRY_ASSIGN(linked, linked_file_name(name, ref.location, root_));
      auto o = remote_->open(linked);
      if (!o) return not_followed(ref.location, o.error().message);
      if (auto all = (*o)->ensure(0, (*o)->size()); !all)
        return not_followed(ref.location, all.error().message);
      t->linked_objects.push_back(*o);
      return (*o)->bytes();
    };
    const bytes_view bytes = t->object->bytes();
    return index_target(t, bytes, link);
  } catch (const std::bad_alloc&) {
    return fail(errc::limit, no_offset,
                "target '" + name + "' needs more memory to index than the server could get");
  } catch (const std::exception& e) {
    return fail(errc::corrupt, no_offset,
                "target '" + name + "' could not be indexed: " + std::string(e.what()));
  }
}

target_registry::outcome target_registry::index_target(std::shared_ptr<target> t, bytes_view bytes,
                                                       const data_reference_resolver& link) const {
  const std::string& name = t->name;
  {
    index_options options;
    options.max_index_bytes = builds_.per_build();
    auto ix = image_index::build(bytes, options, link);
    if (!ix)
      return fail(ix.error().code == errc::limit ? errc::limit : errc::corrupt, no_offset,
                  "target '" + name +
                      "' is not a JPEG 2000 file Pipit can serve: " + ix.error().to_string());
    if (ix->codestreams.empty())
      return fail(errc::corrupt, no_offset, "target '" + name + "' holds no codestream");
    // Damage the index went past (docs/formats/damaged-codestreams.md): logged here, once per
    // build of the file, not per request.
    for (std::size_t c = 0; c < ix->codestreams.size(); ++c)
      for (const auto& w : ix->codestreams[c].warnings) {
        spdlog::warn("target '{}': codestream {}: {}", name, c, w.to_string());
        t->warnings.push_back("codestream " + std::to_string(c) + ": " + w.to_string());
      }
    t->index = std::move(*ix);
    t->source = std::make_unique<databin_source>(bytes, t->index);
    t->memory = estimate_target_memory(*t);
    return std::shared_ptr<const target>(std::move(t));
  }
}

result<void> ensure_bytes(const target& t, const gather_buffer& g) {
  if (!t.object) return {};
  // The pieces that are views of an object, as ranges of it.
  std::vector<std::vector<byte_range>> wanted(1 + t.linked_objects.size());
  g.for_each([&](const std::uint8_t* p, std::size_t n) {
    if (t.object->holds(p)) {
      wanted[0].push_back({static_cast<std::uint64_t>(p - t.object->bytes().data()), n});
      return;
    }
    for (std::size_t k = 0; k < t.linked_objects.size(); ++k)
      if (t.linked_objects[k]->holds(p))
        wanted[k + 1].push_back(
            {static_cast<std::uint64_t>(p - t.linked_objects[k]->bytes().data()), n});
  });
  for (std::size_t k = 0; k < wanted.size(); ++k) {
    if (wanted[k].empty()) continue;
    remote_object& o = k == 0 ? *t.object : *t.linked_objects[k - 1];
    PIPIT_TRY(o.ensure(wanted[k]));
  }
  return {};
}

}  // namespace pipit::server
