#include "server/jpip_handler.hpp"

#include <algorithm>
#include <limits>

#include "pipit/request.hpp"
#include "server/error_status.hpp"
#include "server/metareq_ranges.hpp"
#include "server/model_statements.hpp"

namespace pipit::server {
namespace {

// A stream body composed chunk by chunk.
class stream_body final : public body_source {
 public:
  stream_body(std::shared_ptr<session> s, std::shared_ptr<channel> ch, std::uint64_t generation,
              std::shared_ptr<const target> t, std::unique_ptr<stream_model> own_model,
              stream_plan plan, std::size_t chunk, bool session_bound, const std::atomic<bool>& cut)
      : session_(std::move(s)),
        channel_(std::move(ch)),
        generation_(generation),
        target_(std::move(t)),
        own_model_(std::move(own_model)),
        stream_(*target_->source, session_ ? session_->model : *own_model_, std::move(plan)),
        chunk_(chunk),
        session_bound_(session_bound),
        cut_(cut) {}

  bool next(gather_buffer& out) override {
    if (eor_ >= 0) return false;
    std::unique_lock<std::mutex> lk;
    if (session_) lk = std::unique_lock<std::mutex>(session_->mutex);
    if (channel_ && channel_->generation.load() != generation_)
      return finish(out, eor_reason::window_change);
    if (cut_.load(std::memory_order_relaxed)) return finish(out, eor_reason::session_limit);
    const std::size_t before = out.size();
    const bool more = stream_.next(out, chunk_);
    if (session_) {
      session_->bytes_sent.fetch_add(out.size() - before, std::memory_order_relaxed);
      session_->touch();
    }
    if (!more) {
      const eor_reason why = stream_.reason();
      return finish(
          out, why == eor_reason::byte_limit && session_bound_ ? eor_reason::session_limit : why);
    }
    return true;
  }
  int eor() const override { return eor_; }

 private:
  bool finish(gather_buffer& out, eor_reason why) {
    const std::size_t from = out.owned_bytes().size();
    response_stream::append_eor(out.owned_bytes(), why);
    out.take_owned(from);
    eor_ = static_cast<int>(why);
    return false;
  }

  std::shared_ptr<session> session_;
  std::shared_ptr<channel> channel_;
  std::uint64_t generation_ = 0;
  std::shared_ptr<const target> target_;
  std::unique_ptr<stream_model> own_model_;
  response_stream stream_;
  std::size_t chunk_;
  bool session_bound_;  // the plan's len is the session's remaining budget
  const std::atomic<bool>& cut_;
  int eor_ = -1;
};

// A body of one EOR message.
class eor_body final : public body_source {
 public:
  explicit eor_body(eor_reason why) : why_(why) {}
  bool next(gather_buffer& out) override {
    const std::size_t from = out.owned_bytes().size();
    response_stream::append_eor(out.owned_bytes(), why_);
    out.take_owned(from);
    done_ = true;
    return false;
  }
  int eor() const override { return done_ ? static_cast<int>(why_) : -1; }

