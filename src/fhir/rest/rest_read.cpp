// read and vread: GET /Type/id and /Type/id/_history/vid.
#include "fhir/rest/rest_internal.h"

namespace junction::fhir::rest_internal {

void AddVersionHeaders(const std::string& base_url, const StoredResource& resource, bool location,
                       RestResponse* response) {
  response->headers.emplace_back("ETag", Etag(resource.version));
  std::string date = HttpDate(resource.last_updated);
  if (!date.empty()) response->headers.emplace_back("Last-Modified", date);
  if (location) {
    response->headers.emplace_back("Location", base_url + "/" + resource.type + "/" + resource.id +
                                                   "/_history/" + std::to_string(resource.version));
  }
}

RestResponse DoRead(Exchange& ex, const Route& route, const Params& query) {
  bool vread = route.kind == RouteKind::kVersion;
  ex.audit.subtype = vread ? "vread" : "read";
  ex.audit.action = 'R';
  ex.audit.type = route.type;
  ex.audit.references.push_back(route.type + "/" + route.id +
                                (vread ? "/_history/" + route.version : ""));
  if (auto refused = Authorize(ex, route.type, Interaction::kRead)) return *refused;
  if (route.type == "Patient") ex.audit.patients.insert(route.id);

  Result<StoredResource> found =
      vread
          ? ex.store->ReadVersion(route.type, route.id,
                                  static_cast<std::int64_t>(*ParseCount(route.version)), ex.access)
          : ex.store->Read(route.type, route.id, ex.access);
  if (!found.ok()) {
    int status = FailureStatus(found.status());
    if (status == 404) return ErrorResponse(404, route.type + "/" + route.id + " is not known");
    return ErrorResponse(status, found.status().message());
  }
  if (found->deleted) {
    RestResponse gone = ErrorResponse(410, route.type + "/" + route.id + " was deleted");
    AddVersionHeaders(ex.request.base_url, *found, false, &gone);
    return gone;
  }
  std::string_view if_none_match = ex.request.Header("if-none-match");
  if (!vread && !if_none_match.empty() &&
      EtagVersion(if_none_match) == std::to_string(found->version)) {
    RestResponse not_modified;
    not_modified.status = 304;
    AddVersionHeaders(ex.request.base_url, *found, false, &not_modified);
    return not_modified;
  }

  std::string summary;
  std::vector<std::string> elements;
  for (const auto& [name, value] : query) {
    if (name == "_summary") summary = value;
    if (name == "_elements") {
      std::string_view rest = value;
      while (!rest.empty()) {
        std::size_t cut = rest.find(',');
        if (cut != 0) elements.emplace_back(rest.substr(0, cut));
        rest = cut == std::string_view::npos ? std::string_view{} : rest.substr(cut + 1);
      }
    }
  }
  RestResponse response;
  response.status = 200;
  std::string error;
  bool subset = !elements.empty() || (!summary.empty() && summary != "false");
  if (vread && route.type != "Patient") {
    // An older version: its own references name the patients (the
    // compartment rows are the current version's).
    auto value = ParseJson(found->json, &error);
    if (value && value->is_object()) CollectPatients(value->as_object(), &ex.audit.patients);
  } else {
    ex.audit.patients.insert(found->patients.begin(), found->patients.end());
  }
  if (subset) {  // otherwise the stored bytes go out as they are
    auto value = ParseJson(found->json, &error);
    if (value && value->is_object()) {
      ApplySubset(value->as_object(), summary, elements);
      response.body = json::serialize(*value);
    }
  }
  if (response.body.empty()) response.body = std::move(found->json);
  AddVersionHeaders(ex.request.base_url, *found, false, &response);
  return response;
}

}  // namespace junction::fhir::rest_internal
