// JPP-stream / JPT-stream messages (ISO/IEC 15444-9 Annex A.2, D.3).
//
// A JPP-stream is a sequence of messages, each carrying one byte range of one data-bin, closed
// by an End Of Response (EOR) message. This header has the three layers of its codec: VBAS
// integers and the Bin-ID field; `jpp_writer`, which appends messages to a caller's buffer with
// minimal header compression; and `jpp_reader`, an incremental parser that takes the stream in
// pieces of any size and hands out whole messages. The class/CSn inheritance state of both ends
// is per response: call `begin_response()` at each response boundary.
//
// Thread-safety: free functions are pure. A `jpp_writer` or `jpp_reader` is a mutable cursor over
// one stream; use each from one thread at a time (distinct objects need no synchronisation).
//
// Message layout (every field but the first byte is a VBAS):
//
//   Bin-ID | [Class] | [CSn] | Msg-Offset | Msg-Length | [Aux] | Msg-Length body bytes
//
//   Bin-ID first byte:   bit 7      bits 6-5   bit 4     bits 3-0
//                        more(ext)  bb         c (last)  in-class id, high 4 bits
//   bb: 0 prohibited (a first byte 0x00 is EOR), 1 no Class/CSn, 2 Class only, 3 Class and CSn.
//   Absent Class/CSn are inherited from the previous message of the response (initially 0, 0).
//   Aux is present exactly when the class is odd (1 extended precinct, 5 extended tile).
//
//   EOR:  00 | reason (1 byte) | body length VBAS | body
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "pipit/byte_reader.hpp"
#include "pipit/databin_id.hpp"
#include "pipit/error.hpp"

