// _include and _revinclude (private to junction::fhir_store, used by
// search_query.cpp).
//
//   auto spec = ParseInclude("_include", "Observation:subject:Patient");
//   std::vector<StoredResource> included;
//   AddIncludes(db, {*spec}, access, page_matches, &included);
//
// Includes follow idx_reference rows from (or, reversed, to) the matches.
// Included resources are current, visible under the Access (in the SQL),
// never duplicate a match or each other; :iterate specs are applied again to
// what the previous round added, at most kMaxIncludeRounds rounds, and at
// most kMaxIncluded resources are added in all.
//
// Thread safety: pure functions over the given connection.
#pragma once

#include <sqlite3.h>

#include <string>
#include <string_view>
#include <vector>

#include "fhir/store/search_sql.h"
#include "junction/fhir/resource_store.h"

namespace junction::fhir::store_internal {

inline constexpr int kMaxIncludeRounds = 3;
inline constexpr std::size_t kMaxIncluded = 1000;

struct IncludeSpec {
  bool reverse = false;     // _revinclude
  bool iterate = false;     // :iterate (or the R3 :recurse)
  std::string source_type;  // the type holding the reference; "" = any ("_include=*")
  std::string key;          // "Observation.subject"; "" = every reference of source_type ("*")
  std::string target_type;  // "" = any
};

// Parses `name` (_include, _include:iterate, _revinclude, ...) and `value`
// ("Type:param", "Type:param:Target", "Type:*", "*"). kNotFound when the source
// type has no such reference parameter (the caller decides between lenient
// and strict), kInvalidArgument when the value is malformed.
Result<IncludeSpec> ParseInclude(std::string_view name, std::string_view value);

Status AddIncludes(sqlite3* db, const std::vector<IncludeSpec>& specs, const Access& access,
                   const std::vector<LoadedResource>& matches,
                   std::vector<StoredResource>* included);

}  // namespace junction::fhir::store_internal
