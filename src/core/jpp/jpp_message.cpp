// Message classes, EOR reasons and the data-bin a message addresses (ISO/IEC 15444-9 A.2.2, D.3).
#include "pipit/jpp.hpp"

namespace pipit {

const char* eor_reason_name(eor_reason reason) {
  switch (reason) {
    case eor_reason::image_done: return "image-done";
    case eor_reason::window_done: return "window-done";
    case eor_reason::window_change: return "window-change";
    case eor_reason::byte_limit: return "byte-limit";
    case eor_reason::quality_limit: return "quality-limit";
    case eor_reason::session_limit: return "session-limit";
    case eor_reason::response_limit: return "response-limit";
    case eor_reason::non_specified: return "non-specified";
  }
  return "unknown";
}

bool is_defined_msg_class(std::uint64_t msg_class) {
  bin_kind kind{};
  return msg_class <= 8 && bin_kind_from_class(static_cast<unsigned>(msg_class), kind);
}

bin_id jpp_message::bin() const {
  bin_id b;
  bin_kind_from_class(msg_class, b.kind);  // leaves main_header for an undefined class
  b.csn = csn;
  b.id = in_class_id;
  return b;
}

}  // namespace pipit
