#include "decoder.hpp"

#include <openjpeg.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

namespace pipit::client {
namespace {

struct memory_stream {
  const std::uint8_t* data = nullptr;
  std::uint64_t size = 0;
  std::uint64_t pos = 0;
};

OPJ_SIZE_T stream_read(void* buffer, OPJ_SIZE_T n, void* user) {
  auto* s = static_cast<memory_stream*>(user);
  if (s->pos >= s->size) return static_cast<OPJ_SIZE_T>(-1);
  const auto k = static_cast<OPJ_SIZE_T>(std::min<std::uint64_t>(n, s->size - s->pos));
  std::memcpy(buffer, s->data + s->pos, k);
  s->pos += k;
  return k;
}

OPJ_OFF_T stream_skip(OPJ_OFF_T n, void* user) {
  auto* s = static_cast<memory_stream*>(user);
  if (n < 0) {
    const auto back = static_cast<std::uint64_t>(-n);
    if (back > s->pos) return -1;
    s->pos -= back;
    return n;
  }
  const auto k = std::min<std::uint64_t>(static_cast<std::uint64_t>(n), s->size - s->pos);
  s->pos += k;
  return static_cast<OPJ_OFF_T>(k);
}

OPJ_BOOL stream_seek(OPJ_OFF_T n, void* user) {
  auto* s = static_cast<memory_stream*>(user);
  if (n < 0 || static_cast<std::uint64_t>(n) > s->size) return OPJ_FALSE;
  s->pos = static_cast<std::uint64_t>(n);
  return OPJ_TRUE;
}

void on_opj_error(const char* msg, void* user) {
  auto* text = static_cast<std::string*>(user);
  std::string m(msg);
  while (!m.empty() && m.back() == '\n') m.pop_back();
  if (!text->empty()) *text += "; ";
  *text += m;
}
void on_opj_quiet(const char*, void*) {}

struct codec_deleter {
  void operator()(opj_codec_t* c) const { opj_destroy_codec(c); }
};
struct stream_deleter {
  void operator()(opj_stream_t* s) const { opj_stream_destroy(s); }
};
struct image_deleter {
  void operator()(opj_image_t* i) const { opj_image_destroy(i); }
};

std::uint64_t ceil_div(std::uint64_t a, std::uint64_t b) { return (a + b - 1) / b; }

}  // namespace

result<decoded_window> decode_window(bytes_view codestream, const image_info& info,
                                     const decode_request& request) {
  const window& v = request.view;
  const std::uint32_t d = v.discard_levels;
  const std::uint64_t scale = std::uint64_t{1} << d;
  // The window on the reference grid reduced by 2^d, then on the full-resolution grid.
  const std::uint64_t rx0 = ceil_div(info.XOsiz, scale) + v.x;
  const std::uint64_t ry0 = ceil_div(info.YOsiz, scale) + v.y;
  const std::uint64_t rx1 = rx0 + v.w, ry1 = ry0 + v.h;
  std::uint64_t X0 = rx0 * scale, Y0 = ry0 * scale;
  std::uint64_t X1 = std::min<std::uint64_t>(info.Xsiz, rx1 * scale);
  std::uint64_t Y1 = std::min<std::uint64_t>(info.Ysiz, ry1 * scale);
  if (v.w == 0 || v.h == 0 || X1 <= X0 || Y1 <= Y0)
    return fail(errc::invalid_argument, no_offset, "empty decode window");
  const std::uint64_t wX0 = X0, wY0 = Y0, wX1 = X1, wY1 = Y1;
  if (request.whole_tiles && info.XTsiz > 0 && info.YTsiz > 0) {
    auto down = [](std::uint64_t a, std::uint64_t o, std::uint64_t t) { return o + (a - o) / t * t; };
    auto up = [](std::uint64_t a, std::uint64_t o, std::uint64_t t) { return o + ceil_div(a - o, t) * t; };
    X0 = std::max<std::uint64_t>(info.XOsiz, down(X0, info.XTOsiz, info.XTsiz));
    Y0 = std::max<std::uint64_t>(info.YOsiz, down(Y0, info.YTOsiz, info.YTsiz));
    X1 = std::min<std::uint64_t>(info.Xsiz, up(X1, info.XTOsiz, info.XTsiz));
    Y1 = std::min<std::uint64_t>(info.Ysiz, up(Y1, info.YTOsiz, info.YTsiz));
  }

  std::string messages;
  std::unique_ptr<opj_codec_t, codec_deleter> codec(opj_create_decompress(OPJ_CODEC_J2K));
  if (!codec) return fail(errc::io, no_offset, "OpenJPEG: cannot create a decoder");
  opj_set_error_handler(codec.get(), on_opj_error, &messages);
  opj_set_warning_handler(codec.get(), on_opj_quiet, nullptr);
  opj_set_info_handler(codec.get(), on_opj_quiet, nullptr);
  opj_dparameters_t params;
  opj_set_default_decoder_parameters(&params);
  params.cp_reduce = d;
  params.cp_layer = v.layers;
  if (!opj_setup_decoder(codec.get(), &params))
    return fail(errc::corrupt, no_offset, "OpenJPEG: setup failed: " + messages);
  if (request.threads > 1) opj_codec_set_threads(codec.get(), request.threads);

  memory_stream ms{codestream.data(), codestream.size(), 0};
  std::unique_ptr<opj_stream_t, stream_deleter> stream(opj_stream_create(1 << 16, OPJ_TRUE));
  opj_stream_set_user_data(stream.get(), &ms, nullptr);
  opj_stream_set_user_data_length(stream.get(), ms.size);
  opj_stream_set_read_function(stream.get(), stream_read);
  opj_stream_set_skip_function(stream.get(), stream_skip);
  opj_stream_set_seek_function(stream.get(), stream_seek);

  opj_image_t* raw_image = nullptr;
  if (!opj_read_header(stream.get(), codec.get(), &raw_image)) {
    if (raw_image != nullptr) opj_image_destroy(raw_image);
    return fail(errc::corrupt, no_offset, "OpenJPEG: cannot read the codestream header: " + messages);
  }
  std::unique_ptr<opj_image_t, image_deleter> image(raw_image);
  std::vector<OPJ_UINT32> comps;
  for (auto c : v.comps) {
    if (c >= image->numcomps) return fail(errc::invalid_argument, no_offset, "no component " + std::to_string(c));
    comps.push_back(c);
  }
  // OpenJPEG skips the inverse MCT unless components 0-2 are all decoded: decode them together.
  std::vector<OPJ_UINT32> wanted = comps;
  if (info.mct && !comps.empty() && image->numcomps >= 3 &&
      std::any_of(comps.begin(), comps.end(), [](OPJ_UINT32 c) { return c < 3; })) {
    for (OPJ_UINT32 c = 0; c < 3; ++c) comps.push_back(c);
    std::sort(comps.begin(), comps.end());
    comps.erase(std::unique(comps.begin(), comps.end()), comps.end());
  }
  if (comps.size() == image->numcomps) comps.clear();
  if (!comps.empty() &&
      !opj_set_decoded_components(codec.get(), static_cast<OPJ_UINT32>(comps.size()), comps.data(), OPJ_FALSE))
    return fail(errc::invalid_argument, no_offset, "OpenJPEG: cannot select components: " + messages);
  if (!opj_set_decode_area(codec.get(), image.get(), static_cast<OPJ_INT32>(X0), static_cast<OPJ_INT32>(Y0),
                           static_cast<OPJ_INT32>(X1), static_cast<OPJ_INT32>(Y1)))
    return fail(errc::invalid_argument, no_offset, "OpenJPEG: bad decode area: " + messages);
  if (!opj_decode(codec.get(), stream.get(), image.get()) || !opj_end_decompress(codec.get(), stream.get()))
    return fail(errc::corrupt, no_offset, "OpenJPEG: decoding failed: " + messages);

  decoded_window out;
  for (OPJ_UINT32 i = 0; i < image->numcomps; ++i) {
    const opj_image_comp_t& ic = image->comps[i];
    if (ic.data == nullptr) continue;
    const std::uint32_t c = comps.empty() ? i : comps[i];
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), c) == wanted.end()) continue;
    const std::uint64_t dx = ic.dx * scale, dy = ic.dy * scale;
    // Samples of the wanted window, and where they sit in what was decoded.
    const std::uint64_t want_w = ceil_div(wX1, dx) - ceil_div(wX0, dx);
    const std::uint64_t want_h = ceil_div(wY1, dy) - ceil_div(wY0, dy);
    const std::uint64_t off_x = ceil_div(wX0, dx) - ceil_div(X0, dx);
    const std::uint64_t off_y = ceil_div(wY0, dy) - ceil_div(Y0, dy);
    if (off_x + want_w > ic.w || off_y + want_h > ic.h)
      return fail(errc::corrupt, no_offset, "OpenJPEG returned a smaller image than asked");
    decoded_window::plane p;
    p.component = c;
    p.width = static_cast<std::uint32_t>(want_w);
    p.height = static_cast<std::uint32_t>(want_h);
    p.samples.resize(want_w * want_h);
    for (std::uint64_t y = 0; y < want_h; ++y)
      std::memcpy(p.samples.data() + y * want_w, ic.data + (off_y + y) * ic.w + off_x,
                  want_w * sizeof(std::int32_t));
    out.planes.push_back(std::move(p));
  }
  return out;
}

}  // namespace pipit::client
