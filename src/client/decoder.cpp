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

}  // namespace

result<decoded_area> decode_area(bytes_view codestream, const image_info& info,
                                 const area_request& request) {
  const grid_area& a = request.area;
  const std::uint32_t d = request.discard_levels;
  if (a.X1 <= a.X0 || a.Y1 <= a.Y0)
    return fail(errc::invalid_argument, no_offset, "empty decode area");

  std::string messages;
  std::unique_ptr<opj_codec_t, codec_deleter> codec(opj_create_decompress(OPJ_CODEC_J2K));
  if (!codec) return fail(errc::io, no_offset, "OpenJPEG: cannot create a decoder");
  opj_set_error_handler(codec.get(), on_opj_error, &messages);
  opj_set_warning_handler(codec.get(), on_opj_quiet, nullptr);
  opj_set_info_handler(codec.get(), on_opj_quiet, nullptr);
  opj_dparameters_t params;
  opj_set_default_decoder_parameters(&params);
  params.cp_reduce = d;
  params.cp_layer = request.layers;
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
    return fail(errc::corrupt, no_offset,
                "OpenJPEG: cannot read the codestream header: " + messages);
  }
  std::shared_ptr<opj_image_t> image(raw_image, image_deleter{});
  std::vector<OPJ_UINT32> comps(request.comps.begin(), request.comps.end());
  for (auto c : comps)
    if (c >= image->numcomps)
      return fail(errc::invalid_argument, no_offset, "no component " + std::to_string(c));
  if (comps.size() == image->numcomps) comps.clear();
  if (!comps.empty() &&
      !opj_set_decoded_components(codec.get(), static_cast<OPJ_UINT32>(comps.size()), comps.data(),
                                  OPJ_FALSE))
    return fail(errc::invalid_argument, no_offset,
                "OpenJPEG: cannot select components: " + messages);
  if (!opj_set_decode_area(codec.get(), image.get(), static_cast<OPJ_INT32>(a.X0),
                           static_cast<OPJ_INT32>(a.Y0), static_cast<OPJ_INT32>(a.X1),
                           static_cast<OPJ_INT32>(a.Y1)))
    return fail(errc::invalid_argument, no_offset, "OpenJPEG: bad decode area: " + messages);
  if (!opj_decode(codec.get(), stream.get(), image.get()) ||
      !opj_end_decompress(codec.get(), stream.get()))
    return fail(errc::corrupt, no_offset, "OpenJPEG: decoding failed: " + messages);

  decoded_area out;
  for (OPJ_UINT32 i = 0; i < image->numcomps; ++i) {
    const opj_image_comp_t& ic = image->comps[i];
    if (ic.data == nullptr) continue;
    const std::uint32_t c = comps.empty() ? i : comps[i];
    const auto& ci = info.components.at(c);
    decoded_area::plane p;
    p.component = c;
    p.x0 = at_level(a.X0, ci.dx, d);
    p.y0 = at_level(a.Y0, ci.dy, d);
    const std::uint64_t w = at_level(a.X1, ci.dx, d) - p.x0, h = at_level(a.Y1, ci.dy, d) - p.y0;
    if (w > ic.w || h > ic.h)
      return fail(errc::corrupt, no_offset, "OpenJPEG returned a smaller image than asked");
    p.width = static_cast<std::uint32_t>(w);
    p.height = static_cast<std::uint32_t>(h);
    p.stride = ic.w;
    p.samples = ic.data;
    out.planes.push_back(p);
  }
  out.owner = std::move(image);
  return out;
}

}  // namespace pipit::client
