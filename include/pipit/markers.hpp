// The JPEG 2000 Part 1 / Part 15 marker codes (ISO/IEC 15444-1 Annex A, 15444-15), named as the
// standard names them so code and spec read side by side.
#pragma once

#include <cstdint>

namespace pipit {

enum marker : std::uint16_t {
  SOC = 0xFF4F,  // start of codestream
  CAP = 0xFF50,  // extended capabilities (Part 15)
  SIZ = 0xFF51,  // image and tile size
  COD = 0xFF52,  // coding style default
  COC = 0xFF53,  // coding style component
  TLM = 0xFF55,  // tile-part lengths
  PRF = 0xFF56,  // profile (Part 1 amd)
  PLM = 0xFF57,  // packet length, main header
  PLT = 0xFF58,  // packet length, tile-part header
  CPF = 0xFF59,  // corresponding profile (Part 15)
  QCD = 0xFF5C,  // quantization default
  QCC = 0xFF5D,  // quantization component
  RGN = 0xFF5E,  // region of interest
  POC = 0xFF5F,  // progression order change
  PPM = 0xFF60,  // packed packet headers, main header
  PPT = 0xFF61,  // packed packet headers, tile-part header
  CRG = 0xFF63,  // component registration
  COM = 0xFF64,  // comment
  SOT = 0xFF90,  // start of tile-part
  SOP = 0xFF91,  // start of packet
  EPH = 0xFF92,  // end of packet header
  SOD = 0xFF93,  // start of data
  EOC = 0xFFD9,  // end of codestream
};

// Marker codes 0xFF30..0xFF3F carry no marker segment (15444-1 A.1.1).
inline bool marker_has_segment(std::uint16_t m) { return !(m >= 0xFF30 && m <= 0xFF3F); }

// "SIZ", "COD", ... or "FFxx" for codes Pipit does not name; returns a pointer to static storage
// for named markers and formats others into `buf` (at least 8 bytes).
const char* marker_name(std::uint16_t m, char* buf);

// Progression orders (Table A.16).
enum class progression : std::uint8_t { LRCP = 0, RLCP = 1, RPCL = 2, PCRL = 3, CPRL = 4 };
const char* progression_name(progression p);

// Code-block style bits (Table A.19) and Part 15's HT bit.
inline constexpr std::uint8_t cblk_bypass = 0x01;
inline constexpr std::uint8_t cblk_reset = 0x02;
inline constexpr std::uint8_t cblk_termall = 0x04;
inline constexpr std::uint8_t cblk_vcausal = 0x08;
inline constexpr std::uint8_t cblk_predictable = 0x10;
inline constexpr std::uint8_t cblk_segsym = 0x20;
inline constexpr std::uint8_t cblk_ht = 0x40;

}  // namespace pipit
