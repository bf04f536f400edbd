// The JPIP client (ISO/IEC 15444-9, JPP-stream over HTTP/1.1).
//
// A `jpip_client` browses one remote image. open() turns a jpip:// (http) or jpips:// (https)
// URL into a session: `cnew=http&type=jpp-stream&stream=N&tid=0&len=...` (`type=jpt-stream` with
// client_options::stream = stream_kind::jpt), then it follows the
// server's JPIP-cnew (path, host, port, cid); a server that grants no session is spoken to with
// stateless requests that carry `model` statements for what the client already holds. Every
// request carries stream=N, len, and (for view-windows) fsiz, roff and rsiz explicitly.
//
// A client browses one codestream N of the target (client_options::codestream, 0 by default):
// a JPX file holds several, each an image of its own (the frames of a movie, say); image_info
// says how many the target has, from the codestream placeholders of metadata-bin 0.
//
// Windows: request() queues a view-window (a region at a resolution, a layer limit, components)
// with a priority and returns a handle. One worker thread serves the queue over one connection,
// one request at a time: each request asks for `len` bytes (len grows with the measured
// throughput), EOR 4/3/7 lead to the next request, EOR 1/2/5 complete the window once the cache
// holds every bin its exact decode needs (the precincts within the wavelet filters' reach of the
// window). Servers that choose a window's precincts without that margin leave some out: the
// client then asks for the area of the missing precincts of the lowest resolution, at the level
// where that resolution is the frame's, until none is missing (a server that sends nothing more
// fails the window with an error naming what is missing). A window of a
// higher priority is served first as soon as the current request ends; a lower one resumes
// afterwards. Dropped connections and lost sessions are survived: the client reconnects, opens a
// new session and declares what it holds with `model`. The data-bin cache is kept throughout; with
// a cache folder it is saved on close (and at checkpoints) and reloaded by the next open()
// of the same URL, in any process, and dropped when the server's target id changes. The file
// is written at checkpoints while data arrives (checkpoint_seconds), atomically, so a process
// killed mid-transfer leaves what it had received; processes sharing the folder merge their bins
// into it under a lock instead of overwriting each other's.
//
// decode() decodes the window from what the cache holds (missing packets become empty packets),
// so progressive updates can be shown while the data arrives. It decodes whole tiles (or blocks
// of 1024 samples of an image made of one big tile, or of tiles above 4096 samples) and cuts the
// window out of them, so a window's samples do not depend on its bounds and equal what GDAL's
// JP2OpenJPEG driver reads from the original file. Decoded tiles are kept (decoded_cache_bytes)
// and reused while the data they came from is unchanged; missing tiles are decoded on
// decode_threads threads.
//
// Thread-safety: every member of jpip_client and window_handle may be called from any thread.
// Callbacks are not used: callers wait on handles.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipit/boxes.hpp"
#include "pipit/codestream.hpp"
#include "pipit/error.hpp"
#include "pipit/window.hpp"

namespace pipit::client {

// How requests reach the server: TLS, proxy, authentication, extra headers, timeouts, retries.
// The GDAL driver fills it from GDAL's HTTP configuration options (GDAL_HTTP_*), `pipit get` from
// its command line (docs/gdal-driver.md, docs/man/pipit-get.1).
struct transport_options {
  bool verify_tls = true;  // verify the server's certificate and host name (https)
  std::string ca_file;     // PEM bundle to verify with instead of the system's
  std::string proxy;       // "host:port" or a URL; empty: libcurl's default (environment)
  std::string proxy_auth;  // "user:password"

  // Authentication. `user_password` ("user:password") is sent with the `auth` scheme: "basic",
  // "digest", "ntlm", "negotiate", "any", "anysafe" ("" = basic); "bearer" sends `bearer` as
  // "Authorization: Bearer <token>" instead. A user:password@ in the URL fills `user_password`
  // when it is empty.
  std::string auth;
  std::string user_password;
  std::string bearer;
  std::vector<std::string> headers;  // "Name: value" lines added to every request
  std::string header_file;           // a file of "Name: value" lines, read before each request
  std::string cookie;                // "name=value; name2=value2"

  // Timeouts. A request fails when the connection is not made within connect_timeout_ms, when
  // it takes longer than timeout_ms (0: no limit), or when fewer than low_speed_limit bytes/s
  // arrive for low_speed_seconds (0: no check). The low-speed check is what catches a server that
  // accepts and then says nothing. By default (low_speed_seconds < 0) a request that receives
  // nothing for 30 s fails, unless timeout_ms is set: then it alone bounds the request.
  long connect_timeout_ms = 30000;
  long timeout_ms = 0;
  long low_speed_seconds = -1;
  long low_speed_limit = 1;  // bytes per second
  long effective_low_speed_seconds() const {
    if (low_speed_seconds >= 0) return low_speed_seconds;
    return timeout_ms > 0 ? 0 : default_low_speed_seconds;
  }

