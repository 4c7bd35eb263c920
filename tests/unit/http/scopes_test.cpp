// SMART on FHIR scopes: parsing (v1, v2), Principal::Allows, scope coverage.
#include <gtest/gtest.h>

#include "http/internal/auth_scopes.h"
#include "junction/http/auth.h"

namespace junction::http {
namespace {

using Ctx = Scope::Context;

// "c r u d s" letters of a parsed scope, for compact comparisons.
std::string Letters(const Scope& s) {
  std::string out;
  if (s.create) out += 'c';
  if (s.read) out += 'r';
  if (s.update) out += 'u';
  if (s.del) out += 'd';
  if (s.search) out += 's';
  return out;
}

TEST(ScopesTest, ParsesV1) {
  auto read = ParseSmartScope("patient/Observation.read");
  ASSERT_TRUE(read);
  EXPECT_EQ(read->context, Ctx::kPatient);
  EXPECT_EQ(read->resource_type, "Observation");
  EXPECT_EQ(Letters(*read), "rs");

  auto write = ParseSmartScope("user/*.write");
  ASSERT_TRUE(write);
  EXPECT_EQ(write->context, Ctx::kUser);
  EXPECT_EQ(write->resource_type, "*");
  EXPECT_EQ(Letters(*write), "cud");

  auto all = ParseSmartScope("system/*.*");
  ASSERT_TRUE(all);
  EXPECT_EQ(all->context, Ctx::kSystem);
  EXPECT_EQ(Letters(*all), "cruds");
}

TEST(ScopesTest, ParsesV2Letters) {
  const std::pair<const char*, const char*> cases[] = {
      {"patient/Observation.rs", "rs"}, {"user/*.cruds", "cruds"}, {"system/Patient.r", "r"},
      {"user/Encounter.cud", "cud"},    {"user/Encounter.d", "d"}, {"user/Encounter.cs", "cs"},
  };
  for (const auto& [text, letters] : cases) {
    auto s = ParseSmartScope(text);
    ASSERT_TRUE(s) << text;
    EXPECT_EQ(Letters(*s), letters) << text;
  }
}

TEST(ScopesTest, RejectsMalformed) {
  for (const char* text : {
           "patient/Observation.rc",     // out of order
           "patient/Observation.cc",     // duplicate
           "patient/Observation.sr",     // out of order
           "patient/Observation.",       // no permissions
           "patient/Observation.x",      // unknown letter
           "patient/Observation.readx",  // not v1, not v2
           "patient/Observation.Read",   // case matters
           "patient/Observation",        // no '.'
           "patient/observation.read",   // type must start upper-case
           "patient/.read",              // no type
           "patient/Obs-ervation.read",  // not a type name
           "Patient/Observation.read",   // context is lower-case
           "group/Observation.read",     // unknown context
           "openid",
           "launch/patient",
           "admin",
           "fhirUser",
           "",
       }) {
    EXPECT_FALSE(ParseSmartScope(text)) << text;
  }
}

TEST(ScopesTest, QuerySuffixFailsClosed) {
  // A v2 query narrows a scope; Junction cannot enforce it, so the scope grants nothing.
  EXPECT_FALSE(ParseSmartScope("patient/Observation.rs?category=laboratory"));
  EXPECT_FALSE(ParseSmartScope("user/Observation.read?category=vital-signs"));
}

Principal WithScopes(std::vector<std::string> scopes, std::optional<std::string> patient = {}) {
  Principal p;
  p.patient = std::move(patient);
  for (const std::string& s : scopes) {
    if (auto smart = ParseSmartScope(s)) p.smart.push_back(*smart);
  }
  p.scopes = std::move(scopes);
  return p;
}

TEST(ScopesTest, AllowsMatrix) {
  const Interaction all[] = {Interaction::kCreate, Interaction::kRead, Interaction::kUpdate,
                             Interaction::kDelete, Interaction::kSearch};
  struct Case {
    const char* scope;
    const char* type;
    const char* allowed;  // letters that must be allowed on `type`; the others must not
  };
  const Case cases[] = {
      {"user/Observation.read", "Observation", "rs"},
      {"user/Observation.read", "Patient", ""},
      {"user/Observation.write", "Observation", "cud"},
      {"user/*.read", "Patient", "rs"},
      {"user/*.*", "Encounter", "cruds"},
      {"system/Observation.cruds", "Observation", "cruds"},
      {"system/Observation.r", "Observation", "r"},
      {"system/Observation.s", "Observation", "s"},
      {"user/Observation.cu", "Observation", "cu"},
      {"openid", "Observation", ""},
      {"admin", "Observation", ""},
      {"user/Observation.rs?category=laboratory", "Observation", ""},
  };
  for (const Case& c : cases) {
    const Principal p = WithScopes({c.scope});
    for (Interaction i : all) {
      const char letter = "cruds"[static_cast<int>(i)];
      const bool expected = std::string_view(c.allowed).find(letter) != std::string_view::npos;
      EXPECT_EQ(p.Allows(c.type, i), expected) << c.scope << " on " << c.type << " " << letter;
    }
  }
}

TEST(ScopesTest, PatientScopesNeedAPatientContext) {
  const Principal without = WithScopes({"patient/Observation.rs"});
  EXPECT_FALSE(without.Allows("Observation", Interaction::kRead));
  const Principal with = WithScopes({"patient/Observation.rs"}, "123");
  EXPECT_TRUE(with.Allows("Observation", Interaction::kRead));
  EXPECT_TRUE(with.Allows("Observation", Interaction::kSearch));
  EXPECT_FALSE(with.Allows("Observation", Interaction::kUpdate));
  EXPECT_FALSE(with.Allows("Patient", Interaction::kRead));
}

TEST(ScopesTest, AnyScopeMayGrant) {
  const Principal p = WithScopes({"openid", "user/Patient.r", "user/Observation.s"});
  EXPECT_TRUE(p.Allows("Patient", Interaction::kRead));
  EXPECT_FALSE(p.Allows("Patient", Interaction::kSearch));
  EXPECT_TRUE(p.Allows("Observation", Interaction::kSearch));
  EXPECT_FALSE(p.Allows("Observation", Interaction::kRead));
}

TEST(ScopesTest, HasScopeIsExact) {
  const Principal p = WithScopes({"admin", "user/*.read"});
  EXPECT_TRUE(p.HasScope("admin"));
  EXPECT_FALSE(p.HasScope("Admin"));
  EXPECT_FALSE(p.HasScope("operator"));
  EXPECT_FALSE(p.HasScope("user/*.rs"));
}

TEST(ScopesTest, CoverageComparesMeaning) {
  using internal::ScopeCovers;
  EXPECT_TRUE(ScopeCovers("user/*.*", "user/Observation.read"));
  EXPECT_TRUE(ScopeCovers("user/*.read", "user/Observation.rs"));
  EXPECT_TRUE(ScopeCovers("user/Observation.rs", "user/Observation.read"));
  EXPECT_TRUE(ScopeCovers("user/*.cruds", "user/*.write"));
  EXPECT_TRUE(ScopeCovers("user/*.read", "user/Patient.r"));
  EXPECT_TRUE(ScopeCovers("admin", "admin"));
  EXPECT_FALSE(ScopeCovers("user/*.read", "user/Observation.write"));
  EXPECT_FALSE(ScopeCovers("user/*.r", "user/Observation.rs"));
  EXPECT_FALSE(ScopeCovers("user/Observation.*", "user/*.read"));
  EXPECT_FALSE(ScopeCovers("user/*.*", "system/Observation.read"));
  EXPECT_FALSE(ScopeCovers("patient/*.*", "user/Observation.read"));
  EXPECT_FALSE(ScopeCovers("operator", "admin"));
  EXPECT_FALSE(ScopeCovers("user/*.*", "admin"));
}

TEST(ScopesTest, SplitsScopeLists) {
  auto s = internal::SplitScopes("  openid user/*.rs  openid admin ");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, (std::vector<std::string>{"openid", "user/*.rs", "admin"}));
  EXPECT_FALSE(internal::SplitScopes("a\tb").ok());
  EXPECT_FALSE(internal::SplitScopes("a\"b").ok());
  EXPECT_FALSE(internal::SplitScopes(std::string(300, 'a')).ok());
  std::string many;
  for (int i = 0; i < 300; ++i) many += "s" + std::to_string(i) + " ";
  EXPECT_FALSE(internal::SplitScopes(many).ok());
}

}  // namespace
}  // namespace junction::http
