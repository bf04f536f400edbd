// jpp_writer: JPP-stream messages with minimal header compression (ISO/IEC 15444-9 A.2).
#include <limits>
#include <string>

#include "pipit/jpp.hpp"

namespace pipit {

namespace {

// Why the arguments cannot form a message, or nullptr when they can.
const char* check_args(unsigned msg_class, std::uint64_t msg_offset, std::uint64_t msg_length,
                       const std::optional<std::uint64_t>& aux) {
  if (!is_defined_msg_class(msg_class)) return "message class is not defined";
  const bool extended = (msg_class & 1u) != 0;
  if (extended && !aux) return "Aux is required for an extended (odd) message class";
  if (!extended && aux) return "Aux is only allowed for an extended (odd) message class";
  if (msg_length > std::numeric_limits<std::uint64_t>::max() - msg_offset)
    return "Msg-Offset + Msg-Length exceeds 2^64-1";
  return nullptr;
}

}  // namespace

std::size_t jpp_writer::header_size(unsigned msg_class, std::uint64_t csn,
                                    std::uint64_t in_class_id, std::uint64_t msg_offset,
                                    std::uint64_t msg_length,
                                    std::optional<std::uint64_t> aux) const {
  if (check_args(msg_class, msg_offset, msg_length, aux) != nullptr) return 0;
  const std::uint8_t bb = indicator(msg_class, csn);
  std::size_t n = bin_id_field_size(in_class_id);
  if (bb >= 2) n += vbas_size(msg_class);
  if (bb == 3) n += vbas_size(csn);
  n += vbas_size(msg_offset) + vbas_size(msg_length);
  if (aux) n += vbas_size(*aux);
  return n;
}

result<void> jpp_writer::add_message_header(unsigned msg_class, std::uint64_t csn,
                                            std::uint64_t in_class_id, std::uint64_t msg_offset,
                                            std::uint64_t msg_length, bool is_last,
                                            std::optional<std::uint64_t> aux) {
  if (const char* why = check_args(msg_class, msg_offset, msg_length, aux))
    return fail(errc::invalid_argument, no_offset,
                std::string("jpp_writer: class ") + std::to_string(msg_class) + ": " + why);
  std::uint8_t b[max_header_bytes];
  std::uint8_t* e =
      b + encode_header(msg_class, csn, in_class_id, msg_offset, msg_length, is_last, b);
  if (aux) e = vbas_put(e, *aux);
  out_->insert(out_->end(), b, e);
  note_written(msg_class, csn);
  return {};
}

result<void> jpp_writer::add_message(unsigned msg_class, std::uint64_t csn,
                                     std::uint64_t in_class_id, std::uint64_t msg_offset,
                                     bytes_view body, bool is_last,
                                     std::optional<std::uint64_t> aux) {
  PIPIT_TRY(add_message_header(msg_class, csn, in_class_id, msg_offset, body.size(), is_last, aux));
  out_->insert(out_->end(), body.begin(), body.end());
  return {};
}

void jpp_writer::add_eor(eor_reason reason, bytes_view body) {
  std::vector<std::uint8_t>& out = *out_;
  out.push_back(0x00);
  out.push_back(static_cast<std::uint8_t>(reason));
  vbas_append(out, body.size());
  out.insert(out.end(), body.begin(), body.end());
}

}  // namespace pipit