  // Retries of a request that timed out or got HTTP 429, 500, 502, 503 or 504: at most
  // max_retry more tries, the first after retry_delay_seconds, each later one after twice the
  // previous delay. A dropped or refused connection during a session is survived separately
  // (client_options::reconnect_seconds).
  int max_retry = 0;
  double retry_delay_seconds = 30;

  std::string user_agent = "pipit-client/0.1";

  static constexpr long default_low_speed_seconds = 30;
};

// The kind of stream the client asks for (15444-9 A.2; docs/jpip-notes.md §4): JPP-streams of
// precinct data-bins, or JPT-streams of tile data-bins (whole tile-parts) for servers that speak
// only those. With JPT a window brings every tile it meets whole, at every resolution and layer.
enum class stream_kind : std::uint8_t { jpp, jpt };

struct client_options {
  transport_options transport;
  stream_kind stream = stream_kind::jpp;
  std::filesystem::path cache_dir;   // empty: the cache lives in memory only
  double checkpoint_seconds = 1;     // the cache file is rewritten at most this often while
                                     // data arrives (and at close), merged with other writers
  std::uint64_t initial_len = 2000;  // `len` of the session-opening request
  std::uint64_t window_len = 16384;  // first `len` of a window's requests
  std::uint64_t max_len = std::uint64_t{8} << 20;
  double target_response_seconds = 0.3;  // len follows throughput * this
  std::uint64_t memory_limit = 0;        // bytes of data-bins held; 0 = no limit
  bool use_session = true;               // false: stateless requests only
  double reconnect_seconds = 30;         // give up after failing for this long
  int decode_threads = 1;                // tiles decoded in parallel
  std::uint64_t decoded_cache_bytes = std::uint64_t{128} << 20;  // decoded tiles kept; 0 = none
  std::uint32_t codestream = 0;  // the codestream browsed (JPIP `stream`); open() fails when the
                                 // target has no codestream of that number
};

// What the headers say of the image. One model, read by the client's worker and decoder, the
// GDAL driver and `pipit get`: the core's codestream model of the header bins, and the core's
// description of metadata-bin 0's boxes. Nothing here is a copy of them; the accessors read them.
struct image_info {
  // The headers-only index of the codestream browsed (SIZ, coding defaults, each tile's coding and
  // geometry), built once by open() from the main header and the tile header bins then held.
  std::shared_ptr<const codestream_index> codestream;
  // metadata-bin 0's boxes as the core's box reader describes them (ihdr, colr, cdef, the
  // GeoJP2, GMLJP2 and xml boxes' payloads); empty for a raw codestream, or for a header the box
  // reader cannot describe (a server's placeholder boxes, say: the pixels do not depend on it).
  std::optional<jp2_description> jp2;
  bool is_jp2 = false;
  std::uint32_t csn = 0;              // the number of that codestream in the target
  std::uint32_t num_codestreams = 1;  // codestreams of the target (a JPX may have several)
  std::string target_id;
  // A JP2 file made of metadata-bin 0's boxes around a codestream with the headers and no
  // packet data: the bytes `jp2` describes (its georeferencing payloads are ranges of it).
  // Empty for a raw codestream.
  std::vector<std::uint8_t> jp2_header;

  const image_size& siz() const { return codestream->siz; }
  std::size_t num_components() const { return codestream->siz.components.size(); }
  const component_size& component(std::size_t c) const { return codestream->siz.components[c]; }
  std::uint32_t levels() const { return codestream->levels(); }  // discardable levels
  std::uint32_t layers() const { return codestream->layers(); }  // quality layers
  bool mct() const { return codestream->mct(); }  // a multiple component transform joins 0-2
  bool ht() const { return codestream->ht; }      // HTJ2K code-blocks
  image_geometry geometry() const { return geometry_of(*codestream); }
  // The one sample type of every band (sample_type_of).
  sample_type samples() const { return sample_type_of(codestream->siz); }
  // colr EnumCS (0: no enumerated colour space, or no JP2).
  std::uint32_t enum_cs() const { return jp2 && jp2->colour_method == 1 ? jp2->enum_cs : 0; }
  // Per component, as JP2OpenJPEG interprets colr and cdef (channel_colours); all undefined for
  // a raw codestream.
  std::vector<band_colour> colours() const {
    return jp2 ? channel_colours(*jp2, num_components())
               : std::vector<band_colour>(num_components(), band_colour::undefined);
  }

