// Shared by `pipit get` (get_command.cpp) and its GDAL output module (get_gdal_output.cpp).
//
// GDAL, with the hundred-odd libraries it loads, is needed only to write a GeoTIFF or a PNG (and
// for the progress bar): loading it costs every run a tenth of a second of start-up, which a
// window fetched to PGX files does not need. So the GDAL part of `pipit get` is a module,
// pipit_gdal_output.so, that get_command.cpp loads with dlopen when it needs it (beside the
// pipit binary in the build tree, in LIBDIR/pipit once installed).
//
// Thread-safety: the module's functions are called from the main thread only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pipit/client.hpp"

namespace pipit::tools {

struct get_options {
  std::string url, out, region, comps, bands, size, cache_dir, ca_file, stream_type = "jpp";
  // HTTP: the settings GDAL's driver takes from GDAL_HTTP_* (docs/man/pipit-get.1).
  std::string user, auth, bearer, header_file, cookie, proxy, proxy_user;
  std::vector<std::string> headers;
  double connect_timeout = -1, timeout = -1, retry_delay = -1;
  long low_speed_time = -1, low_speed_limit = -1;
  int max_retry = -1;
  unsigned level = 0, layers = 0;
  std::uint64_t max_len = 0;
  std::uint32_t stream = 0;  // the codestream read (--stream)
  unsigned threads = 0;      // decode threads; 0: one per CPU
  bool insecure = false, stateless = false, stats = false, quiet = false, progress = false;
};

enum class out_format { pgx, gtiff, png };

// The window to fetch and how its pixels map to full-resolution pixels.
struct plan {
  client::window w;
  std::uint32_t out_w = 0, out_h = 0;  // output size (differs from w.region's only with --size)
  double full_x = 0, full_y = 0;       // top-left corner in full-resolution pixels
  double scale_x = 1, scale_y = 1;     // full-resolution pixels per output pixel
};

// The module's entry points.
struct gdal_output_api {
  // GDALAllRegister, and PAM (.aux.xml, which carries a PNG's georeferencing) for PNG only.
  void (*init)(out_format fmt);
  // Writes the decoded planes; returns 0, 1 (write failed) or 2 (format cannot hold them).
  int (*write)(const get_options& o, out_format fmt, const client::image_info& info, const plan& p,
               const client::decoded_window& d);
  void (*progress)(double done);  // GDALTermProgress
};

}  // namespace pipit::tools

// The one symbol the module exports.
extern "C" const pipit::tools::gdal_output_api* pipit_gdal_output_api();
