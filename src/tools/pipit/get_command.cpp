// `pipit get URL -o OUT [window]`: fetch a view-window with the JPIP client and write it.
//
//   OUT.tif / OUT.tiff   a GeoTIFF (GDAL's GTiff driver, DEFLATE): the geotransform of the JP2's
//                        GeoJP2/GMLJP2 boxes adjusted for the region and the level, and its SRS;
//   OUT.png              a PNG (8 or 16 bits; georeferencing in OUT.png.aux.xml);
//   anything else        OUT_0.pgx, OUT_1.pgx, ... one per component, like opj_decompress.
//
// The window: --region X,Y,W,H (in the frame at --level, or at full resolution with --size),
// --level N (resolution levels discarded) or --size W,H (the output size: the smallest level at
// least that large is fetched, then resampled), --layers L, --bands 1,2,3 (GDAL's 1-based band
// numbers; --comps takes 0-based component numbers). With --cache DIR the data-bins are kept in
// DIR: an interrupted run (Ctrl-C) saves what it received and the next run resumes from it.
//
// Exit codes: 0 written; 1 the server, the network or the output failed (or interrupted);
// 2 usage (bad options, a window outside the image, a format that cannot hold the samples).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <dlfcn.h>

#include "commands.hpp"
#include "get_output.hpp"
#include "pipit/client.hpp"

