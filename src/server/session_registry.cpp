#include "server/session_registry.hpp"

#include <algorithm>
#include <random>

namespace pipit::server {

std::string make_channel_id(std::string_view instance) {
  static std::mutex m;
  static std::random_device rd;
  std::uint32_t words[4];
  {
    std::lock_guard lk(m);
    for (auto& w : words) w = rd();
  }
  static const char hex[] = "0123456789abcdef";
  std::string s;
  if (!instance.empty()) {
    s.reserve(instance.size() + 33);
    s += instance;
    s += '.';
  }
  for (std::uint32_t w : words)
    for (int k = 28; k >= 0; k -= 4) s += hex[(w >> k) & 0xF];
  return s;
}

session::~session() {
  if (meter) {
    meter->bytes.fetch_sub(counted, std::memory_order_relaxed);
    meter->freed.fetch_add(counted, std::memory_order_relaxed);
  }
}

void session::recount() {
  if (!meter) return;
  // The model, the session itself, and its channels and registry entries (a few hundred bytes).
  const std::uint64_t now = model.memory_bytes() + sizeof(session) + 512;
  if (now >= counted)
    meter->bytes.fetch_add(now - counted, std::memory_order_relaxed);
  else
    meter->bytes.fetch_sub(counted - now, std::memory_order_relaxed);
  counted = now;
}

std::string session_registry::fresh_id_locked() {
  for (;;) {
    std::string id = make_channel_id(instance_);
    if (!channels_.count(id)) return id;
  }
}

result<channel_ref> session_registry::open_session(std::shared_ptr<const target> t, bool jpt) {
  auto s = std::make_shared<session>();
  s->model = stream_model(t->index);
  s->tgt = std::move(t);
  s->jpt = jpt;
  s->touch();
  auto ch = std::make_shared<channel>();
  std::lock_guard lk(mutex_);
  if (session_channels_.size() >= limits_.max_sessions)
    return fail(errc::limit, no_offset, "too many sessions");
  if (limits_.max_memory != 0 && memory() >= limits_.max_memory)
    return fail(errc::limit, no_offset, "the sessions' memory is at its limit (session-memory)");
  s->meter = meter_;
  {
    std::lock_guard sl(s->mutex);
    s->recount();
  }
  ch->cid = fresh_id_locked();
  channels_[ch->cid] = channel_ref{s, ch};
  session_channels_[s.get()].push_back(ch->cid);
  return channel_ref{s, ch};
}

result<channel_ref> session_registry::add_channel(const channel_ref& existing) {
  std::lock_guard lk(mutex_);
  auto it = session_channels_.find(existing.s.get());
  if (it == session_channels_.end())
    return fail(errc::not_found, no_offset, "the session has ended");
  if (it->second.size() >= limits_.max_channels_per_session)
    return fail(errc::limit, no_offset, "too many channels in this session");
  auto ch = std::make_shared<channel>();
  ch->cid = fresh_id_locked();
  channels_[ch->cid] = channel_ref{existing.s, ch};
  it->second.push_back(ch->cid);
  existing.s->touch();
  return channel_ref{existing.s, ch};
}

result<channel_ref> session_registry::find(const std::string& cid) {
  std::lock_guard lk(mutex_);
  auto it = channels_.find(cid);
  if (it == channels_.end())
    return fail(errc::not_found, no_offset,
                "channel does not exist (closed, expired or never opened)");
  it->second.s->touch();
  return it->second;
}

void session_registry::erase_session_locked(const std::shared_ptr<session>& s) {
  auto it = session_channels_.find(s.get());
  if (it == session_channels_.end()) return;
  for (const auto& cid : it->second) {
    auto c = channels_.find(cid);
    if (c != channels_.end()) {
      c->second.ch->closed = true;
      channels_.erase(c);
    }
  }
  session_channels_.erase(it);
}

result<void> session_registry::close(const std::vector<std::string>& ids, bool all,
                                     const std::shared_ptr<session>& owner) {
  std::lock_guard lk(mutex_);
  if (all) {
    if (!owner)
      return fail(errc::invalid_argument, no_offset,
                  "cclose=* needs the cid of a channel of the session");
    erase_session_locked(owner);
    return {};
  }
  std::shared_ptr<session> s = owner;
  for (const auto& id : ids) {
    auto it = channels_.find(id);
    if (it == channels_.end())
      return fail(errc::not_found, no_offset, "cclose: channel does not exist");
    if (s && it->second.s != s)
      return fail(errc::invalid_argument, no_offset,
                  "cclose: the channels belong to different sessions");
    s = it->second.s;
  }
  if (!s) return {};
  auto& open = session_channels_[s.get()];
  for (const auto& id : ids) {
    auto it = channels_.find(id);
    if (it == channels_.end()) continue;  // listed twice
    it->second.ch->closed = true;
    channels_.erase(it);
    open.erase(std::remove(open.begin(), open.end(), id), open.end());
  }
  if (open.empty()) session_channels_.erase(s.get());
  return {};
}

std::size_t session_registry::reap(clock::time_point now) {
  std::lock_guard lk(mutex_);
  std::vector<std::shared_ptr<session>> idle;
  const auto limit = (now - limits_.idle_timeout).time_since_epoch().count();
  for (const auto& [cid, ref] : channels_)
    if (ref.s->last_used.load() < limit && std::find(idle.begin(), idle.end(), ref.s) == idle.end())
      idle.push_back(ref.s);
  for (const auto& s : idle) erase_session_locked(s);
  return idle.size();
}

session_limits session_registry::limits() const {
  std::lock_guard lk(mutex_);
  return limits_;
}

void session_registry::set_limits(const session_limits& l) {
  std::lock_guard lk(mutex_);
  limits_ = l;
}

std::size_t session_registry::sessions() const {
  std::lock_guard lk(mutex_);
  return session_channels_.size();
}

std::size_t session_registry::channels() const {
  std::lock_guard lk(mutex_);
  return channels_.size();
}

}  // namespace pipit::server
