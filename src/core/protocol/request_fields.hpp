// Private: the table of request field names Pipit knows, and the per-field value parsers.
//
// Thread-safety: constant data and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "pipit/request.hpp"
#include "protocol/field_value.hpp"

namespace pipit::protocol {

enum class field_status : std::uint8_t {
  parsed,       // parsed into its own member of jpip_request
  recorded,     // kept as decoded text; harmless to ignore
  unsupported,  // changes the request's meaning and Pipit cannot honour it: errc::unsupported
};

struct field_info {
  std::string_view name;
  field_status status;
  std::string_view syntax;  // what a value looks like, for "expected ..." messages
};

inline constexpr std::size_t max_known_fields = 64;

// Every known field, in canonical (format_request) order; index = field number.
std::span<const field_info> known_fields();

// The field number of `name`, or nullopt for an unknown name.
std::optional<std::size_t> find_field(std::string_view name);

// Parses the decoded value of field number `field` (status parsed or recorded) into `out`.
result<void> parse_field_value(std::size_t field, value_cursor& cur, jpip_request& out);

}  // namespace pipit::protocol