 private:
  eor_reason why_;
  bool done_ = false;
};

// The view-window as asked, for the access log.
std::string window_text(const jpip_request& rq) {
  std::string w;
  if (rq.fsiz) w += "fsiz=" + std::to_string(rq.fsiz->fx) + ',' + std::to_string(rq.fsiz->fy);
  if (rq.roff) w += ";roff=" + std::to_string(rq.roff->x) + ',' + std::to_string(rq.roff->y);
  if (rq.rsiz) w += ";rsiz=" + std::to_string(rq.rsiz->x) + ',' + std::to_string(rq.rsiz->y);
  if (rq.len) w += (w.empty() ? "len=" : ";len=") + std::to_string(*rq.len);
  return w;
}

std::string format_list(const std::vector<std::uint32_t>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size();) {
    std::size_t j = i;
    while (j + 1 < v.size() && v[j + 1] == v[j] + 1) ++j;
    if (!s.empty()) s += ',';
    s += std::to_string(v[i]);
    if (j > i) s += '-' + std::to_string(v[j]);
    i = j + 1;
  }
  return s;
}

std::string point_text(std::uint32_t x, std::uint32_t y) {
  return std::to_string(x) + ',' + std::to_string(y);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::uint32_t max_layers(const codestream_index& cs) {
  std::uint32_t n = cs.defaults.layers;
  for (const auto& t : cs.tiles) n = std::max<std::uint32_t>(n, t.coding.layers);
  return n;
}

// The codestreams named by stream= and context=jpxl<...> (JPX compositing layer i uses
// codestream i), those that exist, in the order named; `changed` when some do not exist.
std::vector<std::uint32_t> requested_codestreams(const jpip_request& rq, std::uint32_t nc,
                                                 std::size_t cap, bool& changed) {
  std::vector<std::uint32_t> out;
  changed = false;
  auto add = [&](const sampled_range& r) {
    const std::uint64_t last = r.to ? *r.to : (nc == 0 ? 0 : nc - 1);
    if (r.to && *r.to >= nc) changed = true;
    if (r.from >= nc) changed = true;
    for (std::uint64_t v = r.from; v <= last && v < nc && out.size() < cap; v += r.step)
      if (std::find(out.begin(), out.end(), v) == out.end())
        out.push_back(static_cast<std::uint32_t>(v));
  };
  if (rq.stream)
    for (const auto& r : *rq.stream) add(r);
  if (rq.context)
    for (const auto& r : rq.context->jpx_layers) add(r);
  if (!rq.stream && !rq.context) out.push_back(0);
  return out;
}

}  // namespace

const std::string* reply::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return &v;
  return nullptr;
}

bool decode_url_path(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      const int h = hex_value(in[i + 1]), l = hex_value(in[i + 2]);
      if (h < 0 || l < 0) return false;
      c = static_cast<char>(h * 16 + l);
      i += 2;
    }
    if (c == '\0') return false;
    out += c;
  }
  return true;
}

reply error_reply(unsigned status, std::string_view message) {
  reply r;
  r.status = status;
  r.text = std::to_string(status) + ' ' + std::string(http_reason_phrase(status)) + ": " +
           std::string(message) + '\n';
  return r;
}

reply error_reply(const error& e) { return error_reply(http_status_of(e.code), e.message); }

jpip_handler::jpip_handler(target_registry& targets, session_registry& sessions,
                           handler_options options)
    : targets_(targets),
      sessions_(sessions),
      options_(std::move(options)),
      chunk_bytes_(std::max<std::size_t>(options_.chunk_bytes, 1)),
      max_len_(options_.max_len),
      session_max_bytes_(options_.session_max_bytes) {}

void jpip_handler::set_limits(const stream_limits& l) {
  chunk_bytes_ = std::max<std::size_t>(l.chunk_bytes, 1);
  max_len_ = l.max_len;
  session_max_bytes_ = l.session_max_bytes;
}

