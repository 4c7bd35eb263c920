// search (GET/POST, type and system level) and Patient/$everything -> Bundle
// type searchset.
#include <algorithm>

#include "fhir/rest/rest_internal.h"

namespace junction::fhir::rest_internal {
namespace {

// Patients recorded in one AuditEvent; a wider search records the first ones.
constexpr std::size_t kMaxAuditPatients = 100;

// One Bundle entry as JSON text. Without _summary/_elements the stored
// bytes go in as they are (they are the JSON the store validated); the
// audit's patients come from the store's compartment rows.
void AppendSearchEntry(Exchange& ex, const StoredResource& stored, std::string_view mode,
                       std::string_view summary, const std::vector<std::string>& elements,
                       std::string* out) {
  if (ex.audit.patients.size() < kMaxAuditPatients) {
    ex.audit.patients.insert(stored.patients.begin(), stored.patients.end());
  }
  if (!out->empty()) out->push_back(',');
  out->append(R"({"fullUrl":)");
  out->append(
      json::serialize(json::string(ex.request.base_url + "/" + stored.type + "/" + stored.id)));
  bool subset = mode == "match" && (!elements.empty() || (!summary.empty() && summary != "false"));
  std::string error;
  if (!subset) {
    out->append(R"(,"resource":)");
    out->append(stored.json);
  } else if (auto resource = ParseJson(stored.json, &error); resource && resource->is_object()) {
    ApplySubset(resource->as_object(), summary, elements);
    out->append(R"(,"resource":)");
    out->append(json::serialize(*resource));
  }
  out->append(R"(,"search":{"mode":")");
  out->append(mode);
  out->append(R"("}})");
}

json::object LinkObject(std::string_view relation, std::string url) {
  return json::object{{"relation", relation}, {"url", std::move(url)}};
}

// A searchset Bundle around entries already written as JSON text.
RestResponse BundleResponse(const std::optional<std::int64_t>& total, const json::array& links,
                            const std::string& entries) {
  RestResponse response;
  response.status = 200;
  std::string& body = response.body;
  body.reserve(entries.size() + 512);
  body = R"({"resourceType":"Bundle","type":"searchset")";
  if (total) body += R"(,"total":)" + std::to_string(*total);
  body += R"(,"link":)";
  body += json::serialize(links);
  if (!entries.empty()) {
    body += R"(,"entry":[)";
    body += entries;
    body += ']';
  }
  body += '}';
  return response;
}

std::vector<std::string> SplitCommas(std::string_view text) {
  std::vector<std::string> parts;
  while (!text.empty()) {
    std::size_t cut = text.find(',');
    if (cut != 0) parts.emplace_back(text.substr(0, cut));
    text = cut == std::string_view::npos ? std::string_view{} : text.substr(cut + 1);
  }
  return parts;
}

// Every included resource must be readable by the caller; else the whole search is refused.
std::optional<RestResponse> AuthorizeIncluded(const Exchange& ex, const SearchPage& page) {
  for (const auto& included : page.included) {
    if (auto refused = Authorize(ex, included.type, Interaction::kRead)) return refused;
  }
  return std::nullopt;
}

}  // namespace

