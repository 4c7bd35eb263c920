#include "http/internal/cors.h"

#include <algorithm>

namespace junction::http::internal {
namespace {

constexpr const char* kExposeHeaders = "Location, ETag, Content-Location, X-Request-Id";
constexpr const char* kAllowMethods = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
constexpr const char* kAllowHeaders =
    "Authorization, Content-Type, If-Match, If-None-Match, If-None-Exist, Prefer";
constexpr const char* kMaxAgeSeconds = "600";

}  // namespace

CorsPolicy::CorsPolicy(std::vector<std::string> origins) {
  for (auto& origin : origins) {
    if (origin == "*") {
      any_ = true;
    } else if (!origin.empty()) {
      // Origins compare exactly as browsers send them: no trailing slash.
      while (!origin.empty() && origin.back() == '/') origin.pop_back();
      origins_.push_back(std::move(origin));
    }
  }
}

bool CorsPolicy::Allows(std::string_view origin) const {
  if (origin.empty()) return false;
  return any_ || std::find(origins_.begin(), origins_.end(), origin) != origins_.end();
}

bool CorsPolicy::IsPreflight(std::string_view method, std::string_view origin,
                             std::string_view request_method) const {
  return enabled() && method == "OPTIONS" && !origin.empty() && !request_method.empty();
}

void CorsPolicy::AddResponseHeaders(std::string_view origin, Headers& headers) const {
  // The origin is echoed even under "*" so that Vary: Origin keeps caches right
  // and bearer-token requests from any allowed page work the same way.
  headers.emplace_back("Access-Control-Allow-Origin", std::string(origin));
  headers.emplace_back("Vary", "Origin");
  headers.emplace_back("Access-Control-Expose-Headers", kExposeHeaders);
}

void CorsPolicy::AddPreflightHeaders(std::string_view origin, Headers& headers) const {
  AddResponseHeaders(origin, headers);
  headers.emplace_back("Access-Control-Allow-Methods", kAllowMethods);
  headers.emplace_back("Access-Control-Allow-Headers", kAllowHeaders);
  headers.emplace_back("Access-Control-Max-Age", kMaxAgeSeconds);
}

}  // namespace junction::http::internal