namespace pipit::tools {
namespace {

std::atomic<bool> g_interrupted{false};
extern "C" void on_interrupt(int) { g_interrupted = true; }

// The GDAL output module (get_output.hpp), loaded on first use; null with a message when missing.
const gdal_output_api* gdal_output() {
  static const gdal_output_api* api = []() -> const gdal_output_api* {
    std::string tried;
    // The folder of the running binary.
    std::string dir(4096, '\0');
    const ssize_t n = readlink("/proc/self/exe", dir.data(), dir.size());
    dir.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    dir.erase(dir.find_last_of('/') + 1);
    for (const std::string& path : {dir + "pipit_gdal_output.so",
                                    dir + PIPIT_GDAL_OUTPUT_FROM_BINDIR "/pipit_gdal_output.so"}) {
      void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (h == nullptr) {
        tried += std::string("\n  ") + dlerror();
        continue;
      }
      using entry = const gdal_output_api* (*)();
      if (auto f = reinterpret_cast<entry>(dlsym(h, "pipit_gdal_output_api")); f != nullptr)
        return f();
      tried += "\n  " + path + ": no pipit_gdal_output_api";
    }
    std::fprintf(stderr,
                 "pipit get: cannot load GDAL's output module (GeoTIFF, PNG, progress):%s\n",
                 tried.c_str());
    return nullptr;
  }();
  return api;
}

bool ends_with_ci(const std::string& s, const std::string& suffix) {
  if (s.size() < suffix.size()) return false;
  return std::equal(suffix.rbegin(), suffix.rend(), s.rbegin(),
                    [](char a, char b) { return std::tolower(a) == std::tolower(b); });
}

out_format format_of(const std::string& out) {
  if (ends_with_ci(out, ".tif") || ends_with_ci(out, ".tiff")) return out_format::gtiff;
  if (ends_with_ci(out, ".png")) return out_format::png;
  return out_format::pgx;
}

bool parse_numbers(const std::string& s, std::vector<std::uint32_t>& out) {
  std::size_t pos = 0;
  while (pos <= s.size()) {
    std::size_t end = s.find(',', pos);
    if (end == std::string::npos) end = s.size();
    const std::string item = s.substr(pos, end - pos);
    if (item.empty() || item.find_first_not_of("0123456789") != std::string::npos) return false;
    try {
      out.push_back(static_cast<std::uint32_t>(std::stoul(item)));
    } catch (...) {
      return false;
    }
    pos = end + 1;
  }
  return !out.empty();
}

bool write_pgx(const std::string& path, const client::decoded_window::plane& p,
               const component_size& ci) {
  std::ofstream f(path, std::ios::binary);
  f << "PG ML " << (ci.is_signed ? "- " : "+ ") << int(ci.precision) << " " << p.width << " "
    << p.height << "\n";
  const int bytes = ci.precision <= 8 ? 1 : ci.precision <= 16 ? 2 : 4;
  std::vector<char> buf(p.samples.size() * bytes);
  for (std::size_t i = 0; i < p.samples.size(); ++i) {
    const auto v = static_cast<std::uint32_t>(p.samples[i]);
    for (int b = 0; b < bytes; ++b)
      buf[i * bytes + b] = static_cast<char>(v >> (8 * (bytes - 1 - b)));
  }
  f.write(buf.data(), static_cast<std::streamsize>(buf.size()));
  return static_cast<bool>(f);
}

// Fills p from the options; returns an error message (usage) or "".
std::string make_plan(const get_options& o, const client::image_info& info, plan& p) {
  std::vector<std::uint32_t> region, size;
  if (!o.region.empty() &&
      (!parse_numbers(o.region, region) || region.size() != 4 || region[2] == 0 || region[3] == 0))
    return "--region wants X,Y,W,H with W and H above 0";
  if (!o.size.empty() &&
      (!parse_numbers(o.size, size) || size.size() != 2 || size[0] == 0 || size[1] == 0))
    return "--size wants W,H with W and H above 0";
  if (!o.comps.empty() && !parse_numbers(o.comps, p.w.comps))
    return "--comps wants C,C,... (0-based)";
  if (!o.bands.empty()) {
    std::vector<std::uint32_t> b;
    if (!parse_numbers(o.bands, b)) return "--bands wants B,B,... (1-based)";
    for (auto v : b) {
      if (v == 0) return "--bands are numbered from 1";
      p.w.comps.push_back(v - 1);
    }
  }
  for (auto c : p.w.comps)
    if (c >= info.num_components())
      return "the image has " + std::to_string(info.num_components()) + " bands (components 0-" +
             std::to_string(info.num_components() - 1) + ")";
  p.w.layers = o.layers;
  if (!size.empty()) {
    // Region in full-resolution pixels; the level: the most discarded whose frame still covers
    // size.
    std::uint32_t rx = 0, ry = 0, rw = info.width(), rh = info.height();
    if (!region.empty()) {
      rx = region[0];
      ry = region[1];
      rw = region[2];
      rh = region[3];
    }
    if (std::uint64_t{rx} + rw > info.width() || std::uint64_t{ry} + rh > info.height())
      return "--region is outside the image (" + std::to_string(info.width()) + "x" +
             std::to_string(info.height()) + " at full resolution)";
    std::uint32_t d = 0;
    while (d < info.levels()) {
      const double sx = double(info.width_at(d + 1)) / info.width(),
                   sy = double(info.height_at(d + 1)) / info.height();
      if (rw * sx < size[0] || rh * sy < size[1]) break;
      ++d;
    }
    const double sx = double(info.width_at(d)) / info.width(),
                 sy = double(info.height_at(d)) / info.height();
    const auto x0 = static_cast<std::uint32_t>(rx * sx), y0 = static_cast<std::uint32_t>(ry * sy);
    const auto x1 =
        std::min(info.width_at(d), static_cast<std::uint32_t>(std::ceil((rx + rw) * sx)));
    const auto y1 =
        std::min(info.height_at(d), static_cast<std::uint32_t>(std::ceil((ry + rh) * sy)));
    p.w.discard_levels = d;
    p.w.region = rect{x0, y0, std::int64_t{x0} + std::max(1u, x1 - x0),
                      std::int64_t{y0} + std::max(1u, y1 - y0)};
    p.out_w = size[0];
    p.out_h = size[1];
    p.full_x = rx;
    p.full_y = ry;
    p.scale_x = double(rw) / size[0];
    p.scale_y = double(rh) / size[1];
    return "";
  }
  if (o.level > info.levels())
    return "--level " + std::to_string(o.level) + ": the image has " +
           std::to_string(info.levels()) + " levels to discard (0-" +
           std::to_string(info.levels()) + ")";
  const std::uint32_t fw = info.width_at(o.level), fh = info.height_at(o.level);
  p.w.discard_levels = o.level;
  p.w.region = rect{0, 0, fw, fh};
  if (!region.empty()) {
    if (std::uint64_t{region[0]} + region[2] > fw || std::uint64_t{region[1]} + region[3] > fh)
      return "--region " + o.region + " is outside the frame at level " + std::to_string(o.level) +
             " (" + std::to_string(fw) + "x" + std::to_string(fh) + ")";
    p.w.region = rect{region[0], region[1], std::int64_t{region[0]} + region[2],
                      std::int64_t{region[1]} + region[3]};
  }
  p.out_w = static_cast<std::uint32_t>(p.w.region.width());
  p.out_h = static_cast<std::uint32_t>(p.w.region.height());
  // GDAL's convention for overviews: full size over reduced size.
  p.scale_x = double(info.width()) / fw;
  p.scale_y = double(info.height()) / fh;
  p.full_x = static_cast<double>(p.w.region.x0) * p.scale_x;
  p.full_y = static_cast<double>(p.w.region.y0) * p.scale_y;
  return "";
}

// The window at a coarser level `d` (>= w.discard_levels) covering the same area.
client::window coarser(const client::window& w, const client::image_info& info, std::uint32_t d) {
  client::window c = w;
  c.discard_levels = d;
  const double sx = double(info.width_at(d)) / info.width_at(w.discard_levels);
  const double sy = double(info.height_at(d)) / info.height_at(w.discard_levels);
  auto x0 = static_cast<std::uint32_t>(static_cast<double>(w.region.x0) * sx);
  auto y0 = static_cast<std::uint32_t>(static_cast<double>(w.region.y0) * sy);
  const auto x1 =
      std::min(info.width_at(d),
               static_cast<std::uint32_t>(std::ceil(static_cast<double>(w.region.x1) * sx)));
  const auto y1 =
      std::min(info.height_at(d),
               static_cast<std::uint32_t>(std::ceil(static_cast<double>(w.region.y1) * sy)));
  const std::uint32_t cw = std::max<std::uint32_t>(1, x1 > x0 ? x1 - x0 : 0);
  const std::uint32_t ch = std::max<std::uint32_t>(1, y1 > y0 ? y1 - y0 : 0);
  if (x0 >= info.width_at(d)) x0 = info.width_at(d) - 1;
  if (y0 >= info.height_at(d)) y0 = info.height_at(d) - 1;
  c.region = rect{x0, y0, std::int64_t{x0} + cw, std::int64_t{y0} + ch};
  return c;
}

// Waits for a window; 0 complete, 1 failed or interrupted.
int wait_window(client::jpip_client& c, const client::window& w) {
  auto h = c.request(w);
  auto st = h->status();
  while (st.state == client::window_state::pending) {
    if (g_interrupted) {
      h->cancel();
      return 1;
    }
    st = h->wait(st.generation, std::chrono::milliseconds(200));
  }
  if (st.state != client::window_state::complete) {
    std::fprintf(stderr, "pipit get: %s\n", st.failure.to_string().c_str());
    return 1;
  }
  return 0;
}

// The client decodes components in ascending order: put them in the order --bands asked for.
client::decoded_window in_requested_order(client::decoded_window d,
                                          const std::vector<std::uint32_t>& comps) {
  if (comps.empty()) return d;
  client::decoded_window r;
  for (auto c : comps)
    for (const auto& pl : d.planes)
      if (pl.component == c) {
        r.planes.push_back(pl);
        break;
      }
  return r;
}

int run_get(const get_options& o) {
  const out_format fmt = format_of(o.out);
  if (!o.size.empty() && o.level != 0) {
    std::fprintf(stderr, "pipit get: --level and --size exclude each other\n");
    return 2;
  }
  if (!o.size.empty() && fmt == out_format::pgx) {
    std::fprintf(stderr, "pipit get: --size needs a .tif or .png output\n");
    return 2;
  }
  const bool progress = !o.quiet && (o.progress || isatty(STDOUT_FILENO)) && !o.stats;
  const gdal_output_api* gdal = nullptr;
  if (fmt != out_format::pgx || progress) {
    gdal = gdal_output();
    if (gdal == nullptr) return 1;
    gdal->init(fmt);
  }

  // From here on Ctrl-C (or SIGTERM) stops the fetch, and the cache keeps what arrived.
  g_interrupted = false;
  auto old_int = std::signal(SIGINT, on_interrupt);
  auto old_term = std::signal(SIGTERM, on_interrupt);
  struct restore_signals {
    decltype(old_int) i, t;
    ~restore_signals() {
      std::signal(SIGINT, i);
      std::signal(SIGTERM, t);
    }
  } restore{old_int, old_term};
  client::client_options co;
  co.cache_dir = o.cache_dir;
  co.transport.verify_tls = !o.insecure;
  co.transport.ca_file = o.ca_file;
  co.transport.user_password = o.user;
  co.transport.auth = o.auth;
  co.transport.bearer = o.bearer;
  if (!o.bearer.empty() && o.auth.empty()) co.transport.auth = "bearer";
  co.transport.headers = o.headers;
  co.transport.header_file = o.header_file;
  co.transport.cookie = o.cookie;
  co.transport.proxy = o.proxy;
  co.transport.proxy_auth = o.proxy_user;
  if (o.connect_timeout >= 0)
    co.transport.connect_timeout_ms = static_cast<long>(std::ceil(o.connect_timeout * 1000));
  if (o.timeout >= 0) co.transport.timeout_ms = static_cast<long>(std::ceil(o.timeout * 1000));
  if (o.low_speed_time >= 0) co.transport.low_speed_seconds = o.low_speed_time;
  if (o.low_speed_limit >= 0) co.transport.low_speed_limit = std::max(1L, o.low_speed_limit);
  if (o.max_retry >= 0) co.transport.max_retry = o.max_retry;
  if (o.retry_delay >= 0) co.transport.retry_delay_seconds = o.retry_delay;
  co.use_session = !o.stateless;
  // One decode at the end: keeping decoded tiles would only copy them.
  co.decoded_cache_bytes = 0;
  if (o.stream_type == "jpt") co.stream = client::stream_kind::jpt;
  co.codestream = o.stream;
  co.decode_threads = static_cast<int>(
      o.threads > 0 ? o.threads : std::max(1u, std::thread::hardware_concurrency()));
  if (o.max_len > 0) {
    co.max_len = o.max_len;
    co.window_len = std::min(co.window_len, o.max_len);
  }
  auto c = client::jpip_client::open(o.url, co);
  if (!c) {
    std::fprintf(stderr, "pipit get: %s\n", c.error().to_string().c_str());
    return 1;
  }
  const auto& info = (*c)->info();
  plan p;
  if (const std::string why = make_plan(o, info, p); !why.empty()) {
    std::fprintf(stderr, "pipit get: %s\n", why.c_str());
    return 2;
  }
  if (progress && (*c)->stats().loaded_from_disk)
    std::fprintf(stderr, "pipit get: resuming from the cache in %s (%llu bytes held)\n",
                 o.cache_dir.c_str(), static_cast<unsigned long long>((*c)->stats().cached_bytes));

  // A 4:2:0 image goes to GDAL formats as JP2OpenJPEG reads it, RGB(A) bands at the size of Y
  // (client::is_ycbcr420); PGX files keep the components as they are.
  const bool rgb420 = fmt != out_format::pgx && client::is_ycbcr420(info);
  const client::window fetched = rgb420 ? client::ycbcr420_source(p.w) : p.w;
  int rc = 0;
  if (progress) {
    // Fetch the coarsest level of the window first, then each finer one: the server sends low
    // resolutions first anyway, and each level completed is a known share of the pixels.
    gdal->progress(0.0);
    const std::uint32_t target = p.w.discard_levels;
    double total = 0, done = 0;
    for (std::uint32_t d = target; d <= info.levels(); ++d)
      total += std::ldexp(1.0, -2 * int(d - target));
    for (std::uint32_t d = info.levels() + 1; d-- > target && rc == 0;) {
      rc = wait_window(**c, d == target ? fetched : coarser(fetched, info, d));
      done += std::ldexp(1.0, -2 * int(d - target));
      if (rc == 0) gdal->progress(0.9 * done / total);
    }
  } else {
    rc = wait_window(**c, fetched);
  }
  if (rc == 0 && g_interrupted) rc = 1;
  if (rc != 0) {
    if (progress) std::printf("\n");
    const auto s = (*c)->stats();
    (*c)->close();  // saves the cache folder
    if (g_interrupted) {
      if (!o.cache_dir.empty())
        std::fprintf(
            stderr,
            "pipit get: interrupted; %llu bytes kept in %s: run the same command again to resume\n",
            static_cast<unsigned long long>(s.cached_bytes), o.cache_dir.c_str());
      else
        std::fprintf(stderr, "pipit get: interrupted (give --cache DIR to resume later)\n");
    }
    return 1;
  }
  auto d = (*c)->decode(fetched);
  if (d && rgb420) d = client::ycbcr420_to_rgb(p.w, *d);
  if (!d) {
    std::fprintf(stderr, "pipit get: %s\n", d.error().to_string().c_str());
    return 1;
  }
  const auto s = (*c)->stats();
  (*c)->close();
  const std::size_t nbands = d->planes.size();  // the GDAL writer takes the planes
  if (fmt == out_format::pgx) {
    for (const auto& pl : d->planes) {
      const std::string path = o.out + "_" + std::to_string(pl.component) + ".pgx";
      if (!write_pgx(path, pl, info.component(pl.component))) {
        std::fprintf(stderr, "pipit get: cannot write %s\n", path.c_str());
        return 1;
      }
    }
  } else if (d->planes.empty()) {
    std::fprintf(stderr, "pipit get: nothing decoded\n");
    return 1;
  } else if (int w = gdal->write(o, fmt, info, p, in_requested_order(std::move(*d), p.w.comps));
             w != 0) {
    if (progress) std::printf("\n");
    return w;
  }
  if (progress) gdal->progress(1.0);
  if (o.stats) {
    std::printf(
        "{\"requests\": %llu, \"body_bytes\": %llu, \"new_bytes\": %llu, \"sessions\": %llu, "
        "\"reconnects\": %llu, "
        "\"cached_bytes\": %llu, \"loaded_from_disk\": %s, \"stateless\": %s, "
        "\"tiles_decoded\": %llu, \"tiles_decoded_openjph\": %llu, "
        "\"level\": %u, \"width\": %u, \"height\": %u}\n",
        static_cast<unsigned long long>(s.requests), static_cast<unsigned long long>(s.body_bytes),
        static_cast<unsigned long long>(s.new_bytes), static_cast<unsigned long long>(s.sessions),
        static_cast<unsigned long long>(s.reconnects),
        static_cast<unsigned long long>(s.cached_bytes), s.loaded_from_disk ? "true" : "false",
        s.stateless ? "true" : "false", static_cast<unsigned long long>(s.cells_decoded),
        static_cast<unsigned long long>(s.cells_decoded_openjph), p.w.discard_levels, p.out_w,
        p.out_h);
  } else if (!o.quiet && fmt != out_format::pgx) {
    std::fprintf(stderr, "pipit get: wrote %s (%ux%u, %zu band%s, level %u; %llu bytes received)\n",
                 o.out.c_str(), p.out_w, p.out_h, nbands, nbands == 1 ? "" : "s",
                 p.w.discard_levels, static_cast<unsigned long long>(s.body_bytes));
  }
  return 0;
}

}  // namespace

command register_get(CLI::App& app) {
  auto o = std::make_shared<get_options>();
  auto* sub = app.add_subcommand(
      "get", "Fetch a view-window from a JPIP server and write it as GeoTIFF, PNG or PGX");
  sub->add_option("url", o->url, "jpip://host:port/path or jpips://...")->required();
  sub->add_option("-o,--output", o->out,
                  "OUT.tif (GeoTIFF), OUT.png, or a prefix for OUT_<component>.pgx")
      ->required();
  auto* level = sub->add_option("--level", o->level, "resolution levels to discard");
  sub->add_option("--size", o->size,
                  "W,H: output size (fetches the smallest level at least this large)")
      ->excludes(level);
  sub->add_option("--region", o->region,
                  "X,Y,W,H in the frame at --level (full resolution with --size)");
  sub->add_option("--layers", o->layers, "quality layers (0: all)");
  sub->add_option("--stream", o->stream,
                  "codestream to read, of a target of several (a JPX's frames; default 0)");
  sub->add_option("--bands", o->bands, "bands, 1-based, e.g. 1,2,3");
  sub->add_option("--comps", o->comps, "components, 0-based, e.g. 0,2");
  sub->add_option("--cache,--cache-dir", o->cache_dir,
                  "persistent cache folder (resumes an interrupted get)");
  sub->add_option("--ca-file", o->ca_file, "PEM file of trusted certificates");
  sub->add_option("--max-len", o->max_len, "largest len of a request");
  sub->add_option("--threads", o->threads, "decoding threads (default: one per CPU)");
  sub->add_flag("--insecure", o->insecure, "do not verify TLS certificates");
  const char* http = "HTTP (as GDAL_HTTP_* for the GDAL driver)";
  sub->add_option("--user", o->user, "USER:PASSWORD for the server (also user:password@ in URL)")
      ->group(http);
  sub->add_option("--auth", o->auth,
                  "authentication scheme: basic (default), digest, ntlm, negotiate, any, "
                  "anysafe, bearer")
      ->group(http);
  sub->add_option("--bearer", o->bearer, "OAuth 2 bearer token (Authorization: Bearer)")
      ->group(http);
  sub->add_option("-H,--header", o->headers, "'Name: value' added to every request (repeatable)")
      ->group(http);
  sub->add_option("--header-file", o->header_file,
                  "file of 'Name: value' lines, read before each request")
      ->group(http);
  sub->add_option("--cookie", o->cookie, "'name=value; name2=value2'")->group(http);
  sub->add_option("--proxy", o->proxy, "proxy host:port or URL")->group(http);
  sub->add_option("--proxy-user", o->proxy_user, "USER:PASSWORD for the proxy")->group(http);
  sub->add_option("--connect-timeout", o->connect_timeout, "seconds to connect (default 30)")
      ->group(http);
  sub->add_option("--timeout", o->timeout,
                  "seconds a request may take (default: none, but 30 s without data fail it)")
      ->group(http);
  sub->add_option("--low-speed-time", o->low_speed_time,
                  "a request below --low-speed-limit for this many seconds fails (default 30; "
                  "0: never)")
      ->group(http);
  sub->add_option("--low-speed-limit", o->low_speed_limit, "bytes per second (default 1)")
      ->group(http);
  sub->add_option("--max-retry", o->max_retry,
                  "retries of a request that timed out or got HTTP 429/5xx (default 0)")
      ->group(http);
  sub->add_option("--retry-delay", o->retry_delay,
                  "seconds before the first retry, doubled for each next one (default 30)")
      ->group(http);
  sub->add_flag("--stateless", o->stateless, "do not open a session");
  sub->add_option("--stream-type", o->stream_type,
                  "jpp (precinct data-bins, the default) or jpt (tile data-bins, for servers that "
                  "speak only JPT-streams)")
      ->check(CLI::IsMember({"jpp", "jpt"}));
  sub->add_flag("--stats", o->stats, "print transfer statistics as JSON");
  sub->add_flag("-q,--quiet", o->quiet, "no progress bar, no summary");
  sub->add_flag("--progress", o->progress,
                "show the progress bar even when stdout is not a terminal");
  return command{sub, [o] { return run_get(*o); }};
}

}  // namespace pipit::tools
