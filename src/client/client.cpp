// jpip_client: the worker that serves queued windows over one session, the session bootstrap,
// persistence of the cache, and decoding.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <thread>

#include "pipit/boxes.hpp"
#include "pipit/client.hpp"
#include "pipit/rebuild.hpp"
#include "pipit/view_window.hpp"
#include "session.hpp"
#include "window_bins.hpp"
#include "window_decoder.hpp"

namespace pipit::client {

namespace {

using clock = std::chrono::steady_clock;

class window_job final : public window_handle {
 public:
  window_job(window w, int priority, std::uint64_t seq)
      : view_(std::move(w)), priority_(priority), seq_(seq) {}

  window_status status() const override {
    std::lock_guard lock(mutex_);
    return status_;
  }
  window_status wait(std::uint64_t seen_generation,
                     std::chrono::milliseconds timeout) const override {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, timeout, [&] {
      return status_.generation > seen_generation || status_.state != window_state::pending;
    });
    return status_;
  }
  void cancel() override { finish(window_state::cancelled); }
  const window& view() const override { return view_; }

  int priority() const { return priority_; }
  std::uint64_t seq() const { return seq_; }
  bool is_final() const {
    std::lock_guard lock(mutex_);
    return status_.state != window_state::pending;
  }
  void progress(std::uint64_t bytes) {
    {
      std::lock_guard lock(mutex_);
      ++status_.generation;
      status_.bytes += bytes;
    }
    cv_.notify_all();
  }
  void finish(window_state s, error e = {}) {
    {
      std::lock_guard lock(mutex_);
      if (status_.state != window_state::pending) return;
      status_.state = s;
      status_.failure = std::move(e);
      ++status_.generation;
    }
    cv_.notify_all();
  }

  std::optional<window_bins> bins;  // worker only
  // Worker only: once the server said the window is done but some of its bins are missing (a
  // server that chooses precincts without the filters' margin), the window asked for instead.
  std::optional<window> fill;
  int fill_rounds = 0;
  std::uint64_t fill_bytes = 0;  // new bytes of the current fill window's responses

 private:
  window view_;
  int priority_;
  std::uint64_t seq_;
  mutable std::mutex mutex_;
  mutable std::condition_variable cv_;
  window_status status_;
};

class client_impl final : public jpip_client {
 public:
  client_impl(jpip_url url, client_options options)
      : url_(std::move(url)),
        options_(std::move(options)),
        session_(url_, options_.transport, options_.use_session, cache_,
                 options_.stream == stream_kind::jpt, options_.codestream) {
    cache_.csn = options_.codestream;
    len_ = std::min(options_.window_len, options_.max_len);
  }
  ~client_impl() override { close(); }

  result<void> start() {
    load_cache();
    PIPIT_TRY(bootstrap());
    PIPIT_TRY(read_info());
    decoder_options dopt;
    dopt.threads = std::max(1, options_.decode_threads);
    dopt.cache_bytes = options_.decoded_cache_bytes;
    dopt.jpt = options_.stream == stream_kind::jpt;
    decoder_ = std::make_unique<window_decoder>(info_, cache_, dopt);
    worker_ = std::thread([this] { run(); });
    return {};
  }

  const image_info& info() const override { return info_; }

  std::shared_ptr<window_handle> request(const window& w, int priority) override {
    std::shared_ptr<window_job> job;
    {
      std::lock_guard lock(queue_mutex_);
      job = std::make_shared<window_job>(with_mct_components(w), priority, next_seq_++);
      if (closed_) {
        job->finish(window_state::failed,
                    error{errc::invalid_argument, no_offset, "the client is closed"});
        return job;
      }
      if (auto e = check_window(w); !e) {
        job->finish(window_state::failed, e.error());
        return job;
      }
      queue_.push_back(job);
    }
    queue_cv_.notify_all();
    return job;
  }

  result<void> fetch(const window& w, int priority) override {
    auto h = request(w, priority);
    window_status st = h->status();
    while (st.state == window_state::pending)
      st = h->wait(st.generation, std::chrono::milliseconds(1000));
    if (st.state == window_state::failed) return fail(st.failure);
    if (st.state == window_state::cancelled)
      return fail(errc::io, no_offset, "window request cancelled");
    return {};
  }

