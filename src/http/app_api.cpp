// /api: bearer token, role from the scopes (viewer < operator < admin),
// dispatch to the channel, message and status handlers. Every handler reads
// or changes the engine directly (the API lives in the serving process).
#include <ctime>

#include "http/internal/api.h"
#include "junction/engine/messages.h"
#include "junction/hl7/charset.h"

namespace junction::http::internal {

Role RoleOf(const Principal& p) {
  if (p.HasScope("admin")) return Role::kAdmin;
  if (p.HasScope("operator")) return Role::kOperator;
  if (p.HasScope("viewer")) return Role::kViewer;
  return Role::kNone;
}

namespace {

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kAdmin:
      return "admin";
    case Role::kOperator:
      return "operator";
    case Role::kViewer:
      return "viewer";
    case Role::kNone:
      break;
  }
  return "";
}

Response WhoAmI(const ApiCall& call) {
  boost::json::object o;
  o["subject"] = call.principal.subject;
  o["client_id"] = call.principal.client_id;
  boost::json::array scopes;
  for (const std::string& s : call.principal.scopes) scopes.emplace_back(s);
  o["scopes"] = std::move(scopes);
  o["role"] = call.role == Role::kNone ? boost::json::value(nullptr)
                                       : boost::json::value(RoleName(call.role));
  o["patient"] = call.principal.patient ? boost::json::value(*call.principal.patient)
                                        : boost::json::value(nullptr);
  return ApiJson(200, o);
}

}  // namespace

std::string ApiCall::Query(std::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k == name) return v;
  }
  return "";
}

Response ApiJson(int status, const boost::json::value& body) {
  Response r = Response::Json(status, boost::json::serialize(body));
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

Response ApiError(int status, std::string_view reason) {
  return ApiJson(status, boost::json::object{{"error", reason}});
}

std::string ValidUtf8(std::string_view bytes) {
  static const auto utf8 = hl7::Charset::FromMsh18("UNICODE UTF-8");
  return utf8.ok() ? utf8->ToUtf8(bytes) : std::string(bytes);
}

boost::json::value Timestamp(std::int64_t micros) {
  if (micros == 0) return nullptr;
  return boost::json::value(engine::FormatTimestamp(micros));
}

Handler ApiRoute(std::shared_ptr<AppContext> app) {
  return [app](Request request, Responder respond) {
    auto principal = Authenticate(*app, request);
    if (!principal.ok()) {
      Response r = ApiError(401, principal.status().message());
      r.headers.emplace_back("WWW-Authenticate",
                             "Bearer realm=\"junction\", error=\"invalid_token\"");
      respond(std::move(r));
      return;
    }
    ApiCall call;
    call.request = &request;
    call.role = RoleOf(*principal);
    call.principal = std::move(principal).value();
    call.query = ParseQuery(request.query);
    std::string_view rest = std::string_view(request.path).substr(4);  // after "/api"
    while (!rest.empty()) {
      if (rest.front() == '/') {
        rest.remove_prefix(1);
        continue;
      }
      const std::size_t slash = rest.find('/');
      call.segments.emplace_back(rest.substr(0, slash));
      rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    }
    if (!call.segments.empty() && call.segments[0] == "whoami") {
      respond(WhoAmI(call));
      return;
    }
    if (call.role == Role::kNone) {
      respond(ApiError(403, "the token needs the viewer, operator or admin scope"));
      return;
    }
    const bool write = request.method != "GET";
    if (write && call.role == Role::kViewer) {
      respond(ApiError(403, "viewers may only read: this needs the operator scope"));
      return;
    }
    const std::string what = call.segments.empty() ? "" : call.segments[0];
    if (what == "channels") {
      respond(ApiChannels(*app, call));
    } else if (what == "messages") {
      respond(ApiMessages(*app, call));
    } else if (what == "status" || what == "stats" || what == "config") {
      respond(ApiStatus(*app, call));
    } else {
      respond(ApiError(404, "no such API route"));
    }
  };
}

}  // namespace junction::http::internal
