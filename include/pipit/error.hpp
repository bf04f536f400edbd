// Errors as values.
//
// Every fallible operation in the Pipit core returns `pipit::result<T>`: either a value or a
// `pipit::error` that says what was wrong and at which byte offset of the input it was found.
// Error codes are stable numbers (they appear in logs and in the command line's messages), so
// new codes are only ever appended.
//
// Thread-safety: plain values; no shared state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace pipit {

enum class errc : int {
  truncated = 1,         // the input ends before a structure it announced
  corrupt = 2,           // bytes that violate the format (a bad marker, an impossible length)
  unsupported = 3,       // valid by the standard but not handled by Pipit
  invalid_argument = 4,  // a caller's or a request's parameter is out of range or malformed
  io = 5,                // the operating system refused a read or a write
  limit = 6,             // a configured or built-in resource limit was reached
  not_found = 7,         // a named thing (file, box, target, bin) does not exist
  upstream = 8,          // a storage origin did not give an object's bytes (unreachable, an error)
};

// A short, stable name for an error code ("truncated", "corrupt", ...).
std::string_view errc_name(errc code);

// No byte offset applies (e.g. an invalid argument).
inline constexpr std::uint64_t no_offset = ~std::uint64_t{0};

struct error {
  errc code = errc::corrupt;
  std::uint64_t offset = no_offset;  // byte offset in the input where the problem was found
  std::string message;               // what was wrong, in words; no trailing period

  // "corrupt at byte 1234: SIZ: Csiz is 0" (or without the offset part when none applies).
  std::string to_string() const;
};

template <class T>
using result = tl::expected<T, error>;

// Builds the unexpected value for a `return fail(...)` in a function returning result<T>.
inline tl::unexpected<error> fail(errc code, std::uint64_t offset, std::string message) {
  return tl::unexpected<error>(error{code, offset, std::move(message)});
}
inline tl::unexpected<error> fail(error e) { return tl::unexpected<error>(std::move(e)); }

}  // namespace pipit

// Propagates the error of a result<T> expression; binds the value to `var` otherwise.
#define PIPIT_TRY_ASSIGN(var, expr)                                           \
  auto var##_result_ = (expr);                                                \
  if (!var##_result_) return ::pipit::fail(std::move(var##_result_.error())); \
  auto var = std::move(*var##_result_) /* NOLINT(bugprone-macro-parentheses): var is a name */

// Propagates the error of a result<void>-like expression.
#define PIPIT_TRY(expr)                                                                 \
  do {                                                                                  \
    auto pipit_try_result_ = (expr);                                                    \
    if (!pipit_try_result_) return ::pipit::fail(std::move(pipit_try_result_.error())); \
  } while (0)