  result<decoded_window> decode(const window& w) override {
    PIPIT_TRY(check_window(w));
    return decoder_->decode(w);
  }

  void close() override {
    {
      std::lock_guard lock(queue_mutex_);
      if (closed_) return;
      closed_ = true;
      stopping_ = true;
    }
    queue_cv_.notify_all();
    if (worker_.joinable()) worker_.join();
    {
      std::lock_guard lock(queue_mutex_);
      for (auto& j : queue_) j->finish(window_state::cancelled);
      queue_.clear();
    }
    session_.close();
    save_cache();
  }

  transfer_stats stats() const override {
    transfer_stats s;
    {
      std::lock_guard lock(stats_mutex_);
      s = stats_;
    }
    const decoder_stats ds = decoder_ ? decoder_->stats() : decoder_stats{};
    s.cells_decoded = ds.cells_decoded;
    s.cells_decoded_openjph = ds.cells_decoded_openjph;
    s.cells_reused = ds.cells_reused;
    s.decoded_cache_bytes = ds.cache_bytes;
    std::lock_guard lock(cache_.mutex);
    s.cached_bytes = cache_.cache.bytes_held();
    return s;
  }

 private:
  // Components 0-2 joined by a multiple component transform are decoded together, so a window
  // of any of them needs the data of all three.
  window with_mct_components(window w) const {
    if (!info_.mct() || w.comps.empty() || info_.num_components() < 3) return w;
    if (std::none_of(w.comps.begin(), w.comps.end(), [](std::uint32_t c) { return c < 3; }))
      return w;
    for (std::uint32_t c = 0; c < 3; ++c) w.comps.push_back(c);
    std::sort(w.comps.begin(), w.comps.end());
    w.comps.erase(std::unique(w.comps.begin(), w.comps.end()), w.comps.end());
    if (w.comps.size() == info_.num_components()) w.comps.clear();
    return w;
  }

  result<void> check_window(const window& w) const {
    if (!info_.codestream) return {};  // before the headers are known
    if (w.discard_levels > info_.levels())
      return fail(errc::invalid_argument, no_offset,
                  "level " + std::to_string(w.discard_levels) + " beyond the " +
                      std::to_string(info_.levels()) + " available");
    const rect frame{0, 0, info_.width_at(w.discard_levels), info_.height_at(w.discard_levels)};
    if (w.region.empty() || !contains(frame, w.region))
      return fail(errc::invalid_argument, no_offset, "window outside the frame");
    for (auto c : w.comps)
      if (c >= info_.num_components())
        return fail(errc::invalid_argument, no_offset, "no component " + std::to_string(c));
    return {};
  }

  void update_stats() {
    std::lock_guard lock(stats_mutex_);
    stats_.requests = session_.requests();
    stats_.body_bytes = session_.body_bytes();
    stats_.new_bytes = session_.new_bytes();
    stats_.stateless = session_.stateless();
  }

  // ---- persistence ----
  std::filesystem::path cache_file() const {
    if (options_.cache_dir.empty()) return {};
    return options_.cache_dir / (url_.cache_key() + ".pipitcache");
  }
  void load_cache() {
    const auto path = cache_file();
    if (options_.memory_limit != 0) cache_.cache.set_memory_limit(options_.memory_limit);
    if (path.empty()) return;
    auto loaded = databin_cache::load(path, "");
    if (!loaded) return;  // absent or damaged: start afresh
    // (The stamp is left empty: the first save reads the file again, in case it changed.)
    std::lock_guard lock(cache_.mutex);
    cache_.cache = std::move(*loaded);
    if (options_.memory_limit != 0) cache_.cache.set_memory_limit(options_.memory_limit);
    cache_.changed_all();
    ++cache_.epoch;
    std::lock_guard slock(stats_mutex_);
    stats_.loaded_from_disk = cache_.cache.bin_count() != 0;
  }
  // Writes the cache file, merged with what other processes sharing the folder wrote to it
  // (databin_cache::sync_file: lock, read if changed, merge, write to a temporary file, rename).
  void save_cache() {
    const auto path = cache_file();
    if (path.empty()) return;
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    const auto t0 = clock::now();
    {
      std::lock_guard lock(cache_.mutex);
      const std::string& tid = cache_.cache.target_id();
      if (tid.empty() || tid == "0") return;  // no integrity guarantee: nothing worth keeping
      auto merged = cache_.cache.sync_file(path, &file_stamp_);
      if (merged && *merged > 0) cache_.changed_all();  // another process's bins: decode with them
    }
    last_save_ = clock::now();
    save_cost_ = last_save_ - t0;
  }
  // A checkpoint while data arrives, so that a process killed mid-transfer keeps what it had
  // received: at most every checkpoint_seconds, and never more than a tenth of the time.
  void checkpoint() {
    if (options_.cache_dir.empty()) return;
    const auto interval =
        std::max<clock::duration>(std::chrono::duration_cast<clock::duration>(
                                      std::chrono::duration<double>(options_.checkpoint_seconds)),
                                  save_cost_ * 10);
    if (clock::now() - last_save_ >= interval) save_cache();
  }

