// /fhir: authenticates the bearer token, turns the principal into a
// fhir::Caller and the request into a fhir::RestRequest. GET /fhir/metadata
// needs no token (clients discover the token endpoint there).
#include <string>
#include <utility>

#include "http/internal/app_routes.h"
#include "http/internal/server_state.h"

namespace junction::http::internal {
namespace {

constexpr std::string_view kBase = "/fhir";

Interaction ToHttp(fhir::Interaction i) {
  switch (i) {
    case fhir::Interaction::kCreate:
      return Interaction::kCreate;
    case fhir::Interaction::kRead:
      return Interaction::kRead;
    case fhir::Interaction::kUpdate:
      return Interaction::kUpdate;
    case fhir::Interaction::kDelete:
      return Interaction::kDelete;
    case fhir::Interaction::kSearch:
      return Interaction::kSearch;
  }
  return Interaction::kRead;
}

fhir::Caller CallerFor(Principal principal, const Request& request) {
  fhir::Caller caller;
  caller.who = principal.subject;
  caller.client_id = principal.client_id;
  caller.patient = principal.patient;
  caller.admin = principal.HasScope("admin");
  caller.peer = request.peer;
  caller.request_id = request.request_id;
  caller.allows = [p = std::move(principal)](std::string_view type, fhir::Interaction i) {
    return p.Allows(type, ToHttp(i));
  };
  return caller;
}

Response Unauthorized(std::string_view why) {
  Response r = ErrorResponse(kBase, 401, why);
  r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"junction\", error=\"invalid_token\"");
  return r;
}

}  // namespace

Handler FhirRoute(std::shared_ptr<AppContext> app) {
  return [app](Request request, Responder respond) {
    const std::string host(request.Header("host"));
    if (host.empty()) {
      respond(ErrorResponse(kBase, 400, "the Host header is required"));
      return;
    }
    fhir::RestRequest rest;
    rest.method = std::move(request.method);
    rest.path = request.path.substr(kBase.size());
    rest.query = std::move(request.query);
    rest.headers = request.headers;
    rest.body = std::move(request.body);
    rest.base_url = std::string(request.tls ? "https://" : "http://") + host + std::string(kBase);

    fhir::Caller caller;
    const bool metadata = rest.method == "GET" && (rest.path == "/metadata");
    if (!metadata) {
      auto principal = Authenticate(*app, request);
      if (!principal.ok()) {
        respond(Unauthorized(principal.status().message()));
        return;
      }
      caller = CallerFor(std::move(principal).value(), request);
    } else {
      caller.who = "anonymous";
      caller.peer = request.peer;
      caller.request_id = request.request_id;
      caller.allows = [](std::string_view, fhir::Interaction) { return false; };
    }
    app->rest->Handle(std::move(rest), caller, [respond](fhir::RestResponse r) {
      Response out;
      out.status = r.status;
      out.content_type = std::move(r.content_type);
      out.headers = std::move(r.headers);
      out.body = std::move(r.body);
      respond(std::move(out));
    });
  };
}

}  // namespace junction::http::internal
