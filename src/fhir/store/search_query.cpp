// Search execution over the index tables (see search_query.h).
#include "fhir/store/search_query.h"

namespace junction::fhir::store_internal {

Result<SearchPage> RunSearch(sqlite3* /*db*/, const SearchRequest& /*request*/,
                             const Access& /*access*/) {
  return Status(StatusCode::kUnimplemented, "search not implemented yet");
}

Result<SearchPage> RunEverything(sqlite3* /*db*/, std::string_view /*patient_id*/,
                                 std::size_t /*offset*/, std::size_t /*count*/,
                                 const Access& /*access*/) {
  return Status(StatusCode::kUnimplemented, "$everything not implemented yet");
}

Result<std::vector<std::int64_t>> MatchRids(sqlite3* /*db*/, std::string_view /*type*/,
                                            std::string_view /*query*/, const Access& /*access*/,
                                            std::size_t /*limit*/) {
  return Status(StatusCode::kUnimplemented, "conditional match not implemented yet");
}

}  // namespace junction::fhir::store_internal
