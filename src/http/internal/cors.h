// CORS policy: which origins get Access-Control-* headers, and the answer to
// a preflight request.
//
//   CorsPolicy cors({"https://app.example.org"});
//   if (cors.IsPreflight(method, origin, request_method) && cors.Allows(origin))
//     cors.AddPreflightHeaders(origin, headers);   // 204
//   else if (cors.Allows(origin)) cors.AddResponseHeaders(origin, headers);
//
// An empty origin list disables CORS completely: no headers, no preflight
// answers (OPTIONS then reaches the handlers like any other method).
//
// Thread safety: immutable after construction; use from any thread.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace junction::http::internal {

class CorsPolicy {
 public:
  using Headers = std::vector<std::pair<std::string, std::string>>;

  CorsPolicy() = default;
  explicit CorsPolicy(std::vector<std::string> origins);

  bool enabled() const { return !origins_.empty() || any_; }
  // Whether `origin` (the request's Origin header) may read responses.
  bool Allows(std::string_view origin) const;
  // OPTIONS with Origin and Access-Control-Request-Method, while CORS is on.
  bool IsPreflight(std::string_view method, std::string_view origin,
                   std::string_view request_method) const;

  // Access-Control-Allow-Origin (the origin itself), Vary: Origin and
  // Access-Control-Expose-Headers.
  void AddResponseHeaders(std::string_view origin, Headers& headers) const;
  // The response headers plus Allow-Methods, Allow-Headers and Max-Age.
  void AddPreflightHeaders(std::string_view origin, Headers& headers) const;

 private:
  std::vector<std::string> origins_;
  bool any_ = false;
};

}  // namespace junction::http::internal
