#include "server/viewer_endpoints.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "server/target_registry.hpp"

namespace pipit::server {
namespace fs = std::filesystem;

namespace {

fs::path find_viewer_dir() {
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("PIPIT_VIEWER_DIR"); env != nullptr && *env != '\0')
    candidates.emplace_back(env);
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) candidates.push_back(exe.parent_path().parent_path() / PIPIT_VIEWER_INSTALL_SUBDIR);
#ifdef PIPIT_VIEWER_BUILD_DIR
  candidates.emplace_back(PIPIT_VIEWER_BUILD_DIR);
#endif
  for (const auto& c : candidates)
    if (fs::is_regular_file(c / "index.html", ec)) return c;
  return {};
}

std::string html_escape(std::string_view s) {
  std::string out;
  for (char ch : s) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += ch;
    }
  }
  return out;
}

std::string url_escape(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~' || ch == '/') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += hex[ch >> 4];
      out += hex[ch & 15];
    }
  }
  return out;
}

std::optional<std::string> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string content_type_of(std::string_view name) {
  auto ends = [&](std::string_view ext) {
    return name.size() >= ext.size() && name.substr(name.size() - ext.size()) == ext;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js") || ends(".mjs")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".wasm")) return "application/wasm";
  if (ends(".png")) return "image/png";
  if (ends(".json") || ends(".map")) return "application/json";
  return "application/octet-stream";
}

// A 404 through the one map and text builder of refusals (error_status).
reply not_found(std::string_view reason) { return error_reply(refusal_kind::not_found, reason); }

// The served images under the root, sorted, at most `limit`.
std::vector<std::string> list_images(const fs::path& root, std::size_t limit) {
  std::vector<std::string> out;
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
  for (; !ec && it != end && out.size() < limit; it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string rel = fs::relative(it->path(), root, ec).generic_string();
    if (ec) continue;
    if (auto n = normalize_target_name(rel)) out.push_back(*n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

reply index_page(const fs::path& root) {
  const auto images = list_images(root, 10000);
  std::string body =
      "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Pipit: images</title>"
      "<link rel=\"stylesheet\" href=\"/view/assets/style.css\"></head>\n"
      "<body class=\"index\"><h1>Images served by Pipit</h1>\n";
  if (images.empty()) body += "<p>No JPEG 2000 image is served.</p>\n";
  body += "<ul>\n";
  for (const auto& n : images)
    body += "<li><a href=\"/view/" + html_escape(url_escape(n)) + "\">" + html_escape(n) +
            "</a></li>\n";
  body += "</ul></body></html>\n";
  reply r;
  r.content_type = "text/html; charset=utf-8";
  r.text = std::move(body);
  return r;
}

}  // namespace

const fs::path& viewer_dir() {
  static const fs::path dir = find_viewer_dir();
  return dir;
}

std::optional<reply> viewer_reply(std::string_view request_target, const server_context& ctx) {
  const std::string_view path = request_target.substr(0, request_target.find('?'));
  if (path != "/view" && path.rfind("/view/", 0) != 0) return std::nullopt;
  const fs::path& dir = viewer_dir();
  if (dir.empty())
    return not_found("this pipit was built without the browser viewer (PIPIT_BUILD_VIEWER)");
  const std::string_view rest = path.size() > 6 ? path.substr(6) : std::string_view{};
  if (rest.empty()) return index_page(ctx.targets.root());
  if (rest.rfind("assets/", 0) == 0) {
    const std::string_view file = rest.substr(7);
    const bool plain =
        !file.empty() && file.front() != '.' && std::all_of(file.begin(), file.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
        });
    if (!plain) return not_found("no such viewer file");
    auto bytes = read_file(dir / std::string(file));
    if (!bytes) return not_found("no such viewer file");
    reply r;
    r.content_type = content_type_of(file);
    r.text = std::move(*bytes);
    r.headers.emplace_back("Cache-Control", "no-cache");
    return r;
  }
  // /view/NAME: the page; it reads the image name from its own address.
  std::string name;
  if (!decode_url_path(rest, name) || !normalize_target_name(name))
    return not_found("not a served image name: " + std::string(rest));
  auto page = read_file(dir / "index.html");
  if (!page) return not_found("the viewer's index.html cannot be read");
  reply r;
  r.content_type = "text/html; charset=utf-8";
  r.text = std::move(*page);
  r.headers.emplace_back("Cache-Control", "no-cache");
  return r;
}

}  // namespace pipit::server
