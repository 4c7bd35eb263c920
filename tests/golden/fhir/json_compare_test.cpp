// The golden comparer must be right before its verdicts mean anything.
#include "json_compare.h"

#include <gtest/gtest.h>

namespace {

namespace json = boost::json;
using junction::fhir::testing::CompareJson;
using junction::fhir::testing::ParseInstant;

std::vector<std::string> Diff(std::string_view e, std::string_view a) {
  return CompareJson(json::parse(e), json::parse(a));
}

TEST(FhirJsonCompare, KeyOrderIgnoredArrayOrderCounts) {
  EXPECT_TRUE(Diff(R"({"a":1,"b":[1,2]})", R"({"b":[1,2],"a":1})").empty());
  const auto d = Diff(R"({"b":[1,2]})", R"({"b":[2,1]})");
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0], "$.b[0]: expected 1, got 2");
}

TEST(FhirJsonCompare, MissingAndUnexpectedMembersNamed) {
  const auto d = Diff(R"({"a":{"x":"1"},"l":[1]})", R"({"a":{"y":"1"},"l":[1,2]})");
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0], R"($.a.x: missing (expected "1"))");
  EXPECT_EQ(d[1], R"($.a.y: unexpected "1")");
  EXPECT_EQ(d[2], "$.l[1]: unexpected 2");
}

TEST(FhirJsonCompare, NumbersByValueTypesStrict) {
  EXPECT_TRUE(Diff("[1, 2.5]", "[1.0, 2.5]").empty());
  EXPECT_FALSE(Diff("[1]", "[\"1\"]").empty());
  EXPECT_FALSE(Diff("[true]", "[1]").empty());
  EXPECT_FALSE(Diff("[null]", "[{}]").empty());
  EXPECT_FALSE(Diff("[0.1]", "[0.10000001]").empty());
}

TEST(FhirJsonCompare, DateTimesCompareAsInstants) {
  EXPECT_TRUE(Diff(R"(["2024-03-01T10:00:00+01:00"])", R"(["2024-03-01T09:00:00Z"])").empty());
  EXPECT_TRUE(Diff(R"(["2024-03-01T00:30:00+01:00"])", R"(["2024-02-29T23:30:00Z"])").empty());
  EXPECT_TRUE(Diff(R"(["2024-03-01T09:00:00.000Z"])", R"(["2024-03-01T09:00:00Z"])").empty());
  EXPECT_TRUE(Diff(R"(["2024-03-01T09:00:00.1234567Z"])", R"(["2024-03-01T04:00:00.12345670-05:00"])").empty());
  EXPECT_FALSE(Diff(R"(["2024-03-01T09:00:00.1234567Z"])", R"(["2024-03-01T09:00:00.1234568Z"])").empty());
  EXPECT_FALSE(Diff(R"(["2024-03-01T10:00:00+01:00"])", R"(["2024-03-01T10:00:00Z"])").empty());
  // Partial dates are text: precision counts.
  EXPECT_FALSE(Diff(R"(["2024-03"])", R"(["2024-03-01"])").empty());
  EXPECT_FALSE(Diff(R"(["2024"])", R"(["2024-01-01T00:00:00Z"])").empty());
}

TEST(FhirJsonCompare, ParseInstantRejectsNonInstants) {
  EXPECT_FALSE(ParseInstant("2024-03-01T10:00:00").has_value());  // no zone
  EXPECT_FALSE(ParseInstant("2024-03-01T10:00Z").has_value());
  EXPECT_FALSE(ParseInstant("2024-03-01").has_value());
  EXPECT_FALSE(ParseInstant("2024-13-01T10:00:00Z").has_value());
  EXPECT_FALSE(ParseInstant("2024-03-01T10:00:00+0100").has_value());
  EXPECT_FALSE(ParseInstant("2024-03-01T10:00:00Zjunk").has_value());
  EXPECT_FALSE(ParseInstant("2024-03-01T10:00:00.Z").has_value());
  const auto a = ParseInstant("1970-01-01T00:00:01.5Z");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->micros, 1'500'000);
  const auto b = ParseInstant("1969-12-31T23:00:00-01:00");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->micros, 0);
}

TEST(FhirJsonCompare, StopsAtLimit) {
  EXPECT_EQ(CompareJson(json::parse("[1,2,3,4]"), json::parse("[5,6,7,8]"), 2).size(), 2u);
}

}  // namespace
