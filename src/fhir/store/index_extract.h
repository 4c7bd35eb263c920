// Index extraction (private to junction::fhir_store): the rows a resource
// puts into each index table (schema.h) and the patients whose compartment
// it is in, computed from the search parameter definitions
// (search_params.h) and the Patient compartment (patient_compartment.h).
//
//   IndexRows rows = ExtractIndex("Observation", "obs1", observation_json);
//   // rows.references: {"Observation.subject", "Patient", "p1", ""}, ...
//   // rows.compartment: {"p1"}
//
// Thread safety: pure function over its arguments.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace junction::fhir::store_internal {

struct TokenRow {
  std::string param;  // the parameter's key, "Observation.code"
  std::string system, code, text;
};
struct StringRow {
  std::string param, norm, value;
};
struct DateRow {
  std::string param;
  std::int64_t lo_us = 0, hi_us = 0;
};
struct ReferenceRow {
  std::string param, target_type, target_id, url;
};
struct QuantityRow {
  std::string param;
  double value = 0;
  std::string system, code, unit;
};
struct NumberRow {
  std::string param;
  double value = 0;
};
struct UriRow {
  std::string param, value;
};

struct IndexRows {
  std::vector<TokenRow> tokens;
  std::vector<StringRow> strings;
  std::vector<DateRow> dates;
  std::vector<ReferenceRow> references;
  std::vector<QuantityRow> quantities;
  std::vector<NumberRow> numbers;
  std::vector<UriRow> uris;
  std::set<std::string> compartment;  // Patient ids
};

// Every index row of `resource` (a resource of `type` whose id is `id`),
// including the common _id (token "Resource._id") and _lastUpdated (date
// "Resource._lastUpdated", from meta.lastUpdated). Values that do not parse
// (a malformed date) are skipped, never an error: the resource is stored as
// given.
IndexRows ExtractIndex(std::string_view type, std::string_view id,
                       const boost::json::object& resource);

}  // namespace junction::fhir::store_internal