namespace pipit {

// ---- VBAS (A.2.1) ------------------------------------------------------------------------------
// Big-endian groups of 7 bits; every byte but the last has bit 7 set.

// The longest VBAS accepted: 9 continuation bytes and a last byte (70 bits, enough for 64).
inline constexpr std::size_t vbas_max_bytes = 10;

enum class vbas_status : std::uint8_t {
  ok,         // decoded; `pos` moved past the field
  need_more,  // the input ends inside the field
  too_long,   // more than vbas_max_bytes bytes
  overflow,   // the value does not fit in 64 bits
};

// Bytes of the minimal encoding of `v` (1..10).
std::size_t vbas_size(std::uint64_t v);

// Appends the minimal encoding of `v`.
void vbas_append(std::vector<std::uint8_t>& out, std::uint64_t v);
// Writes it at `p` (room for vbas_max_bytes); returns the end.
std::uint8_t* vbas_put_long(std::uint8_t* p, std::uint64_t v);
inline std::uint8_t* vbas_put(std::uint8_t* p, std::uint64_t v) {
  if (v < 0x80) {  // most fields of most messages
    *p = static_cast<std::uint8_t>(v);
    return p + 1;
  }
  if (v < 0x4000) {  // most message lengths and offsets of small precincts
    p[0] = static_cast<std::uint8_t>(0x80u | (v >> 7));
    p[1] = static_cast<std::uint8_t>(v & 0x7Fu);
    return p + 2;
  }
  return vbas_put_long(p, v);
}

// Decodes the VBAS starting at in[pos]. On `ok` stores the value and advances `pos`; otherwise
// leaves both unchanged. Accepts non-minimal (zero-padded) encodings such as `80 81 00` (= 128).
vbas_status vbas_decode(bytes_view in, std::size_t& pos, std::uint64_t& value);

// Whole-buffer convenience: errors are `truncated` or `corrupt`, at the field's absolute offset.
result<std::uint64_t> vbas_read(byte_reader& r, const char* what);

// ---- Bin-ID field (A.2.2) ----------------------------------------------------------------------

struct bin_id_field {
  std::uint8_t bb = 1;   // bin-id indicator, 1..3
  bool is_last = false;  // the `c` bit
  std::uint64_t in_class_id = 0;
};

// Bytes of the minimal Bin-ID encoding of `in_class_id` (1..10; a k-byte field holds 7k-3 bits).
std::size_t bin_id_field_size(std::uint64_t in_class_id);

// REQUIRES: 1 <= f.bb <= 3.
void bin_id_field_append(std::vector<std::uint8_t>& out, const bin_id_field& f);
// Writes it at `p` (room for vbas_max_bytes); returns the end.
std::uint8_t* bin_id_field_put_long(std::uint8_t* p, const bin_id_field& f);
inline std::uint8_t* bin_id_field_put(std::uint8_t* p, const bin_id_field& f) {
  const auto head = static_cast<std::uint8_t>(((f.bb & 3u) << 5) | (f.is_last ? 0x10u : 0u));
  const std::uint64_t v = f.in_class_id;
  if (v < 0x10) {
    *p = static_cast<std::uint8_t>(head | v);
    return p + 1;
  }
  if (v < 0x800) {  // 4 + 7 bits
    p[0] = static_cast<std::uint8_t>(0x80u | head | (v >> 7));
    p[1] = static_cast<std::uint8_t>(v & 0x7Fu);
    return p + 2;
  }
  if (v < 0x40000) {  // 4 + 14 bits: the precincts of most images
    p[0] = static_cast<std::uint8_t>(0x80u | head | (v >> 14));
    p[1] = static_cast<std::uint8_t>(0x80u | ((v >> 7) & 0x7Fu));
    p[2] = static_cast<std::uint8_t>(v & 0x7Fu);
    return p + 3;
  }
  return bin_id_field_put_long(p, f);
}

// Like vbas_decode. The first byte's bb is returned as found (0 included: the caller decides).
vbas_status bin_id_field_decode(bytes_view in, std::size_t& pos, bin_id_field& out);

// ---- Messages ----------------------------------------------------------------------------------

// EOR reason codes (D.3). Other byte values may arrive from a peer and are kept as they are.
enum class eor_reason : std::uint8_t {
  image_done = 1,
  window_done = 2,
  window_change = 3,
  byte_limit = 4,
  quality_limit = 5,
  session_limit = 6,
  response_limit = 7,
  non_specified = 0xFF,
};

// "image-done", "window-done", ..., "non-specified"; "unknown" for other values.
const char* eor_reason_name(eor_reason reason);

// True for the message classes of A.2.2 (0, 1, 2, 4, 5, 6, 8).
bool is_defined_msg_class(std::uint64_t msg_class);

// One data-bin message. `body` does not own its bytes: from a jpp_reader it points into the
// reader's buffer (see jpp_reader::next); for a writer it is whatever the caller supplies.
struct jpp_message {
  unsigned msg_class = 0;            // Class (0 precinct, 1 extended precinct, 2, 4, 5, 6, 8)
  std::uint64_t csn = 0;             // CSn, the codestream number
  std::uint64_t in_class_id = 0;     // from the Bin-ID field
  std::uint64_t msg_offset = 0;      // Msg-Offset: where `body` starts in the data-bin
  bool is_last = false;              // `c`: body ends with the data-bin's last byte
  std::optional<std::uint64_t> aux;  // Aux; present exactly when msg_class is odd
  bytes_view body;                   // Msg-Length == body.size()

  std::uint64_t msg_length() const { return body.size(); }

  // The data-bin addressed (classes 0/1 and 4/5 fold into one kind).
  // REQUIRES: is_defined_msg_class(msg_class) (always true of messages from jpp_reader).
  bin_id bin() const;
};

// The EOR message; `body` is non-owning like jpp_message::body.
struct jpp_eor {
  eor_reason reason = eor_reason::non_specified;
  bytes_view body;
};

// ---- Writer ------------------------------------------------------------------------------------

// Appends messages to a caller-owned vector (which must outlive the writer). Headers are
// compressed minimally: bb=3 when CSn differs from the previous message of the response (and
// for the first message of each response), bb=2 when only the class differs, else bb=1.
class jpp_writer {
 public:
  explicit jpp_writer(std::vector<std::uint8_t>& out) : out_(&out) {}

