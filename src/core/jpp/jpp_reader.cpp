// jpp_reader: incremental JPP-stream parsing (ISO/IEC 15444-9 A.2, D.3).
//
// Each next() parses from the first unconsumed byte. When the buffer ends inside a message the
// partial parse is dropped and redone once more bytes arrive: headers are at most a few dozen
// bytes, and inheritance state is only updated when a message is delivered, so a redo is cheap
// and sees exactly what a single pass over the whole stream would.
#include <limits>
#include <string>

#include "pipit/jpp.hpp"

namespace pipit {

void jpp_reader::feed(bytes_view data) {
  if (pos_ == buffer_.size()) {
    base_offset_ += pos_;
    buffer_.clear();  // keeps the capacity
    pos_ = 0;
  } else if (pos_ > 0 && pos_ >= buffer_.size() / 2) {
    // Compact only when at least half is consumed, so each byte is moved O(1) times.
    base_offset_ += pos_;
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(pos_));
    pos_ = 0;
  }
  buffer_.insert(buffer_.end(), data.begin(), data.end());
}

void jpp_reader::begin_response() {
  prev_class_ = 0;
  prev_csn_ = 0;
  after_eor_ = false;
}

void jpp_reader::reset() {
  buffer_.clear();
  pos_ = 0;
  base_offset_ = 0;
  last_event_offset_ = 0;
  begin_response();
  error_.reset();
}

error jpp_reader::make_error(std::size_t at, const char* field, const std::string& what) {
  error_ = error{errc::corrupt, stream_offset() + at, std::string(field) + ": " + what};
  return *error_;
}

error jpp_reader::vbas_error(std::size_t at, const char* field, vbas_status st) {
  return make_error(
      at, field,
      st == vbas_status::overflow ? "VBAS value above 2^64-1" : "VBAS longer than 10 bytes");
}

result<jpp_event> jpp_reader::next() {
  if (error_) return fail(*error_);
  if (after_eor_)
    return fail(errc::invalid_argument, stream_offset(),
                "jpp_reader: next() after an EOR; call begin_response() first");
  const bytes_view in = bytes_view(buffer_).subspan(pos_);
  if (in.empty()) return jpp_need_more{};
  if (in[0] == 0x00) return parse_eor(in);
  return parse_message(in);
}

result<jpp_event> jpp_reader::parse_eor(bytes_view in) {
  // 00 | reason | VBAS body length | body
  if (in.size() < 2) return jpp_need_more{};
  std::size_t p = 2;
  std::uint64_t length = 0;
  if (const vbas_status st = vbas_decode(in, p, length); st != vbas_status::ok) {
    if (st == vbas_status::need_more) return jpp_need_more{};
    return fail(vbas_error(2, "EOR body length", st));
  }
  if (length > options_.max_msg_length)
    return fail(make_error(2, "EOR body length", "above the reader's limit"));
  if (length > in.size() - p) return jpp_need_more{};
  jpp_eor eor{static_cast<eor_reason>(in[1]), in.subspan(p, static_cast<std::size_t>(length))};
  last_event_offset_ = stream_offset();
  pos_ += p + static_cast<std::size_t>(length);
  after_eor_ = true;
  return eor;
}

result<jpp_event> jpp_reader::parse_message(bytes_view in) {
  if (((in[0] >> 5) & 3u) == 0)
    return fail(make_error(0, "Bin-ID", "indicator bb=0 in a first byte other than 0x00 (EOR)"));

  // A field that could not be decoded: wait for more bytes, or report the fault.
  const auto stop = [&](vbas_status st, std::size_t at, const char* field) -> result<jpp_event> {
    if (st == vbas_status::need_more) return jpp_need_more{};
    return fail(vbas_error(at, field, st));
  };

  std::size_t p = 0;
  bin_id_field bin;
  if (const vbas_status st = bin_id_field_decode(in, p, bin); st != vbas_status::ok)
    return stop(st, 0, "Bin-ID");

  unsigned msg_class = prev_class_;
  std::uint64_t csn = prev_csn_;
  if (bin.bb >= 2) {
    const std::size_t at = p;
    std::uint64_t v = 0;
    if (const vbas_status st = vbas_decode(in, p, v); st != vbas_status::ok)
      return stop(st, at, "Class");
    if (!is_defined_msg_class(v))
      return fail(
          make_error(at, "Class", ("message class " + std::to_string(v) + " is not defined")));
    msg_class = static_cast<unsigned>(v);
  }
  if (bin.bb == 3) {
    const std::size_t at = p;
    if (const vbas_status st = vbas_decode(in, p, csn); st != vbas_status::ok)
      return stop(st, at, "CSn");
  }

  std::uint64_t msg_offset = 0;
  std::size_t at = p;
  if (const vbas_status st = vbas_decode(in, p, msg_offset); st != vbas_status::ok)
    return stop(st, at, "Msg-Offset");

  std::uint64_t msg_length = 0;
  at = p;
  if (const vbas_status st = vbas_decode(in, p, msg_length); st != vbas_status::ok)
    return stop(st, at, "Msg-Length");
  if (msg_length > options_.max_msg_length)
    return fail(
        make_error(at, "Msg-Length",
                   ("length " + std::to_string(msg_length) + " is above the reader's limit of " +
                    std::to_string(options_.max_msg_length))));
  if (msg_length > std::numeric_limits<std::uint64_t>::max() - msg_offset)
    return fail(make_error(at, "Msg-Length", "Msg-Offset + Msg-Length exceeds 2^64-1"));

  std::optional<std::uint64_t> aux;
  if (msg_class & 1u) {  // extended classes 1 and 5, whether the class was explicit or inherited
    at = p;
    std::uint64_t v = 0;
    if (const vbas_status st = vbas_decode(in, p, v); st != vbas_status::ok)
      return stop(st, at, "Aux");
    aux = v;
  }

  if (msg_length > in.size() - p) return jpp_need_more{};
  jpp_message m;
  m.msg_class = msg_class;
  m.csn = csn;
  m.in_class_id = bin.in_class_id;
  m.msg_offset = msg_offset;
  m.is_last = bin.is_last;
  m.aux = aux;
  m.body = in.subspan(p, static_cast<std::size_t>(msg_length));

  last_event_offset_ = stream_offset();
  pos_ += p + static_cast<std::size_t>(msg_length);
  prev_class_ = msg_class;
  prev_csn_ = csn;
  return m;
}

}  // namespace pipit
