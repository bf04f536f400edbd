#include "coding_params.hpp"

#include <string>

namespace pipit {

std::uint32_t image_size::tiles_x() const {
  return XTsiz == 0 ? 0 : static_cast<std::uint32_t>(ceil_div(std::int64_t{Xsiz} - XTOsiz, XTsiz));
}
std::uint32_t image_size::tiles_y() const {
  return YTsiz == 0 ? 0 : static_cast<std::uint32_t>(ceil_div(std::int64_t{Ysiz} - YTOsiz, YTsiz));
}

rect image_size::tile_rect(std::uint32_t t) const {
  std::uint32_t p = t % tiles_x(), q = t / tiles_x();
  rect r;
  r.x0 = std::max<std::int64_t>(std::int64_t{XTOsiz} + std::int64_t{p} * XTsiz, XOsiz);
  r.y0 = std::max<std::int64_t>(std::int64_t{YTOsiz} + std::int64_t{q} * YTsiz, YOsiz);
  r.x1 = std::min<std::int64_t>(std::int64_t{XTOsiz} + std::int64_t{p + 1} * XTsiz, Xsiz);
  r.y1 = std::min<std::int64_t>(std::int64_t{YTOsiz} + std::int64_t{q + 1} * YTsiz, Ysiz);
  return r;
}

std::uint32_t image_size::width_at(std::uint32_t d) const {
  return static_cast<std::uint32_t>(ceil_div_pow2(Xsiz, d) - ceil_div_pow2(XOsiz, d));
}
std::uint32_t image_size::height_at(std::uint32_t d) const {
  return static_cast<std::uint32_t>(ceil_div_pow2(Ysiz, d) - ceil_div_pow2(YOsiz, d));
}

sample_type sample_type_of(const image_size& siz) {
  unsigned precision = 1;
  bool is_signed = false;
  for (const auto& c : siz.components) {
    precision = std::max<unsigned>(precision, c.precision);
    is_signed = is_signed || c.is_signed;
  }
  sample_type t;
  t.is_signed = is_signed;
  t.bits = precision > 16 ? 32 : (precision > 8 || is_signed) ? 16 : 8;
  return t;
}

std::uint8_t tile_coding::max_levels() const {
  std::uint8_t m = 0;
  for (const auto& c : components) m = std::max(m, c.levels);
  return m;
}

result<image_size> parse_siz(byte_reader& r) {
  const std::uint64_t at = r.abs_pos();
  image_size s;
  PIPIT_TRY_ASSIGN(Lsiz, r.u16("SIZ: Lsiz"));
  PIPIT_TRY_ASSIGN(Rsiz, r.u16("SIZ: Rsiz"));
  s.Rsiz = Rsiz;
  std::uint32_t* fields[] = {&s.Xsiz,  &s.Ysiz,  &s.XOsiz,  &s.YOsiz,
                             &s.XTsiz, &s.YTsiz, &s.XTOsiz, &s.YTOsiz};
  for (auto* f : fields) {
    PIPIT_TRY_ASSIGN(v, r.u32("SIZ"));
    *f = v;
  }
  PIPIT_TRY_ASSIGN(Csiz, r.u16("SIZ: Csiz"));
  if (Csiz == 0 || Csiz > 16384)
    return fail(errc::corrupt, at, "SIZ: Csiz " + std::to_string(Csiz) + " is not in 1..16384");
  if (Lsiz != 38 + 3u * Csiz)
    return fail(
        errc::corrupt, at,
        "SIZ: Lsiz " + std::to_string(Lsiz) + " does not match Csiz " + std::to_string(Csiz));
  if (s.Xsiz <= s.XOsiz || s.Ysiz <= s.YOsiz)
    return fail(errc::corrupt, at, "SIZ: empty image area (Xsiz <= XOsiz or Ysiz <= YOsiz)");
  if (s.XTsiz == 0 || s.YTsiz == 0) return fail(errc::corrupt, at, "SIZ: zero tile size");
  if (s.XTOsiz > s.XOsiz || s.YTOsiz > s.YOsiz || std::uint64_t{s.XTOsiz} + s.XTsiz <= s.XOsiz ||
      std::uint64_t{s.YTOsiz} + s.YTsiz <= s.YOsiz)
    return fail(errc::corrupt, at, "SIZ: tile grid offset does not cover the image origin");
  if (std::uint64_t{s.tiles_x()} * s.tiles_y() > 65535)
    return fail(errc::corrupt, at, "SIZ: more than 65535 tiles");
  s.components.resize(Csiz);
  for (auto& c : s.components) {
    PIPIT_TRY_ASSIGN(Ssiz, r.u8("SIZ: Ssiz"));
    PIPIT_TRY_ASSIGN(XR, r.u8("SIZ: XRsiz"));
    PIPIT_TRY_ASSIGN(YR, r.u8("SIZ: YRsiz"));
    c.precision = static_cast<std::uint8_t>((Ssiz & 0x7F) + 1);
    c.is_signed = (Ssiz & 0x80) != 0;
    if (c.precision > 38)
      return fail(errc::corrupt, r.abs_pos() - 3, "SIZ: component precision above 38 bits");
    if (XR == 0 || YR == 0)
      return fail(errc::corrupt, r.abs_pos() - 2, "SIZ: zero sub-sampling factor");
    c.XRsiz = XR;
    c.YRsiz = YR;
  }
  return s;
}

namespace detail {
namespace {

// SPcod / SPcoc (Table A.15): decomposition levels, code-block size and style, transform,
// precinct sizes when `precincts` is set.
result<void> read_spcod(byte_reader& r, bool precincts, component_coding& cc, const char* name) {
  const std::uint64_t at = r.abs_pos();
  PIPIT_TRY_ASSIGN(levels, r.u8(name));
  PIPIT_TRY_ASSIGN(xcb, r.u8(name));
  PIPIT_TRY_ASSIGN(ycb, r.u8(name));
  PIPIT_TRY_ASSIGN(style, r.u8(name));
  PIPIT_TRY_ASSIGN(transform, r.u8(name));
  if (levels > 32)
    return fail(errc::corrupt, at, std::string(name) + ": more than 32 decomposition levels");
  if (xcb > 8 || ycb > 8 || xcb + ycb > 8)
    return fail(errc::corrupt, at + 1, std::string(name) + ": code-block size out of range");
  if (transform > 1)
    return fail(errc::unsupported, at + 4,
                std::string(name) + ": wavelet transform " + std::to_string(transform) +
                    " (Part 2) is not supported");
  cc.levels = levels;
  cc.xcb = static_cast<std::uint8_t>(xcb + 2);
  cc.ycb = static_cast<std::uint8_t>(ycb + 2);
  cc.cblk_style = style;
  cc.transform = transform;
  cc.user_precincts = precincts;
  cc.PPx.fill(15);
  cc.PPy.fill(15);
  if (precincts) {
    for (unsigned res = 0; res <= levels; ++res) {
      PIPIT_TRY_ASSIGN(pp, r.u8(name));
      cc.PPx[res] = pp & 0x0F;
      cc.PPy[res] = static_cast<std::uint8_t>(pp >> 4);
      if (res > 0 && (cc.PPx[res] == 0 || cc.PPy[res] == 0))
        return fail(errc::corrupt, r.abs_pos() - 1,
                    std::string(name) + ": zero precinct exponent above resolution 0");
    }
  }
  return {};
}

}  // namespace

result<void> apply_cod(bytes_view seg, std::uint64_t offset, tile_coding& tc) {
  byte_reader r(seg, offset);
  PIPIT_TRY_ASSIGN(Scod, r.u8("COD: Scod"));
  PIPIT_TRY_ASSIGN(order, r.u8("COD: progression order"));
  PIPIT_TRY_ASSIGN(layers, r.u16("COD: layers"));
  PIPIT_TRY_ASSIGN(mct, r.u8("COD: multiple component transform"));
  if (order > 4)
    return fail(errc::corrupt, offset + 1,
                "COD: progression order " + std::to_string(order) + " is not defined");
  if (layers == 0) return fail(errc::corrupt, offset + 2, "COD: zero quality layers");
  tc.order = static_cast<progression>(order);
  tc.layers = layers;
  tc.mct = mct;
  tc.sop = (Scod & 0x02) != 0;
  tc.eph = (Scod & 0x04) != 0;
  component_coding cc;
  PIPIT_TRY(read_spcod(r, (Scod & 0x01) != 0, cc, "COD"));
  for (auto& c : tc.components) c = cc;
  return {};
}

result<void> apply_coc(bytes_view seg, std::uint64_t offset, std::size_t csiz, tile_coding& tc) {
  byte_reader r(seg, offset);
  std::uint16_t c = 0;
  if (csiz < 257) {
    PIPIT_TRY_ASSIGN(v, r.u8("COC: Ccoc"));
    c = v;
  } else {
    PIPIT_TRY_ASSIGN(v, r.u16("COC: Ccoc"));
    c = v;
  }
  if (c >= csiz)
    return fail(errc::corrupt, offset, "COC: component " + std::to_string(c) + " does not exist");
  PIPIT_TRY_ASSIGN(Scoc, r.u8("COC: Scoc"));
  return read_spcod(r, (Scoc & 0x01) != 0, tc.components[c], "COC");
}

result<void> apply_poc(bytes_view seg, std::uint64_t offset, std::size_t csiz,
                       std::vector<poc_entry>& out) {
  byte_reader r(seg, offset);
  const bool wide = csiz >= 257;
  const std::size_t entry = wide ? 9 : 7;
  if (seg.empty() || seg.size() % entry != 0)
    return fail(errc::corrupt, offset,
                "POC: length " + std::to_string(seg.size()) + " is not a multiple of " +
                    std::to_string(entry));
  while (!r.at_end()) {
    poc_entry e;
    const std::uint64_t at = r.abs_pos();
    PIPIT_TRY_ASSIGN(RS, r.u8("POC"));
    std::uint16_t CS = 0, CE = 0;
    if (wide) {
      PIPIT_TRY_ASSIGN(v, r.u16("POC"));
      CS = v;
    } else {
      PIPIT_TRY_ASSIGN(v, r.u8("POC"));
      CS = v;
    }
    PIPIT_TRY_ASSIGN(LYE, r.u16("POC"));
    PIPIT_TRY_ASSIGN(RE, r.u8("POC"));
    if (wide) {
      PIPIT_TRY_ASSIGN(v, r.u16("POC"));
      CE = v;
    } else {
      PIPIT_TRY_ASSIGN(v, r.u8("POC"));
      CE = v;
    }
    PIPIT_TRY_ASSIGN(P, r.u8("POC"));
    if (CE == 0) CE = wide ? 16384 : 256;
    if (P > 4)
      return fail(errc::corrupt, at,
                  "POC: progression order " + std::to_string(P) + " is not defined");
    e.RSpoc = RS;
    e.CSpoc = CS;
    e.LYEpoc = LYE;
    e.REpoc = RE;
    e.CEpoc = CE;
    e.Ppoc = static_cast<progression>(P);
    out.push_back(e);
  }
  return {};
}

}  // namespace detail
}  // namespace pipit