  // Starts a new response: forgets the previous message, so the next one carries bb=3.
  void begin_response() { has_prev_ = false; }

  // Size of the header (all fields before the body) `add_message` would write now for these
  // arguments, given the current inheritance state; 0 when the arguments are invalid.
  // Lets a server fit a message into a byte budget (`len`) before writing it.
  std::size_t header_size(unsigned msg_class, std::uint64_t csn, std::uint64_t in_class_id,
                          std::uint64_t msg_offset, std::uint64_t msg_length,
                          std::optional<std::uint64_t> aux = std::nullopt) const;

  // Appends one message. Errors (`invalid_argument`, nothing written): an undefined class, Aux
  // missing for an odd class or given for an even one, Msg-Offset + Msg-Length above 2^64-1.
  result<void> add_message(unsigned msg_class, std::uint64_t csn, std::uint64_t in_class_id,
                           std::uint64_t msg_offset, bytes_view body, bool is_last,
                           std::optional<std::uint64_t> aux = std::nullopt);

  // The largest message header: Bin-ID, Class, CSn, Msg-Offset, Msg-Length and Aux fields.
  static constexpr std::size_t max_header_bytes = 6 * vbas_max_bytes;

  // Writes at `buf` the header add_message_header would append now and returns its size, without
  // recording the message (note_written does); for composers that check a byte budget first.
  // REQUIRES: an even defined class (no Aux) and msg_offset + msg_length < 2^64.
  std::size_t encode_header(unsigned msg_class, std::uint64_t csn, std::uint64_t in_class_id,
                            std::uint64_t msg_offset, std::uint64_t msg_length, bool is_last,
                            std::uint8_t* buf) const;
  // The next header inherits class and CSn from this message.
  void note_written(unsigned msg_class, std::uint64_t csn) {
    has_prev_ = true;
    prev_class_ = msg_class;
    prev_csn_ = csn;
  }

  // Appends only the header of such a message, whose `msg_length` body bytes the caller puts
  // after it (e.g. as a view of the file in a gather_buffer). Same errors as add_message.
  result<void> add_message_header(unsigned msg_class, std::uint64_t csn, std::uint64_t in_class_id,
                                  std::uint64_t msg_offset, std::uint64_t msg_length, bool is_last,
                                  std::optional<std::uint64_t> aux = std::nullopt);
  result<void> add(const jpp_message& m) {
    return add_message(m.msg_class, m.csn, m.in_class_id, m.msg_offset, m.body, m.is_last, m.aux);
  }

  // Appends the EOR message `00 reason len body`. Does not start a new response by itself.
  void add_eor(eor_reason reason, bytes_view body = {});

 private:
  std::uint8_t indicator(unsigned msg_class, std::uint64_t csn) const;

