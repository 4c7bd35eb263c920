// Value conversions shared by index extraction (writer) and search (reader),
// private to junction::fhir_store. Both sides must use these so that a
// search value and an indexed value compare alike.
//
//   NormalizeString("  Müller  Hans ")   // "muller hans"
//   ParseDateRange("2020-03")            // [2020-03-01T00:00:00Z, 2020-03-31T23:59:59.999999Z]
//   SplitReference("Patient/123")        // {type "Patient", id "123"}
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace junction::fhir::store_internal {

// For string search: ASCII lower case, accents of Latin-1 and Latin
// Extended-A letters removed (é -> e, ß -> ss, Ł -> l), whitespace runs
// collapsed to one space, ends trimmed. Other UTF-8 is kept as is.
std::string NormalizeString(std::string_view text);

inline constexpr std::int64_t kMinTimeUs = std::numeric_limits<std::int64_t>::min();
inline constexpr std::int64_t kMaxTimeUs = std::numeric_limits<std::int64_t>::max();

// The implicit range of a FHIR date, dateTime or instant, microseconds since
// 1970 UTC, both ends inclusive: "2020" covers the whole year, "2020-01-02T10:00Z"
// the whole minute, ".5" fractions a tenth of a second. Without a time zone
// the value is taken as UTC. nullopt when the text is not such a value.
struct TimeRange {
  std::int64_t lo_us = 0;
  std::int64_t hi_us = 0;
};
std::optional<TimeRange> ParseDateRange(std::string_view text);

// "2024-05-01T10:20:30.123Z" for microseconds since 1970 (milliseconds kept).
std::string FormatInstant(std::int64_t us);

// A literal reference "Type/id" or "Type/id/_history/v" (relative), split.
// nullopt for absolute URLs, urn:, fragments (#x) and anything else.
struct RelativeReference {
  std::string type;
  std::string id;
};
std::optional<RelativeReference> SplitReference(std::string_view reference);

// FHIR id syntax: [A-Za-z0-9\-\.]{1,64}.
bool IsValidId(std::string_view id);
// A resource type name: an upper-case letter, then letters ([A-Z][A-Za-z]*).
bool IsValidTypeName(std::string_view type);

}  // namespace junction::fhir::store_internal
