// JPIP requests (ISO/IEC 15444-9 Annex C): parsing and canonical formatting.
//
// A jpip_request is the parsed form of one request's query string (`name=value&name=value`,
// already split from the URL path). Every field is optional and spelled as in the standard;
// structured fields (fsiz, model, metareq, ...) are fully parsed, while the fields Pipit only
// records (cap, pref, csf, handled, srate, roi, drate) keep their percent-decoded text.
// parse_request() checks syntax only: it knows nothing of images or sessions, so whether a cid
// exists or a component is in range is for the caller to decide.
//
// Decoding rules:
//  * Values are percent-decoded (%XX, either hex case; a bad escape is an error). '+' is a
//    literal plus, not a space (RFC 3986 query rules, not HTML form rules): a space must be sent
//    as %20 (webjpip.js, Kakadu and GDAL do so). Field names are not decoded.
//  * Each field may appear once; an empty field ("a=1&&b=2", trailing '&') or a field without
//    '=' is an error.
// Error kinds (the server maps them to HTTP statuses):
//  * errc::invalid_argument (400): malformed syntax, unknown field name, repeated field, number
//    out of range, roff/rsiz without fsiz.
//  * errc::unsupported (501): recognised fields whose meaning Pipit cannot honour and must not
//    ignore: upload, need, tpneed, tpmodel, subtarget, mset.
// Every error message names the field, and its offset is the byte offset in the query string.
//
// format_request() writes the canonical query for a request, such that
// parse_request(format_request(r)) == r for every request parse_request() can return.
//
// Thread-safety: plain values; the functions are pure and may be called from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipit/cache_model_spec.hpp"
#include "pipit/error.hpp"

namespace pipit {

enum class round_direction : std::uint8_t { round_down, round_up, closest };

// "round-down", "round-up", "closest".
const char* round_direction_name(round_direction d);

// fsiz=fx,fy[,round-direction]; round-down when the direction is omitted.
struct frame_size {
  std::uint32_t fx = 0;
  std::uint32_t fy = 0;
  round_direction round = round_direction::round_down;

  friend bool operator==(const frame_size&, const frame_size&) = default;
};

// roff=x,y and rsiz=x,y.
struct point {
  std::uint32_t x = 0;
  std::uint32_t y = 0;

  friend bool operator==(const point&, const point&) = default;
};

// cnew=1#transport-name.
struct channel_new {
  std::vector<std::string> transports;  // in the client's order ("http", "http-tcp", ...)

  bool has_http() const;
  friend bool operator==(const channel_new&, const channel_new&) = default;
};

// cclose=* or cclose=1#channel-id.
struct channel_close {
  bool all = false;              // "*": every channel of the session named by cid
  std::vector<std::string> ids;  // empty when all

  friend bool operator==(const channel_close&, const channel_close&) = default;
};

// One image-return-type of type=1#image-return-type.
struct return_type {
  std::string name;    // "jpp-stream", "jpt-stream", "raw", or a MIME type ("image/jpeg")
  std::string params;  // the text after ';' ("ptype=ext", "ttype=ext"), "" if none

  friend bool operator==(const return_type&, const return_type&) = default;
};

struct return_types {
  std::vector<return_type> items;  // in the client's order of preference

  bool jpp_stream() const;      // plain "jpp-stream" offered
  bool jpp_stream_ext() const;  // "jpp-stream;ptype=ext" offered
  bool jpt_stream() const;      // plain "jpt-stream" offered
  bool jpt_stream_ext() const;  // "jpt-stream;ttype=ext" offered
  bool raw() const;             // "raw" offered
  friend bool operator==(const return_types&, const return_types&) = default;
};

// context=1#context-range. `raw` is the decoded value; the JPX compositing-layer contexts
// ("jpxl<0-3>", optionally followed by "[...]") are also parsed into jpx_layers. Other context
// kinds (mj2t<...>, ...) are left in raw for the caller.
struct context_spec {
  std::string raw;
  std::vector<sampled_range> jpx_layers;  // every range of every jpxl<...>, in order

