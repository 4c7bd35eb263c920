// POST /hl7/v2 and POST <source.http.path>: the body is one ER7 message; it
// goes through the same ingest as an MLLP frame (stored before the ACK) and
// the ACK is the response body. Needs a token with the hl7, operator or
// admin scope.
#include <string>

#include "http/internal/app_routes.h"
#include "http/internal/server_state.h"

namespace junction::http::internal {
namespace {

bool IsHl7ContentType(std::string_view type) {
  std::string base(type.substr(0, type.find(';')));
  while (!base.empty() && base.back() == ' ') base.pop_back();
  for (char& c : base) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return base == "x-application/hl7-v2+er7" || base == "application/hl7-v2";
}

mllp::PeerInfo PeerOf(const Request& request) {
  mllp::PeerInfo peer;
  peer.listener = "http";
  const std::size_t colon = request.peer.rfind(':');
  std::string address = request.peer.substr(0, colon);
  if (address.size() >= 2 && address.front() == '[')
    address = address.substr(1, address.size() - 2);
  peer.address = address;
  if (colon != std::string::npos) {
    peer.port = static_cast<std::uint16_t>(std::atoi(request.peer.c_str() + colon + 1));
  }
  return peer;
}

}  // namespace

Handler Hl7Route(std::shared_ptr<AppContext> app) {
  return [app](Request request, Responder respond) {
    if (request.method != "POST") {
      Response r = ErrorResponse(request.path, 405, "use POST with an HL7 v2 message");
      r.headers.emplace_back("Allow", "POST");
      respond(std::move(r));
      return;
    }
    auto principal = Authenticate(*app, request);
    if (!principal.ok()) {
      Response r = ErrorResponse(request.path, 401, principal.status().message());
      r.headers.emplace_back("WWW-Authenticate",
                             "Bearer realm=\"junction\", error=\"invalid_token\"");
      respond(std::move(r));
      return;
    }
    if (!principal->HasScope("hl7") && !principal->HasScope("operator") &&
        !principal->HasScope("admin")) {
      respond(ErrorResponse(request.path, 403, "the token needs the hl7, operator or admin scope"));
      return;
    }
    if (!IsHl7ContentType(request.Header("content-type"))) {
      respond(ErrorResponse(request.path, 415,
                            "Content-Type must be x-application/hl7-v2+er7 or application/hl7-v2"));
      return;
    }
    if (request.body.empty()) {
      respond(ErrorResponse(request.path, 400, "the body is empty"));
      return;
    }
    const mllp::PeerInfo peer = PeerOf(request);
    const bool taken = app->engine->SubmitHttp(
        request.path, peer, std::move(request.body), [respond](std::string ack) {
          if (ack.empty()) {
            respond(Response::Text(202, ""));
            return;
          }
          respond(Response::Text(200, std::move(ack), "x-application/hl7-v2+er7"));
        });
    if (!taken) respond(ErrorResponse(request.path, 404, "no channel takes HL7 v2 at this path"));
  };
}

}  // namespace junction::http::internal
