#include "decoder.hpp"

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include "opj_memory_stream.hpp"

namespace pipit::client {

using namespace opj;

result<decoded_area> decode_area(bytes_view codestream, const image_size& siz,
                                 const area_request& request) {
  const rect& a = request.area;
  const std::uint32_t d = request.discard_levels;
  if (a.empty()) return fail(errc::invalid_argument, no_offset, "empty decode area");

  std::string messages;
  codec_ptr codec(opj_create_decompress(OPJ_CODEC_J2K));
  if (!codec) return fail(errc::io, no_offset, "OpenJPEG: cannot create a decoder");
  collect_errors(codec.get(), messages);
  opj_dparameters_t params;
  opj_set_default_decoder_parameters(&params);
  params.cp_reduce = d;
  params.cp_layer = request.layers;
  if (!opj_setup_decoder(codec.get(), &params))
    return fail(errc::corrupt, no_offset, "OpenJPEG: setup failed: " + messages);
  if (request.threads > 1) opj_codec_set_threads(codec.get(), request.threads);

  memory_stream ms{codestream.data(), codestream.size()};
  stream_ptr stream = open_memory_stream(ms, 1 << 16);
  if (!stream) return fail(errc::io, no_offset, "OpenJPEG: cannot create a stream");

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
  if (!opj_set_decode_area(codec.get(), image.get(), static_cast<OPJ_INT32>(a.x0),
                           static_cast<OPJ_INT32>(a.y0), static_cast<OPJ_INT32>(a.x1),
                           static_cast<OPJ_INT32>(a.y1)))
    return fail(errc::invalid_argument, no_offset, "OpenJPEG: bad decode area: " + messages);
  if (!opj_decode(codec.get(), stream.get(), image.get()) ||
      !opj_end_decompress(codec.get(), stream.get()))
    return fail(errc::corrupt, no_offset, "OpenJPEG: decoding failed: " + messages);

  decoded_area out;
  for (OPJ_UINT32 i = 0; i < image->numcomps; ++i) {
    const opj_image_comp_t& ic = image->comps[i];
    if (ic.data == nullptr) continue;
    const std::uint32_t c = comps.empty() ? i : comps[i];
    const auto& ci = siz.components.at(c);
    decoded_area::plane p;
    p.component = c;
    const rect on_comp = at_level(a, ci.XRsiz, ci.YRsiz, d);
    p.x0 = on_comp.x0;
    p.y0 = on_comp.y0;
    const std::int64_t w = on_comp.width(), h = on_comp.height();
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
