// history: GET /_history, /Type/_history, /Type/id/_history -> Bundle type history.
#include "fhir/rest/rest_internal.h"
#include "fhir/store/search_parse.h"

namespace junction::fhir::rest_internal {
namespace {

json::object HistoryEntry(const std::string& base, const StoredResource& version) {
  json::object entry;
  entry["fullUrl"] = base + "/" + version.type + "/" + version.id;
  // The method the version was written with (an update-as-create is a PUT).
  std::string method = !version.method.empty() ? version.method
                       : version.deleted       ? "DELETE"
                       : version.version == 1  ? "POST"
                                               : "PUT";
  std::string error;
  if (!version.deleted) {
    auto resource = ParseJson(version.json, &error);
    if (resource) entry["resource"] = std::move(*resource);
  }
  entry["request"] =
      json::object{{"method", method},
                   {"url", method == "POST" ? version.type : version.type + "/" + version.id}};
  int status = version.deleted        ? 204
               : version.version == 1 ? 201
                                      : 200;  // 201: the version that created it
  json::object response{{"status", StatusLine(status)}, {"etag", Etag(version.version)}};
  if (!version.last_updated.empty()) response["lastModified"] = version.last_updated;
  entry["response"] = std::move(response);
  return entry;
}

}  // namespace

RestResponse DoHistory(Exchange& ex, const Route& route, const Params& query) {
  ex.audit.action = 'R';
  ex.audit.type = route.type;
  std::string path;
  if (route.kind == RouteKind::kSystemHistory) {
    ex.audit.subtype = "history-system";
    // Every type at once: only administrators (scopes are per type).
    if (!ex.caller.admin) return ErrorResponse(403, "system history needs the admin scope");
    path = "/_history";
  } else if (route.kind == RouteKind::kTypeHistory) {
    ex.audit.subtype = "history-type";
    if (auto refused = Authorize(ex, route.type, Interaction::kSearch)) return *refused;
    path = "/" + route.type + "/_history";
  } else {
    ex.audit.subtype = "history-instance";
    ex.audit.references.push_back(route.type + "/" + route.id);
    if (auto refused = Authorize(ex, route.type, Interaction::kRead)) return *refused;
    if (route.type == "Patient") ex.audit.patients.insert(route.id);
    path = "/" + route.type + "/" + route.id + "/_history";
  }

  HistoryRequest request;
  request.type = route.type;
  request.id = route.id;
  request.count = ex.options->default_count;
  for (const auto& [name, value] : query) {
    ex.audit.param_names.push_back(name);
    if (name == "_count" || name == "_offset") {
      auto number = ParseCount(value);
      if (!number) return ErrorResponse(400, name + " must be a non-negative integer");
      (name == "_count" ? request.count : request.offset) = *number;
    } else if (name == "_since") {
      if (HttpDate(value).empty()) return ErrorResponse(400, "_since must be a FHIR instant");
      request.since = value;
    } else if (name == "_at" || name == "_list" || name == "_sort") {
      return ErrorResponse(400, name + " is not supported on history");
    }
  }
  request.count = std::min(request.count, ex.options->max_count);

  Result<HistoryPage> page = ex.store->History(request, ex.access);
  if (!page.ok()) return ErrorResponse(FailureStatus(page.status()), page.status().message());
  if (route.kind == RouteKind::kInstanceHistory && page->total == 0) {
    return ErrorResponse(404, route.type + "/" + route.id + " is not known");
  }

  const std::string& base = ex.request.base_url;
  auto link = [&](std::size_t offset) {
    Params params = {{"_count", std::to_string(request.count)},
                     {"_offset", std::to_string(offset)}};
    if (!request.since.empty()) params.emplace_back("_since", request.since);
    return base + path + "?" + store_internal::EncodeQuery(params);
  };
  json::array links{json::object{{"relation", "self"}, {"url", link(request.offset)}}};
  if (page->has_more) {
    links.push_back(
        json::object{{"relation", "next"}, {"url", link(request.offset + request.count)}});
  }
  if (request.offset > 0) {
    std::size_t prev = request.offset > request.count ? request.offset - request.count : 0;
    links.push_back(json::object{{"relation", "previous"}, {"url", link(prev)}});
  }
  json::array entries;
  for (const auto& version : page->versions) entries.push_back(HistoryEntry(base, version));
  json::object bundle{{"resourceType", "Bundle"},
                      {"type", "history"},
                      {"total", page->total},
                      {"link", std::move(links)},
                      {"entry", std::move(entries)}};
  return JsonResponse(200, bundle);
}

}  // namespace junction::fhir::rest_internal
