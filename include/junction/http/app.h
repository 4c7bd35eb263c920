// The HTTP side of `junction serve`: one Server (server.h) on config `http:`
// with the routes
//   /fhir        FHIR R4 REST API (fhir::RestApi); bearer token required,
//                except GET /fhir/metadata
//   /hl7         HL7 v2 over HTTP: POST /hl7/v2 (the first channel with an
//                http source) or POST <source.http.path>; answers with the ACK
//   /auth/token  OAuth2 client_credentials grant for the configured clients
//   /healthz     liveness
//
//   engine::ServeOptions options;
//   options.attach = [](engine::Engine& e) { return http::StartHttpApp(e); };
//   engine::RunServe(config, options);
//
// Closed by default: without a verification key in `auth:` every protected
// route answers 401. Tokens are checked by Authenticator (auth.h); scopes
// map to fhir::Caller::allows; a token's patient claim becomes the caller's
// compartment restriction. /hl7 needs the `hl7`, `operator` or `admin` scope.
//
// Ownership: the returned Attachment owns the server and borrows the engine
// (and its FHIR store), which must outlive it; RunServe stops it first.
#pragma once

#include <memory>

#include "junction/engine/serve.h"
#include "junction/hl7/status.h"

namespace junction::http {

// kInvalidArgument for settings that do not load (TLS files, auth keys),
// kIoError when the address cannot be bound, kInvalidArgument when http: is
// not configured.
Result<std::unique_ptr<engine::Attachment>> StartHttpApp(engine::Engine& engine);

}  // namespace junction::http
