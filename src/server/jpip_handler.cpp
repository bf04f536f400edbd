#include "server/jpip_handler.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "pipit/request.hpp"
#include "server/error_status.hpp"
#include "server/metareq_ranges.hpp"
#include "server/model_statements.hpp"

namespace pipit::server {
namespace {

// One Warning header (RFC 9111 §5.5: a list of warn-values) with at most 8 warnings of at most
// 300 characters each, the rest counted in a last one.
void add_warning_header(reply& r, const std::vector<std::string>& warnings) {
  constexpr std::size_t max_warnings = 8, max_chars = 300;
  std::string value;
  auto add = [&](std::string_view text) {
    value += value.empty() ? "299 Pipit \"" : ", 299 Pipit \"";
    for (char c : text.substr(0, max_chars)) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u == 0x7F) continue;  // no control characters in a header
      if (c == '"' || c == '\\') value += '\\';
      value += c;
    }
    value += '"';
  };
  for (std::size_t i = 0; i < warnings.size() && i < max_warnings; ++i) add(warnings[i]);
  if (warnings.size() > max_warnings)
    add(std::to_string(warnings.size() - max_warnings) + " more warnings");
  if (!value.empty()) r.headers.emplace_back("Warning", std::move(value));
}

// The storage origin did not give a response's bytes.
class fetch_failed : public std::runtime_error {
 public:
  explicit fetch_failed(error e) : std::runtime_error(e.message), err(std::move(e)) {}
  error err;
};

// A stream body composed chunk by chunk.
class stream_body final : public body_source {
 public:
  stream_body(std::shared_ptr<session> s, std::shared_ptr<channel> ch, std::uint64_t generation,
              std::shared_ptr<const target> t, std::unique_ptr<stream_model> own_model,
              response_plan plan, std::size_t chunk, const std::atomic<bool>& cut)
      : session_(std::move(s)),
        channel_(std::move(ch)),
        generation_(generation),
        target_(std::move(t)),
        own_model_(std::move(own_model)),
        budget_(plan.budget),
        stream_(*target_->source, session_ ? session_->model : *own_model_, std::move(plan.stream)),
        chunk_(chunk),
        cut_(cut) {}

  bool next(gather_buffer& out) override {
    if (primed_) {
      // The first chunk, composed and fetched by prime().
      primed_ = false;
      if (out.empty())
        out = std::move(first_);
      else
        first_.for_each([&](const std::uint8_t* p, std::size_t n) { out.add_copy({p, n}); });
      first_.clear();
      return first_more_;  // when false, first_ ended with its EOR
    }
    if (eor_ >= 0) return false;
    std::unique_lock<std::mutex> lk;
    if (session_) lk = std::unique_lock<std::mutex>(session_->mutex);
    if (channel_ && channel_->generation.load() != generation_)
      return finish(out, eor_reason::window_change);
    if (cut_.load(std::memory_order_relaxed)) return finish(out, eor_reason::session_limit);
    const std::size_t before = out.size();
    // An object of a storage origin is fetched after composing: views of it stay views.
    if (target_->object) out.set_copy_below(0);
    const bool more = stream_.next(out, chunk_);
    if (session_) {
      session_->bytes_sent.fetch_add(out.size() - before, std::memory_order_relaxed);
      session_->touch();
      session_->recount();
    }
    // Under a remote root, the bytes the chunk points at are fetched before it is sent; when the
    // origin fails now, the response header is out: the stream ends (EOR 255) and the client
    // asks again.
    if (auto fetched = ensure_bytes(*target_, out); !fetched)
      throw fetch_failed(std::move(fetched.error()));
    if (!more) return finish(out, budget_.end_reason(stream_.reason()));
    return true;
  }
  // Under a remote root: composes the first chunk and fetches its bytes now, before the
  // response's header is sent, so that an origin failure is still an HTTP error (502). Throws
  // fetch_failed; the body is then abandoned (the session's cache model forgotten) and unused.
  void prime() {
    first_more_ = next(first_);
    primed_ = true;
  }
  void abandon(gather_buffer& out) override {
    if (session_) {
      std::lock_guard lk(session_->mutex);
      session_->model.clear();
      session_->recount();
    }
    body_source::abandon(out);
  }

 private:
  bool finish(gather_buffer& out, eor_reason why) {
    finish_with(out, why);
    return false;
  }

  std::shared_ptr<session> session_;
  std::shared_ptr<channel> channel_;
  std::uint64_t generation_ = 0;
  std::shared_ptr<const target> target_;
  std::unique_ptr<stream_model> own_model_;
  response_budget budget_;
  response_stream stream_;
  std::size_t chunk_;
  const std::atomic<bool>& cut_;
  gather_buffer first_;  // prime()'s chunk
  bool primed_ = false, first_more_ = false;
};

