// The admin API (/api, docs/admin-api.md): shared helpers of its handlers.
#pragma once

#include <boost/json.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/internal/app_routes.h"

namespace junction::http::internal {

enum class Role { kNone, kViewer, kOperator, kAdmin };
Role RoleOf(const Principal& principal);

// One /api request after authentication: the path split into segments after
// "/api" and the decoded query.
struct ApiCall {
  const Request* request = nullptr;
  Principal principal;
  Role role = Role::kNone;
  std::vector<std::string> segments;  // "/api/messages/42/reprocess" -> messages, 42, reprocess
  std::vector<std::pair<std::string, std::string>> query;
  std::string Query(std::string_view name) const;  // "" when absent
};

Response ApiJson(int status, const boost::json::value& body);
Response ApiError(int status, std::string_view reason);

// Text as valid UTF-8 (invalid bytes become U+FFFD).
std::string ValidUtf8(std::string_view bytes);
// ISO 8601 UTC with milliseconds, or null for 0.
boost::json::value Timestamp(std::int64_t micros);

Response ApiChannels(AppContext& app, const ApiCall& call);
Response ApiMessages(AppContext& app, const ApiCall& call);
Response ApiStatus(AppContext& app, const ApiCall& call);

// The parsed tree of a message for the console (segments, fields with their
// dictionary names, components), see docs/admin-api.md.
boost::json::array MessageTree(std::string_view raw);

}  // namespace junction::http::internal
