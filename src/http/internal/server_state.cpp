#include "http/internal/server_state.h"

#include <boost/json.hpp>

#include <random>

#include "junction/fhir/rest.h"

namespace junction::http::internal {
namespace {

constexpr std::size_t kMaxRequestIdBytes = 128;

}  // namespace

bool PrefixMatches(std::string_view prefix, std::string_view path) {
  if (path.substr(0, prefix.size()) != prefix) return false;
  return path.size() == prefix.size() || (!prefix.empty() && prefix.back() == '/') ||
         path[prefix.size()] == '/';
}

const RouteEntry* ServerState::Match(std::string_view path) const {
  const RouteEntry* best = nullptr;
  for (const auto& route : routes) {
    if (PrefixMatches(route.prefix, path) &&
        (best == nullptr || route.prefix.size() > best->prefix.size())) {
      best = &route;
    }
  }
  return best;
}

void ServerState::CountResponse(const std::string& route, int status) {
  std::lock_guard lock(mu);
  ++stats.routes[route].by_status[status];
}

void ServerState::AddSession(SessionBase* raw, std::weak_ptr<SessionBase> session) {
  std::lock_guard lock(mu);
  sessions.emplace(raw, std::move(session));
  ++stats.open_connections;
}

void ServerState::RemoveSession(SessionBase* raw) {
  {
    std::lock_guard lock(mu);
    if (sessions.erase(raw) > 0) --stats.open_connections;
  }
  sessions_changed.notify_all();
}

Response ErrorResponse(std::string_view path, int status, std::string_view diagnostics) {
  Response response;
  response.status = status;
  if (PrefixMatches("/fhir", path)) {
    boost::json::object issue{{"severity", "error"},
                              {"code", fhir::IssueTypeForStatus(status)},
                              {"diagnostics", diagnostics}};
    boost::json::object outcome{{"resourceType", "OperationOutcome"},
                                {"issue", boost::json::array{issue}}};
    response.content_type = "application/fhir+json";
    response.body = boost::json::serialize(outcome);
  } else {
    response.content_type = "application/json";
    response.body = boost::json::serialize(boost::json::object{{"error", diagnostics}});
  }
  return response;
}

std::string NewRequestId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::uint64_t bits = rng();
  std::string id(16, '0');
  for (char& c : id) {
    c = kHex[bits & 0xf];
    bits >>= 4;
  }
  return id;
}

std::string SanitizeRequestId(std::string_view id) {
  if (id.empty() || id.size() > kMaxRequestIdBytes) return {};
  for (char c : id) {
    if (c <= 0x20 || c >= 0x7f) return {};
  }
  return std::string(id);
}

}  // namespace junction::http::internal
