// Authorization: scopes per type and interaction, AuditEvent for admins only,
// the patient context.
#include "unit/fhir_rest/rest_fixture.h"

namespace junction::fhir::testing {
namespace {

TEST_F(RestTest, RefusedScopesAre403) {
  std::string pid = Create("Patient", PatientJson("Scoped"));
  std::string oid = Create("Observation", ObservationJson(pid, "718-7"));
  Caller only_obs = ScopedCaller({"Observation"}, {Interaction::kRead, Interaction::kSearch});
  EXPECT_EQ(Call("GET", "/Observation/" + oid, "", {}, only_obs).status, 200);
  RestResponse refused = Call("GET", "/Patient/" + pid, "", {}, only_obs);
  EXPECT_EQ(refused.status, 403);
  EXPECT_TRUE(IsOutcome(refused));
  EXPECT_EQ(Call("GET", "/Patient?_id=" + pid, "", {}, only_obs).status, 403);
  EXPECT_EQ(Call("POST", "/Observation", ObservationJson(pid, "1"), {}, only_obs).status, 403);
  EXPECT_EQ(
      Call("GET", "/Observation?_id=" + oid + "&_include=Observation:patient", "", {}, only_obs)
          .status,
      403);
  EXPECT_EQ(Call("GET", "/Observation?_id=" + oid + "&_include=Observation:subject:Patient", "", {},
                 only_obs)
                .status,
            403);
  EXPECT_EQ(Call("GET", "/Observation?patient.family=Scoped", "", {}, only_obs).status, 403)
      << "a chain reveals Patient data";
  EXPECT_EQ(Call("GET", "/Patient/" + pid + "/_history", "", {}, only_obs).status, 403);

  Caller read_only = ScopedCaller({"*"}, {Interaction::kRead, Interaction::kSearch});
  json::object body = Json(Call("GET", "/Patient/" + pid)).as_object();
  body["gender"] = "male";
  EXPECT_EQ(Call("PUT", "/Patient/" + pid, json::serialize(body), {}, read_only).status, 403);
  EXPECT_EQ(Call("DELETE", "/Patient/" + pid, "", {}, read_only).status, 403);
  EXPECT_EQ(
      Call(
          "POST", "/",
          R"({"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}]})",
          {}, read_only)
          .status,
      403);
  EXPECT_EQ(Json(Call("GET", "/Patient/" + pid)).at("gender"), "female") << "nothing changed";

  // Update-as-create needs the create scope as well.
  Caller updater = ScopedCaller({"*"}, {Interaction::kUpdate, Interaction::kRead});
  EXPECT_EQ(
      Call("PUT", "/Patient/new-one", PatientJson("N", R"(,"id":"new-one")"), {}, updater).status,
      403);
  EXPECT_EQ(Call("PUT", "/Patient/" + pid, json::serialize(body), {}, updater).status, 200);

  Caller nothing;
  nothing.who = "nobody";
  EXPECT_EQ(Call("GET", "/Patient/" + pid, "", {}, nothing).status, 403) << "no allows: closed";
}

TEST_F(RestTest, BatchEntriesAreAuthorizedOneByOne) {
  Caller creator = ScopedCaller({"Patient"}, {Interaction::kCreate});
  RestResponse response = Call("POST", "/",
                               R"({"resourceType":"Bundle","type":"batch","entry":[
        {"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},
        {"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"}},
         "request":{"method":"POST","url":"Observation"}}]})",
                               {}, creator);
  ASSERT_EQ(response.status, 200) << response.body;
  json::value bundle = Json(response);
  const auto& entries = bundle.at("entry").as_array();
  EXPECT_EQ(entries[0].at("response").at("status"), "201 Created");
  EXPECT_EQ(entries[1].at("response").at("status"), "403 Forbidden");
}