reply jpip_handler::handle(std::string_view method, std::string_view request_target,
                           std::string_view body) {
  if (method != "GET" && method != "POST") return error_reply(405, "JPIP requests use GET or POST");
  const auto qmark = request_target.find('?');
  const std::string_view raw_path = request_target.substr(0, qmark);
  std::string query(qmark == std::string_view::npos ? std::string_view{}
                                                    : request_target.substr(qmark + 1));
  if (method == "POST" && !body.empty())
    query = query.empty() ? std::string(body) : query + '&' + std::string(body);
  if (raw_path.empty() || raw_path.front() != '/')
    return error_reply(400, "the request-target must be a path");
  std::string path;
  if (!decode_url_path(raw_path, path))
    return error_reply(400, "malformed percent-encoding in the URL path");

  auto parsed = parse_request(query);
  if (!parsed) return error_reply(parsed.error());
  const jpip_request& rq = *parsed;

  if (rq.pref && rq.pref->find("/r") != std::string::npos) {
    reply r = error_reply(501, "a required preference (pref=.../r) cannot be honoured");
    r.headers.emplace_back("JPIP-pref", *rq.pref);
    return r;
  }
  if (rq.cnew && !rq.cnew->has_http())
    return error_reply(501, "cnew: Pipit offers the http transport only");
  bool jpt = false;
  if (rq.type) {
    if (rq.type->jpp_stream())
      jpt = false;
    else if (rq.type->jpt_stream())
      jpt = true;
    else
      return error_reply(501, "type: Pipit returns jpp-stream and jpt-stream only");
  }
  if (rq.context && rq.context->jpx_layers.empty())
    return error_reply(501, "context: Pipit understands jpxl<...> contexts only");

  // Session, channel and target.
  channel_ref ref;
  bool new_channel = false;
  std::uint64_t generation = 0;
  std::shared_ptr<const target> tgt;
  if (rq.cid) {
    auto f = sessions_.find(*rq.cid);
    if (!f) return error_reply(f.error());
    ref = *f;
    tgt = ref.s->tgt;
    if (rq.target) {
      auto n = normalize_target_name(*rq.target);
      if (!n || *n != tgt->name)
        return error_reply(400, "target does not match the target of channel's session");
    }
    if (rq.cnew) {
      auto n = sessions_.add_channel(ref);
      if (!n) return error_reply(n.error());
      ref = *n;
      new_channel = true;
    }
  } else if (rq.cclose && !rq.cnew && !rq.cclose->all && !rq.cclose->ids.empty()) {
    auto f = sessions_.find(rq.cclose->ids.front());
    if (!f) return error_reply(f.error());
    ref = *f;
    tgt = ref.s->tgt;
  } else {
    std::string name;
    if (rq.target)
      name = *rq.target;
    else if (!path.empty())
      name = path.substr(1);  // request-targets start with '/'
    if (name.empty()) return error_reply(400, "no target: name it in the URL path or with target=");
    auto t = targets_.open(name);
    if (!t) return error_reply(t.error());
    tgt = *t;
    if (rq.cnew) {
      auto n = sessions_.open_session(tgt, jpt);
      if (!n) return error_reply(n.error());
      ref = *n;
      new_channel = true;
    }
  }
  if (ref.ch && !new_channel && !(rq.wait && *rq.wait))
    ++ref.ch->generation;  // preempts older responses
  if (ref.ch) generation = ref.ch->generation.load();
  if (ref.s && !rq.type) jpt = ref.s->jpt;

  reply r;
  r.content_type = jpt ? "image/jpt-stream" : "image/jpp-stream";
  if (new_channel)
    r.headers.emplace_back(
        "JPIP-cnew", "cid=" + ref.ch->cid + ",path=" + options_.channel_path + ",transport=http");
  bool tid_ok = true;
  if (rq.tid) {
    if (*rq.tid != tgt->tid) {
      r.headers.emplace_back("JPIP-tid", tgt->tid);
      tid_ok = *rq.tid == "0";
    }
  } else if (new_channel && !rq.cid) {
    r.headers.emplace_back("JPIP-tid", tgt->tid);
  }
  if (rq.qid) r.headers.emplace_back("JPIP-qid", std::to_string(*rq.qid));
  if (ref.ch) r.log_cid = ref.ch->cid;
  r.log_target = tgt->name;
  r.log_window = window_text(rq);

  if (rq.cclose) {
    auto c = sessions_.close(rq.cclose->ids, rq.cclose->all, rq.cid ? ref.s : nullptr);
    if (!c) return error_reply(c.error());
    r.body = std::make_shared<eor_body>(eor_reason::window_done);
    return r;
  }

  // The view-window of each codestream.
  const auto nc = static_cast<std::uint32_t>(tgt->index.codestreams.size());
  bool stream_changed = false;
  const std::vector<std::uint32_t> csns =
      requested_codestreams(rq, nc, options_.max_codestreams, stream_changed);
  if (stream_changed) r.headers.emplace_back("JPIP-stream", format_list(csns));
  stream_plan plan;
  plan.jpt = jpt;
  plan.align = rq.align.value_or(false);
  // len, lowered to max-len and to what the session may still receive.
  std::uint64_t len = rq.len.value_or(std::numeric_limits<std::uint64_t>::max());
  if (const auto cap = max_len_.load(); cap != 0 && len > cap) {
    len = cap;
    r.headers.emplace_back("JPIP-len", std::to_string(cap));
  }
  bool session_bound = false;
  if (const auto budget = session_max_bytes_.load(); ref.s && budget != 0) {
    const std::uint64_t used = ref.s->bytes_sent.load();
    const std::uint64_t left = used >= budget ? 0 : budget - used;
    if (left == 0) {
      r.body = std::make_shared<eor_body>(eor_reason::session_limit);
      return r;
    }
    if (left < len) {
      len = left;
      session_bound = true;
    }
  }
  plan.len = len;
  if (rq.metareq) {
    plan.whole_metadata = false;
    plan.metadata_ranges = metareq_ranges(tgt->index, *rq.metareq);
  }
  const bool metadata_only = rq.metareq && rq.metareq->metadata_only;
  for (std::size_t k = 0; k < csns.size() && !metadata_only; ++k) {
    const codestream_index& cs = tgt->index.codestreams[csns[k]];
    stream_codestream sc;
    sc.csn = csns[k];
    if (rq.fsiz) {
      served_window sw;
      sc.window = window_from_request(cs, rq, &sw);
      if (k == 0) {
        if (sw.fsiz_changed)
          r.headers.emplace_back("JPIP-fsiz", point_text(sw.resolution.fx, sw.resolution.fy));
        if (sw.roff_changed) r.headers.emplace_back("JPIP-roff", point_text(sw.roff.x, sw.roff.y));
        if (sw.rsiz_changed) r.headers.emplace_back("JPIP-rsiz", point_text(sw.rsiz.x, sw.rsiz.y));
      }
    } else {
      sc.window.region = grid_rect{};  // no window: headers only
      sc.window.no_precinct_data = true;
    }
    if (k == 0 && rq.layers && *rq.layers > max_layers(cs))
      r.headers.emplace_back("JPIP-layers", std::to_string(max_layers(cs)));
    if (k == 0 && rq.comps) {
      bool changed = false;
      for (const auto& c : *rq.comps)
        changed =
            changed || c.from >= cs.num_components() || (c.to && *c.to >= cs.num_components());
      if (changed) {
        std::vector<std::uint32_t> served = sc.window.comps;
        if (served.empty() && !sc.window.region.empty())
          for (std::uint32_t c = 0; c < cs.num_components(); ++c) served.push_back(c);
        r.headers.emplace_back("JPIP-comps", format_list(served));
      }
    }
    plan.codestreams.push_back(std::move(sc));
  }
  if (rq.quality && *rq.quality < 100) r.headers.emplace_back("JPIP-quality", "-1");

  // The cache model: the session's, or this request's alone.
  std::unique_ptr<stream_model> own;
  if (!ref.s) own = std::make_unique<stream_model>(tgt->index);
  if (rq.model && tid_ok) {
    std::unique_lock<std::mutex> lk;
    if (ref.s) lk = std::unique_lock<std::mutex>(ref.s->mutex);
    auto a = apply_model(*rq.model, *tgt->source, csns, ref.s ? ref.s->model : *own, plan.jpt);
    if (!a) return error_reply(a.error());
  }
  r.body = std::make_shared<stream_body>(ref.s, ref.ch, generation, tgt, std::move(own),
                                         std::move(plan), chunk_bytes_.load(), session_bound, cut_);
  return r;
}

}  // namespace pipit::server
