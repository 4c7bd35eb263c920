// Search parameter definitions (private to junction::fhir_store): which
// values of which resource type each parameter indexes, and how. The writer
// extracts index rows with them; the search compiler looks parameters up.
// Facts from the FHIR R4 search parameter registry (names, types, paths,
// targets), written here as data.
//
//   const SearchParamDef* p = FindSearchParam("Observation", "code");
//   // p->kind == ParamKind::kToken, p->key == "Observation.code"
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace junction::fhir::store_internal {

enum class ParamKind { kToken, kString, kDate, kReference, kQuantity, kNumber, kUri };

struct SearchParamDef {
  std::string type;  // resource type, "Resource" for _id/_lastUpdated (every type)
  std::string name;  // "code", "patient", "address-postalcode"
  std::string key;   // "Observation.code": the `param` column of the index tables
  ParamKind kind = ParamKind::kToken;
  // Simple paths from the resource root, '.'-separated, each step may match an
  // array (every element is taken): "subject", "code", "name.family",
  // "valueQuantity", "effectiveDateTime", "effectivePeriod".
  std::vector<std::string> paths;
  // For ContactPoint tokens (phone, email): only telecoms with this system.
  std::string contact_system;
  // Reference: the allowed target types ("Patient"); empty = any.
  std::vector<std::string> targets;
};

// Every definition, grouped by type (stable order).
const std::vector<SearchParamDef>& AllSearchParams();
// nullptr when `type` has no parameter `name` (the common _id, _lastUpdated
// are answered for every type; _id is kToken on the id, _lastUpdated kDate on meta).
const SearchParamDef* FindSearchParam(std::string_view type, std::string_view name);
// Definitions for one type (not including the common ones).
std::vector<const SearchParamDef*> SearchParamsOf(std::string_view type);

// The R4 resource types the store indexes specifically; any other type is
// stored and searched by _id and _lastUpdated only.
bool IsKnownResourceType(std::string_view type);

}  // namespace junction::fhir::store_internal