TEST_F(RestTest, AuditEventNeedsAdmin) {
  std::string pid = Create("Patient", PatientJson("Audited"));
  Caller everything = ScopedCaller({"*"}, kAllInteractions);
  RestResponse search = Call("GET", "/AuditEvent", "", {}, everything);
  EXPECT_EQ(search.status, 403);
  EXPECT_TRUE(IsOutcome(search));
  auto events = AuditEvents();
  ASSERT_FALSE(events.empty());
  std::string aid(events[0].at("id").as_string());
  EXPECT_EQ(Call("GET", "/AuditEvent/" + aid, "", {}, everything).status, 403);
  EXPECT_EQ(Call("GET", "/AuditEvent/_history", "", {}, everything).status, 403);
  EXPECT_EQ(Call("GET", "/_history", "", {}, everything).status, 403);
  EXPECT_EQ(Call("GET", "/?_type=AuditEvent", "", {}, everything).status, 403);
  EXPECT_EQ(Call("GET", "/AuditEvent/" + aid).status, 200);
  RestResponse admin_search = Call("GET", "/AuditEvent?_count=1");
  ASSERT_EQ(admin_search.status, 200);
  EXPECT_GT(Json(admin_search).at("total").as_int64(), 0);
  // $everything leaves AuditEvents out for a non-admin.
  RestResponse all =
      Call("GET", "/Patient/" + pid + "/$everything?_count=1000", "", {}, everything);
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_EQ(all.body.find("\"AuditEvent\""), std::string::npos);
}

TEST_F(RestTest, PatientContextSeesOnlyItsCompartment) {
  std::string pa = Create("Patient", PatientJson("Alpha"));
  std::string pb = Create("Patient", PatientJson("Beta"));
  std::string oa = Create("Observation", ObservationJson(pa, "a-code"));
  std::string ob = Create("Observation", ObservationJson(pb, "b-code"));
  Caller a = ScopedCaller({"*"}, {Interaction::kRead, Interaction::kSearch}, pa);
  EXPECT_EQ(Call("GET", "/Patient/" + pa, "", {}, a).status, 200);
  EXPECT_EQ(Call("GET", "/Observation/" + oa, "", {}, a).status, 200);
  for (const std::string& path :
       {"/Patient/" + pb, "/Observation/" + ob, "/Observation/" + ob + "/_history/1",
        "/Patient/" + pb + "/_history", "/Patient/" + pb + "/$everything"}) {
    RestResponse response = Call("GET", path, "", {}, a);
    EXPECT_EQ(response.status, 404) << path << " " << response.body;
    EXPECT_TRUE(IsOutcome(response));
    // Diagnostics may echo the requested id; never B's data.
    EXPECT_EQ(response.body.find("Beta"), std::string::npos) << path;
    EXPECT_EQ(response.body.find("b-code"), std::string::npos) << path;
  }
  for (const std::string& query : {std::string("/Observation"), "/Observation?patient=" + pb,
                                   std::string("/Patient?family=Beta"), "/Patient?_id=" + pb,
                                   std::string("/Observation/_history")}) {
    RestResponse response = Call("GET", query, "", {}, a);
    ASSERT_EQ(response.status, 200) << query << " " << response.body;
    EXPECT_EQ(response.body.find(ob), std::string::npos) << query;
    EXPECT_EQ(response.body.find("\"" + pb + "\""), std::string::npos) << query;
  }
  RestResponse own = Call("GET", "/Observation", "", {}, a);
  EXPECT_NE(own.body.find(oa), std::string::npos);
  RestResponse everything = Call("GET", "/Patient/" + pa + "/$everything", "", {}, a);
  ASSERT_EQ(everything.status, 200);
  EXPECT_NE(everything.body.find(oa), std::string::npos);
  EXPECT_EQ(everything.body.find(ob), std::string::npos);

  // Writing into B's compartment with a patient/*.cruds-like token.
  Caller writer = ScopedCaller({"*"}, kAllInteractions, pa);
  RestResponse create = Call("POST", "/Observation", ObservationJson(pb, "x"), {}, writer);
  EXPECT_EQ(create.status, 403) << create.body;
  EXPECT_EQ(Call("POST", "/Observation", ObservationJson(pa, "x"), {}, writer).status, 201);
  RestResponse del = Call("DELETE", "/Observation/" + ob, "", {}, writer);
  EXPECT_TRUE(del.status == 403 || del.status == 404) << del.status;
  EXPECT_EQ(Call("GET", "/Observation/" + ob).status, 200) << "B's observation is intact";
}

}  // namespace
}  // namespace junction::fhir::testing
