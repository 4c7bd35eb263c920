#include <gtest/gtest.h>

#include "junction/http/server.h"

namespace junction::http {
namespace {

TEST(QueryTest, DecodesPercentAndPlus) {
  auto q = ParseQuery("name=Doe%2C+John&code=http%3A%2F%2Floinc.org%7C1234-5&flag&&x=");
  ASSERT_EQ(q.size(), 4u);
  EXPECT_EQ(q[0], std::make_pair(std::string("name"), std::string("Doe, John")));
  EXPECT_EQ(q[1].second, "http://loinc.org|1234-5");
  EXPECT_EQ(q[2], std::make_pair(std::string("flag"), std::string()));
  EXPECT_EQ(q[3], std::make_pair(std::string("x"), std::string()));
}

TEST(QueryTest, KeepsBrokenEscapesAndPlusInPaths) {
  EXPECT_EQ(PercentDecode("/fhir/Patient/a%2Fb"), "/fhir/Patient/a/b");
  EXPECT_EQ(PercentDecode("a+b%zz%4"), "a+b%zz%4");
  EXPECT_EQ(PercentDecode("%41%"), "A%");
}

}  // namespace
}  // namespace junction::http
