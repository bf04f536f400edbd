#include "server/remote_storage.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>

#include <spdlog/spdlog.h>

#include "client/http_transport.hpp"
#include "pipit/boxes.hpp"
#include "pipit/markers.hpp"

namespace pipit::server {

struct storage_origin {
  storage_options options;
  std::string prefix;  // scheme://host/prefix/
  std::string query;   // without '?', or empty
  std::mutex mutex;    // guards idle
  std::vector<std::unique_ptr<client::http_transport>> idle;
  std::atomic<std::uint64_t> requests{0}, bytes{0};

  std::unique_ptr<client::http_transport> take() {
    {
      std::lock_guard lk(mutex);
      if (!idle.empty()) {
        auto t = std::move(idle.back());
        idle.pop_back();
        return t;
      }
    }
    client::transport_options o;
    o.header_file = options.header_file;
    o.ca_file = options.ca_file;
    o.timeout_ms = options.timeout_ms;
    o.connect_timeout_ms = options.timeout_ms > 0 ? std::min(options.timeout_ms, 10000L) : 10000;
    o.user_agent = "pipit-serve/0.1";
    return std::make_unique<client::http_transport>(o);
  }
  void give_back(std::unique_ptr<client::http_transport> t) {
    std::lock_guard lk(mutex);
    if (idle.size() < 64) idle.push_back(std::move(t));
  }
};

namespace {

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

// A name's URL path: every byte but unreserved ones and '/' percent-encoded.
std::string encode_path(std::string_view name) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || ch == '-' || ch == '.' || ch == '_' || ch == '~' || ch == '/') {
      out += ch;
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string hex64(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (char ch : s) {
    h ^= static_cast<unsigned char>(ch);
    h *= 0x100000001b3ull;
  }
  return h;
}

tl::unexpected<error> upstream(const std::string& name, const std::string& why) {
  return fail(errc::upstream, no_offset, "target '" + name + "': the storage origin " + why);
}

// The error of a response that is not the expected one.
tl::unexpected<error> origin_error(const std::string& name, const client::http_response& r) {
  if (r.failure != client::transfer_failure::none) {
    if (r.failure == client::transfer_failure::connect)
      return upstream(name, "cannot be reached (" + r.failure_text + ")");
    if (r.failure == client::transfer_failure::timeout)
      return upstream(name, "did not answer in time (" + r.failure_text + ")");
    return upstream(name, "failed (" + r.failure_text + ")");
  }
  if (r.status == 404 || r.status == 410)
    return fail(errc::not_found, no_offset,
                "target '" + name + "' does not exist (the storage origin answered " +
                    std::to_string(r.status) + ")");
  if (r.status == 401 || r.status == 403)
    return upstream(name, "refused access (" + std::to_string(r.status) + ")");
  return upstream(name, "answered " + std::to_string(r.status));
}

// "bytes FIRST-LAST/TOTAL" → FIRST and TOTAL (TOTAL 0 when "*").
bool parse_content_range(const std::string& v, std::uint64_t& first, std::uint64_t& total) {
  unsigned long long a = 0, b = 0, t = 0;
  if (std::sscanf(v.c_str(), "bytes %llu-%llu/%llu", &a, &b, &t) == 3) {
    first = a;
    total = t;
    return true;
  }
  if (std::sscanf(v.c_str(), "bytes %llu-%llu/*", &a, &b) == 2) {
    first = a;
    total = 0;
    return true;
  }
  return false;
}

// The on-disk record of an object's blocks: a text header, then one byte per block (0 or 1).
constexpr std::string_view record_magic = "pipit-storage-cache 1\n";

}  // namespace

bool is_remote_root(std::string_view root) {
  return starts_with_nocase(root, "http://") || starts_with_nocase(root, "https://");
}

result<void> check_remote_root(std::string_view root) {
  const auto scheme_end = root.find("://");
  if (!is_remote_root(root) || scheme_end == std::string_view::npos)
    return fail(errc::invalid_argument, no_offset, "root: not an http:// or https:// URL");
  const std::string_view rest = root.substr(scheme_end + 3);
  const auto host_end = std::min(rest.find_first_of("/?#"), rest.size());
  if (host_end == 0) return fail(errc::invalid_argument, no_offset, "root: the URL names no host");
  if (root.find('#') != std::string_view::npos)
    return fail(errc::invalid_argument, no_offset, "root: the URL has a fragment");
  for (char ch : root)
    if (static_cast<unsigned char>(ch) <= 0x20 || ch == 0x7F)
      return fail(errc::invalid_argument, no_offset, "root: the URL has a space or control byte");
  return {};
}

// ---- remote_object ------------------------------------------------------------------------

remote_object::~remote_object() {
  if (data_ != nullptr) ::munmap(data_, mapped_);
  if (fd_ >= 0) ::close(fd_);
}

bool remote_object::present(std::uint64_t offset, std::uint64_t length) const {
  if (offset >= size_ || length == 0) return true;
  const std::uint64_t end = std::min(size_, offset + length);
  std::lock_guard lk(mutex_);
  for (std::uint64_t b = offset / block_; b * block_ < end; ++b)
    if (blocks_[b] != held) return false;
  return true;
}

result<void> remote_object::ensure(std::uint64_t offset, std::uint64_t length) {
  return ensure(std::vector<byte_range>{byte_range{offset, length}});
}

result<void> remote_object::ensure(const std::vector<byte_range>& ranges) {
  // The blocks needed, in order.
  std::vector<std::uint64_t> needed;
  for (const auto& r : ranges) {
    if (r.offset >= size_ || r.length == 0) continue;
    const std::uint64_t end = std::min(size_, r.offset + r.length);
    for (std::uint64_t b = r.offset / block_; b * block_ < end; ++b) needed.push_back(b);
  }
  std::sort(needed.begin(), needed.end());
  needed.erase(std::unique(needed.begin(), needed.end()), needed.end());
  // Claim the missing ones, in runs; runs a few missing blocks apart become one request.
  constexpr std::uint64_t max_gap = 4;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> runs;  // [first, end) blocks
  {
    std::lock_guard lk(mutex_);
    for (std::uint64_t b : needed) {
      if (blocks_[b] != missing) continue;
      if (!runs.empty() && b >= runs.back().second && b - runs.back().second <= max_gap &&
          std::all_of(blocks_.begin() + static_cast<std::ptrdiff_t>(runs.back().second),
                      blocks_.begin() + static_cast<std::ptrdiff_t>(b),
                      [](std::uint8_t s) { return s == missing; })) {
        for (std::uint64_t g = runs.back().second; g <= b; ++g) blocks_[g] = in_flight;
        runs.back().second = b + 1;
      } else {
        blocks_[b] = in_flight;
        runs.emplace_back(b, b + 1);
      }
    }
  }
  result<void> outcome;
  std::size_t done = 0;
  for (; done < runs.size(); ++done) {
    outcome = fetch_run(runs[done].first, runs[done].second);
    std::lock_guard lk(mutex_);
    for (std::uint64_t b = runs[done].first; b < runs[done].second; ++b)
      blocks_[b] = outcome ? held : missing;
    if (!outcome) break;
  }
  {
    std::unique_lock lk(mutex_);
    for (std::size_t k = done + 1; k < runs.size(); ++k)
      for (std::uint64_t b = runs[k].first; b < runs[k].second; ++b) blocks_[b] = missing;
    if (!runs.empty()) {
      if (done > 0) save_record();
      changed_.notify_all();
    }
    if (!outcome) return outcome;
    // Blocks another thread is fetching: wait for its outcome.
    for (std::uint64_t b : needed) {
      changed_.wait(lk, [&] { return blocks_[b] != in_flight; });
      if (blocks_[b] != held)
        return upstream(name_, "did not give bytes " + std::to_string(b * block_) + "-" +
                                   std::to_string(std::min(size_, (b + 1) * block_) - 1));
    }
  }
  return {};
}

result<void> remote_object::fetch_run(std::uint64_t first_block, std::uint64_t end_block) {
  const std::uint64_t from = first_block * block_;
  const std::uint64_t to = std::min(size_, end_block * block_);  // exclusive
  auto transport = origin_->take();
  std::uint64_t at = from;
  bool bad_start = false;
  auto on_headers = [&](const client::http_response& r) {
    std::uint64_t first = 0, total = 0;
    if (r.status == 206 &&
        (!parse_content_range(r.header("content-range"), first, total) || first != from))
      bad_start = true;
  };
  auto on_body = [&](bytes_view b) {
    if (bad_start) return false;
    const std::uint64_t n = std::min<std::uint64_t>(b.size(), to - std::min(to, at));
    if (n > 0) std::memcpy(data_ + at, b.data(), static_cast<std::size_t>(n));
    at += n;
    return n == b.size();  // more than asked: stop (a 200 with the whole object)
  };
  const auto r = transport->get(url_, on_body, {}, on_headers,
                                std::to_string(from) + "-" + std::to_string(to - 1));
  origin_->requests.fetch_add(1, std::memory_order_relaxed);
  origin_->bytes.fetch_add(r.body_bytes, std::memory_order_relaxed);
  if (r.failure == client::transfer_failure::none) origin_->give_back(std::move(transport));
  if (r.status == 200)
    return upstream(name_, "answered a Range request with the whole object (200)");
  if (r.status == 412 ||
      (r.status == 206 && !etag_.empty() && !r.header("etag").empty() && r.header("etag") != etag_))
    return upstream(name_, "holds another version of the object now (its ETag changed)");
  if (bad_start) return upstream(name_, "answered another range than the one asked");
  if (!r.ok() || r.status != 206) return origin_error(name_, r);
  if (at != to)
    return upstream(name_, "sent " + std::to_string(at - from) + " of the " +
                               std::to_string(to - from) + " bytes asked at " +
                               std::to_string(from));
  if (fd_ >= 0 && ::msync(data_ + (from / 4096) * 4096, to - (from / 4096) * 4096, MS_ASYNC) != 0)
    spdlog::debug("target '{}': msync: {}", name_, std::strerror(errno));
  return {};
}

void remote_object::save_record() {
  if (fd_ < 0 || record_.empty()) return;
  std::string text(record_magic);
  text += "name " + name_ + "\nsize " + std::to_string(size_) + "\nvalidator " + validator_ +
          "\nblock " + std::to_string(block_) + "\n";
  text.reserve(text.size() + blocks_.size());
  for (auto s : blocks_) text += s == held ? '1' : '0';
  // Written beside, then renamed: a reader sees the old record or the new one, whole.
  const auto tmp = record_.string() + "." + std::to_string(::getpid()) + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!f) {
      spdlog::warn("storage cache: cannot write {}", tmp);
      return;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, record_, ec);
  if (ec) spdlog::warn("storage cache: cannot rename {}: {}", tmp, ec.message());
}