  // ---- the session bootstrap: main header and metadata-bin 0 ----
  bool headers_ready() {
    std::lock_guard lock(cache_.mutex);
    const bin_id mh{bin_kind::main_header, options_.codestream, 0}, md{bin_kind::metadata, 0, 0};
    if (!cache_.cache.is_complete(mh)) return false;
    return !cache_.cache.has(md) || cache_.cache.is_complete(md);
  }

  // Whether a bin is of the codestream browsed (or metadata): model statements carry no
  // codestream qualifier, so the server applies them to the request's stream=N, and bins of
  // other codestreams (a cache file shared with clients of other codestreams) stay out.
  bool ours(const bin_id& b) const {
    return b.kind == bin_kind::metadata || b.csn == options_.codestream;
  }

  // What a new session is told we hold: every bin (headers first), within the model's size cap.
  std::optional<cache_model_spec> held_model() {
    window_bins all;
    std::lock_guard lock(cache_.mutex);
    for (const auto& b : cache_.cache.bins()) {
      if (!ours(b.id)) continue;
      if (b.id.kind == bin_kind::precinct || b.id.kind == bin_kind::tile)
        all.precincts.push_back(b.id);
      else
        all.headers.push_back(b.id);
    }
    declared_.clear();
    return model_for(cache_.cache, all, &declared_, {});
  }

  // Every bin held (stateless bootstrap requests carry it, so the server moves on).
  std::optional<cache_model_spec> full_model() {
    window_bins all;
    std::lock_guard lock(cache_.mutex);
    for (const auto& b : cache_.cache.bins())
      if (ours(b.id)) all.headers.push_back(b.id);
    return model_for(cache_.cache, all, nullptr, {});
  }

  exchange_result open_session() {
    std::string tid_before;
    {
      std::lock_guard lock(cache_.mutex);
      tid_before = cache_.cache.target_id();
    }
    exchange_result x =
        session_.open(options_.initial_len, held_model(), [this] { return stopping_.load(); });
    {
      std::lock_guard lock(cache_.mutex);
      if (cache_.cache.target_id() != tid_before)
        declared_.clear();  // the server ignored the model
    }
    if (x.result == exchange_result::outcome::ok) {
      std::lock_guard lock(stats_mutex_);
      ++stats_.sessions;
      if (!session_.stateless()) declared_.insert(x.touched.begin(), x.touched.end());
    }
    update_stats();
    return x;
  }

  // After a timeout or a transient HTTP status: waits and returns true while tries are left
  // (transport.max_retry, delays growing from transport.retry_delay_seconds), else false.
  bool retry_allowed(int& retries) {
    if (retries >= options_.transport.max_retry) return false;
    const double delay = options_.transport.retry_delay_seconds * std::ldexp(1.0, retries);
    ++retries;
    std::unique_lock lock(queue_mutex_);
    queue_cv_.wait_for(lock, std::chrono::duration<double>(std::max(0.0, delay)),
                       [&] { return stopping_.load(); });
    return !stopping_;
  }