  std::uint32_t width() const { return siz().width(); }
  std::uint32_t height() const { return siz().height(); }
  std::uint32_t width_at(std::uint32_t d) const { return siz().width_at(d); }
  std::uint32_t height_at(std::uint32_t d) const { return siz().height_at(d); }
};

// A view-window: `region` of the frame at `discard_levels`, in the frame's coordinates (its first
// sample is (0, 0)).
struct window {
  std::uint32_t discard_levels = 0;
  rect region;
  std::vector<std::uint32_t> comps;  // empty: all components
  std::uint32_t layers = 0;          // 0: all layers
};

// Samples of a decoded window: one plane per requested component, row-major.
struct decoded_window {
  struct plane {
    std::uint32_t component = 0;
    std::uint32_t width = 0, height = 0;
    std::vector<std::int32_t> samples;
  };
  std::vector<plane> planes;
};

// 4:2:0 images: Y, Cb, Cr (and a full-size fourth component) with Cb and Cr halved both ways, of
// an even-sized image at the grid's origin, 8-bit unsigned, not declared sRGB (what GDAL writes
// with YCBCR420=YES). GDAL's JP2OpenJPEG reads them as RGB (and alpha) bands at the size of Y,
// each sample made from a Y sample and the Cb and Cr samples at half its coordinates; the GDAL
// driver and `pipit get` read them so, through these.
inline bool is_ycbcr420(const image_info& info) {
  const image_size& siz = info.siz();
  const auto& c = siz.components;
  if ((c.size() != 3 && c.size() != 4) || info.enum_cs() == 16 || siz.XOsiz != 0 ||
      siz.YOsiz != 0 || siz.Xsiz % 2 != 0 || siz.Ysiz % 2 != 0)
    return false;
  for (std::size_t i = 0; i < c.size(); ++i) {
    const unsigned sub = i == 1 || i == 2 ? 2 : 1;
    if (c[i].XRsiz != sub || c[i].YRsiz != sub || c[i].precision > 8 || c[i].is_signed)
      return false;
  }
  return true;
}
// The window to fetch and decode for the bands' window `w`: every component, from an even corner.
window ycbcr420_source(const window& w);
// The bands of `w` (components w.comps, all when empty; 0-2 are R, G, B) from the decode of
// ycbcr420_source(w).
result<decoded_window> ycbcr420_to_rgb(const window& w, const decoded_window& source);

enum class window_state : std::uint8_t { pending, complete, failed, cancelled };

struct window_status {
  window_state state = window_state::pending;
  std::uint64_t generation = 0;  // counts responses that brought data for this window
  std::uint64_t bytes = 0;       // bytes of JPP messages received for it
  error failure;                 // when state == failed
};

// A queued window; shared by the caller and the client's worker.
class window_handle {
 public:
  virtual ~window_handle() = default;
  virtual window_status status() const = 0;
  // Blocks until the generation exceeds `seen_generation`, the state is final, or the timeout.
  virtual window_status wait(std::uint64_t seen_generation,
                             std::chrono::milliseconds timeout) const = 0;
  // Stops serving the window (a request under way finishes first).
  virtual void cancel() = 0;
  virtual const window& view() const = 0;
};

struct transfer_stats {
  std::uint64_t requests = 0;
  std::uint64_t body_bytes = 0;  // HTTP body bytes received
  std::uint64_t new_bytes = 0;   // data-bin bytes received that the cache did not hold
  std::uint64_t sessions = 0;    // sessions opened (1 + reconnections)
  std::uint64_t reconnects = 0;
  std::uint64_t cached_bytes = 0;  // bytes held in the data-bin cache
  bool loaded_from_disk = false;   // the persistent cache was reused
  bool stateless = false;
  std::uint64_t cells_decoded = 0;  // tile components decoded (tiles, or blocks of one big tile)
  std::uint64_t cells_decoded_openjph = 0;  // of which decoded by OpenJPH (HTJ2K tiles)
  std::uint64_t cells_reused = 0;           // tile components taken from the decoded-tile cache
  std::uint64_t decoded_cache_bytes = 0;    // bytes of samples in the decoded-tile cache
};

class jpip_client {
 public:
  // Opens a session to `url` (jpip://, jpips://, http://, https://) and reads the headers.
  // Errors: errc::not_found (target missing, HTTP 404), errc::io (unreachable, TLS, HTTP
  // errors; the message says which), errc::corrupt (a bad JPP-stream or headers).
  static result<std::unique_ptr<jpip_client>> open(std::string_view url,
                                                   const client_options& options = {});
  virtual ~jpip_client() = default;

  virtual const image_info& info() const = 0;

  // Queues a window; a higher `priority` is served first. Windows already served entirely by
  // the cache complete without a request.
  virtual std::shared_ptr<window_handle> request(const window& w, int priority = 0) = 0;
  // request() and wait for the final state.
  virtual result<void> fetch(const window& w, int priority = 0) = 0;
  // Decodes the window from what the cache holds now.
  virtual result<decoded_window> decode(const window& w) = 0;

  // Closes the session (cclose) and saves the cache; also done by the destructor.
  virtual void close() = 0;
  virtual transfer_stats stats() const = 0;
};

}  // namespace pipit::client
