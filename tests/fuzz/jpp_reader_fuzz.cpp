// libFuzzer target for jpp_reader. The first input byte chooses where the rest is cut into two
// feeds. Besides "never crash", it checks two properties and traps when they fail:
//  * cutting does not matter: the two-piece parse gives the same events and error as one piece;
//  * write-back: the events re-encoded with jpp_writer parse back to the same events.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "pipit/jpp.hpp"

namespace {

struct record {
  bool is_eor = false;
  unsigned msg_class = 0;
  std::uint64_t csn = 0, id = 0, offset = 0;
  bool last = false;
  std::optional<std::uint64_t> aux;
  std::uint8_t reason = 0;
  std::vector<std::uint8_t> body;
  friend bool operator==(const record&, const record&) = default;
};

struct outcome {
  std::vector<record> events;
  std::optional<std::string> err;
};

void drain(pipit::jpp_reader& r, outcome& o) {
  while (!o.err) {
    auto ev = r.next();
    if (!ev) {
      o.err = ev.error().to_string();
      return;
    }
    record rec;
    if (const auto* m = std::get_if<pipit::jpp_message>(&*ev)) {
      rec = record{false,
                   m->msg_class,
                   m->csn,
                   m->in_class_id,
                   m->msg_offset,
                   m->is_last,
                   m->aux,
                   0,
                   std::vector<std::uint8_t>(m->body.begin(), m->body.end())};
    } else if (const auto* e = std::get_if<pipit::jpp_eor>(&*ev)) {
      rec.is_eor = true;
      rec.reason = static_cast<std::uint8_t>(e->reason);
      rec.body.assign(e->body.begin(), e->body.end());
      r.begin_response();
    } else {
      return;
    }
    o.events.push_back(std::move(rec));
  }
}

outcome parse(pipit::bytes_view data, std::size_t cut) {
  pipit::jpp_reader r;
  outcome o;
  r.feed(data.first(cut));
  drain(r, o);
  r.feed(data.subspan(cut));
  drain(r, o);
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const pipit::bytes_view stream(data + 1, size - 1);
  const std::size_t cut = stream.empty() ? 0 : data[0] % (stream.size() + 1);

  const outcome split = parse(stream, cut);
  const outcome whole = parse(stream, stream.size());
  if (!(split.events == whole.events) || split.err != whole.err) __builtin_trap();

  std::vector<std::uint8_t> again;
  pipit::jpp_writer w(again);
  for (const record& e : split.events) {
    if (e.is_eor) {
      w.add_eor(static_cast<pipit::eor_reason>(e.reason), e.body);
      w.begin_response();
    } else if (!w.add_message(e.msg_class, e.csn, e.id, e.offset, e.body, e.last, e.aux)) {
      __builtin_trap();  // the reader delivered a message the writer cannot express
    }
  }
  const outcome back = parse(again, again.size());
  if (back.err || !(back.events == split.events)) __builtin_trap();
  return 0;
}