  result<void> bootstrap() {
    exchange_result x;
    int retries = 0;
    for (;;) {
      x = open_session();
      if (x.result == exchange_result::outcome::ok) break;
      // Nothing listening is clear at once; a dropped connection, a timeout or a transient
      // status is tried again when transport.max_retry allows.
      const bool retry = (x.result == exchange_result::outcome::retry &&
                          x.failure.message.rfind("cannot connect", 0) != 0) ||
                         x.result == exchange_result::outcome::retry_limited;
      if (!retry || !retry_allowed(retries)) return fail(x.failure);
    }
    std::uint64_t len = options_.initial_len;
    for (int rounds = 0; !headers_ready(); ++rounds) {
      PIPIT_TRY(check_codestream());
      if (x.eor == eor_reason::window_done || x.eor == eor_reason::image_done || rounds > 1000)
        return fail(errc::corrupt, no_offset,
                    url_.base() + ": the server sent no complete main header");
      jpip_request r;
      if (session_.stateless()) r.model = full_model();
      len = std::min(options_.max_len, len * 2);
      x = session_.send(r, len);
      update_stats();
      if (x.result == exchange_result::outcome::fatal) return fail(x.failure);
      if (x.result == exchange_result::outcome::retry_limited && !retry_allowed(retries))
        return fail(x.failure);
      if (x.result != exchange_result::outcome::ok) {
        if (rounds > 5) return fail(x.failure);
        x = open_session();
        if (x.result != exchange_result::outcome::ok) return fail(x.failure);
      }
    }
    return {};
  }

  // The image model: the skeleton of the header bins (shared_cache::skeleton), whose index the
  // info holds, and metadata-bin 0's boxes described once by the core's box reader.
  // Fails when metadata-bin 0 is known and the target has no codestream options_.codestream
  // (the server then sends no main header for it).
  result<void> check_codestream() {
    std::lock_guard lock(cache_.mutex);
    auto n = count_codestreams(cache_.cache);
    if (!n || options_.codestream < *n) return {};
    return fail(
        errc::not_found, no_offset,
        url_.base() + ": no codestream " + std::to_string(options_.codestream) +
            ": the target has " + std::to_string(*n) +
            (*n == 1 ? " codestream (0)" : " codestreams (0 to " + std::to_string(*n - 1) + ")"));
  }

  result<void> read_info() {
    std::lock_guard lock(cache_.mutex);
    info_.csn = options_.codestream;
    if (auto n = count_codestreams(cache_.cache)) info_.num_codestreams = *n;
    auto sk = cache_.skeleton();
    if (!sk)
      return fail(sk.error().code, sk.error().offset,
                  "bad codestream headers: " + sk.error().message);
    info_.codestream = (*sk)->shared_index();
    const bin_id md{bin_kind::metadata, 0, 0};
    info_.is_jp2 = cache_.cache.is_complete(md) && cache_.cache.contiguous_prefix(md).size() > 0;
    if (info_.is_jp2) {
      rebuild_options ro;
      ro.csn = options_.codestream;
      ro.one_codestream = true;
      auto j = rebuild_jp2(cache_.cache, ro);
      if (j) info_.jp2_header = std::move(*j);
    }
    info_.target_id = cache_.cache.target_id();
    if (!info_.jp2_header.empty()) {
      const bytes_view jp2(info_.jp2_header.data(), info_.jp2_header.size());
      auto boxes = read_boxes(jp2, byte_range{0, jp2.size()});
      auto d = boxes ? describe_jp2(jp2, *boxes) : result<jp2_description>(fail(boxes.error()));
      if (d) info_.jp2 = std::move(*d);
    }
    return {};
  }

  // ---- the worker ----
  std::shared_ptr<window_job> next_job() {
    std::unique_lock lock(queue_mutex_);
    for (;;) {
      if (stopping_) return nullptr;
      queue_.erase(
          std::remove_if(queue_.begin(), queue_.end(), [](const auto& j) { return j->is_final(); }),
          queue_.end());
      if (!queue_.empty()) {
        return *std::min_element(queue_.begin(), queue_.end(), [](const auto& a, const auto& b) {
          if (a->priority() != b->priority()) return a->priority() > b->priority();
          return a->seq() < b->seq();
        });
      }
      queue_cv_.wait(lock);
    }
  }

  void run() {
    while (auto job = next_job()) serve(*job);
  }

