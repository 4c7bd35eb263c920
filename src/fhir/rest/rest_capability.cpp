// GET /metadata: the CapabilityStatement, built from what this server does
// and from the store's search parameter registry (so it never claims more).
#include <map>
#include <memory>
#include <mutex>

#include "fhir/rest/rest_internal.h"
#include "fhir/store/audit_trail.h"
#include "fhir/store/search_params.h"

namespace junction::fhir::rest_internal {
namespace {

using store_internal::ParamKind;
using store_internal::SearchParamDef;

std::string_view KindName(ParamKind kind) {
  switch (kind) {
    case ParamKind::kToken:
      return "token";
    case ParamKind::kString:
      return "string";
    case ParamKind::kDate:
      return "date";
    case ParamKind::kReference:
      return "reference";
    case ParamKind::kQuantity:
      return "quantity";
    case ParamKind::kNumber:
      return "number";
    case ParamKind::kUri:
      return "uri";
  }
  return "token";
}

json::array Interactions(std::initializer_list<std::string_view> codes) {
  json::array list;
  for (auto code : codes) list.push_back(json::object{{"code", code}});
  return list;
}

bool Targets(const SearchParamDef& def, std::string_view type) {
  if (def.targets.empty()) return true;
  for (const auto& target : def.targets) {
    if (target == type) return true;
  }
  return false;
}

json::object ResourceEntry(const std::string& type, const std::vector<const SearchParamDef*>& own,
                           const std::vector<SearchParamDef>& all) {
  json::object resource{{"type", type}};
  resource["interaction"] = Interactions({"read", "vread", "update", "delete", "history-instance",
                                          "history-type", "create", "search-type"});
  resource["versioning"] = "versioned-update";
  resource["readHistory"] = true;
  resource["updateCreate"] = true;
  resource["conditionalCreate"] = true;
  resource["conditionalRead"] = "not-supported";
  resource["conditionalUpdate"] = true;
  resource["conditionalDelete"] = "single";
  json::array includes, revincludes, params;
  // The audit trail is searched on its own table (store audit_trail.h):
  // fewer parameters, no includes either way.
  const bool audit = type == "AuditEvent";
  for (const auto* def : own) {
    if (audit && !store_internal::IsAuditSearchParam(def->name)) continue;
    params.push_back(json::object{{"name", def->name}, {"type", KindName(def->kind)}});
    if (def->kind == ParamKind::kReference && !audit)
      includes.push_back(json::string(type + ":" + def->name));
  }
  for (const auto& def : all) {
    if (def.kind == ParamKind::kReference && def.type != "Resource" && def.type != "AuditEvent" &&
        Targets(def, type)) {
      revincludes.push_back(json::string(def.type + ":" + def.name));
    }
  }
  params.push_back(json::object{{"name", "_id"}, {"type", "token"}});
  params.push_back(json::object{{"name", "_lastUpdated"}, {"type", "date"}});
  resource["searchInclude"] = std::move(includes);
  resource["searchRevInclude"] = std::move(revincludes);
  resource["searchParam"] = std::move(params);
  if (type == "Patient") {
    resource["operation"] = json::array{
        json::object{{"name", "everything"},
                     {"definition", "http://hl7.org/fhir/OperationDefinition/Patient-everything"}}};
  }
  return resource;
}

// "https://host/fhir" -> "https://host/auth/token".
std::string TokenUrl(std::string_view base) {
  constexpr std::string_view kFhir = "/fhir";
  if (base.size() >= kFhir.size() && base.substr(base.size() - kFhir.size()) == kFhir) {
    base.remove_suffix(kFhir.size());
  }
  return std::string(base) + "/auth/token";
}

// The statement for one base URL and software version, serialized.
std::string BuildCapability(const std::string& base_url, const std::string& software_version) {
  const auto& all = store_internal::AllSearchParams();
  std::map<std::string, std::vector<const SearchParamDef*>> by_type;
  for (const auto& def : all) {
    if (def.type != "Resource") by_type[def.type].push_back(&def);
  }
  json::array resources;
  for (const auto& [type, defs] : by_type) resources.push_back(ResourceEntry(type, defs, all));

  json::object security{
      {"service",
       json::array{json::object{
           {"coding",
            json::array{json::object{
                {"system", "http://terminology.hl7.org/CodeSystem/restful-security-service"},
                {"code", "SMART-on-FHIR"}}}}}}},
      {"description", "OAuth2 bearer tokens with SMART on FHIR scopes"},
      {"extension",
       json::array{json::object{
           {"url", "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"},
           {"extension",
            json::array{json::object{{"url", "token"}, {"valueUri", TokenUrl(base_url)}}}}}}}};
  json::object rest{
      {"mode", "server"},
      {"security", std::move(security)},
      {"resource", std::move(resources)},
      {"interaction", Interactions({"transaction", "batch", "search-system", "history-system"})},
      {"searchParam", json::array{json::object{{"name", "_id"}, {"type", "token"}},
                                  json::object{{"name", "_lastUpdated"}, {"type", "date"}},
                                  json::object{{"name", "_type"}, {"type", "token"}}}}};
  json::object statement{
      {"resourceType", "CapabilityStatement"},
      {"status", "active"},
      {"date", NowInstant()},
      {"publisher", "Junction"},
      {"kind", "instance"},
      {"software", json::object{{"name", "Junction"}, {"version", software_version}}},
      {"implementation",
       json::object{{"description", "Junction FHIR R4 server"}, {"url", base_url}}},
      {"fhirVersion", "4.0.1"},
      {"format", json::array{"json", "application/fhir+json"}},
      {"rest", json::array{std::move(rest)}}};
  return json::serialize(statement);
}

}  // namespace

// Built once per (base URL, version): it depends on nothing else, and
// building the 64 KB statement per request cost more than serving it. Its
// `date` is when it was built. The base URL comes from the Host header, so
// the cache is bounded (a client cycling Host values gets fresh builds).
RestResponse DoCapability(const Exchange& ex) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const std::string>, std::less<>> cache;
  constexpr std::size_t kMaxCached = 16;
  const std::string key = ex.request.base_url + '\n' + ex.options->software_version;
  std::shared_ptr<const std::string> body;
  {
    std::lock_guard lock(mutex);
    if (auto it = cache.find(key); it != cache.end()) body = it->second;
  }
  if (!body) {
    body = std::make_shared<const std::string>(
        BuildCapability(ex.request.base_url, ex.options->software_version));
    std::lock_guard lock(mutex);
    if (cache.size() >= kMaxCached) cache.erase(cache.begin());
    cache.emplace(key, body);
  }
  RestResponse response;
  response.status = 200;
  response.body = *body;
  return response;
}

}  // namespace junction::fhir::rest_internal