RestResponse DoSearch(Exchange& ex, const Route& route, Params params) {
  bool system = route.type.empty();
  ex.audit.subtype = system ? "search-system" : "search-type";
  ex.audit.action = 'E';  // FHIR/BALP: a query is an Execute
  ex.audit.type = route.type;
  std::erase_if(params, [](const auto& p) { return p.first == "_format" || p.first == "_pretty"; });
  for (const auto& [name, value] : params) {
    if (std::find(ex.audit.param_names.begin(), ex.audit.param_names.end(), name) ==
        ex.audit.param_names.end()) {
      ex.audit.param_names.push_back(name);
    }
  }
  if (system) {
    bool typed = false;
    for (const auto& [name, value] : params) {
      if (name != "_type") continue;
      typed = true;
      for (const auto& type : SplitCommas(value)) {
        if (!IsValidType(type)) return ErrorResponse(400, "_type names an invalid type");
        if (auto refused = Authorize(ex, type, Interaction::kSearch)) return *refused;
      }
    }
    if (!typed && !ex.caller.admin) {
      return ErrorResponse(403, "a system-level search needs _type (or the admin scope)");
    }
  } else if (auto refused = Authorize(ex, route.type, Interaction::kSearch)) {
    return *refused;
  }
  if (auto refused = AuthorizeSearchParams(ex, route.type, params)) return *refused;

  SearchRequest request;
  request.type = route.type;
  request.params = std::move(params);
  request.strict = PreferValue(ex.request, "handling") == "strict";
  request.default_count = ex.options->default_count;
  request.max_count = ex.options->max_count;
  Result<SearchPage> page = ex.store->Search(request, ex.access);
  if (!page.ok()) return ErrorResponse(FailureStatus(page.status()), page.status().message());
  if (auto refused = AuthorizeIncluded(ex, *page)) return *refused;

  std::string prefix = ex.request.base_url + (system ? "" : "/" + route.type) + "?";
  json::array links;
  links.push_back(LinkObject("self", prefix + page->self_query));
  if (!page->next_query.empty()) links.push_back(LinkObject("next", prefix + page->next_query));
  if (!page->prev_query.empty()) {
    links.push_back(LinkObject("previous", prefix + page->prev_query));
  }
  std::string entries;
  if (page->summary != "count") {
    for (const auto& match : page->matches) {
      AppendSearchEntry(ex, match, "match", page->summary, page->elements, &entries);
    }
    for (const auto& included : page->included) {
      AppendSearchEntry(ex, included, "include", "", {}, &entries);
    }
  }
  if (!page->ignored_params.empty()) {
    std::string names;
    for (const auto& name : page->ignored_params) names += (names.empty() ? "" : ", ") + name;
    if (!entries.empty()) entries.push_back(',');
    entries += json::serialize(json::object{
        {"resource",
         OutcomeObject("warning", "not-supported", "unknown search parameters ignored: " + names)},
        {"search", json::object{{"mode", "outcome"}}}});
  }
  return BundleResponse(page->total, links, entries);
}

RestResponse DoEverything(Exchange& ex, const Route& route, const Params& query) {
  ex.audit.subtype = "operation";
  ex.audit.action = 'E';
  ex.audit.type = "Patient";
  ex.audit.references.push_back("Patient/" + route.id + "/$everything");
  ex.audit.patients.insert(route.id);
  if (auto refused = Authorize(ex, "Patient", Interaction::kRead)) return *refused;
  std::size_t offset = 0, count = ex.options->default_count;
  for (const auto& [name, value] : query) {
    ex.audit.param_names.push_back(name);
    if (name == "_count" || name == "_offset") {
      auto number = ParseCount(value);
      if (!number) return ErrorResponse(400, name + " must be a non-negative integer");
      (name == "_count" ? count : offset) = *number;
    }
  }
  count = std::clamp<std::size_t>(count, 1, ex.options->max_count);
  Result<SearchPage> page = ex.store->Everything(route.id, offset, count, ex.access);
  if (!page.ok()) {
    int status = FailureStatus(page.status());
    return ErrorResponse(
        status, status == 404 ? "Patient/" + route.id + " is not known" : page.status().message());
  }
  std::string prefix = ex.request.base_url + "/Patient/" + route.id +
                       "/$everything?_count=" + std::to_string(count) + "&_offset=";
  json::array links{LinkObject("self", prefix + std::to_string(offset))};
  bool more = page->total ? offset + page->matches.size() < static_cast<std::size_t>(*page->total)
                          : page->matches.size() >= count;
  if (more) links.push_back(LinkObject("next", prefix + std::to_string(offset + count)));
  if (offset > 0) {
    links.push_back(
        LinkObject("previous", prefix + std::to_string(offset > count ? offset - count : 0)));
  }
  std::string entries;
  for (const auto* list : {&page->matches, &page->included}) {
    for (const auto& stored : *list) {
      // Types the caller's scopes do not cover are left out (and AuditEvent for non-admins).
      if (!Allowed(ex, stored.type, Interaction::kRead)) continue;
      AppendSearchEntry(ex, stored, "match", "", {}, &entries);
    }
  }
  return BundleResponse(page->total, links, entries);
}

}  // namespace junction::fhir::rest_internal