  // Sleeps after a failure; false (and the job failed) once failing has lasted too long.
  bool back_off(window_job& job, const error& e) {
    const auto now = clock::now();
    if (!failing_since_) {
      failing_since_ = now;
      delay_ = std::chrono::milliseconds(100);
    }
    if (now - *failing_since_ > std::chrono::duration<double>(options_.reconnect_seconds)) {
      failing_since_.reset();
      job.finish(window_state::failed, e);
      return false;
    }
    std::unique_lock lock(queue_mutex_);
    queue_cv_.wait_for(lock, delay_, [&] { return stopping_.load(); });
    delay_ = std::min(delay_ * 2, std::chrono::milliseconds(2000));
    return true;
  }

  // After the server said the window (or the fill window) is done: true when the cache holds
  // every bin the window's decode needs. Otherwise sets the next fill window and returns false,
  // or fails the job when the server sends nothing more for it.
  bool window_exact(window_job& job) {
    std::lock_guard lock(cache_.mutex);
    const window& v = job.view();
    const missing_bins missing =
        missing_for_window(cache_.cache, *job.bins, v.layers > 0 && v.layers < info_.layers());
    if (missing.empty()) return true;
    const bool stalled = job.fill.has_value() && job.fill_bytes == 0;
    if (stalled || job.fill_rounds >= max_fill_rounds) {
      job.finish(
          window_state::failed,
          error{errc::io, no_offset,
                "the server says the window is done but sent nothing for " +
                    std::to_string(missing.precincts.size()) + " precincts and " +
                    std::to_string(missing.headers.size()) + " headers its decode needs (after " +
                    std::to_string(job.fill_rounds) + " requests for them)"});
      return false;
    }
    auto sk = cache_.skeleton();
    if (!sk) {
      job.finish(window_state::failed, sk.error());
      return false;
    }
    job.fill = fill_window((*sk)->index(), *job.bins, missing, job.view());
    if (!job.fill) job.fill = job.view();  // only headers missing: ask for the window again
    ++job.fill_rounds;
    job.fill_bytes = 0;
    return false;
  }