  std::vector<std::uint8_t>* out_;
  bool has_prev_ = false;
  unsigned prev_class_ = 0;
  std::uint64_t prev_csn_ = 0;
};

inline std::uint8_t jpp_writer::indicator(unsigned msg_class, std::uint64_t csn) const {
  if (!has_prev_ || csn != prev_csn_) return 3;
  if (msg_class != prev_class_) return 2;
  return 1;
}

inline std::size_t jpp_writer::encode_header(unsigned msg_class, std::uint64_t csn,
                                             std::uint64_t in_class_id, std::uint64_t msg_offset,
                                             std::uint64_t msg_length, bool is_last,
                                             std::uint8_t* buf) const {
  std::uint8_t* e = buf;
  const std::uint8_t bb = indicator(msg_class, csn);
  e = bin_id_field_put(e, bin_id_field{bb, is_last, in_class_id});
  if (bb >= 2) e = vbas_put(e, msg_class);
  if (bb == 3) e = vbas_put(e, csn);
  e = vbas_put(e, msg_offset);
  e = vbas_put(e, msg_length);
  return static_cast<std::size_t>(e - buf);
}

// ---- Reader ------------------------------------------------------------------------------------

struct jpp_reader_options {
  // A Msg-Length (or EOR body length) above this is `corrupt`; bounds the reader's buffering.
  std::uint64_t max_msg_length = std::uint64_t{64} << 20;
};

// What jpp_reader::next() found: nothing complete yet, a data-bin message, or the EOR.
struct jpp_need_more {};
using jpp_event = std::variant<jpp_need_more, jpp_message, jpp_eor>;

// Incremental parser. Feed the stream in pieces of any size (a message cut between two feeds is
// resumed), then call next() until it returns jpp_need_more:
//
//   reader.feed(chunk);
//   for (;;) {
//     PIPIT_TRY_ASSIGN(ev, reader.next());
//     if (auto* m = std::get_if<pipit::jpp_message>(&ev)) { ... }
//     else if (auto* e = std::get_if<pipit::jpp_eor>(&ev)) { ...; reader.begin_response(); }
//     else break;  // need more bytes
//   }
//
// Bytes are copied into an internal buffer that is compacted as messages are consumed; message
// and EOR bodies are views into it, valid until the next feed() or reset() (next() never moves
// the buffer). A message is delivered only once its whole body is buffered.
//
// Responses: after an EOR the reader stops. Bytes that follow the EOR are kept: they are the
// start of the next response on the same connection, and are parsed once begin_response() has
// reset the inheritance state (calling next() before that is an `invalid_argument` error).
//
// Errors name the fault and the absolute byte offset in the stream (counted from the first fed
// byte, or since reset()): `corrupt` for bb=0 in a non-EOR first byte, a VBAS over 10 bytes or
// 64 bits, an undefined class (3, 7, > 8), a Msg-Length above the cap, Msg-Offset + Msg-Length
// above 2^64-1. Such an error is sticky: next() repeats it until reset().
class jpp_reader {
 public:
  explicit jpp_reader(jpp_reader_options options = {}) : options_(options) {}

  // Appends stream bytes. Invalidates the bodies of previously returned events.
  void feed(bytes_view data);

  // The next complete message or EOR, or jpp_need_more.
  result<jpp_event> next();

  // Starts the next response: class and CSn inheritance back to 0; buffered bytes are kept.
  void begin_response();

  // Back to the state of a new reader: drops buffered bytes, errors and offsets.
  void reset();

  // True between delivering an EOR and the following begin_response().
  bool after_eor() const { return after_eor_; }
  // Absolute stream offset of the first byte not yet consumed.
  std::uint64_t stream_offset() const { return base_offset_ + pos_; }
  // Absolute stream offset of the first byte of the last message or EOR returned by next().
  std::uint64_t last_event_offset() const { return last_event_offset_; }
  // Bytes fed but not yet consumed by next().
  std::size_t buffered() const { return buffer_.size() - pos_; }

 private:
  result<jpp_event> parse_eor(bytes_view in);
  result<jpp_event> parse_message(bytes_view in);
  error make_error(std::size_t at, const char* field, const std::string& what);
  error vbas_error(std::size_t at, const char* field, vbas_status st);

  jpp_reader_options options_;
  std::vector<std::uint8_t> buffer_;
  std::size_t pos_ = 0;            // first unconsumed byte of buffer_
  std::uint64_t base_offset_ = 0;  // absolute offset of buffer_[0]
  std::uint64_t last_event_offset_ = 0;
  unsigned prev_class_ = 0;
  std::uint64_t prev_csn_ = 0;
  bool after_eor_ = false;
  std::optional<error> error_;  // sticky
};

}  // namespace pipit
