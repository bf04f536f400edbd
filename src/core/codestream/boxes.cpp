#include "pipit/boxes.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>

namespace pipit {

std::string box_type_name(std::uint32_t t) {
  std::string s;
  for (int i = 3; i >= 0; --i) {
    char c = static_cast<char>((t >> (8 * i)) & 0xFF);
    if (c >= 0x20 && c < 0x7F) {
      s += c;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X",
                    static_cast<unsigned>(static_cast<unsigned char>(c)));
      s += buf;
    }
  }
  return s;
}

bool is_superbox(std::uint32_t t) {
  switch (t) {
    case box_type("jp2h"):
    case box_type("res "):
    case box_type("uinf"):
    case box_type("asoc"):
    case box_type("jpch"):
    case box_type("jplh"):
    case box_type("cgrp"):
    case box_type("ftbl"):
    case box_type("comp"):
    case box_type("drep"): return true;
    default: return false;
  }
}

result<std::vector<box>> read_boxes(bytes_view file, byte_range range, unsigned depth) {
  if (depth > 32) return fail(errc::corrupt, range.offset, "boxes nested more than 32 deep");
  if (range.offset > file.size() || range.length > file.size() - range.offset)
    return fail(errc::truncated, range.offset, "box range runs past the end of the file");
  std::vector<box> out;
  byte_reader r(file.first(static_cast<std::size_t>(range.end())), 0);
  r.seek(static_cast<std::size_t>(range.offset));
  while (!r.at_end()) {
    box b;
    b.offset = r.abs_pos();
    PIPIT_TRY_ASSIGN(lbox, r.u32("box: LBox"));
    PIPIT_TRY_ASSIGN(tbox, r.u32("box: TBox"));
    b.type = tbox;
    if (lbox == 1) {
      PIPIT_TRY_ASSIGN(xl, r.u64("box: XLBox"));
      b.header_length = 16;
      b.length = xl;
    } else if (lbox == 0) {
      b.length = range.end() - b.offset;
    } else {
      b.length = lbox;
    }
    if (b.length < b.header_length)
      return fail(errc::corrupt, b.offset,
                  "box '" + box_type_name(tbox) + "': length " + std::to_string(b.length) +
                      " is shorter than its header");
    if (b.length > range.end() - b.offset)
      return fail(errc::truncated, b.offset,
                  "box '" + box_type_name(tbox) + "' of " + std::to_string(b.length) +
                      " bytes runs past the end of its container (" +
                      std::to_string(range.end() - b.offset) + " bytes left)");
    if (is_superbox(tbox)) {
      PIPIT_TRY_ASSIGN(
          kids, read_boxes(file, byte_range{b.content_offset(), b.content_length()}, depth + 1));
      b.children = std::move(kids);
    }
    r.seek(static_cast<std::size_t>(b.end()));
    out.push_back(std::move(b));
  }
  return out;
}

bool has_jp2_signature(bytes_view f) {
  static const std::uint8_t sig[12] = {0, 0, 0, 12, 'j', 'P', ' ', ' ', 0x0D, 0x0A, 0x87, 0x0A};
  return f.size() >= 12 && std::memcmp(f.data(), sig, 12) == 0;
}