  void serve(window_job& job) {
    if (!job.bins) {
      std::lock_guard lock(cache_.mutex);
      auto sk = cache_.skeleton();
      if (!sk) {
        job.finish(window_state::failed, sk.error());
        return;
      }
      job.bins = bins_for_window((*sk)->index(), options_.codestream, info_.is_jp2, job.view(),
                                 options_.stream == stream_kind::jpt);
    }
    {
      std::lock_guard lock(cache_.mutex);
      if (window_in_cache(cache_.cache, *job.bins)) {
        job.finish(window_state::complete);
        return;
      }
    }
    if (!session_.is_open()) {
      if (session_ever_open_) {
        std::lock_guard lock(stats_mutex_);
        ++stats_.reconnects;
      }
      exchange_result x = open_session();
      if (x.result == exchange_result::outcome::fatal) {
        job.finish(window_state::failed, x.failure);
        return;
      }
      if (x.result == exchange_result::outcome::retry_limited) {
        if (!retry_allowed(limited_retries_)) {
          limited_retries_ = 0;
          job.finish(window_state::failed, x.failure);
        }
        return;
      }
      if (x.result != exchange_result::outcome::ok) {
        back_off(job, x.failure);
        return;
      }
      if (x.new_bytes > 0) job.progress(x.new_bytes);
    }
    session_ever_open_ = true;

    const window& w = job.fill ? *job.fill : job.view();
    jpip_request r;
    const resolution_choice fr = frame_at(info_.geometry(), w.discard_levels);
    r.fsiz = frame_size{fr.fx, fr.fy, round_direction::round_down};
    r.roff =
        point{static_cast<std::uint32_t>(w.region.x0), static_cast<std::uint32_t>(w.region.y0)};
    r.rsiz = point{static_cast<std::uint32_t>(w.region.width()),
                   static_cast<std::uint32_t>(w.region.height())};
    if (!w.comps.empty()) {
      std::vector<uint_range> comps;
      for (auto c : w.comps) comps.push_back(uint_range{c, c});
      r.comps = comps;
    }
    if (w.layers > 0) r.layers = w.layers;
    {
      std::lock_guard lock(cache_.mutex);
      const bool stateless = session_.stateless();
      std::vector<bin_id> evicted = cache_.cache.take_evicted();
      if (stateless) evicted.clear();
      r.model = model_for(cache_.cache, *job.bins, stateless ? nullptr : &declared_, evicted);
    }
    exchange_result x = session_.send(r, len_, [this] { return stopping_.load(); });
    update_stats();
    switch (x.result) {
      case exchange_result::outcome::ok: break;
      case exchange_result::outcome::retry:
        session_.forget();
        if (x.new_bytes > 0) job.progress(x.new_bytes);
        back_off(job, x.failure);
        return;
      case exchange_result::outcome::retry_limited:
        // A timeout or a transient status: the window fails once the retries are spent.
        session_.forget();
        if (x.new_bytes > 0) job.progress(x.new_bytes);
        if (!retry_allowed(limited_retries_)) {
          limited_retries_ = 0;
          job.finish(window_state::failed, x.failure);
        }
        return;
      case exchange_result::outcome::session_lost:
        session_.forget();
        if (lost_in_a_row_++ > 0) back_off(job, x.failure);
        return;
      case exchange_result::outcome::fatal: job.finish(window_state::failed, x.failure); return;
    }
    failing_since_.reset();
    lost_in_a_row_ = 0;
    limited_retries_ = 0;
    if (!session_.stateless()) declared_.insert(x.touched.begin(), x.touched.end());
    // len follows the throughput: a response should take about target_response_seconds.
    if (x.eor == eor_reason::byte_limit && x.seconds > 0) {
      const double rate = static_cast<double>(x.body_bytes) / std::max(x.seconds, 1e-3);
      auto target = static_cast<std::uint64_t>(rate * options_.target_response_seconds);
      target = std::clamp<std::uint64_t>(target, len_ / 2, len_ * 4);
      len_ = std::clamp<std::uint64_t>(target, std::min<std::uint64_t>(2000, options_.max_len),
                                       options_.max_len);
    }
    if (x.new_bytes > 0) {
      job.progress(x.new_bytes);
      checkpoint();
    }
    job.fill_bytes += x.new_bytes;
    switch (x.eor.value_or(eor_reason::non_specified)) {
      case eor_reason::image_done:
      case eor_reason::window_done:
      case eor_reason::quality_limit:
        if (!window_exact(job)) return;
        job.finish(window_state::complete);
        checkpoint();
        return;
      case eor_reason::session_limit: session_.forget(); return;
      default:  // byte limit, window change, response limit: ask again
        return;
    }
  }

  jpip_url url_;
  client_options options_;
  mutable shared_cache cache_;
  session session_;
  image_info info_;

  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<std::shared_ptr<window_job>> queue_;
  std::uint64_t next_seq_ = 0;
  std::atomic<bool> stopping_{false};
  bool closed_ = false;
  std::thread worker_;

  // worker state
  std::uint64_t len_ = 16384;
  std::set<bin_id> declared_;  // bins the server's session model knows we hold
  std::optional<clock::time_point> failing_since_;
  std::chrono::milliseconds delay_{100};
  int lost_in_a_row_ = 0;
  int limited_retries_ = 0;  // retries spent on timeouts and transient statuses
  bool session_ever_open_ = false;
  clock::time_point last_save_ = clock::now();
  clock::duration save_cost_{};
  databin_cache::file_stamp file_stamp_;

  std::unique_ptr<window_decoder> decoder_;
  // Requests for what a window still needs after its end, at most (one per resolution is the
  // usual need; the rest is slack for responses cut by len).
  static constexpr int max_fill_rounds = 64;

  mutable std::mutex stats_mutex_;
  transfer_stats stats_;
};

}  // namespace

result<std::unique_ptr<jpip_client>> jpip_client::open(std::string_view url,
                                                       const client_options& options) {
  PIPIT_TRY_ASSIGN(u, parse_url(url));
  client_options o = options;
  if (o.transport.user_password.empty()) o.transport.user_password = u.user_password;
  auto c = std::make_unique<client_impl>(std::move(u), std::move(o));
  PIPIT_TRY(c->start());
  return std::unique_ptr<jpip_client>(std::move(c));
}

}  // namespace pipit::client
