// 4:2:0 images read as GDAL's JP2OpenJPEG reads them (client.hpp, is_ycbcr420): the bands of a
// window from its decode.
#include <algorithm>

#include "pipit/client.hpp"

namespace pipit::client {

window ycbcr420_source(const window& w) {
  // Every band needs Y, Cb and Cr; from an even corner, the Cb and Cr samples of the window's
  // first column and row are decoded too.
  window s = w;
  s.comps.clear();
  s.region.x0 = w.region.x0 & ~std::int64_t{1};
  s.region.y0 = w.region.y0 & ~std::int64_t{1};
  return s;
}

result<decoded_window> ycbcr420_to_rgb(const window& w, const decoded_window& source) {
  const auto& in = source.planes;
  if (in.size() < 3)
    return fail(errc::corrupt, no_offset, "a 4:2:0 window decoded without its chroma");
  const window s = ycbcr420_source(w);
  const auto sx = static_cast<std::uint32_t>(s.region.x0);
  const auto sy = static_cast<std::uint32_t>(s.region.y0);
  const auto wx = static_cast<std::uint32_t>(w.region.x0);
  const auto wy = static_cast<std::uint32_t>(w.region.y0);
  const auto ww = static_cast<std::uint32_t>(w.region.width());
  const auto wh = static_cast<std::uint32_t>(w.region.height());
  const auto& y = in[0];
  const auto& cb = in[1];
  const auto& cr = in[2];
  std::vector<std::uint32_t> comps = w.comps;
  if (comps.empty())
    for (std::uint32_t c = 0; c < in.size(); ++c) comps.push_back(c);
  decoded_window out;
  for (const std::uint32_t comp : comps) {
    if (comp >= in.size())
      return fail(errc::corrupt, no_offset,
                  "a 4:2:0 window decoded without component " + std::to_string(comp));
    decoded_window::plane pl;
    pl.component = comp;
    pl.width = ww;
    pl.height = wh;
    pl.samples.resize(std::size_t{ww} * wh);
    for (std::uint32_t j = 0; j < wh; ++j) {
      // Cb and Cr planes start at column s.x / 2 (s.x is even): the chroma of column x is at
      // x / 2 - s.x / 2 in them, alike in y.
      const std::uint32_t fy = wy + j;
      const std::size_t row = fy - sy, crow = fy / 2 - sy / 2;
      for (std::uint32_t i = 0; i < ww; ++i) {
        const std::uint32_t fx = wx + i;
        const std::size_t col = fx - sx, ccol = fx / 2 - sx / 2;
        std::int32_t v = 0;
        if (comp == 3) {
          v = in[3].samples[row * in[3].width + col];
        } else {
          // JP2OpenJPEG's conversion: the JFIF equations in double, truncated toward zero,
          // clamped to 0-255.
          const int yv = y.samples[row * y.width + col];
          const int cbv = cb.samples[crow * cb.width + ccol] - 128;
          const int crv = cr.samples[crow * cr.width + ccol] - 128;
          double f = 0;
          if (comp == 0)
            f = yv + 1.402 * crv;
          else if (comp == 1)
            f = yv - 0.34414 * cbv - 0.71414 * crv;
          else
            f = yv + 1.772 * cbv;
          v = std::clamp(static_cast<int>(f), 0, 255);
        }
        pl.samples[std::size_t{j} * ww + i] = v;
      }
    }
    out.planes.push_back(std::move(pl));
  }
  return out;
}

}  // namespace pipit::client
