// format_request(): the canonical query string of a request (the client builds its requests
// with it), and the small accessors of the request types.
#include <string>

#include "pipit/request.hpp"
#include "protocol/field_value.hpp"

namespace pipit {
namespace {

// Appends "&name=" (no '&' for the first field) and the percent-encoded value.
class query_writer {
 public:
  void add(std::string_view name, std::string_view value) {
    if (!out_.empty()) out_ += '&';
    out_ += name;
    out_ += '=';
    protocol::percent_encode(value, out_);
  }
  void add(std::string_view name, std::uint64_t value) { add(name, std::to_string(value)); }
  template <class T>
  void add_opt(std::string_view name, const std::optional<T>& v) {
    if (v) add(name, *v);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

template <class T, class F>
std::string join(const std::vector<T>& items, F append_one) {
  std::string s;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) s += ',';
    append_one(items[i], s);
  }
  return s;
}

void append_string(const std::string& v, std::string& out) { out += v; }

std::string point_text(const point& p) { return std::to_string(p.x) + ',' + std::to_string(p.y); }

bool offers(const return_types& t, std::string_view name, std::string_view params) {
  for (const return_type& item : t.items) {
    if (item.name == name && item.params == params) return true;
  }
  return false;
}

}  // namespace

const char* round_direction_name(round_direction d) {
  switch (d) {
    case round_direction::round_down: return "round-down";
    case round_direction::round_up: return "round-up";
    case round_direction::closest: return "closest";
  }
  return "round-down";
}

bool channel_new::has_http() const {
  for (const std::string& t : transports) {
    if (t == "http") return true;
  }
  return false;
}

bool return_types::jpp_stream() const { return offers(*this, "jpp-stream", ""); }
bool return_types::jpp_stream_ext() const { return offers(*this, "jpp-stream", "ptype=ext"); }
bool return_types::jpt_stream() const { return offers(*this, "jpt-stream", ""); }
bool return_types::jpt_stream_ext() const { return offers(*this, "jpt-stream", "ttype=ext"); }
bool return_types::raw() const { return offers(*this, "raw", ""); }

std::string format_request(const jpip_request& r) {
  query_writer q;
  q.add_opt("target", r.target);
  q.add_opt("tid", r.tid);
  q.add_opt("cid", r.cid);
  if (r.cnew) q.add("cnew", join(r.cnew->transports, append_string));
  if (r.cclose)
    q.add("cclose", r.cclose->all ? std::string("*") : join(r.cclose->ids, append_string));
  q.add_opt("qid", r.qid);
  if (r.type) {
    q.add("type", join(r.type->items, [](const return_type& t, std::string& out) {
            out += t.name;
            if (!t.params.empty()) out += ';' + t.params;
          }));
  }
  if (r.stream) q.add("stream", join(*r.stream, protocol::append_sampled_range));
  if (r.context) q.add("context", r.context->raw);
  if (r.fsiz) {
    q.add("fsiz", std::to_string(r.fsiz->fx) + ',' + std::to_string(r.fsiz->fy) + ',' +
                      round_direction_name(r.fsiz->round));
  }
  if (r.roff) q.add("roff", point_text(*r.roff));
  if (r.rsiz) q.add("rsiz", point_text(*r.rsiz));
  if (r.comps) q.add("comps", join(*r.comps, protocol::append_uint_range));
  q.add_opt("layers", r.layers);
  q.add_opt("len", r.len);
  if (r.quality) q.add("quality", std::uint64_t{*r.quality});
  if (r.metareq) {
    std::string m;
    protocol::append_metareq(*r.metareq, m);
    q.add("metareq", m);
  }
  if (r.model) q.add("model", format_cache_model(*r.model));
  if (r.wait) q.add("wait", *r.wait ? "yes" : "no");
  if (r.align) q.add("align", *r.align ? "yes" : "no");
  q.add_opt("cap", r.cap);
  q.add_opt("pref", r.pref);
  q.add_opt("csf", r.csf);
  q.add_opt("handled", r.handled);
  q.add_opt("srate", r.srate);
  q.add_opt("roi", r.roi);
  q.add_opt("drate", r.drate);
  return q.take();
}

}  // namespace pipit