// A body of one EOR message.
class eor_body final : public body_source {
 public:
  explicit eor_body(eor_reason why) : why_(why) {}
  bool next(gather_buffer& out) override {
    if (eor_ < 0) finish_with(out, why_);
    return false;
  }

 private:
  eor_reason why_;
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

eor_reason response_budget::end_reason(eor_reason composed) const {
  return composed == eor_reason::byte_limit && session_bound ? eor_reason::session_limit : composed;
}

void body_source::finish_with(gather_buffer& out, eor_reason why) {
  const std::size_t from = out.owned_bytes().size();
  response_stream::append_eor(out.owned_bytes(), why);
  out.take_owned(from);
  eor_ = static_cast<int>(why);
}

void body_source::abandon(gather_buffer& out) { finish_with(out, eor_reason::non_specified); }

const std::string* reply::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return &v;
  return nullptr;
}

std::string channel_path(std::string_view instance) {
  std::string p = "jpip";
  if (!instance.empty()) {
    p += '/';
    p += instance;
  }
  return p;
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

reply error_reply(refusal_kind kind, std::string_view message) {
  reply r;
  r.status = http_status_of(kind);
  r.text = refusal_text(kind, message);
  return r;
}

reply error_reply(const error& e) { return error_reply(refusal_of(e.code), e.message); }

namespace {
tl::unexpected<reply> refuse(refusal_kind kind, std::string_view message) {
  return tl::unexpected(error_reply(kind, message));
}
}  // namespace

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

// ---- the steps of handle() ----------------------------------------------------------------

step<jpip_handler::incoming> jpip_handler::read_request(std::string_view method,
                                                        std::string_view request_target,
                                                        std::string_view body) const {
  if (method != "GET" && method != "POST")
    return refuse(refusal_kind::method_not_allowed, "JPIP requests use GET or POST");
  const auto qmark = request_target.find('?');
  const std::string_view raw_path = request_target.substr(0, qmark);
  std::string query(qmark == std::string_view::npos ? std::string_view{}
                                                    : request_target.substr(qmark + 1));
  if (method == "POST" && !body.empty())
    query = query.empty() ? std::string(body) : query + '&' + std::string(body);
  if (raw_path.empty() || raw_path.front() != '/')
    return refuse(refusal_kind::bad_request, "the request-target must be a path");
  incoming in;
  if (!decode_url_path(raw_path, in.path))
    return refuse(refusal_kind::bad_request, "malformed percent-encoding in the URL path");
  auto parsed = parse_request(query);
  if (!parsed) return tl::unexpected(error_reply(parsed.error()));
  in.rq = std::move(*parsed);
  const jpip_request& rq = in.rq;
  if (rq.pref && rq.pref->find("/r") != std::string::npos) {
    reply r = error_reply(refusal_kind::not_implemented,
                          "a required preference (pref=.../r) cannot be honoured");
    r.headers.emplace_back("JPIP-pref", *rq.pref);
    return tl::unexpected(std::move(r));
  }
  if (rq.cnew && !rq.cnew->has_http())
    return refuse(refusal_kind::not_implemented, "cnew: Pipit offers the http transport only");
  if (rq.type) {
    if (rq.type->jpt_stream())
      in.jpt = true;
    else if (!rq.type->jpp_stream())
      return refuse(refusal_kind::not_implemented,
                    "type: Pipit returns jpp-stream and jpt-stream only");
  }
  if (rq.context && rq.context->jpx_layers.empty())
    return refuse(refusal_kind::not_implemented,
                  "context: Pipit understands jpxl<...> contexts only");
  return in;
}

step<jpip_handler::resolved> jpip_handler::resolve_channel(const incoming& in,
                                                           std::function<void()> on_ready) {
  const jpip_request& rq = in.rq;
  resolved out;
  out.jpt = in.jpt;
  if (rq.cid) {
    auto f = sessions_.find(*rq.cid);
    if (!f) return tl::unexpected(error_reply(f.error()));
    out.ref = *f;
    out.tgt = out.ref.s->tgt;
    if (rq.target) {
      auto n = normalize_target_name(*rq.target);
      if (!n || *n != out.tgt->name)
        return refuse(refusal_kind::bad_request,
                      "target does not match the target of channel's session");
    }
    if (rq.cnew) {
      auto n = sessions_.add_channel(out.ref);
      if (!n) return tl::unexpected(error_reply(n.error()));
      out.ref = *n;
      out.new_channel = true;
    }
  } else if (rq.cclose && !rq.cnew && !rq.cclose->all && !rq.cclose->ids.empty()) {
    auto f = sessions_.find(rq.cclose->ids.front());
    if (!f) return tl::unexpected(error_reply(f.error()));
    out.ref = *f;
    out.tgt = out.ref.s->tgt;
  } else {
    std::string name;
    if (rq.target)
      name = *rq.target;
    else if (!in.path.empty())
      name = in.path.substr(1);  // request-targets start with '/'
    if (name.empty())
      return refuse(refusal_kind::bad_request,
                    "no target: name it in the URL path or with target=");
    std::optional<target_registry::outcome> t;
    if (on_ready) {
      t = targets_.open_or_wait(name, std::move(on_ready));
      if (!t) {
        reply wait;
        wait.pending = true;
        return tl::unexpected(std::move(wait));
      }
    } else {
      t = targets_.open(name);
    }
    if (!*t) return tl::unexpected(error_reply(t->error()));
    out.tgt = **t;
    if (rq.cnew) {
      auto n = sessions_.open_session(out.tgt, in.jpt);
      if (!n) return tl::unexpected(error_reply(n.error()));
      out.ref = *n;
      out.new_channel = true;
    }
  }
  if (out.ref.ch && !out.new_channel && !(rq.wait && *rq.wait))
    ++out.ref.ch->generation;  // preempts older responses
  if (out.ref.ch) out.generation = out.ref.ch->generation.load();
  if (out.ref.s && !rq.type) out.jpt = out.ref.s->jpt;
  return out;
}

reply jpip_handler::start_reply(const incoming& in, const resolved& res, bool& tid_ok) const {
  const jpip_request& rq = in.rq;
  reply r;
  r.content_type = res.jpt ? "image/jpt-stream" : "image/jpp-stream";
  if (res.new_channel)
    r.headers.emplace_back("JPIP-cnew", "cid=" + res.ref.ch->cid +
                                            ",path=" + options_.channel_path + ",transport=http");
  tid_ok = true;
  bool tells_tid = false;
  if (rq.tid) {
    if (*rq.tid != res.tgt->tid) {
      r.headers.emplace_back("JPIP-tid", res.tgt->tid);
      tid_ok = *rq.tid == "0";
      tells_tid = true;
    }
  } else if (res.new_channel && !rq.cid) {
    r.headers.emplace_back("JPIP-tid", res.tgt->tid);
    tells_tid = true;
  }
  // A damaged file served as OpenJPEG reads it: the response that tells the client which target
  // it gets also says what was wrong, in an HTTP Warning header (RFC 9111 §5.5, code 299; JPIP
  // lets other HTTP headers through, and the JPP-stream stays as the standard has it).
  if (tells_tid) add_warning_header(r, res.tgt->warnings);
  if (rq.qid) r.headers.emplace_back("JPIP-qid", std::to_string(*rq.qid));
  if (res.ref.ch) r.log_cid = res.ref.ch->cid;
  r.log_target = res.tgt->name;
  r.log_window = window_text(rq);
  return r;
}

response_budget jpip_handler::budget_of(const jpip_request& rq, const channel_ref& ref,
                                        reply& r) const {
  response_budget b;
  b.len = rq.len.value_or(std::numeric_limits<std::uint64_t>::max());
  if (const auto cap = max_len_.load(); cap != 0 && b.len > cap) {
    b.len = cap;
    r.headers.emplace_back("JPIP-len", std::to_string(cap));
  }
  if (const auto most = session_max_bytes_.load(); ref.s && most != 0) {
    const std::uint64_t used = ref.s->bytes_sent.load();
    const std::uint64_t left = used >= most ? 0 : most - used;
    if (left == 0) b.exhausted = true;
    if (left < b.len) {
      b.len = left;
      b.session_bound = true;
    }
  }
  return b;
}

response_plan jpip_handler::plan_response(const incoming& in, const resolved& res, reply& r) const {
  const jpip_request& rq = in.rq;
  const image_index& index = res.tgt->index;
  response_plan plan;
  plan.budget = budget_of(rq, res.ref, r);
  bool stream_changed = false;
  plan.codestreams = requested_codestreams(rq, static_cast<std::uint32_t>(index.codestreams.size()),
                                           options_.max_codestreams, stream_changed);
  if (stream_changed) r.headers.emplace_back("JPIP-stream", format_list(plan.codestreams));
  stream_plan& sp = plan.stream;
  sp.jpt = res.jpt;
  sp.align = rq.align.value_or(false);
  sp.len = plan.budget.len;
  if (rq.metareq) {
    sp.whole_metadata = false;
    sp.metadata_ranges = metareq_ranges(index, *rq.metareq);
  }
  const bool metadata_only = rq.metareq && rq.metareq->metadata_only;
  for (std::size_t k = 0; k < plan.codestreams.size() && !metadata_only; ++k) {
    const codestream_index& cs = index.codestreams[plan.codestreams[k]];
    stream_codestream sc;
    sc.csn = plan.codestreams[k];
    if (rq.fsiz) {
      served_window sw;
      sc.window = window_from_request(cs, rq, &sw);
      if (k == 0) report_window(sw, r);
    } else {
      sc.window.region = rect{};  // no window: headers only
      sc.window.no_precinct_data = true;
    }
    if (k == 0) report_layers_and_comps(rq, cs, sc.window, r);
    sp.codestreams.push_back(std::move(sc));
  }
  if (rq.quality && *rq.quality < 100) r.headers.emplace_back("JPIP-quality", "-1");
  return plan;
}

void jpip_handler::report_window(const served_window& sw, reply& r) {
  if (sw.fsiz_changed)
    r.headers.emplace_back("JPIP-fsiz", point_text(sw.resolution.fx, sw.resolution.fy));
  if (sw.roff_changed) r.headers.emplace_back("JPIP-roff", point_text(sw.roff.x, sw.roff.y));
  if (sw.rsiz_changed) r.headers.emplace_back("JPIP-rsiz", point_text(sw.rsiz.x, sw.rsiz.y));
}

void jpip_handler::report_layers_and_comps(const jpip_request& rq, const codestream_index& cs,
                                           const window_spec& w, reply& r) {
  if (rq.layers && *rq.layers > max_layers(cs))
    r.headers.emplace_back("JPIP-layers", std::to_string(max_layers(cs)));
  if (!rq.comps) return;
  bool changed = false;
  for (const auto& c : *rq.comps)
    changed = changed || c.from >= cs.num_components() || (c.to && *c.to >= cs.num_components());
  if (!changed) return;
  std::vector<std::uint32_t> served = w.comps;
  if (served.empty() && !w.region.empty())
    for (std::uint32_t c = 0; c < cs.num_components(); ++c) served.push_back(c);
  r.headers.emplace_back("JPIP-comps", format_list(served));
}

step<std::unique_ptr<stream_model>> jpip_handler::cache_model_for(const incoming& in,
                                                                  const resolved& res,
                                                                  const response_plan& plan,
                                                                  bool tid_ok) const {
  // The session's model, or this request's alone.
  std::unique_ptr<stream_model> own;
  if (!res.ref.s) own = std::make_unique<stream_model>(res.tgt->index);
  if (in.rq.model && tid_ok) {
    std::unique_lock<std::mutex> lk;
    if (res.ref.s) lk = std::unique_lock<std::mutex>(res.ref.s->mutex);
    stream_model& m = res.ref.s ? res.ref.s->model : *own;
    auto a = apply_model(*in.rq.model, *res.tgt->source, plan.codestreams, m, plan.stream.jpt);
    if (res.ref.s) res.ref.s->recount();
    if (!a) return tl::unexpected(error_reply(a.error()));
  }
  return own;
}

// ---- handle() ----------------------------------------------------------------------------------

reply jpip_handler::handle(std::string_view method, std::string_view request_target,
                           std::string_view body, std::function<void()> on_ready) {
  auto in = read_request(method, request_target, body);
  if (!in) return std::move(in.error());
  auto res = resolve_channel(*in, std::move(on_ready));
  if (!res) return std::move(res.error());
  bool tid_ok = true;
  reply r = start_reply(*in, *res, tid_ok);
  if (in->rq.cclose) {
    const auto& cc = *in->rq.cclose;
    auto c = sessions_.close(cc.ids, cc.all, in->rq.cid ? res->ref.s : nullptr);
    if (!c) return error_reply(c.error());
    r.body = std::make_shared<eor_body>(eor_reason::window_done);
    return r;
  }
  response_plan plan = plan_response(*in, *res, r);
  if (plan.budget.exhausted) {
    r.body = std::make_shared<eor_body>(eor_reason::session_limit);
    return r;
  }
  auto own = cache_model_for(*in, *res, plan, tid_ok);
  if (!own) return std::move(own.error());
  auto stream =
      std::make_shared<stream_body>(res->ref.s, res->ref.ch, res->generation, res->tgt,
                                    std::move(*own), std::move(plan), chunk_bytes_.load(), cut_);
  if (res->tgt->object) {
    // A remote object: its first chunk's bytes are fetched before the header goes out.
    try {
      stream->prime();
    } catch (const fetch_failed& e) {
      gather_buffer lost;
      stream->abandon(lost);
      return error_reply(e.err);
    }
  }
  r.body = std::move(stream);
  return r;
}

}  // namespace pipit::server
