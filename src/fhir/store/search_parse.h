// Parsing of FHIR search values and query strings (private to
// junction::fhir_store, used by search_query.cpp).
//
//   auto terms = SplitEscaped("a\\,b,c", ',');   // {"a\\,b", "c"}; Unescape -> "a,b"
//   auto p = SplitPrefix("ge2020-01");            // {Prefix::kGe, "2020-01"}
//   auto n = ParseSearchNumber("100");            // value 100, range [99.5, 100.5]
//   std::string q = EncodeQuery({{"name", "a b"}}); // "name=a%20b"
//
// FHIR escapes: in a value "\," "\|" "\$" "\\" stand for the character
// itself. SplitEscaped splits on the unescaped separator and keeps the
// escapes in each part (so a later split on '|' still sees them);
// Unescape removes them.
//
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "junction/hl7/status.h"

namespace junction::fhir::store_internal {

enum class Prefix { kEq, kNe, kGt, kLt, kGe, kLe, kSa, kEb, kAp };

// Splits on every `sep` not preceded by a backslash escape.
std::vector<std::string> SplitEscaped(std::string_view value, char sep);
// Removes FHIR escapes ("\," -> ",").
std::string Unescape(std::string_view value);

// A leading two-letter prefix (eq ne gt lt ge le sa eb ap) when it is followed
// by something that can start a number or date (digit, '-', '+', '.').
std::pair<Prefix, std::string_view> SplitPrefix(std::string_view value);

// A decimal search value and its implicit range from its significant digits
// ("100" = [99.5, 100.5], "1.50" = [1.495, 1.505]). nullopt when not a number.
struct SearchNumber {
  double value = 0;
  double lo = 0;
  double hi = 0;
};
std::optional<SearchNumber> ParseSearchNumber(std::string_view text);

// Percent-decoding ("%7C" -> "|"); '+' is kept (dates carry "+01:00").
// Invalid escapes are kept literally.
std::string PercentDecode(std::string_view text);
// "a=b&c=d" -> {{"a","b"},{"c","d"}}, both sides percent-decoded; empty
// pieces skipped.
std::vector<std::pair<std::string, std::string>> ParseQueryString(std::string_view query);
// The inverse: every character but unreserved ones and ":,/$" percent-encoded
// (so '+', '|', '&', '=', ' ' are encoded).
std::string EncodeQuery(const std::vector<std::pair<std::string, std::string>>& params);

}  // namespace junction::fhir::store_internal
