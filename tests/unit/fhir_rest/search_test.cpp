// search -> searchset Bundle: links, total, _summary, _elements, handling,
// POST _search, $everything.
#include "unit/fhir_rest/rest_fixture.h"

namespace junction::fhir::testing {
namespace {

std::string LinkUrl(const json::value& bundle, std::string_view relation) {
  for (const auto& link : bundle.at("link").as_array()) {
    if (S(link.at("relation")) == relation) return std::string(link.at("url").as_string());
  }
  return {};
}

std::size_t EntryCount(const json::value& bundle, std::string_view mode = "") {
  const auto* entries = bundle.as_object().if_contains("entry");
  if (entries == nullptr) return 0;
  std::size_t n = 0;
  for (const auto& entry : entries->as_array()) {
    if (mode.empty() || S(entry.at("search").at("mode")) == mode) ++n;
  }
  return n;
}

class SearchTest : public RestTest {
 protected:
  void SetUp() override {
    RestTest::SetUp();
    for (int i = 0; i < 3; ++i) ids_.push_back(Create("Patient", PatientJson("Searchy")));
    Create("Patient", PatientJson("Other"));
  }
  std::vector<std::string> ids_;
};

TEST_F(SearchTest, BundleTotalLinksAndFullUrls) {
  RestResponse response = Call("GET", "/Patient?family=Searchy&_count=2");
  ASSERT_EQ(response.status, 200) << response.body;
  json::value bundle = Json(response);
  EXPECT_EQ(bundle.at("type"), "searchset");
  EXPECT_EQ(bundle.at("total"), 3);
  ASSERT_EQ(EntryCount(bundle, "match"), 2u);
  const auto& entry = bundle.at("entry").at(0);
  EXPECT_EQ(S(entry.at("fullUrl")), std::string(kBase) + "/Patient/" +
                                        std::string(entry.at("resource").at("id").as_string()));
  std::string self = LinkUrl(bundle, "self");
  std::string next = LinkUrl(bundle, "next");
  EXPECT_EQ(self.rfind(std::string(kBase) + "/Patient?", 0), 0u) << self;
  ASSERT_EQ(next.rfind(std::string(kBase) + "/Patient?", 0), 0u) << next;
  // Follow the next link: the last match.
  RestResponse second = Call("GET", next.substr(std::string(kBase).size()));
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(EntryCount(Json(second), "match"), 1u);
  EXPECT_EQ(LinkUrl(Json(second), "next"), "");
  EXPECT_NE(LinkUrl(Json(second), "previous"), "");
}

TEST_F(SearchTest, SummaryCountAndElements) {
  RestResponse count = Call("GET", "/Patient?family=Searchy&_summary=count");
  ASSERT_EQ(count.status, 200) << count.body;
  EXPECT_EQ(Json(count).at("total"), 3);
  EXPECT_EQ(EntryCount(Json(count)), 0u);

  RestResponse elements = Call("GET", "/Patient?family=Searchy&_elements=birthDate");
  ASSERT_EQ(elements.status, 200) << elements.body;
  json::value subset = Json(elements);
  for (const auto& entry : subset.at("entry").as_array()) {
    const auto& resource = entry.at("resource").as_object();
    EXPECT_TRUE(resource.contains("id"));
    EXPECT_TRUE(resource.contains("birthDate"));
    EXPECT_FALSE(resource.contains("name"));
    EXPECT_FALSE(resource.contains("gender"));
    EXPECT_EQ(resource.at("meta").at("tag").at(0).at("code"), "SUBSETTED");
  }

  std::string id = Create(
      "Patient", R"({"resourceType":"Patient","text":{"status":"generated","div":"<div>x</div>"},
                     "name":[{"family":"Summ"}],"maritalStatus":{"text":"M"}})");
  RestResponse summary = Call("GET", "/Patient?_id=" + id + "&_summary=true");
  ASSERT_EQ(summary.status, 200) << summary.body;
  json::value summarized = Json(summary);
  const auto& resource = summarized.at("entry").at(0).at("resource").as_object();
  EXPECT_TRUE(resource.contains("name"));
  EXPECT_FALSE(resource.contains("text"));
  EXPECT_FALSE(resource.contains("maritalStatus")) << "not a summary element";
  RestResponse data = Call("GET", "/Patient/" + id + "?_summary=data");
  EXPECT_FALSE(Json(data).as_object().contains("text"));
  EXPECT_TRUE(Json(data).as_object().contains("maritalStatus"));
}

TEST_F(SearchTest, UnknownParameterStrictAndLenient) {
  RestResponse strict =
      Call("GET", "/Patient?family=Searchy&not-a-param=1", "", {{"prefer", "handling=strict"}});
  EXPECT_EQ(strict.status, 400) << strict.body;
  EXPECT_TRUE(IsOutcome(strict));
  EXPECT_NE(strict.body.find("not-a-param"), std::string::npos);

  RestResponse lenient =
      Call("GET", "/Patient?family=Searchy&not-a-param=1", "", {{"prefer", "handling=lenient"}});
  ASSERT_EQ(lenient.status, 200) << lenient.body;
  json::value bundle = Json(lenient);
  EXPECT_EQ(bundle.at("total"), 3);
  ASSERT_EQ(EntryCount(bundle, "outcome"), 1u);
  for (const auto& entry : bundle.at("entry").as_array()) {
    if (entry.at("search").at("mode") != "outcome") continue;
    EXPECT_EQ(entry.at("resource").at("resourceType"), "OperationOutcome");
    EXPECT_NE(json::serialize(entry).find("not-a-param"), std::string::npos);
  }
  EXPECT_EQ(LinkUrl(bundle, "self").find("not-a-param"), std::string::npos);
}

TEST_F(SearchTest, PostSearchMergesTheFormBody) {
  RestResponse response = Call("POST", "/Patient/_search?_count=1", "family=Searchy",
                               {{"content-type", "application/x-www-form-urlencoded"}});
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(Json(response).at("total"), 3);
  EXPECT_EQ(EntryCount(Json(response)), 1u);
  EXPECT_EQ(Call("POST", "/Patient/_search", "{}", {{"content-type", "application/json"}}).status,
            415);
}

TEST_F(SearchTest, SystemSearchNeedsTypeOrAdmin) {
  RestResponse typed = Call("GET", "/?_type=Patient&_count=100");
  ASSERT_EQ(typed.status, 200) << typed.body;
  EXPECT_GE(EntryCount(Json(typed), "match"), 4u);
  Caller reader = ScopedCaller({"*"}, {Interaction::kRead, Interaction::kSearch});
  EXPECT_EQ(Call("GET", "/?_id=x", "", {}, reader).status, 403);
  EXPECT_EQ(Call("GET", "/?_type=Patient", "", {}, reader).status, 200);
}

TEST_F(SearchTest, EverythingIsPaged) {
  std::string pid = ids_[0];
  for (int i = 0; i < 3; ++i) Create("Observation", ObservationJson(pid, "c" + std::to_string(i)));
  Create("Observation", ObservationJson(ids_[1], "other"));
  RestResponse page = Call("GET", "/Patient/" + pid + "/$everything?_count=2");
  ASSERT_EQ(page.status, 200) << page.body;
  std::set<std::string> seen;
  json::value bundle = Json(page);
  for (int guard = 0; guard < 10; ++guard) {
    EXPECT_LE(EntryCount(bundle), 2u);
    if (const auto* entries = bundle.as_object().if_contains("entry")) {
      for (const auto& entry : entries->as_array()) {
        seen.insert(std::string(entry.at("resource").at("resourceType").as_string()) + "/" +
                    std::string(entry.at("resource").at("id").as_string()));
      }
    }
    std::string next = LinkUrl(bundle, "next");
    if (next.empty()) break;
    RestResponse more = Call("GET", next.substr(std::string(kBase).size()));
    ASSERT_EQ(more.status, 200) << more.body;
    bundle = Json(more);
  }
  EXPECT_EQ(seen.count("Patient/" + pid), 1u);
  std::size_t observations = 0;
  for (const auto& s : seen) observations += s.rfind("Observation/", 0) == 0;
  EXPECT_EQ(observations, 3u);
  EXPECT_EQ(seen.count("Patient/" + ids_[1]), 0u);
  EXPECT_EQ(Call("GET", "/Patient/unknown/$everything").status, 404);
}

}  // namespace
}  // namespace junction::fhir::testing
