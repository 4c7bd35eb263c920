// RestApi: routes a request to its interaction.
#include <utility>

#include "fhir/rest/rest_internal.h"
#include "fhir/store/index_values.h"
#include "fhir/store/r4_types.h"

namespace junction::fhir {

using rest_internal::ErrorResponse;
using rest_internal::Route;
using rest_internal::RouteKind;

namespace rest_internal {
namespace {

std::vector<std::string_view> PathSegments(std::string_view path) {
  std::vector<std::string_view> segments;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    std::size_t cut = path.find('/');
    segments.push_back(path.substr(0, cut));
    path = cut == std::string_view::npos ? std::string_view{} : path.substr(cut);
  }
  return segments;
}

}  // namespace

// The resource types of FHIR R4 (4.0.1) only: anything else is no route
// (404) and no Bundle entry (400), so that the REST layer and the store agree.
bool IsValidType(std::string_view type) { return store_internal::IsR4ResourceType(type); }

bool IsValidId(std::string_view id) { return store_internal::IsValidId(id); }

std::optional<Route> ParseRoute(std::string_view path, RestResponse* error) {
  auto seg = PathSegments(path);
  Route route;
  auto not_found = [&](std::string_view what) {
    *error = ErrorResponse(404, what);
    return std::nullopt;
  };
  if (seg.empty()) return route;  // kBase
  if (seg.size() == 1 && seg[0] == "metadata") return Route{RouteKind::kMetadata, "", "", ""};
  if (seg.size() == 1 && seg[0] == "_history") return Route{RouteKind::kSystemHistory, "", "", ""};
  if (seg.size() == 1 && seg[0] == "_search") return Route{RouteKind::kSystemSearch, "", "", ""};
  if (!IsValidType(seg[0])) return not_found("unknown resource type or path");
  route.type = std::string(seg[0]);
  if (seg.size() == 1) {
    route.kind = RouteKind::kType;
    return route;
  }
  if (seg.size() == 2 && seg[1] == "_search") {
    route.kind = RouteKind::kTypeSearch;
    return route;
  }
  if (seg.size() == 2 && seg[1] == "_history") {
    route.kind = RouteKind::kTypeHistory;
    return route;
  }
  if (!seg[1].empty() && (seg[1][0] == '$' || seg[1][0] == '_')) {
    return not_found("unsupported operation " + std::string(seg[1]));
  }
  if (!IsValidId(seg[1])) {
    *error = ErrorResponse(400, "invalid resource id (expected [A-Za-z0-9-.]{1,64})");
    return std::nullopt;
  }
  route.id = std::string(seg[1]);
  if (seg.size() == 2) {
    route.kind = RouteKind::kInstance;
    return route;
  }
  if (seg.size() == 3 && seg[2] == "$everything" && route.type == "Patient") {
    route.kind = RouteKind::kEverything;
    return route;
  }
  if (seg[2] != "_history" || seg.size() > 4) return not_found("unsupported path");
  if (seg.size() == 3) {
    route.kind = RouteKind::kInstanceHistory;
    return route;
  }
  if (!ParseCount(seg[3]) || *ParseCount(seg[3]) == 0) {
    *error = ErrorResponse(400, "invalid version id (expected a positive integer)");
    return std::nullopt;
  }
  route.kind = RouteKind::kVersion;
  route.version = std::string(seg[3]);
  return route;
}

namespace {

bool WantsXml(const RestRequest& request, const Params& query) {
  for (const auto& [name, value] : query) {
    if (name == "_format" && value.find("xml") != std::string::npos) return true;
  }
  std::string_view accept = request.Header("accept");
  return !accept.empty() && accept.find("xml") != std::string_view::npos &&
         accept.find("json") == std::string_view::npos &&
         accept.find("*/*") == std::string_view::npos;
}

RestResponse MethodNotAllowed(std::string_view method, std::string_view what) {
  return ErrorResponse(405, std::string(method) + " is not supported on " + std::string(what));
}

// Runs one interaction; every path ends in Finish().
void Dispatch(const ExchangePtr& ex, const Route& route) {
  const std::string& method = ex->request.method;
  Params query = ParseQuery(ex->request.query, false);
  auto finish = [&](RestResponse response) { Finish(ex, std::move(response)); };
  if (WantsXml(ex->request, query)) {
    return finish(ErrorResponse(406, "only JSON (application/fhir+json) is supported"));
  }
  switch (route.kind) {
    case RouteKind::kMetadata:
      if (method != "GET") return finish(MethodNotAllowed(method, "/metadata"));
      ex->audit.subtype = "capabilities";
      ex->audit.skip = true;
      return finish(DoCapability(*ex));
    case RouteKind::kBase:
      if (method == "POST") return HandleBundle(ex);
      if (method == "GET") return finish(DoSearch(*ex, route, std::move(query)));
      return finish(MethodNotAllowed(method, "the base"));
    case RouteKind::kSystemSearch:
    case RouteKind::kTypeSearch:
      if (method != "POST" && method != "GET") return finish(MethodNotAllowed(method, "_search"));
      if (method == "POST" && !ex->request.body.empty()) {
        std::string_view type = ex->request.Header("content-type");
        if (type.find("application/x-www-form-urlencoded") == std::string_view::npos) {
          return finish(
              ErrorResponse(415, "POST _search takes an application/x-www-form-urlencoded body"));
        }
        for (auto& param : ParseQuery(ex->request.body, true)) query.push_back(std::move(param));
      }
      return finish(DoSearch(*ex, route, std::move(query)));
    case RouteKind::kType:
      if (method == "GET") return finish(DoSearch(*ex, route, std::move(query)));
      if (method == "POST") return HandleCreate(ex, route);
      if (method == "PUT") return HandleUpdate(ex, route);
      if (method == "DELETE") return HandleDelete(ex, route);
      return finish(MethodNotAllowed(method, "a resource type"));
    case RouteKind::kInstance:
      if (method == "GET") return finish(DoRead(*ex, route, query));
      if (method == "PUT") return HandleUpdate(ex, route);
      if (method == "DELETE") return HandleDelete(ex, route);
      return finish(MethodNotAllowed(method, "a resource"));
    case RouteKind::kVersion:
      if (method != "GET") return finish(MethodNotAllowed(method, "a version"));
      return finish(DoRead(*ex, route, query));
    case RouteKind::kSystemHistory:
    case RouteKind::kTypeHistory:
    case RouteKind::kInstanceHistory:
      if (method != "GET") return finish(MethodNotAllowed(method, "_history"));
      return finish(DoHistory(*ex, route, query));
    case RouteKind::kEverything:
      if (method != "GET") return finish(MethodNotAllowed(method, "$everything"));
      return finish(DoEverything(*ex, route, query));
  }
  finish(ErrorResponse(404, "unsupported path"));
}

}  // namespace
}  // namespace rest_internal

