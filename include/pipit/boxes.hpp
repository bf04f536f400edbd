// JP2 / JPX box structure (ISO/IEC 15444-1 Annex I, 15444-2 Annex M).
//
// `read_boxes` parses a byte range into a tree of boxes: LBox/TBox headers, the 64-bit XLBox
// form, LBox = 0 (to the end of the enclosing range), and the superboxes of JP2 and JPX (jp2h,
// res, uinf, asoc, jpch, jplh, cgrp, ftbl, comp, drep). `describe_jp2` then reads what
// Pipit needs from the tree: the image header, colour, the boxes present in jp2h, the boxes that
// carry georeferencing (GeoJP2 uuid, GMLJP2 asoc/xml, top-level xml), and every codestream: a
// Contiguous Codestream box (jp2c), or a Fragment Table box (ftbl) whose Fragment List (flst) puts
// it in this file or in a file named by a Data Entry URL box (url ) of the Data Reference box
// (dtbl), as linked JPX files do (15444-2 M.11.3, M.11.5, M.11.6).
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pipit/byte_reader.hpp"
#include "pipit/codestream.hpp"
#include "pipit/error.hpp"

namespace pipit {

constexpr std::uint32_t box_type(const char (&s)[5]) {
  return (std::uint32_t(std::uint8_t(s[0])) << 24) | (std::uint32_t(std::uint8_t(s[1])) << 16) |
         (std::uint32_t(std::uint8_t(s[2])) << 8) | std::uint32_t(std::uint8_t(s[3]));
}
std::string box_type_name(std::uint32_t type);  // "jp2c", or "\x01abc" escaped as "\\x01abc"

struct box {
  std::uint32_t type = 0;
  std::uint64_t offset = 0;         // of LBox
  std::uint64_t header_length = 8;  // 8, or 16 with XLBox
  std::uint64_t length = 0;         // whole box, header included
  std::vector<box> children;        // for superboxes
  std::uint64_t content_offset() const { return offset + header_length; }
  std::uint64_t content_length() const { return length - header_length; }
  std::uint64_t end() const { return offset + length; }
};

bool is_superbox(std::uint32_t type);

// Parses the boxes of [range.offset, range.end()) of `file`. `depth` guards nesting.
result<std::vector<box>> read_boxes(bytes_view file, byte_range range, unsigned depth = 0);

// True when `file` starts with the JP2 signature box.
bool has_jp2_signature(bytes_view file);

// One channel definition of a cdef box (15444-1 I.5.3.6).
struct channel_definition {
  std::uint16_t channel = 0;      // Cn
  std::uint16_t type = 0;         // Typ: 0 colour, 1 opacity, 2 premultiplied opacity
  std::uint16_t association = 0;  // Asoc: 0 the whole image, i the i-th colour, 65535 none
};

// Where the bytes of one codestream are. Codestreams are numbered in the file order of the
// jp2c and ftbl boxes that hold or list them.
struct codestream_location {
  std::uint32_t box = 0;             // box_type("jp2c") or box_type("ftbl")
  std::uint64_t box_offset = 0;      // of that box
  std::uint16_t data_reference = 0;  // 0: this file; i >= 1: the i-th url box of the dtbl
  byte_range range;                  // the codestream's bytes in that file
};

// One Data Entry URL box of the Data Reference box (15444-2 M.11.6.1).
struct data_reference {
  std::uint64_t box_offset = 0;  // of the url box
  std::string location;          // LOC as written, without its NUL (UTF-8)
};

// A GeoJP2 box (a top-level uuid box with the UUID B14BF8BD-083D-4B43-A5AE-8CD7D5A6CE03): its
// content after the UUID is a degenerate GeoTIFF file whose tags carry the georeferencing.
struct geojp2_box {
  std::uint64_t box_offset = 0;  // of the uuid box
  byte_range tiff;               // the GeoTIFF file: the content after the 16-byte UUID
};

// An XML box: one of a GMLJP2 asoc box (a top-level asoc whose first box is a label box 'gml.data'
// and whose asoc boxes each pair a label box with an xml box, OGC GMLJP2), or a top-level one.
struct xml_box {
  std::uint64_t box_offset = 0;  // of the xml box
  std::string label;  // the label box beside it, up to its first NUL; empty at the top level
  byte_range xml;     // the box's content
};

struct jp2_description {
  std::uint32_t brand = 0;              // ftyp BR
  std::uint32_t height = 0, width = 0;  // ihdr
  std::uint16_t num_components = 0;
  std::uint8_t bpc = 0;            // ihdr BPC (255: see bpcc)
  std::uint8_t colour_method = 0;  // colr METH
  std::uint32_t enum_cs = 0;       // colr EnumCS when METH = 1
  bool has_bpcc = false, has_pclr = false, has_cmap = false, has_cdef = false, has_res = false;
  std::vector<channel_definition> channels;  // the cdef box's entries, in box order
  // Georeferencing, as payloads for a GeoTIFF and a GML reader, in file order.
  std::vector<geojp2_box> geojp2;                // the GeoJP2 uuid boxes
  std::vector<xml_box> gmljp2;                   // the labelled xml boxes of the GMLJP2 asoc boxes
  std::vector<xml_box> xml;                      // the top-level xml boxes
  std::vector<codestream_location> codestreams;  // jp2c and ftbl boxes, in file order
  std::vector<data_reference> data_references;   // the url boxes of the dtbl, in order
  // True when some codestream lives in another file (a data reference other than 0).
  bool linked() const;
};

// How a component is to be shown, from the colr and cdef boxes.
enum class band_colour : std::uint8_t { undefined, gray, red, green, blue, alpha, y, cb, cr };

// The colour of each of `n` components as GDAL's JP2OpenJPEG driver interprets colr and cdef: cdef
// opacity is alpha; otherwise the colour channel cdef associates (or the component's own number)
// is grey for a greyscale image (or one without an enumerated colour space of fewer than 3
// components), else R, G, B (Y, Cb, Cr for sYCC) for the first three channels of an image of 3 or
// more; everything else is undefined.
std::vector<band_colour> channel_colours(const jp2_description& d, std::size_t n);

// Reads the JP2/JPX description from the box tree; fails when the signature, ftyp or jp2h
// are missing or malformed, when no jp2c or ftbl box exists, when a fragment table is malformed
// or names a data reference the dtbl lacks, and (errc::unsupported) when a codestream is made of
// fragments that are not one contiguous run of one file.
result<jp2_description> describe_jp2(bytes_view file, const std::vector<box>& boxes);

}  // namespace pipit