// ---- remote_storage -------------------------------------------------------------------------

remote_storage::remote_storage(storage_options options)
    : origin_(std::make_shared<storage_origin>()) {
  origin_->options = std::move(options);
  origin_->options.block_bytes = std::max<std::uint64_t>(origin_->options.block_bytes, 512);
  std::string root = origin_->options.root;
  if (const auto q = root.find('?'); q != std::string::npos) {
    origin_->query = root.substr(q + 1);
    root.erase(q);
  }
  if (root.empty() || root.back() != '/') root += '/';
  origin_->prefix = root;
  if (!origin_->options.cache_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(origin_->options.cache_dir, ec);
  }
}

remote_storage::~remote_storage() = default;

std::uint64_t remote_storage::requests() const { return origin_->requests.load(); }
std::uint64_t remote_storage::bytes() const { return origin_->bytes.load(); }
std::string remote_storage::shown_root() const { return origin_->prefix; }

result<std::shared_ptr<remote_object>> remote_storage::open(const std::string& name) {
  const std::string url =
      origin_->prefix + encode_path(name) + (origin_->query.empty() ? "" : "?" + origin_->query);
  auto transport = origin_->take();
  const auto r = transport->get(url, {}, {}, {}, "0-0");
  origin_->requests.fetch_add(1, std::memory_order_relaxed);
  origin_->bytes.fetch_add(r.body_bytes, std::memory_order_relaxed);
  if (r.failure == client::transfer_failure::none) origin_->give_back(std::move(transport));
  if (r.failure == client::transfer_failure::none && r.status == 416)
    return fail(errc::corrupt, no_offset, "target '" + name + "' is an empty object");
  if (r.failure == client::transfer_failure::none && r.status == 200)
    return upstream(name, "does not answer Range requests (200 to bytes=0-0)");
  if (!r.ok()) {
    spdlog::warn(
        "storage origin {}: {} for '{}'", origin_->prefix,
        r.failure != client::transfer_failure::none ? r.failure_text : std::to_string(r.status),
        name);
    return origin_error(name, r);
  }
  std::uint64_t first = 0, size = 0;
  if (!parse_content_range(r.header("content-range"), first, size) || size == 0)
    return upstream(name, "gave no object size (Content-Range)");
  auto obj = std::shared_ptr<remote_object>(new remote_object());
  obj->origin_ = origin_;
  obj->name_ = name;
  obj->url_ = url;
  obj->size_ = size;
  obj->block_ = origin_->options.block_bytes;
  obj->etag_ = r.header("etag");
  const std::string last_modified = r.header("last-modified");
  if (!obj->etag_.empty())
    obj->validator_ = "etag:" + obj->etag_;
  else if (!last_modified.empty())
    obj->validator_ = "lm:" + last_modified;
  const std::uint64_t nblocks = (size + obj->block_ - 1) / obj->block_;
  obj->blocks_.assign(static_cast<std::size_t>(nblocks), remote_object::missing);
  obj->mapped_ = static_cast<std::size_t>(size);
  const auto& dir = origin_->options.cache_dir;
  if (!dir.empty() && !obj->validator_.empty()) {
    // Keyed by the URL without its query (a token may change) and the validator.
    const std::string key = hex64(fnv1a(origin_->prefix + encode_path(name) + "\n" +
                                        obj->validator_ + "\n" + std::to_string(size)));
    const auto data_path = dir / (key + ".data");
    obj->record_ = dir / (key + ".meta");
    const int fd = ::open(data_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    struct stat st {};
    if (fd >= 0 && ::fstat(fd, &st) == 0 &&
        (static_cast<std::uint64_t>(st.st_size) == size ||
         (st.st_size == 0 && ::ftruncate(fd, static_cast<off_t>(size)) == 0))) {
      void* p = ::mmap(nullptr, obj->mapped_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      if (p != MAP_FAILED) {
        obj->data_ = static_cast<std::uint8_t*>(p);
        obj->fd_ = fd;
      }
    }
    if (obj->fd_ < 0) {
      spdlog::warn("storage cache: cannot use {} ({}); '{}' is kept in memory", data_path.string(),
                   std::strerror(errno), name);
      if (fd >= 0) ::close(fd);
      obj->record_.clear();
    } else {
      // What an earlier run (or another instance) recorded as fetched.
      std::ifstream f(obj->record_, std::ios::binary);
      std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      const std::string head = std::string(record_magic) + "name " + name + "\nsize " +
                               std::to_string(size) + "\nvalidator " + obj->validator_ +
                               "\nblock " + std::to_string(obj->block_) + "\n";
      if (text.size() == head.size() + nblocks && text.compare(0, head.size(), head) == 0)
        for (std::size_t b = 0; b < nblocks; ++b)
          if (text[head.size() + b] == '1') obj->blocks_[b] = remote_object::held;
    }
  }
  if (obj->data_ == nullptr) {
    void* p = ::mmap(nullptr, obj->mapped_, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
      return fail(errc::limit, no_offset,
                  "target '" + name + "': cannot map " + std::to_string(size) + " bytes");
    obj->data_ = static_cast<std::uint8_t*>(p);
  }
  return obj;
}

namespace {

// Walks one codestream at [begin, end) of the object: the main header, every tile-part header,
// and the bodies of the tiles whose packets cannot be found from PLT/PLM alone.
result<void> walk_codestream(remote_object& o, std::uint64_t begin, std::uint64_t end) {
  const bytes_view v = o.bytes();
  auto be16 = [&](std::uint64_t at) { return load_be16(v.data() + at); };
  auto be32 = [&](std::uint64_t at) { return load_be32(v.data() + at); };
  // Ensures [at, at + n) when it lies before `limit`; false when it does not fit.
  auto need = [&](std::uint64_t at, std::uint64_t n, std::uint64_t limit) -> result<bool> {
    if (at > limit || n > limit - at) return false;
    PIPIT_TRY(o.ensure(at, n));
    return true;
  };
  PIPIT_TRY_ASSIGN(has_soc, need(begin, 2, end));
  if (!has_soc || be16(begin) != SOC) return {};  // the index says what is wrong
  bool plm = false, sop = false;
  std::uint64_t pos = begin + 2;
  for (;;) {
    PIPIT_TRY_ASSIGN(fits, need(pos, 4, end));
    if (!fits) return {};
    const std::uint16_t code = be16(pos);
    if (code == SOT || code < 0xFF00) break;
    const std::uint64_t len = be16(pos + 2);
    PIPIT_TRY_ASSIGN(whole, need(pos, 2 + len, end));
    if (!whole) return {};
    if (code == PLM) plm = true;
    if (code == COD && len >= 3 && (v[pos + 4] & 2) != 0) sop = true;
    pos += 2 + len;
  }
  struct part {
    std::uint16_t tile;
    std::uint64_t body, end;
    bool plt, cut;
  };
  std::vector<part> parts;
  while (true) {
    PIPIT_TRY_ASSIGN(fits, need(pos, 12, end));
    if (!fits || be16(pos) != SOT) break;
    const std::uint16_t tile = be16(pos + 4);
    const std::uint32_t psot = be32(pos + 6);
    const bool cut = psot != 0 && psot > end - pos;
    const std::uint64_t tp_end = psot == 0 || cut ? end : pos + psot;
    part p{tile, tp_end, tp_end, false, cut};
    std::uint64_t h = pos + 2 + be16(pos + 2);
    for (;;) {
      PIPIT_TRY_ASSIGN(marker, need(h, 2, tp_end));
      if (!marker) break;
      const std::uint16_t code = be16(h);
      if (code == SOD) {
        p.body = h + 2;
        break;
      }
      PIPIT_TRY_ASSIGN(has_len, need(h, 4, tp_end));
      if (!has_len || code < 0xFF00) break;
      const std::uint64_t len = be16(h + 2);
      PIPIT_TRY_ASSIGN(whole, need(h, 2 + len, tp_end));
      if (!whole) break;
      if (code == PLT) p.plt = true;
      if (code == COD && len >= 3 && (v[h + 4] & 2) != 0) sop = true;
      h += 2 + len;
    }
    parts.push_back(p);
    if (psot == 0 || cut) break;
    pos = tp_end;
  }
  // A tile whose tile-parts all carry PLT (or a codestream with PLM), without SOP: its packets
  // are found from the lengths, and no body byte is read. Any other: its bodies are read.
  std::map<std::uint16_t, bool> lengths_known;
  for (const auto& p : parts) {
    auto [it, fresh] = lengths_known.emplace(p.tile, true);
    it->second = it->second && (p.plt || plm) && !sop && !p.cut;
  }
  std::vector<byte_range> bodies;
  for (const auto& p : parts)
    if (!lengths_known[p.tile] && p.end > p.body) bodies.push_back({p.body, p.end - p.body});
  // What follows the last tile-part (EOC, or what the index warns about).
  if (pos + 2 <= end) bodies.push_back({pos, 2});
  return o.ensure(bodies);
}

}  // namespace

result<void> remote_storage::fetch_structure(remote_object& o) {
  const bytes_view v = o.bytes();
  const std::uint64_t size = o.size();
  PIPIT_TRY(o.ensure(0, std::min<std::uint64_t>(size, 16)));
  if (size >= 2 && load_be16(v.data()) == SOC) return walk_codestream(o, 0, size);
  if (!has_jp2_signature(v)) return {};  // the index says what is wrong
  // Top-level boxes: the headers of all, the contents of all but jp2c and mdat.
  std::uint64_t pos = 0;
  while (pos + 8 <= size) {
    PIPIT_TRY(o.ensure(pos, std::min<std::uint64_t>(16, size - pos)));
    std::uint64_t len = load_be32(v.data() + pos);
    const std::uint32_t type = load_be32(v.data() + pos + 4);
    if (len == 1) {
      if (pos + 16 > size) break;
      len = (std::uint64_t{load_be32(v.data() + pos + 8)} << 32) | load_be32(v.data() + pos + 12);
    } else if (len == 0) {
      len = size - pos;
    }
    if (len < 8 || len > size - pos) len = size - pos;  // the index says what is wrong
    if (type != box_type("jp2c") && type != box_type("mdat")) PIPIT_TRY(o.ensure(pos, len));
    pos += len;
  }
  // The codestreams in this object, where the box reader finds them (jp2c boxes, fragment
  // tables of one fragment).
  auto boxes = read_boxes(v, byte_range{0, size});
  if (!boxes) return {};
  auto d = describe_jp2(v, *boxes);
  if (!d) return {};
  for (const auto& loc : d->codestreams)
    if (loc.data_reference == 0 && loc.range.offset < size)
      PIPIT_TRY(walk_codestream(o, loc.range.offset,
                                std::min(size, loc.range.offset + loc.range.length)));
  return {};
}

}  // namespace pipit::server
