// A byte sequence kept as a list of pieces, for writing with one gathering call (writev/sendmsg)
// instead of copying everything into one buffer first.
//
// A piece is either a view of memory the caller keeps alive and unchanged until the gather has
// been written (the mapped image file, a data-bin source's header bins), or bytes owned by the
// gather (JPP message headers, small copies). Adjacent owned pieces are one piece, and so are
// views that continue each other; views shorter than `small_copy` bytes are copied, since an
// iovec entry costs more than copying a few dozen bytes.
//
//   gather_buffer g;
//   auto& b = g.owned_bytes(); const auto from = b.size(); /* append to b */; g.take_owned(from);
//   g.add_view(file.subspan(offset, length));
//   g.for_each([](const std::uint8_t* p, std::size_t n) { ... });
//
// Thread-safety: none (a value type).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "pipit/byte_reader.hpp"

namespace pipit {

class gather_buffer {
 public:
  static constexpr std::size_t small_copy = 128;

  void clear() {
    owned_.clear();
    pieces_.clear();
    size_ = 0;
  }
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  std::size_t piece_count() const { return pieces_.size(); }

  // Append owned bytes to this vector, then call take_owned with its size before appending.
  std::vector<std::uint8_t>& owned_bytes() { return owned_; }
  void take_owned(std::size_t from);

  // `n` owned bytes at the end, to be written by the caller; the pointer is valid until the next
  // owned append.
  std::uint8_t* append_owned(std::size_t n);

  // REQUIRES: `b` stays valid and unchanged until the gather is written or cleared. A view
  // shorter than copy_below() bytes is copied now.
  void add_view(bytes_view b);
  // small_copy by default; 0 keeps every view a view, for memory whose bytes are filled in after
  // the gather is made and before it is written (a server's object read from a storage origin).
  std::size_t copy_below() const { return copy_below_; }
  void set_copy_below(std::size_t n) { copy_below_ = n; }
  void add_copy(bytes_view b);

  // Calls f(const std::uint8_t* data, std::size_t size) for each piece, in order.
  template <class F>
  void for_each(F&& f) const {
    for (const piece& p : pieces_) f(p.view ? p.view : owned_.data() + p.offset, p.size);
  }

  // Appends every byte, in order, to `out`.
  void append_to(std::vector<std::uint8_t>& out) const;

 private:
  struct piece {
    const std::uint8_t* view = nullptr;  // nullptr: owned_[offset, offset + size)
    std::size_t offset = 0;
    std::size_t size = 0;
  };
  std::vector<std::uint8_t> owned_;
  std::vector<piece> pieces_;
  std::size_t size_ = 0;
  std::size_t copy_below_ = small_copy;
};

inline void gather_buffer::take_owned(std::size_t from) {
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

inline std::uint8_t* gather_buffer::append_owned(std::size_t n) {
  const std::size_t from = owned_.size();
  owned_.resize(from + n);
  take_owned(from);
  return owned_.data() + from;
}

inline void gather_buffer::add_copy(bytes_view b) {
  if (b.empty()) return;
  const std::size_t from = owned_.size();
  owned_.insert(owned_.end(), b.begin(), b.end());
  take_owned(from);
}

inline void gather_buffer::add_view(bytes_view b) {
  if (b.empty()) return;
  if (b.size() < copy_below_) return add_copy(b);
  size_ += b.size();
  if (!pieces_.empty() && pieces_.back().view != nullptr &&
      pieces_.back().view + pieces_.back().size == b.data()) {
    pieces_.back().size += b.size();
    return;
  }
  pieces_.push_back(piece{b.data(), 0, b.size()});
}

}  // namespace pipit
