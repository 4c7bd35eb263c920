// The route handlers StartHttpApp (app.cpp) mounts; one file each.
#pragma once

#include <memory>
#include <string>

#include "junction/engine/serve.h"
#include "junction/fhir/rest.h"
#include "junction/http/auth.h"
#include "junction/http/server.h"

namespace junction::http::internal {

class ReportCache;
class RateSampler;

struct AppContext {
  AppContext();
  ~AppContext();  // out of line: ReportCache and RateSampler are incomplete here

  engine::Engine* engine = nullptr;
  Server* server = nullptr;  // for /metrics
  std::unique_ptr<ReportCache> reports;
  std::unique_ptr<RateSampler> rates;
  std::unique_ptr<Authenticator> auth;  // null: no key configured, every token is refused
  std::unique_ptr<fhir::RestApi> rest;
  bool tls = false;
};

// The bearer token of `request` checked; the error says why (safe to show).
Result<Principal> Authenticate(const AppContext& app, const Request& request);

Handler FhirRoute(std::shared_ptr<AppContext> app);
Handler Hl7Route(std::shared_ptr<AppContext> app);
Handler TokenRoute(std::shared_ptr<AppContext> app);
Handler ApiRoute(std::shared_ptr<AppContext> app);
Handler MetricsRoute(std::shared_ptr<AppContext> app);
Handler ReadyRoute(std::shared_ptr<AppContext> app);
Handler StaticRoute(std::string root_dir);

}  // namespace junction::http::internal
