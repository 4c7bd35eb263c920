// GET / and the console's files from http.ui_dir. Only regular files inside
// the directory are served (no listing, no "..", no symlinks out of it), with
// a strict Content-Security-Policy: the console loads nothing from elsewhere.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "http/internal/app_routes.h"
#include "http/internal/server_state.h"

namespace junction::http::internal {
namespace {

constexpr std::uintmax_t kMaxStaticBytes = 16u << 20;

std::string_view ContentType(const std::filesystem::path& path) {
  const std::string ext = path.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json") return "application/json";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

void AddSecurityHeaders(Response* r) {
  r->headers.emplace_back("Content-Security-Policy",
                          "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                          "base-uri 'none'; frame-ancestors 'none'");
  r->headers.emplace_back("X-Content-Type-Options", "nosniff");
  r->headers.emplace_back("Referrer-Policy", "no-referrer");
  r->headers.emplace_back("Cache-Control", "no-cache");
}

}  // namespace

Handler StaticRoute(std::string root_dir) {
  std::error_code ec;
  const std::filesystem::path root = std::filesystem::weakly_canonical(root_dir, ec);
  return [root](Request request, Responder respond) {
    if (request.method != "GET" && request.method != "HEAD") {
      Response r = ErrorResponse(request.path, 405, "use GET");
      r.headers.emplace_back("Allow", "GET, HEAD");
      respond(std::move(r));
      return;
    }
    std::string relative = request.path == "/" ? "index.html" : request.path.substr(1);
    const std::filesystem::path asked(relative);
    for (const auto& part : asked) {
      if (part == ".." || part == "." || part.string().starts_with('.')) {
        respond(ErrorResponse(request.path, 404, "not found"));
        return;
      }
    }
    std::error_code error;
    const std::filesystem::path file = std::filesystem::canonical(root / asked, error);
    const std::string prefix = root.string() + "/";
    if (error || !file.string().starts_with(prefix) ||
        !std::filesystem::is_regular_file(file, error) ||
        std::filesystem::file_size(file, error) > kMaxStaticBytes) {
      respond(ErrorResponse(request.path, 404, "not found"));
      return;
    }
    std::ifstream in(file, std::ios::binary);
    std::ostringstream body;
    body << in.rdbuf();
    Response r = Response::Text(200, request.method == "HEAD" ? std::string() : body.str(),
                                std::string(ContentType(file)));
    AddSecurityHeaders(&r);
    respond(std::move(r));
  };
}

}  // namespace junction::http::internal
