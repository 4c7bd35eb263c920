// State shared by the Server, its listener and every session: options, routes,
// CORS policy, TLS context, counters and the registry of live sessions.
//
// Sessions hold it by shared_ptr, so a session that outlives Stop() (its last
// handler still queued in the io_context) never touches freed memory.
//
// Thread safety: options, routes, cors and tls are written before Start and
// only read afterwards; everything else is guarded by `mu` (counters and
// registry) or `life_mu` (whether responders may still post to sessions).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ssl/context.hpp>

#include "http/internal/cors.h"
#include "junction/http/server.h"

namespace junction::http::internal {

// What Stop needs of a live connection. Both calls post to the session's strand.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Finish the request in progress (if any), then close; idle: close now.
  virtual void RequestStop() = 0;
  // Close now, whatever the state.
  virtual void ForceClose() = 0;
};

struct RouteEntry {
  std::string prefix;
  Handler handler;
};

struct ServerState {
  ServerOptions options;
  std::vector<RouteEntry> routes;
  CorsPolicy cors;
  std::shared_ptr<boost::asio::ssl::context> tls;

  std::mutex mu;
  std::condition_variable sessions_changed;
  std::map<SessionBase*, std::weak_ptr<SessionBase>> sessions;
  bool stopping = false;
  ServerStats stats;

  // Responders check this before posting back into the io_context, which is
  // gone once Stop has finished.
  std::mutex life_mu;
  bool alive = true;

  // Longest registered prefix matching `path` on a segment boundary, or null.
  const RouteEntry* Match(std::string_view path) const;
  void CountResponse(const std::string& route, int status);
  void AddSession(SessionBase* raw, std::weak_ptr<SessionBase> session);
  void RemoveSession(SessionBase* raw);
};

// Whether `prefix` matches `path` on a segment boundary ("/fhir" matches
// "/fhir" and "/fhir/x", not "/fhirx"; "/" matches everything).
bool PrefixMatches(std::string_view prefix, std::string_view path);

// The error answer for `path`: FHIR OperationOutcome under /fhir, else
// {"error": ...}. `diagnostics` must not contain message content.
Response ErrorResponse(std::string_view path, int status, std::string_view diagnostics);

// 16 lower-case hex characters from a per-thread random generator.
std::string NewRequestId();
// The client's X-Request-Id when it is short, visible ASCII; else "".
std::string SanitizeRequestId(std::string_view id);

}  // namespace junction::http::internal
