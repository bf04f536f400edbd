// OpenJPEG reading a codestream held in memory: the stream callbacks, the deleters of OpenJPEG's
// objects, and an error handler that collects OpenJPEG's messages into a string. Header-only and
// independent of the rest of the client, so bench/rebuild_bench.cpp decodes the same way (through
// the target pipit_opj_stream, which exposes this folder only).
//
// Thread-safety: one memory_stream per OpenJPEG stream.
#pragma once

#include <openjpeg.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

namespace pipit::client::opj {

struct memory_stream {
  const std::uint8_t* data = nullptr;
  std::uint64_t size = 0;
  std::uint64_t pos = 0;
  std::uint64_t bytes_read = 0;  // copied out by the read callback
  std::uint64_t reads = 0;
};

inline OPJ_SIZE_T stream_read(void* buffer, OPJ_SIZE_T n, void* user) {
  auto* s = static_cast<memory_stream*>(user);
  if (s->pos >= s->size) return static_cast<OPJ_SIZE_T>(-1);
  const auto k = static_cast<OPJ_SIZE_T>(std::min<std::uint64_t>(n, s->size - s->pos));
  std::memcpy(buffer, s->data + s->pos, k);
  s->pos += k;
  s->bytes_read += k;
  ++s->reads;
  return k;
}

inline OPJ_OFF_T stream_skip(OPJ_OFF_T n, void* user) {
  auto* s = static_cast<memory_stream*>(user);
  if (n < 0) {
    const auto back = static_cast<std::uint64_t>(-n);
    if (back > s->pos) return -1;
    s->pos -= back;
    return n;
  }
  const auto k = std::min<std::uint64_t>(static_cast<std::uint64_t>(n), s->size - s->pos);
  s->pos += k;
  return static_cast<OPJ_OFF_T>(k);
}

inline OPJ_BOOL stream_seek(OPJ_OFF_T n, void* user) {
  auto* s = static_cast<memory_stream*>(user);
  if (n < 0 || static_cast<std::uint64_t>(n) > s->size) return OPJ_FALSE;
  s->pos = static_cast<std::uint64_t>(n);
  return OPJ_TRUE;
}

// Error handler: appends the message (user = std::string*), "; " between messages.
inline void collect_message(const char* msg, void* user) {
  auto* text = static_cast<std::string*>(user);
  std::string m(msg);
  while (!m.empty() && m.back() == '\n') m.pop_back();
  if (!text->empty()) *text += "; ";
  *text += m;
}
inline void ignore_message(const char*, void*) {}

struct codec_deleter {
  void operator()(opj_codec_t* c) const { opj_destroy_codec(c); }
};
struct stream_deleter {
  void operator()(opj_stream_t* s) const { opj_stream_destroy(s); }
};
struct image_deleter {
  void operator()(opj_image_t* i) const { opj_image_destroy(i); }
};
using codec_ptr = std::unique_ptr<opj_codec_t, codec_deleter>;
using stream_ptr = std::unique_ptr<opj_stream_t, stream_deleter>;
using image_ptr = std::unique_ptr<opj_image_t, image_deleter>;

// An input stream over `m` (which must outlive it), read `chunk` bytes at a time.
inline stream_ptr open_memory_stream(memory_stream& m, std::size_t chunk) {
  stream_ptr s(opj_stream_create(chunk, OPJ_TRUE));
  if (!s) return s;
  opj_stream_set_user_data(s.get(), &m, nullptr);
  opj_stream_set_user_data_length(s.get(), m.size);
  opj_stream_set_read_function(s.get(), stream_read);
  opj_stream_set_skip_function(s.get(), stream_skip);
  opj_stream_set_seek_function(s.get(), stream_seek);
  return s;
}

// Messages: errors into `errors`, warnings and information dropped.
inline void collect_errors(opj_codec_t* codec, std::string& errors) {
  opj_set_error_handler(codec, collect_message, &errors);
  opj_set_warning_handler(codec, ignore_message, nullptr);
  opj_set_info_handler(codec, ignore_message, nullptr);
}

}  // namespace pipit::client::opj
