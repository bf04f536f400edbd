// The `metareq` field (docs/jpip-notes.md §2.4, 15444-9 C.5.2):
//
//   metareq       = 1#("[" 1$req-box-prop "]" [root-bin] [max-depth]) [metadata-only]
//   req-box-prop  = box-type [limit] [qualifier] [priority]
//   box-type      = 4 characters / "*"
//   limit         = ":" (UINT / "r")
//   qualifier     = "/" 1*("w" / "s" / "g" / "a")
//   priority      = "!"
//   root-bin      = "R" UINT        max-depth = "D" UINT        metadata-only = "!!"
#include <limits>
#include <string>
#include <string_view>

#include "protocol/field_value.hpp"

namespace pipit::protocol {
namespace {

constexpr std::uint64_t u64_max = std::numeric_limits<std::uint64_t>::max();

bool box_type_char(char ch) {
  auto c = static_cast<unsigned char>(ch);
  return c >= 0x20 && c <= 0x7E && std::string_view("[]:;/!,*").find(ch) == std::string_view::npos;
}

std::uint8_t qualifier_bit(char c) {
  switch (c) {
    case 'w': return metareq_window;
    case 's': return metareq_stream;
    case 'g': return metareq_global;
    case 'a': return metareq_all;
    default: return 0;
  }
}

result<metareq_box> read_box(value_cursor& cur) {
  metareq_box box;
  if (cur.eat('*')) {
    box.box_type.push_back('*');  // not = "*": GCC 12 gives a bogus -Wrestrict
  } else {
    std::string_view text = cur.text().substr(cur.pos());
    std::size_t n = 0;
    while (n < 4 && n < text.size() && box_type_char(text[n])) ++n;
    if (n < 4) {
      return cur.fail("expected a 4-character box type or '*' (encode a space as %20)");
    }
    box.box_type = std::string(text.substr(0, 4));
    cur.seek(cur.pos() + 4);
  }
  if (cur.eat(':')) {
    if (cur.eat('r')) {
      box.limit_kind = metareq_limit_kind::skeleton;
    } else if (cur.peek_digit()) {
      PIPIT_TRY_ASSIGN(limit, cur.read_uint(u64_max));
      box.limit_kind = metareq_limit_kind::bytes;
      box.limit = limit;
    } else {
      return cur.fail("expected a byte limit or 'r' after ':'");
    }
  }
  if (cur.eat('/')) {
    if (qualifier_bit(cur.peek()) == 0) return cur.fail("expected w, s, g or a after '/'");
    while (std::uint8_t bit = qualifier_bit(cur.peek())) {
      box.qualifier |= bit;
      cur.next();
    }
  }
  box.priority = cur.eat('!');
  return box;
}

result<metareq_item> read_item(value_cursor& cur) {
  metareq_item item;
  if (!cur.eat('[')) return cur.fail_expected();
  do {
    PIPIT_TRY_ASSIGN(box, read_box(cur));
    item.boxes.push_back(std::move(box));
  } while (cur.eat(';'));
  if (!cur.eat(']')) return cur.fail("expected ';' or ']' after a box request");
  if (cur.eat('R')) {
    PIPIT_TRY_ASSIGN(root, cur.read_uint(u64_max));
    item.root_bin = root;
  }
  if (cur.eat('D')) {
    PIPIT_TRY_ASSIGN(depth, cur.read_u32());
    item.max_depth = depth;
  }
  return item;
}

}  // namespace

result<metadata_request> parse_metareq(value_cursor& cur) {
  metadata_request m;
  do {
    PIPIT_TRY_ASSIGN(item, read_item(cur));
    m.items.push_back(std::move(item));
  } while (cur.eat(','));
  m.metadata_only = cur.eat("!!");
  PIPIT_TRY(cur.expect_end());
  return m;
}

void append_metareq(const metadata_request& m, std::string& out) {
  for (std::size_t i = 0; i < m.items.size(); ++i) {
    const metareq_item& item = m.items[i];
    if (i > 0) out += ',';
    out += '[';
    for (std::size_t k = 0; k < item.boxes.size(); ++k) {
      const metareq_box& box = item.boxes[k];
      if (k > 0) out += ';';
      out += box.box_type;
      if (box.limit_kind == metareq_limit_kind::bytes) out += ':' + std::to_string(box.limit);
      if (box.limit_kind == metareq_limit_kind::skeleton) out += ":r";
      if (box.qualifier != 0) {
        out += '/';
        for (char c : {'w', 's', 'g', 'a'}) {
          if (box.qualifier & qualifier_bit(c)) out += c;
        }
      }
      if (box.priority) out += '!';
    }
    out += ']';
    if (item.root_bin) out += 'R' + std::to_string(*item.root_bin);
    if (item.max_depth) out += 'D' + std::to_string(*item.max_depth);
  }
  if (m.metadata_only) out += "!!";
}

}  // namespace pipit::protocol
