// Every interaction writes one AuditEvent; it names who, what, which patient
// and the outcome, and never the search values.
#include "unit/fhir_rest/rest_fixture.h"

namespace junction::fhir::testing {
namespace {

std::string Subtype(const json::object& event) {
  return std::string(event.at("subtype").at(0).at("code").as_string());
}

TEST_F(RestTest, EveryInteractionWritesOneAuditEvent) {
  struct Step {
    std::string method, target, body, subtype;
    char action;
  };
  std::string pid = Create("Patient", PatientJson("Audit"));
  std::string v2 = json::serialize(Json(Call("GET", "/Patient/" + pid)));
  std::size_t before = AuditEvents().size();
  ASSERT_EQ(before, 2u) << "the create and the read";
  std::vector<Step> steps = {
      {"GET", "/Patient/" + pid, "", "read", 'R'},
      {"GET", "/Patient/" + pid + "/_history/1", "", "vread", 'R'},
      {"GET", "/Patient?family=Audit", "", "search-type", 'E'},
      {"GET", "/Patient/" + pid + "/_history", "", "history-instance", 'R'},
      {"GET", "/Patient/_history", "", "history-type", 'R'},
      {"POST", "/Observation", ObservationJson(pid, "1"), "create", 'C'},
      {"PUT", "/Patient/" + pid, v2, "update", 'U'},
      {"GET", "/Patient/" + pid + "/$everything", "", "operation", 'E'},
      {"POST", "/",
       R"({"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}]})",
       "transaction", 'E'},
      {"GET", "/Patient/missing", "", "read", 'R'},
      {"DELETE", "/Patient/" + pid, "", "delete", 'D'},
  };
  for (const auto& step : steps) {
    RestResponse response = Call(step.method, step.target, step.body);
    auto events = AuditEvents();
    ASSERT_EQ(events.size(), ++before) << step.method << " " << step.target;
    // The newest event is the one whose subtype we expect (search returns any order).
    bool found = false;
    for (const auto& event : events) {
      if (Subtype(event) != step.subtype) continue;
      found = true;
    }
    EXPECT_TRUE(found) << step.subtype;
    (void)response;
  }
  // Outcomes: the failed read is a minor failure.
  bool failure = false;
  for (const auto& event : AuditEvents()) {
    if (event.at("outcome") == "4") failure = true;
    EXPECT_EQ(event.at("type").at("code"), "rest");
    EXPECT_EQ(event.at("source").at("observer").at("display"), "junction");
    EXPECT_EQ(event.at("agent").at(0).at("who").at("identifier").at("value"), "admin-user");
    EXPECT_EQ(event.at("agent").at(0).at("network").at("address"), "127.0.0.1");
    EXPECT_TRUE(event.contains("recorded"));
  }
  EXPECT_TRUE(failure);
}

TEST_F(RestTest, AuditNamesThePatientAndNotTheQueryValues) {
  std::string pid = Create("Patient", PatientJson("Secretname"));
  Create("Observation", ObservationJson(pid, "8867-4"));
  Call("GET", "/Observation?code=http://loinc.org%7C8867-4&patient=" + pid);
  Call("GET", "/Patient?family=Secretname&birthdate=1980-02-29");
  bool search_seen = false;
  for (const auto& event : AuditEvents()) {
    if (Subtype(event) != "search-type") continue;
    search_seen = true;
    std::string text = json::serialize(event);
    EXPECT_EQ(text.find("Secretname"), std::string::npos) << text;
    EXPECT_EQ(text.find("8867-4"), std::string::npos) << text;
    EXPECT_EQ(text.find("1980-02-29"), std::string::npos) << text;
    EXPECT_TRUE(text.find("family") != std::string::npos || text.find("code") != std::string::npos)
        << "the parameter names are kept: " << text;
  }
  EXPECT_TRUE(search_seen);

  // A read of an Observation names its patient.
  std::string oid = Create("Observation", ObservationJson(pid, "x"));
  Call("GET", "/Observation/" + oid);
  bool patient_named = false;
  for (const auto& event : AuditEvents()) {
    std::string text = json::serialize(event);
    if (Subtype(event) == "read" && text.find("Observation/" + oid) != std::string::npos) {
      patient_named = text.find("\"Patient/" + pid + "\"") != std::string::npos;
    }
  }
  EXPECT_TRUE(patient_named);
}

