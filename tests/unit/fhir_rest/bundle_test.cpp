// Transaction and batch Bundles, and BundleToWriteBatch.
#include "unit/fhir_rest/rest_fixture.h"

namespace junction::fhir::testing {
namespace {

std::string Bundle(std::string_view type, const std::string& entries) {
  return R"({"resourceType":"Bundle","type":")" + std::string(type) + R"(","entry":[)" + entries +
         "]}";
}

std::string PostEntry(const std::string& resource, const std::string& url,
                      const std::string& full_url = "") {
  std::string entry = "{";
  if (!full_url.empty()) entry += R"("fullUrl":")" + full_url + "\",";
  return entry + R"("resource":)" + resource + R"(,"request":{"method":"POST","url":")" + url +
         "\"}}";
}

std::int64_t PatientCount(ResourceStore& store) {
  SearchRequest request;
  request.type = "Patient";
  request.params = {{"_summary", "count"}};
  auto page = store.Search(request, Access{});
  EXPECT_TRUE(page.ok()) << page.status().ToString();
  return page.ok() && page->total ? *page->total : -1;
}

TEST_F(RestTest, TransactionCommitsAndResolvesReferences) {
  std::string urn = "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0";
  std::string body =
      Bundle("transaction",
             PostEntry(PatientJson("Trans"), "Patient", urn) + "," +
                 PostEntry(R"({"resourceType":"Observation","status":"final","code":{"text":"x"},
                              "subject":{"reference":")" +
                               urn + R"("}})",
                           "Observation"));
  RestResponse response = Call("POST", "/", body);
  ASSERT_EQ(response.status, 200) << response.body;
  json::value bundle = Json(response);
  EXPECT_EQ(bundle.at("type"), "transaction-response");
  const auto& entries = bundle.at("entry").as_array();
  ASSERT_EQ(entries.size(), 2u);
  for (const auto& entry : entries) {
    EXPECT_EQ(entry.at("response").at("status"), "201 Created");
    EXPECT_EQ(entry.at("response").at("etag"), "W/\"1\"");
    EXPECT_TRUE(entry.at("response").as_object().contains("lastModified"));
  }
  std::string location(entries[0].at("response").at("location").as_string());
  ASSERT_EQ(location.rfind("Patient/", 0), 0u) << location;
  std::string pid = location.substr(8, location.find('/', 8) - 8);
  std::string obs_location(entries[1].at("response").at("location").as_string());
  RestResponse obs = Call("GET", "/" + obs_location.substr(0, obs_location.find("/_history")));
  ASSERT_EQ(obs.status, 200) << obs.body;
  EXPECT_EQ(S(Json(obs).at("subject").at("reference")), "Patient/" + pid);
  // One AuditEvent for the transaction, naming the patient the urn:uuid became.
  int transactions = 0;
  for (const auto& event : AuditEvents()) {
    if (S(event.at("subtype").at(0).at("code")) != "transaction") continue;
    ++transactions;
    bool patient_entity = false;
    for (const auto& entity : event.at("entity").as_array()) {
      const auto* role = entity.as_object().if_contains("role");
      const auto* what = entity.as_object().if_contains("what");
      if (role != nullptr && what != nullptr && S(role->at("code")) == "1" &&
          S(what->at("reference")) == "Patient/" + pid) {
        patient_entity = true;
      }
    }
    EXPECT_TRUE(patient_entity) << json::serialize(event);
  }
  EXPECT_EQ(transactions, 1);
}

TEST_F(RestTest, FailingTransactionRollsBack) {
  std::string id = Create("Patient", PatientJson("Existing"));
  std::int64_t before = PatientCount(*store_);
  std::string body =
      Bundle("transaction", PostEntry(PatientJson("New"), "Patient") + "," + R"({"resource":)" +
                                PatientJson("Existing", R"(,"id":")" + id + "\"") +
                                R"(,"request":{"method":"PUT","url":"Patient/)" + id +
                                R"(","ifMatch":"W/\"9\""}})");
  RestResponse response = Call("POST", "/", body);
  EXPECT_EQ(response.status, 412) << response.body;
  EXPECT_TRUE(IsOutcome(response));
  EXPECT_NE(response.body.find("entry 1"), std::string::npos) << response.body;
  EXPECT_EQ(PatientCount(*store_), before) << "rolled back";

  // An invalid entry: 400 naming it, nothing written.
  RestResponse invalid =
      Call("POST", "/",
           Bundle("transaction", PostEntry(PatientJson("New"), "Patient") + "," +
                                     PostEntry(PatientJson("Wrong"), "Observation")));
  EXPECT_EQ(invalid.status, 400);
  EXPECT_NE(invalid.body.find("entry 1"), std::string::npos) << invalid.body;
  EXPECT_EQ(PatientCount(*store_), before);
  EXPECT_EQ(Call("POST", "/", Bundle("collection", "")).status, 400);
  EXPECT_EQ(Call("POST", "/", R"({"resourceType":"Patient"})").status, 400);
}

