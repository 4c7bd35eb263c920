// Search execution over the index tables (private to junction::fhir_store).
// The ResourceStore implementation calls these with one of its SQLite
// connections (a reader for Search/Everything, the writer's connection inside
// a transaction for conditional operations and conditional references).
//
// Every query built here carries the Access restriction inside its SQL
// (`rid IN (SELECT rid FROM compartments WHERE patient = ?)` for the matches,
// the includes, chains and _has), never as a filter on results.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string_view>
#include <vector>

#include "junction/fhir/resource_store.h"

namespace junction::fhir::store_internal {

// A full search (see SearchRequest/SearchPage in resource_store.h).
Result<SearchPage> RunSearch(sqlite3* db, const SearchRequest& request, const Access& access);

// Patient/$everything.
Result<SearchPage> RunEverything(sqlite3* db, std::string_view patient_id, std::size_t offset, std::size_t count,
                                 const Access& access);

// Conditional operations: the rids of the current (not deleted) resources of
// `type` matching `query` ("identifier=sys|val&active=true", encoded or not),
// at most `limit` of them. Unknown parameters are errors here (strict), so a
// typo never matches everything.
Result<std::vector<std::int64_t>> MatchRids(sqlite3* db, std::string_view type, std::string_view query,
                                            const Access& access, std::size_t limit);

}  // namespace junction::fhir::store_internal
