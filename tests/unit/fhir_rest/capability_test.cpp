// GET /metadata: the CapabilityStatement.
#include "unit/fhir_rest/rest_fixture.h"

namespace junction::fhir::testing {
namespace {

TEST_F(RestTest, CapabilityStatementListsWhatIsImplemented) {
  Caller anonymous;
  anonymous.allows = [](std::string_view, Interaction) { return false; };
  RestResponse response = Call("GET", "/metadata", "", {}, anonymous);
  ASSERT_EQ(response.status, 200) << response.body;
  json::value cs = Json(response);
  EXPECT_EQ(cs.at("resourceType"), "CapabilityStatement");
  EXPECT_EQ(cs.at("fhirVersion"), "4.0.1");
  const auto& rest = cs.at("rest").at(0);
  EXPECT_EQ(rest.at("mode"), "server");
  EXPECT_EQ(rest.at("security").at("service").at(0).at("coding").at(0).at("code"), "SMART-on-FHIR");
  EXPECT_EQ(rest.at("security").at("extension").at(0).at("extension").at(0).at("valueUri"),
            "http://127.0.0.1:8080/auth/token");
  std::set<std::string> system;
  for (const auto& i : rest.at("interaction").as_array()) system.emplace(i.at("code").as_string());
  EXPECT_TRUE(system.count("transaction") && system.count("batch"));
  const json::object* patient = nullptr;
  for (const auto& r : rest.at("resource").as_array()) {
    if (r.at("type") == "Patient") patient = &r.as_object();
  }
  ASSERT_NE(patient, nullptr);
  std::set<std::string> params;
  for (const auto& p : patient->at("searchParam").as_array())
    params.emplace(p.at("name").as_string());
  EXPECT_TRUE(params.count("family") && params.count("identifier") && params.count("_id"));
  std::set<std::string> ops;
  for (const auto& i : patient->at("interaction").as_array()) ops.emplace(i.at("code").as_string());
  EXPECT_TRUE(ops.count("read") && ops.count("search-type") && ops.count("history-instance"));
  EXPECT_FALSE(ops.count("patch"));
  EXPECT_EQ(patient->at("operation").at(0).at("name"), "everything");
  EXPECT_EQ(Call("POST", "/metadata", "{}").status, 405);
}

}  // namespace
}  // namespace junction::fhir::testing
