// The route handlers StartHttpApp (app.cpp) mounts; one file each.
#pragma once

#include <memory>
#include <string>

#include "junction/engine/serve.h"
#include "junction/fhir/rest.h"
#include "junction/http/auth.h"
#include "junction/http/server.h"

namespace junction::http::internal {

struct AppContext {
  engine::Engine* engine = nullptr;
  std::unique_ptr<Authenticator> auth;  // null: no key configured, every token is refused
  std::unique_ptr<fhir::RestApi> rest;
  bool tls = false;
};

// The bearer token of `request` checked; the error says why (safe to show).
Result<Principal> Authenticate(const AppContext& app, const Request& request);

Handler FhirRoute(std::shared_ptr<AppContext> app);
Handler Hl7Route(std::shared_ptr<AppContext> app);
Handler TokenRoute(std::shared_ptr<AppContext> app);

}  // namespace junction::http::internal
