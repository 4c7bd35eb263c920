// Semantic comparison of FHIR JSON for the golden tests.
//
//   std::vector<std::string> diffs = junction::fhir::testing::CompareJson(expected, actual);
//   EXPECT_TRUE(diffs.empty()) << Join(diffs);
//
// Equality is JSON equality: object key order is ignored, array order counts,
// numbers compare by value (1 == 1.0). Two strings that are both FHIR dateTimes
// or instants with a time of day compare as instants: the same moment written
// with another offset ("10:00:00+01:00" vs "09:00:00Z") or with a zero fraction
// (".000") is equal. Partial dates (year, year-month, date) compare as text, so
// precision still counts.
//
// Each difference is reported as "$.json.path: expected X, got Y".
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace junction::fhir::testing {

// Instant of a FHIR dateTime/instant with a time and zone: UTC microseconds
// from 0001-01-01 plus the fraction digits beyond microseconds (as text, so
// nothing is lost). nullopt when `s` is not such a value.
struct Instant {
  long long micros = 0;
  std::string extra_fraction;  // digits after the 6th, trailing zeros removed
  bool operator==(const Instant&) const = default;
};
std::optional<Instant> ParseInstant(std::string_view s);

// Differences between `expected` and `actual`, at most `max_diffs`.
std::vector<std::string> CompareJson(const boost::json::value& expected,
                                     const boost::json::value& actual,
                                     std::size_t max_diffs = 50);

}  // namespace junction::fhir::testing