TEST_F(RestTest, BatchEntriesStandAlone) {
  std::string id = Create("Patient", PatientJson("Existing"));
  std::string body =
      Bundle("batch", PostEntry(PatientJson("New"), "Patient") + "," + R"({"resource":)" +
                          PatientJson("Existing", R"(,"id":")" + id + "\"") +
                          R"(,"request":{"method":"PUT","url":"Patient/)" + id +
                          R"(","ifMatch":"W/\"9\""}},)" +
                          R"({"request":{"method":"GET","url":"Patient/)" + id + R"("}},)" +
                          R"({"request":{"method":"GET","url":"Patient?family=Existing"}})");
  RestResponse response = Call("POST", "/", body);
  ASSERT_EQ(response.status, 200) << response.body;
  json::value bundle = Json(response);
  EXPECT_EQ(bundle.at("type"), "batch-response");
  const auto& entries = bundle.at("entry").as_array();
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0].at("response").at("status"), "201 Created");
  EXPECT_EQ(entries[1].at("response").at("status"), "412 Precondition Failed");
  EXPECT_EQ(entries[1].at("response").at("outcome").at("resourceType"), "OperationOutcome");
  EXPECT_EQ(entries[2].at("response").at("status"), "200 OK");
  EXPECT_EQ(S(entries[2].at("resource").at("id")), id);
  EXPECT_EQ(entries[3].at("resource").at("type"), "searchset");
  EXPECT_EQ(entries[3].at("resource").at("total"), 1);
}

TEST_F(RestTest, TransactionRefusesGetEntries) {
  RestResponse response =
      Call("POST", "/", Bundle("transaction", R"({"request":{"method":"GET","url":"Patient/1"}})"));
  EXPECT_EQ(response.status, 400);
  EXPECT_NE(response.body.find("entry 0"), std::string::npos);
}

TEST(BundleToWriteBatch, MapsEntries) {
  auto bundle = json::parse(R"({"resourceType":"Bundle","type":"transaction","entry":[
      {"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","id":"ignored"},
       "request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=a|b"}},
      {"resource":{"resourceType":"Patient","id":"p1"},
       "request":{"method":"PUT","url":"Patient/p1","ifMatch":"W/\"3\""}},
      {"request":{"method":"DELETE","url":"Observation?code=x"}}]})")
                    .as_object();
  auto batch = BundleToWriteBatch(bundle);
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  EXPECT_TRUE(batch->atomic);
  ASSERT_EQ(batch->entries.size(), 3u);
  EXPECT_EQ(batch->entries[0].method, "POST");
  EXPECT_EQ(batch->entries[0].condition, "identifier=a|b");
  EXPECT_EQ(batch->entries[0].full_url, "urn:uuid:1");
  EXPECT_FALSE(batch->entries[0].resource.contains("id"));
  EXPECT_EQ(batch->entries[1].id, "p1");
  EXPECT_EQ(batch->entries[1].if_match, "3");
  EXPECT_EQ(batch->entries[2].type, "Observation");
  EXPECT_EQ(batch->entries[2].condition, "code=x");

  auto bad = json::parse(R"({"resourceType":"Bundle","type":"batch","entry":[
      {"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},
      {"resource":{"resourceType":"Patient","id":"a"},"request":{"method":"PUT","url":"Patient/b"}}]})")
                 .as_object();
  auto refused = BundleToWriteBatch(bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("entry 1"), std::string::npos);
}

}  // namespace
}  // namespace junction::fhir::testing