namespace {

const std::uint8_t geojp2_uuid[16] = {0xB1, 0x4B, 0xF8, 0xBD, 0x08, 0x3D, 0x4B, 0x43,
                                      0xA5, 0xAE, 0x8C, 0xD7, 0xD5, 0xA6, 0xCE, 0x03};

bytes_view content(bytes_view file, const box& b) {
  return file.subspan(static_cast<std::size_t>(b.content_offset()),
                      static_cast<std::size_t>(b.content_length()));
}

// A label box's text, up to its first NUL.
std::string label_of(bytes_view file, const box& lbl) {
  const bytes_view c = content(file, lbl);
  const auto* p = reinterpret_cast<const char*>(c.data());
  return {p, std::find(p, p + c.size(), '\0')};
}

bool equal_ignoring_case(const std::string& a, const char* b) {
  return std::equal(a.begin(), a.end(), b, b + std::strlen(b), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

// The boxes of the file's top level that carry georeferencing (GDAL's JP2 readers look there):
// GeoJP2 uuid boxes, GMLJP2 asoc boxes (first box: label 'gml.data', any case; then asoc boxes
// of a label and an xml box, the last of each kind counting) and xml boxes.
void scan_geo(bytes_view file, const std::vector<box>& boxes, jp2_description& d) {
  for (const auto& b : boxes) {
    if (b.type == box_type("uuid") && b.content_length() >= 16 &&
        std::memcmp(content(file, b).data(), geojp2_uuid, 16) == 0)
      d.geojp2.push_back(
          geojp2_box{b.offset, byte_range{b.content_offset() + 16, b.content_length() - 16}});
    if (b.type == box_type("xml "))
      d.xml.push_back(xml_box{b.offset, {}, byte_range{b.content_offset(), b.content_length()}});
    if (b.type != box_type("asoc") || b.children.empty() ||
        b.children.front().type != box_type("lbl ") ||
        !equal_ignoring_case(label_of(file, b.children.front()), "gml.data"))
      continue;
    for (const auto& a : b.children) {
      if (a.type != box_type("asoc")) continue;
      const box* lbl = nullptr;
      const box* xml = nullptr;
      for (const auto& k : a.children) {
        if (k.type == box_type("lbl ")) lbl = &k;
        if (k.type == box_type("xml ")) xml = &k;
      }
      if (lbl && xml)
        d.gmljp2.push_back(xml_box{xml->offset, label_of(file, *lbl),
                                   byte_range{xml->content_offset(), xml->content_length()}});
    }
  }
}

// A Fragment Table box (15444-2 M.11.3): one Fragment List box (M.11.3.1) of NF entries
// OFF (8 bytes), LEN (4), DR (2). Fragments that follow each other in one file make one range;
// anything else is a codestream Pipit does not serve.
result<codestream_location> read_fragment_table(bytes_view file, const box& ftbl) {
  const box* flst = nullptr;
  for (const auto& k : ftbl.children)
    if (k.type == box_type("flst")) {
      if (flst) return fail(errc::corrupt, k.offset, "ftbl: more than one fragment list (flst)");
      flst = &k;
    }
  if (!flst) return fail(errc::corrupt, ftbl.offset, "ftbl: no fragment list box (flst)");
  byte_reader r(content(file, *flst), flst->content_offset());
  PIPIT_TRY_ASSIGN(nf, r.u16("flst: NF"));
  if (nf == 0) return fail(errc::corrupt, flst->offset, "flst: no fragment (NF = 0)");
  if (flst->content_length() != 2 + 14 * std::uint64_t{nf})
    return fail(errc::corrupt, flst->offset,
                "flst: " + std::to_string(flst->content_length()) +
                    " bytes for NF = " + std::to_string(nf) + " fragments of 14 bytes");
  codestream_location loc;
  loc.box = ftbl.type;
  loc.box_offset = ftbl.offset;
  for (std::uint16_t i = 0; i < nf; ++i) {
    const std::uint64_t at = r.abs_pos();
    PIPIT_TRY_ASSIGN(off, r.u64("flst: OFF"));
    PIPIT_TRY_ASSIGN(len, r.u32("flst: LEN"));
    PIPIT_TRY_ASSIGN(dr, r.u16("flst: DR"));
    if (len == 0)
      return fail(errc::corrupt, at, "flst: fragment " + std::to_string(i) + " is empty");
    if (off > ~std::uint64_t{0} - len)
      return fail(errc::corrupt, at, "flst: fragment " + std::to_string(i) + " ends past 2^64");
    if (i == 0) {
      loc.data_reference = dr;
      loc.range = byte_range{off, len};
    } else if (dr != loc.data_reference || off != loc.range.end()) {
      return fail(errc::unsupported, at,
                  "flst: fragment " + std::to_string(i) +
                      " does not continue the previous one in the same file: codestreams in "
                      "scattered fragments are not supported");
    } else {
      loc.range.length += len;
    }
  }
  return loc;
}

// A Data Reference box (15444-2 M.11.6): NDR (2 bytes), then NDR Data Entry URL boxes, each
// VERS (1), FLAG (3), LOC (a NUL-terminated UTF-8 string).
result<std::vector<data_reference>> read_data_references(bytes_view file, const box& dtbl) {
  byte_reader r(content(file, dtbl), dtbl.content_offset());
  PIPIT_TRY_ASSIGN(ndr, r.u16("dtbl: NDR"));
  PIPIT_TRY_ASSIGN(
      kids, read_boxes(file, byte_range{dtbl.content_offset() + 2, dtbl.content_length() - 2}, 1));
  if (kids.size() != ndr)
    return fail(errc::corrupt, dtbl.offset,
                "dtbl: NDR says " + std::to_string(ndr) + " data entry URL boxes, it holds " +
                    std::to_string(kids.size()) + " boxes");
  std::vector<data_reference> out;
  for (const auto& k : kids) {
    if (k.type != box_type("url "))
      return fail(errc::corrupt, k.offset,
                  "dtbl: a '" + box_type_name(k.type) + "' box where a url box belongs");
    const bytes_view c = content(file, k);
    if (c.size() < 5 || c.back() != 0)
      return fail(errc::corrupt, k.offset, "url: LOC is not a NUL-terminated string");
    const auto* loc = reinterpret_cast<const char*>(c.data() + 4);
    const std::size_t n = std::strlen(loc);
    if (n + 5 != c.size())
      return fail(errc::corrupt, k.content_offset() + 4 + n, "url: a NUL inside LOC");
    out.push_back(data_reference{k.offset, std::string(loc, n)});
  }
  return out;
}

}  // namespace

result<jp2_description> describe_jp2(bytes_view file, const std::vector<box>& boxes) {
  jp2_description d;
  if (boxes.empty() || boxes[0].type != box_type("jP  ") || !has_jp2_signature(file))
    return fail(errc::corrupt, 0, "not a JP2 file: no signature box");
  if (boxes.size() < 2 || boxes[1].type != box_type("ftyp"))
    return fail(errc::corrupt, boxes.size() > 1 ? boxes[1].offset : 12,
                "JP2: the file type box does not follow the signature");
  {
    byte_reader r(content(file, boxes[1]), boxes[1].content_offset());
    PIPIT_TRY_ASSIGN(br, r.u32("ftyp: BR"));
    d.brand = br;
  }
  const box* jp2h = nullptr;
  for (const auto& b : boxes) {
    if (b.type == box_type("jp2h") && !jp2h) jp2h = &b;
    if (b.type == box_type("jp2c"))
      d.codestreams.push_back(codestream_location{
          b.type, b.offset, 0, byte_range{b.content_offset(), b.content_length()}});
    if (b.type == box_type("ftbl")) {
      PIPIT_TRY_ASSIGN(loc, read_fragment_table(file, b));
      d.codestreams.push_back(loc);
    }
    if (b.type == box_type("dtbl")) {
      if (!d.data_references.empty())
        return fail(errc::corrupt, b.offset, "JPX: a second data reference box (dtbl)");
      PIPIT_TRY_ASSIGN(refs, read_data_references(file, b));
      d.data_references = std::move(refs);
    }
  }
  for (const auto& c : d.codestreams)
    if (c.data_reference > d.data_references.size())
      return fail(errc::corrupt, c.box_offset,
                  "JPX: fragment table names data reference " + std::to_string(c.data_reference) +
                      " but the data reference box (dtbl) has " +
                      std::to_string(d.data_references.size()));
  if (!jp2h) return fail(errc::corrupt, boxes[1].end(), "JP2: no JP2 header box (jp2h)");
  if (jp2h->children.empty() || jp2h->children[0].type != box_type("ihdr"))
    return fail(errc::corrupt, jp2h->offset,
                "JP2: jp2h does not start with an image header box (ihdr)");
  {
    const box& ih = jp2h->children[0];
    byte_reader r(content(file, ih), ih.content_offset());
    PIPIT_TRY_ASSIGN(h, r.u32("ihdr: HEIGHT"));
    PIPIT_TRY_ASSIGN(w, r.u32("ihdr: WIDTH"));
    PIPIT_TRY_ASSIGN(nc, r.u16("ihdr: NC"));
    PIPIT_TRY_ASSIGN(bpc, r.u8("ihdr: BPC"));
    d.height = h;
    d.width = w;
    d.num_components = nc;
    d.bpc = bpc;
  }
  for (const auto& b : jp2h->children) {
    switch (b.type) {
      case box_type("colr"): {
        if (d.colour_method) break;
        byte_reader r(content(file, b), b.content_offset());
        PIPIT_TRY_ASSIGN(meth, r.u8("colr: METH"));
        PIPIT_TRY(r.skip(2, "colr: PREC, APPROX"));
        d.colour_method = meth;
        if (meth == 1) {
          PIPIT_TRY_ASSIGN(cs, r.u32("colr: EnumCS"));
          d.enum_cs = cs;
        }
        break;
      }
      case box_type("bpcc"): d.has_bpcc = true; break;
      case box_type("pclr"): d.has_pclr = true; break;
      case box_type("cmap"): d.has_cmap = true; break;
      case box_type("cdef"): {
        if (d.has_cdef) break;
        d.has_cdef = true;
        byte_reader r(content(file, b), b.content_offset());
        PIPIT_TRY_ASSIGN(n, r.u16("cdef: N"));
        for (std::uint16_t i = 0; i < n; ++i) {
          PIPIT_TRY_ASSIGN(cn, r.u16("cdef: Cn"));
          PIPIT_TRY_ASSIGN(typ, r.u16("cdef: Typ"));
          PIPIT_TRY_ASSIGN(asoc, r.u16("cdef: Asoc"));
          d.channels.push_back(channel_definition{cn, typ, asoc});
        }
        break;
      }
      case box_type("res "): d.has_res = true; break;
      default: break;
    }
  }
  scan_geo(file, boxes, d);
  if (d.codestreams.empty())
    return fail(errc::corrupt, boxes.back().end(),
                "JP2: no contiguous codestream box (jp2c) nor fragment table (ftbl)");
  return d;
}

std::vector<band_colour> channel_colours(const jp2_description& d, std::size_t n) {
  std::vector<band_colour> out(n, band_colour::undefined);
  std::vector<int> type(n, -1), assoc(n, -1);
  for (const auto& ch : d.channels)
    if (ch.channel < n) {
      type[ch.channel] = ch.type;
      assoc[ch.channel] = ch.association;
    }
  const std::uint32_t cs = d.colour_method == 1 ? d.enum_cs : 0;
  const bool grey = cs == 17 || (cs == 0 && n < 3);
  for (std::size_t i = 0; i < n; ++i) {
    if (type[i] == 1 || type[i] == 2) {
      out[i] = band_colour::alpha;
      continue;
    }
    const std::size_t channel =
        type[i] == 0 && assoc[i] > 0 ? static_cast<std::size_t>(assoc[i] - 1) : i;
    if (grey)
      out[i] = channel == 0 ? band_colour::gray : band_colour::undefined;
    else if (n >= 3 && channel < 3)
      out[i] = static_cast<band_colour>(
          static_cast<int>(cs == 18 ? band_colour::y : band_colour::red) + channel);
  }
  return out;
}

bool jp2_description::linked() const {
  return std::any_of(codestreams.begin(), codestreams.end(),
                     [](const codestream_location& c) { return c.data_reference != 0; });
}

}  // namespace pipit