  friend bool operator==(const context_spec&, const context_spec&) = default;
};

// metareq: one req-box-prop, e.g. "xml :r/w!".
enum class metareq_limit_kind : std::uint8_t {
  whole,     // no limit
  bytes,     // ":<n>": at most n bytes of the box contents
  skeleton,  // ":r": box headers only
};

// metareq-qualifier letters, OR-ed; 0 = none written (the default, "wsg").
inline constexpr std::uint8_t metareq_window = 1;  // 'w'
inline constexpr std::uint8_t metareq_stream = 2;  // 's'
inline constexpr std::uint8_t metareq_global = 4;  // 'g'
inline constexpr std::uint8_t metareq_all = 8;     // 'a'

struct metareq_box {
  std::string box_type;  // 4 characters (printable ASCII except []:;/!,* ), or "*" = any box
  metareq_limit_kind limit_kind = metareq_limit_kind::whole;
  std::uint64_t limit = 0;     // byte limit when limit_kind == bytes, else 0
  std::uint8_t qualifier = 0;  // metareq_window | ... ; 0 = not written
  bool priority = false;       // "!"

  friend bool operator==(const metareq_box&, const metareq_box&) = default;
};

// "[" 1$(req-box-prop) "]" [root-bin] [max-depth]
struct metareq_item {
  std::vector<metareq_box> boxes;          // never empty
  std::optional<std::uint64_t> root_bin;   // "R<n>": metadata-bin to start from (default 0)
  std::optional<std::uint32_t> max_depth;  // "D<n>"

  friend bool operator==(const metareq_item&, const metareq_item&) = default;
};

struct metadata_request {
  std::vector<metareq_item> items;  // never empty
  bool metadata_only = false;       // trailing "!!": send no image data

  friend bool operator==(const metadata_request&, const metadata_request&) = default;
};

struct jpip_request {
  // Target (C.2) and sessions (C.3).
  std::optional<std::string> target;  // no control characters
  std::optional<std::string> tid;     // 1..255 printable characters; "0" asks for the target-id
  std::optional<std::string> cid;     // 1..255 printable characters, no ','
  std::optional<channel_new> cnew;
  std::optional<channel_close> cclose;
  std::optional<std::uint64_t> qid;
  // View-window (C.4).
  std::optional<frame_size> fsiz;
  std::optional<point> roff;  // only with fsiz
  std::optional<point> rsiz;  // only with fsiz
  std::optional<std::vector<uint_range>> comps;
  std::optional<std::vector<sampled_range>> stream;
  std::optional<context_spec> context;
  std::optional<std::uint32_t> layers;
  // Metadata (C.5), limits (C.6), server control (C.7), cache model (C.8).
  std::optional<metadata_request> metareq;
  std::optional<std::uint64_t> len;
  std::optional<std::uint8_t> quality;  // 0..100
  std::optional<return_types> type;
  std::optional<bool> wait;   // yes/no
  std::optional<bool> align;  // yes/no
  std::optional<cache_model_spec> model;
  // Recorded, decoded but otherwise unparsed; a server may ignore them (C.10 and the
  // harmless view-window refinements). A pref set ending in "/r" is *required*: a server that
  // cannot honour it must fail the request.
  std::optional<std::string> cap;
  std::optional<std::string> pref;
  std::optional<std::string> csf;
  std::optional<std::string> handled;
  std::optional<std::string> srate;
  std::optional<std::string> roi;
  std::optional<std::string> drate;

  friend bool operator==(const jpip_request&, const jpip_request&) = default;
};

// Parses a query string ("cid=42&fsiz=640,480,round-up&len=2000"). An empty query is a valid
// request with no fields.
result<jpip_request> parse_request(std::string_view query);

// The canonical query string: fields in a fixed order, numbers in decimal without leading zeros,
// fsiz always with its round direction, values percent-encoded except for unreserved characters
// and ",:;*/!=".
// REQUIRES: r satisfies the invariants parse_request() guarantees (documented per field above).
std::string format_request(const jpip_request& r);

}  // namespace pipit
