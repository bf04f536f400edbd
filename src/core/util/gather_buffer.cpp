#include "pipit/gather_buffer.hpp"

namespace pipit {

void gather_buffer::take_owned(std::size_t from) {
  if (from >= owned_.size()) return;
  const std::size_t n = owned_.size() - from;
  size_ += n;
  if (!pieces_.empty() && pieces_.back().view == nullptr &&
      pieces_.back().offset + pieces_.back().size == from) {
    pieces_.back().size += n;
    return;
  }
  pieces_.push_back(piece{nullptr, from, n});
}

void gather_buffer::add_view(bytes_view b) {
  if (b.empty()) return;
  if (b.size() < small_copy) return add_copy(b);
  size_ += b.size();
  if (!pieces_.empty() && pieces_.back().view != nullptr &&
      pieces_.back().view + pieces_.back().size == b.data()) {
    pieces_.back().size += b.size();
    return;
  }
  pieces_.push_back(piece{b.data(), 0, b.size()});
}

void gather_buffer::add_copy(bytes_view b) {
  if (b.empty()) return;
  const std::size_t from = owned_.size();
  owned_.insert(owned_.end(), b.begin(), b.end());
  take_owned(from);
}

void gather_buffer::append_to(std::vector<std::uint8_t>& out) const {
  out.reserve(out.size() + size_);
  for_each([&out](const std::uint8_t* p, std::size_t n) { out.insert(out.end(), p, p + n); });
}

}  // namespace pipit
