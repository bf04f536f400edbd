#include "server/metareq_ranges.hpp"

#include <algorithm>
#include <limits>

namespace pipit::server {
namespace {

struct walker {
  const metareq_box& prop;
  std::uint32_t max_depth;
  std::vector<bin_range>& out;

  bool matches(const box& b) const {
    if (prop.box_type == "*") return true;
    const std::string name = b.type == box_type("jp2c") ? "jp2c" : box_type_name(b.type);
    return name == prop.box_type;
  }

  // `bin_offset`: where box b starts in metadata-bin 0; `placeholder`: b is a jp2c box, which
  // bin 0 holds as a placeholder of `placeholder_length` bytes.
  void visit(const box& b, std::uint64_t bin_offset, std::uint64_t bin_length, unsigned depth) {
    if (depth > max_depth) return;
    if (matches(b)) {
      std::uint64_t end = bin_offset + bin_length;
      if (prop.limit_kind == metareq_limit_kind::skeleton)
        end = bin_offset + std::min(b.header_length, bin_length);
      else if (prop.limit_kind == metareq_limit_kind::bytes)
        end = bin_offset + std::min(bin_length, b.header_length + prop.limit);
      out.push_back(bin_range{bin_offset, end});
      if (prop.limit_kind == metareq_limit_kind::whole) return;  // children come with it
    }
    if (b.type == box_type("jp2c")) return;  // a placeholder: no children in bin 0
    for (const box& c : b.children)
      visit(c, bin_offset + (c.offset - b.offset), c.length, depth + 1);
  }
};

}  // namespace

std::vector<bin_range> metareq_ranges(const image_index& index, const metadata_request& rq) {
  std::vector<bin_range> out;
  if (!index.is_jp2) return out;
  for (const metareq_item& item : rq.items) {
    if (item.root_bin && *item.root_bin != 0) continue;
    const std::uint32_t depth = item.max_depth.value_or(std::numeric_limits<std::uint32_t>::max());
    for (const metareq_box& prop : item.boxes) {
      walker w{prop, depth, out};
      std::uint64_t pos = 0;
      for (const box& b : index.boxes) {
        const std::uint64_t len = b.type == box_type("jp2c") ? 44 + b.header_length : b.length;
        w.visit(b, pos, len, 0);
        pos += len;
      }
    }
  }
  std::sort(out.begin(), out.end(),
            [](const bin_range& a, const bin_range& b) { return a.from < b.from; });
  std::vector<bin_range> merged;
  for (const auto& r : out) {
    if (r.to <= r.from) continue;
    if (!merged.empty() && r.from <= merged.back().to)
      merged.back().to = std::max(merged.back().to, r.to);
    else
      merged.push_back(r);
  }
  return merged;
}

}  // namespace pipit::server
