#include "ht_decoder.hpp"

// OpenJPH's headers need ojph_arch.h first (it defines OJPH_EXPORT).
// clang-format off
#include <openjph/ojph_arch.h>
#include <openjph/ojph_codestream.h>
#include <openjph/ojph_file.h>
#include <openjph/ojph_mem.h>
#include <openjph/ojph_message.h>
#include <openjph/ojph_params.h>
// clang-format on

#include <algorithm>
#include <array>
#include <cstdarg>
#include <cstdio>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace pipit::client {
namespace {

// OpenJPH's message classes have virtual functions and no virtual destructor; these objects are
// static and never deleted through a base pointer.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
// OpenJPH reports errors through a process-wide handler and expects it not to return (its
// default prints to stderr and throws): this one throws the message, and prints nothing.
class throwing_error : public ojph::message_error {
 public:
  void operator()(int code, const char* file, int line, const char* fmt, ...) override {
    std::array<char, 512> text{};
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(text.data(), text.size(), fmt, ap);  // NOLINT(cert-err33-c): truncation is fine
    va_end(ap);
    throw std::runtime_error(std::string(text.data()) + " (" + file + ":" + std::to_string(line) +
                             ", code " + std::to_string(code) + ")");
  }
};
// Warnings and information are dropped: the result is checked, not the chatter.
class silent_warning : public ojph::message_warning {
 public:
  void operator()(int /*code*/, const char* /*file*/, int /*line*/, const char* /*fmt*/,
                  ...) override {}
};
class silent_info : public ojph::message_info {
 public:
  void operator()(int /*code*/, const char* /*file*/, int /*line*/, const char* /*fmt*/,
                  ...) override {}
};

#pragma GCC diagnostic pop

void install_handlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    static throwing_error error;
    static silent_warning warning;
    static silent_info info;
    ojph::configure_error(&error);
    ojph::configure_warning(&warning);
    ojph::configure_info(&info);
  });
}

struct planes_owner {
  // Not value-initialised: every sample is written from OpenJPH's lines.
  std::vector<std::unique_ptr<std::int32_t[]>> samples;  // NOLINT(modernize-avoid-c-arrays)
};

// dst[x] = src[x] clamped to [lo, hi]; a loop the compiler vectorises (no aliasing).
void clamp_line(const std::int32_t* __restrict src, std::int32_t* __restrict dst, std::uint32_t n,
                std::int32_t lo, std::int32_t hi) {
  for (std::uint32_t x = 0; x < n; ++x) {
    const std::int32_t v = src[x] < lo ? lo : src[x];
    dst[x] = v > hi ? hi : v;
  }
}

// Main header markers OpenJPH 0.9 reads as OpenJPEG does (the rebuild drops TLM, PLM, PPM, POC).
bool main_marker_ok(std::uint16_t code) {
  return code == SIZ || code == CAP || code == COD || code == QCD || code == COM || code == CRG ||
         code == CPF || code == PRF;
}

}  // namespace

bool ht_decodable(const codestream_index& ix) {
  if (!ix.ht) return false;
  for (const auto& m : ix.main_markers)
    if (!main_marker_ok(m.code)) return false;
  for (const auto& tp : ix.tile_parts)
    if (!tp.markers.empty()) return false;
  for (const auto& c : ix.siz.components)
    if (c.precision > 16) return false;
  for (const auto& te : ix.tiles) {
    if (te.coding.layers != 1 || !te.coding.pocs.empty()) return false;
    for (const auto& cc : te.coding.components) {
      // HT code-blocks only (bit 6 set, bit 7 clear: not the mixed mode; 15444-15 A.4), 5/3.
      if ((cc.cblk_style & 0xC0) != cblk_ht || cc.transform != 1) return false;
    }
  }
  return true;
}

result<decoded_area> decode_tile_openjph(bytes_view codestream, const image_size& image,
                                         const rect& area, std::uint32_t discard_levels) {
  install_handlers();
  const std::uint32_t d = discard_levels;
  const auto n = static_cast<std::uint32_t>(image.components.size());
  auto owner = std::make_shared<planes_owner>();
  decoded_area out;
  try {
    ojph::mem_infile file;
    file.open(codestream.data(), codestream.size());
    ojph::codestream cs;
    cs.read_headers(&file);
    cs.restrict_input_resolution(d, d);
    cs.set_planar(false);  // required with a colour transform; lines come component by component
    cs.create();
    ojph::param_siz siz = cs.access_siz();
    if (siz.get_num_components() != n)
      return fail(errc::corrupt, no_offset, "OpenJPH: the tile has another component count");
    std::vector<std::uint32_t> widths(n), heights(n), rows(n, 0);
    std::uint64_t lines = 0;
    owner->samples.resize(n);
    for (std::uint32_t c = 0; c < n; ++c) {
      const auto& ci = image.components[c];
      widths[c] = siz.get_recon_width(c);
      heights[c] = siz.get_recon_height(c);
      const rect on_comp = at_level(area, ci.XRsiz, ci.YRsiz, d);
      const std::int64_t w = on_comp.width(), h = on_comp.height();
      if (widths[c] != w || heights[c] != h)
        return fail(errc::corrupt, no_offset,
                    "OpenJPH: component " + std::to_string(c) + " decodes to " +
                        std::to_string(widths[c]) + "x" + std::to_string(heights[c]) +
                        " samples, not the tile's " + std::to_string(w) + "x" + std::to_string(h));
      owner->samples[c].reset(new std::int32_t[std::size_t{widths[c]} *
                                               heights[c]]);  // NOLINT(modernize-avoid-c-arrays)
      lines += heights[c];
    }
    for (std::uint64_t k = 0; k < lines; ++k) {
      ojph::ui32 c = 0;
      const ojph::line_buf* line = cs.pull(c);
      if (line == nullptr || c >= n || rows[c] >= heights[c])
        return fail(errc::corrupt, no_offset, "OpenJPH: unexpected line order");
      const auto& ci = image.components[c];
      // OpenJPEG clips the reconstructed samples to the component's range.
      const std::int32_t lo = ci.is_signed ? -(std::int32_t{1} << (ci.precision - 1)) : 0;
      const std::int32_t hi = ci.is_signed ? (std::int32_t{1} << (ci.precision - 1)) - 1
                                           : (std::int32_t{1} << ci.precision) - 1;
      clamp_line(line->i32, owner->samples[c].get() + std::size_t{rows[c]} * widths[c], widths[c],
                 lo, hi);
      ++rows[c];
    }
    cs.close();
  } catch (const std::exception& e) {
    return fail(errc::unsupported, no_offset, std::string("OpenJPH: ") + e.what());
  }
  for (std::uint32_t c = 0; c < n; ++c) {
    const auto& ci = image.components[c];
    decoded_area::plane p;
    p.component = c;
    const rect on_comp = at_level(area, ci.XRsiz, ci.YRsiz, d);
    p.x0 = on_comp.x0;
    p.y0 = on_comp.y0;
    p.width = static_cast<std::uint32_t>(on_comp.width());
    p.height = static_cast<std::uint32_t>(on_comp.height());
    p.stride = p.width;
    p.samples = owner->samples[c].get();
    out.planes.push_back(p);
  }
  out.owner = std::move(owner);
  return out;
}

}  // namespace pipit::client