TEST_F(RestTest, AuditTrailIsReadAndSearchedThroughTheApi) {
  std::string pid = Create("Patient", PatientJson("Trail"));
  std::string other = Create("Patient", PatientJson("Other"));
  std::string oid = Create("Observation", ObservationJson(pid, "x"));
  ASSERT_EQ(Call("GET", "/Observation/" + oid).status, 200);
  ASSERT_EQ(Call("GET", "/Patient/" + other).status, 200);
  ASSERT_EQ(Call("GET", "/Patient/nobody").status, 404);

  // The Observation read names its patient (from the compartment rows).
  RestResponse reads = Call("GET", "/AuditEvent?patient=" + pid + "&subtype=read");
  ASSERT_EQ(reads.status, 200) << reads.body;
  json::object bundle = Json(reads).as_object();
  ASSERT_EQ(bundle.at("total"), 1) << reads.body;
  json::object event = bundle.at("entry").at(0).at("resource").as_object();
  EXPECT_NE(json::serialize(event).find("\"Observation/" + oid + "\""), std::string::npos);
  std::string aid(event.at("id").as_string());
  EXPECT_EQ(bundle.at("entry").at(0).at("fullUrl").as_string(),
            std::string(kBase) + "/AuditEvent/" + aid);

  RestResponse one = Call("GET", "/AuditEvent/" + aid);
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(Json(one).at("id").as_string(), aid);
  EXPECT_EQ(Call("GET", "/AuditEvent/audit-999999").status, 404);

  // Failed interactions, by outcome; creates by action; the other patient's read.
  RestResponse failed = Call("GET", "/AuditEvent?outcome=4");
  ASSERT_EQ(failed.status, 200);
  EXPECT_EQ(Json(failed).at("total"), 2) << "Patient/nobody and audit-999999: " << failed.body;
  RestResponse creates = Call("GET", "/AuditEvent?action=C&_count=1");
  ASSERT_EQ(creates.status, 200);
  json::object page = Json(creates).as_object();
  EXPECT_EQ(page.at("total"), 3) << creates.body;
  EXPECT_EQ(page.at("entry").as_array().size(), 1u);
  bool next = false;
  for (const auto& link : page.at("link").as_array()) {
    next = next || link.at("relation") == "next";
  }
  EXPECT_TRUE(next) << creates.body;
  RestResponse by_entity = Call("GET", "/AuditEvent?entity=Patient/" + other);
  ASSERT_EQ(by_entity.status, 200);
  EXPECT_EQ(Json(by_entity).at("total"), 2) << "create and read: " << by_entity.body;
}

TEST_F(RestTest, AuditCanBeSwitchedOff) {
  RestOptions options;
  options.audit = false;
  Open(options);
  Create("Patient", PatientJson("Quiet"));
  EXPECT_TRUE(AuditEvents().empty());
}

TEST_F(RestTest, FailedAuditWriteIs500) {
  // A closed store takes no audit event: the answer must not be sent as a success.
  ASSERT_TRUE(store_->Close().ok());
  RestResponse response = Call("GET", "/metadata");
  EXPECT_EQ(response.status, 200) << "metadata is public and not audited";
  RestResponse read = Call("GET", "/Patient/1");
  EXPECT_EQ(read.status, 500) << read.body;
  EXPECT_TRUE(IsOutcome(read));
}

}  // namespace
}  // namespace junction::fhir::testing
