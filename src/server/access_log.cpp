#include "server/access_log.hpp"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdio>
#include <mutex>

#include "pipit/jpp.hpp"

namespace pipit::server {
namespace {

void append_or_dash(std::string& out, std::string_view v) {
  if (v.empty())
    out += '-';
  else
    out += v;
}

void append_escaped(std::string& out, std::string_view v) {
  static const char hex[] = "0123456789abcdef";
  for (char ch : v) {
    const auto u = static_cast<unsigned char>(ch);
    if (u < 0x20 || u >= 0x7F || ch == '"' || ch == '\\') {
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 15];
    } else {
      out += ch;
    }
  }
}

}  // namespace

std::string format_access_line(const access_record& r) {
  std::string out;
  out.reserve(160 + r.target.size());
  append_or_dash(out, r.client);
  out += ' ';
  append_or_dash(out, r.method);
  out += ' ';
  out += std::to_string(r.status);
  out += " bytes=";
  out += std::to_string(r.bytes);
  out += " eor=";
  if (r.eor < 0)
    out += '-';
  else
    out += eor_reason_name(static_cast<eor_reason>(r.eor));
  if (r.cut) out += ",cut";
  char dur[32];
  std::snprintf(dur, sizeof dur, " dur_ms=%.3f", r.seconds * 1e3);
  out += dur;
  out += " session=";
  append_or_dash(out, r.session);
  out += " target=";
  if (r.image.empty())
    out += '-';
  else
    append_escaped(out, r.image);
  out += " window=";
  append_or_dash(out, r.window);
  out += " \"";
  append_escaped(out, r.target.substr(0, 2048));
  out += '"';
  return out;
}

access_log::~access_log() {
  if (logger_) logger_->flush();
}

result<void> access_log::open(const std::string& path) {
  static std::atomic<unsigned> serial{0};
  std::shared_ptr<spdlog::logger> next;
  try {
    // Loggers are not registered globally: each open makes a fresh one, the old one is dropped.
    const std::string name = "access#" + std::to_string(serial++);
    if (path == "-") {
      next =
          std::make_shared<spdlog::logger>(name, std::make_shared<spdlog::sinks::stdout_sink_mt>());
    } else if (!path.empty()) {
      next = std::make_shared<spdlog::logger>(
          name, std::make_shared<spdlog::sinks::basic_file_sink_mt>(path));
    }
  } catch (const spdlog::spdlog_ex& e) {
    return fail(errc::io, no_offset, "access log: " + std::string(e.what()));
  }
  if (next) {
    next->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %v");
    next->set_level(spdlog::level::info);
    next->flush_on(spdlog::level::err);
  }
  if (auto old = logger_) old->flush();
  {
    std::lock_guard lk(mutex_);
    logger_ = next;
  }
  path_ = path;
  return {};
}

void access_log::write(const access_record& r) {
  std::shared_ptr<spdlog::logger> l;
  {
    std::lock_guard lk(mutex_);
    l = logger_;
  }
  if (l) l->info(format_access_line(r));
}

void access_log::flush() {
  std::shared_ptr<spdlog::logger> l;
  {
    std::lock_guard lk(mutex_);
    l = logger_;
  }
  if (l) l->flush();
}

}  // namespace pipit::server
