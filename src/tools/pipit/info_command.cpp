// `pipit info FILE [--json]`: what a JPEG 2000 file holds, from the codestream model.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "commands.hpp"
#include "local_target.hpp"
#include "pipit/image_index.hpp"

namespace pipit::tools {
namespace {

struct info_options {
  std::string file, root;
  bool json = false;
  bool fast = false;
};

struct res_stats {
  std::uint64_t count = 0, header = 0, body = 0;
};

nlohmann::json describe(const image_index& ix, const std::string& path) {
  using nlohmann::json;
  const codestream_index& cs = ix.codestreams.front();
  json j;
  j["file"] = path;
  j["format"] = ix.is_jp2 ? "jp2" : "j2k";
  j["width"] = cs.siz.width();
  j["height"] = cs.siz.height();
  j["components"] = cs.siz.components.size();
  json comps = json::array();
  json levels = json::array();  // per component (COC may give each its own), main header
  for (std::size_t c = 0; c < cs.siz.components.size(); ++c) {
    const auto& sc = cs.siz.components[c];
    const unsigned nl = cs.defaults.components[c].levels;
    comps.push_back({{"precision", sc.precision},
                     {"signed", sc.is_signed},
                     {"dx", sc.XRsiz},
                     {"dy", sc.YRsiz},
                     {"levels", nl}});
    levels.push_back(nl);
  }
  j["component_levels"] = levels;
  j["component_info"] = comps;
  j["offset"] = {cs.siz.XOsiz, cs.siz.YOsiz};
  j["tiles"] = cs.siz.num_tiles();
  j["tile_size"] = {cs.siz.XTsiz, cs.siz.YTsiz};
  j["tile_grid"] = {cs.siz.tiles_x(), cs.siz.tiles_y()};
  const auto& d = cs.defaults;
  j["levels"] = d.components.front().levels;
  j["layers"] = d.layers;
  j["progression"] = progression_name(d.order);
  const auto& c0 = d.components.front();
  j["code_block"] = {1 << c0.xcb, 1 << c0.ycb};
  j["code_block_style"] = c0.cblk_style;
  j["transform"] = c0.transform ? "5-3 reversible" : "9-7 irreversible";
  json prec = json::array();
  for (unsigned r = 0; r <= c0.levels; ++r) prec.push_back({1 << c0.PPx[r], 1 << c0.PPy[r]});
  j["precincts"] = prec;
  j["htj2k"] = cs.ht;
  json markers;
  for (auto [name, code] : {std::pair{"PLT", PLT},
                            {"PLM", PLM},
                            {"TLM", TLM},
                            {"PPM", PPM},
                            {"PPT", PPT},
                            {"POC", POC},
                            {"COC", COC},
                            {"CAP", CAP}})
    markers[name] = cs.has_marker(code);
  bool sop = false;
  for (const auto& p : cs.packets) sop = sop || p.has_sop;
  markers["SOP"] = sop;
  bool eph = false;
  for (const auto& t : cs.tiles) eph = eph || t.coding.eph;
  markers["EPH"] = eph;
  j["markers"] = markers;
  j["tile_parts"] = cs.tile_parts.size();
  std::map<unsigned, res_stats> stats;
  std::uint64_t bytes = 0;
  bool headers_known = true;
  for (const auto& p : cs.packets) {
    auto& s = stats[p.resolution];
    ++s.count;
    std::uint64_t header =
        p.header_length == unknown_length ? 0 : p.header_length + p.packed_header_length;
    if (p.header_length == unknown_length) headers_known = false;
    s.header += header;
    s.body += p.length - (p.header_length == unknown_length ? 0 : p.header_length);
    bytes += p.length + p.packed_header_length;
  }
  j["packets"] = cs.packets.size();
  j["packet_bytes"] = bytes;
  j["packet_headers_known"] = headers_known;
  json per = json::array();
  for (auto& [r, s] : stats)
    per.push_back({{"resolution", r},
                   {"packets", s.count},
                   {"header_bytes", s.header},
                   {"body_bytes", s.body}});
  j["per_resolution"] = per;
  json warnings = json::array();
  for (const auto& c : ix.codestreams)
    for (const auto& w : c.warnings) warnings.push_back(w.to_string());
  j["warnings"] = warnings;
  j["codestreams"] = ix.codestreams.size();
  if (ix.jp2) {
    json boxes = json::array();
    std::function<json(const box&)> tree = [&](const box& b) {
      json o{{"type", box_type_name(b.type)}, {"offset", b.offset}, {"length", b.length}};
      if (!b.children.empty()) {
        json k = json::array();
        for (const auto& c : b.children) k.push_back(tree(c));
        o["children"] = k;
      }
      return o;
    };
    for (const auto& b : ix.boxes) boxes.push_back(tree(b));
    j["boxes"] = boxes;
    j["geojp2"] = !ix.jp2->geojp2.empty();
    j["gmljp2"] = !ix.jp2->gmljp2.empty();
    json geo{{"geojp2", json::array()}, {"gmljp2", json::array()}, {"xml", json::array()}};
    for (const auto& g : ix.jp2->geojp2)
      geo["geojp2"].push_back(
          {{"box_offset", g.box_offset}, {"offset", g.tiff.offset}, {"length", g.tiff.length}});
    for (const auto& [key, list] : {std::pair{"gmljp2", &ix.jp2->gmljp2}, {"xml", &ix.jp2->xml}})
      for (const auto& x : *list) {
        json o{{"box_offset", x.box_offset}, {"offset", x.xml.offset}, {"length", x.xml.length}};
        if (!x.label.empty()) o["label"] = x.label;
        geo[key].push_back(o);
      }
    j["georef"] = geo;
    j["colour"] = ix.jp2->colour_method == 1 ? std::to_string(ix.jp2->enum_cs) : "icc";
  } else {
    j["geojp2"] = false;
    j["gmljp2"] = false;
  }
  return j;
}

void print_text(const nlohmann::json& j) {
  auto yes = [](bool b) { return b ? "yes" : "no"; };
  std::cout << j["file"].get<std::string>() << ": " << j["format"].get<std::string>() << "\n";
  if (j.contains("boxes")) {
    std::cout << "boxes:\n";
    std::function<void(const nlohmann::json&, int)> pr = [&](const nlohmann::json& b, int depth) {
      std::cout << std::string(2 + 2 * depth, ' ') << b["type"].get<std::string>() << " @"
                << b["offset"] << " (" << b["length"] << " bytes)\n";
      if (b.contains("children"))
        for (const auto& c : b["children"]) pr(c, depth + 1);
    };
    for (const auto& b : j["boxes"]) pr(b, 0);
  }
  std::cout << "size: " << j["width"] << " x " << j["height"] << ", " << j["components"]
            << " components\n";
  int c = 0;
  for (const auto& ci : j["component_info"])
    std::cout << "  component " << c++ << ": " << ci["precision"] << " bits "
              << (ci["signed"].get<bool>() ? "signed" : "unsigned") << ", subsampling " << ci["dx"]
              << "x" << ci["dy"] << "\n";
  std::cout << "tiles: " << j["tiles"] << " (" << j["tile_size"][0] << " x " << j["tile_size"][1]
            << "), tile-parts: " << j["tile_parts"] << "\n";
  std::cout << "levels: ";
  const auto& cl = j["component_levels"];
  if (std::all_of(cl.begin(), cl.end(), [&](const auto& v) { return v == cl.front(); })) {
    std::cout << cl.front();
  } else {
    for (std::size_t k = 0; k < cl.size(); ++k) std::cout << (k ? ", " : "") << cl[k];
    std::cout << " (per component)";
  }
  std::cout << ", layers: " << j["layers"]
            << ", progression: " << j["progression"].get<std::string>()
            << ", transform: " << j["transform"].get<std::string>() << "\n";
  std::cout << "code-blocks: " << j["code_block"][0] << " x " << j["code_block"][1] << " (style 0x"
            << std::hex << j["code_block_style"].get<int>() << std::dec << ")"
            << (j["htj2k"].get<bool>() ? ", HTJ2K" : "") << "\n";
  std::cout << "precincts:";
  for (const auto& p : j["precincts"]) std::cout << " " << p[0] << "x" << p[1];
  std::cout << "\nmarkers:";
  for (auto& [k, v] : j["markers"].items()) std::cout << " " << k << "=" << yes(v.get<bool>());
  std::cout << "\ngeoreferencing: GeoJP2 " << yes(j["geojp2"].get<bool>()) << ", GMLJP2 "
            << yes(j["gmljp2"].get<bool>()) << "\n";
  if (j.contains("georef")) {
    const auto& geo = j["georef"];
    for (const auto& g : geo["geojp2"])
      std::cout << "  GeoJP2 uuid box @" << g["box_offset"] << " (" << g["length"]
                << " bytes of GeoTIFF)\n";
    for (const auto& x : geo["gmljp2"])
      std::cout << "  GMLJP2 xml box @" << x["box_offset"] << " '" << x["label"].get<std::string>()
                << "' (" << x["length"] << " bytes)\n";
    for (const auto& x : geo["xml"])
      std::cout << "  xml box @" << x["box_offset"] << " (" << x["length"] << " bytes)\n";
  }
  std::cout << "packets: " << j["packets"] << ", " << j["packet_bytes"] << " bytes\n";
  for (const auto& r : j["per_resolution"])
    std::cout << "  resolution " << r["resolution"] << ": " << r["packets"] << " packets, "
              << r["header_bytes"] << " header bytes, " << r["body_bytes"] << " body bytes\n";
  for (const auto& w : j["warnings"]) std::cout << "warning: " << w.get<std::string>() << "\n";
}

int run_info(const info_options& o) {
  index_options io;
  io.use_pointer_markers = o.fast;
  auto t = open_local_target(o.file, o.root, io);
  if (!t) {
    std::fprintf(stderr, "pipit info: %s: %s\n", o.file.c_str(), t.error().to_string().c_str());
    return 1;
  }
  auto j = describe((*t)->index, o.file);
  if (o.json)
    std::cout << j.dump(2) << "\n";
  else
    print_text(j);
  return 0;
}

}  // namespace

command register_info(CLI::App& app) {
  auto opts = std::make_shared<info_options>();
  auto* sub = app.add_subcommand("info", "Describe a JPEG 2000 file (JP2, JPX, J2K, JPH)");
  sub->add_option("file", opts->file, "the file")->required();
  sub->add_option("--root", opts->root,
                  "a linked JPX's url boxes are followed to files under this folder only, as "
                  "`pipit serve --root` does (default: the folder of the file)");
  sub->add_flag("--json", opts->json, "print one JSON object");
  sub->add_flag("--fast", opts->fast,
                "take packet lengths from PLT/PLM markers when present (no header bytes)");
  return command{sub, [opts] { return run_info(*opts); }};
}

}  // namespace pipit::tools