std::string_view RestRequest::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (rest_internal::EqualsIgnoreCase(key, name)) return value;
  }
  return {};
}

RestApi::RestApi(ResourceStore& store, RestOptions options)
    : store_(store), options_(std::move(options)) {}

void RestApi::Handle(RestRequest request, const Caller& caller,
                     std::function<void(RestResponse)> done) {
  auto ex = std::make_shared<rest_internal::Exchange>();
  ex->store = &store_;
  ex->options = &options_;
  ex->request = std::move(request);
  ex->caller = caller;
  ex->access.patient = caller.patient;
  ex->done = std::move(done);
  while (!ex->request.base_url.empty() && ex->request.base_url.back() == '/') {
    ex->request.base_url.pop_back();
  }
  if (ex->request.method == "PATCH" ||
      (ex->request.method != "GET" && ex->request.method != "POST" && ex->request.method != "PUT" &&
       ex->request.method != "DELETE")) {
    ex->audit.subtype = "operation";
    ex->audit.action = 'E';
    return rest_internal::Finish(
        ex, ErrorResponse(405, ex->request.method + " is not supported (no PATCH)"));
  }
  RestResponse error;
  auto route = rest_internal::ParseRoute(ex->request.path, &error);
  if (!route) {
    ex->audit.subtype = "operation";
    ex->audit.action = 'E';
    return rest_internal::Finish(ex, std::move(error));
  }
  ex->audit.type = route->type;
  rest_internal::Dispatch(ex, *route);
}

}  // namespace junction::fhir
