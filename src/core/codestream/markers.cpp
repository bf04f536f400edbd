#include "pipit/markers.hpp"

#include <cstdio>

namespace pipit {

const char* marker_name(std::uint16_t m, char* buf) {
  switch (m) {
    case SOC: return "SOC";
    case CAP: return "CAP";
    case SIZ: return "SIZ";
    case COD: return "COD";
    case COC: return "COC";
    case TLM: return "TLM";
    case PRF: return "PRF";
    case PLM: return "PLM";
    case PLT: return "PLT";
    case CPF: return "CPF";
    case QCD: return "QCD";
    case QCC: return "QCC";
    case RGN: return "RGN";
    case POC: return "POC";
    case PPM: return "PPM";
    case PPT: return "PPT";
    case CRG: return "CRG";
    case COM: return "COM";
    case SOT: return "SOT";
    case SOP: return "SOP";
    case EPH: return "EPH";
    case SOD: return "SOD";
    case EOC: return "EOC";
    default: std::snprintf(buf, 8, "%04X", static_cast<unsigned>(m)); return buf;
  }
}

const char* progression_name(progression p) {
  switch (p) {
    case progression::LRCP: return "LRCP";
    case progression::RLCP: return "RLCP";
    case progression::RPCL: return "RPCL";
    case progression::PCRL: return "PCRL";
    case progression::CPRL: return "CPRL";
  }
  return "?";
}

}  // namespace pipit
