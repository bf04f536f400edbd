#include "pipit/gather_buffer.hpp"

namespace pipit {

void gather_buffer::append_to(std::vector<std::uint8_t>& out) const {
  out.reserve(out.size() + size_);
  for_each([&out](const std::uint8_t* p, std::size_t n) { out.insert(out.end(), p, p + n); });
}

}  // namespace pipit
