// read, vread, create, update, delete, history and the HTTP headers.
#include "unit/fhir_rest/rest_fixture.h"

namespace junction::fhir::testing {
namespace {

TEST_F(RestTest, CreateReadUpdateDelete) {
  RestResponse created = Call("POST", "/Patient", PatientJson("Smith", R"(,"id":"client-id")"));
  ASSERT_EQ(created.status, 201) << created.body;
  json::value body = Json(created);
  std::string id(body.at("id").as_string());
  EXPECT_NE(id, "client-id") << "create ignores the body's id";
  EXPECT_EQ(body.at("meta").at("versionId"), "1");
  EXPECT_EQ(HeaderOf(created, "ETag"), "W/\"1\"");
  EXPECT_EQ(HeaderOf(created, "Location"), std::string(kBase) + "/Patient/" + id + "/_history/1");
  // RFC 1123: "Tue, 02 Jan 2024 03:04:05 GMT" (no std::regex: GCC 12 warns under ASan).
  std::string modified = HeaderOf(created, "Last-Modified");
  ASSERT_EQ(modified.size(), 29u) << modified;
  EXPECT_EQ(modified.substr(3, 2), ", ") << modified;
  EXPECT_EQ(modified.substr(25), " GMT") << modified;
  EXPECT_EQ(modified[19], ':') << modified;

  RestResponse read = Call("GET", "/Patient/" + id);
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(HeaderOf(read, "ETag"), "W/\"1\"");
  EXPECT_FALSE(HeaderOf(read, "Last-Modified").empty());
  EXPECT_EQ(Json(read).at("name").at(0).at("family"), "Smith");

  json::object updated = Json(read).as_object();
  updated["gender"] = "other";
  RestResponse put = Call("PUT", "/Patient/" + id, json::serialize(updated));
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(HeaderOf(put, "ETag"), "W/\"2\"");
  EXPECT_EQ(Json(put).at("gender"), "other");

  RestResponse v1 = Call("GET", "/Patient/" + id + "/_history/1");
  ASSERT_EQ(v1.status, 200);
  EXPECT_EQ(Json(v1).at("gender"), "female");
  EXPECT_EQ(Call("GET", "/Patient/" + id + "/_history/9").status, 404);

  RestResponse del = Call("DELETE", "/Patient/" + id);
  EXPECT_EQ(del.status, 204) << del.body;
  EXPECT_TRUE(del.body.empty());
  RestResponse gone = Call("GET", "/Patient/" + id);
  EXPECT_EQ(gone.status, 410);
  EXPECT_TRUE(IsOutcome(gone));
  EXPECT_EQ(Call("GET", "/Patient/" + id + "/_history/2").status, 200) << "history is kept";
}

TEST_F(RestTest, ReadUnknownIs404Outcome) {
  RestResponse response = Call("GET", "/Patient/nope");
  EXPECT_EQ(response.status, 404);
  EXPECT_TRUE(IsOutcome(response));
}

TEST_F(RestTest, IfNoneMatchGives304) {
  std::string id = Create("Patient", PatientJson("Cached"));
  RestResponse response = Call("GET", "/Patient/" + id, "", {{"if-none-match", "W/\"1\""}});
  EXPECT_EQ(response.status, 304);
  EXPECT_TRUE(response.body.empty());
  EXPECT_EQ(Call("GET", "/Patient/" + id, "", {{"if-none-match", "W/\"7\""}}).status, 200);
}

TEST_F(RestTest, UpdateAsCreateAndIfMatch) {
  RestResponse created =
      Call("PUT", "/Patient/chosen-1", PatientJson("Jones", R"(,"id":"chosen-1")"));
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(HeaderOf(created, "Location"), std::string(kBase) + "/Patient/chosen-1/_history/1");

  std::string v2 = PatientJson("Jones", R"(,"id":"chosen-1","active":true)");
  RestResponse stale = Call("PUT", "/Patient/chosen-1", v2, {{"if-match", "W/\"5\""}});
  EXPECT_EQ(stale.status, 412) << stale.body;
  EXPECT_TRUE(IsOutcome(stale));
  RestResponse fresh = Call("PUT", "/Patient/chosen-1", v2, {{"if-match", "W/\"1\""}});
  EXPECT_EQ(fresh.status, 200) << fresh.body;
  EXPECT_EQ(HeaderOf(fresh, "ETag"), "W/\"2\"");
  EXPECT_EQ(Call("PUT", "/Patient/chosen-1", v2, {{"if-match", "garbage"}}).status, 400);
}

TEST_F(RestTest, PreferReturn) {
  RestResponse minimal = Call("POST", "/Patient", PatientJson("A"), {{"prefer", "return=minimal"}});
  EXPECT_EQ(minimal.status, 201);
  EXPECT_TRUE(minimal.body.empty());
  EXPECT_FALSE(HeaderOf(minimal, "Location").empty());

  RestResponse outcome =
      Call("POST", "/Patient", PatientJson("B"), {{"prefer", "return=OperationOutcome"}});
  EXPECT_EQ(outcome.status, 201);
  EXPECT_TRUE(IsOutcome(outcome)) << outcome.body;

  RestResponse representation =
      Call("POST", "/Patient", PatientJson("C"), {{"prefer", "return=representation"}});
  EXPECT_EQ(representation.status, 201);
  EXPECT_EQ(Json(representation).at("resourceType"), "Patient");

  std::string id(Json(representation).at("id").as_string());
  RestResponse deleted =
      Call("DELETE", "/Patient/" + id, "", {{"prefer", "return=OperationOutcome"}});
  EXPECT_EQ(deleted.status, 200);
  EXPECT_TRUE(IsOutcome(deleted));
}

TEST_F(RestTest, ConditionalCreateUpdateDelete) {
  std::string mrn = R"(,"identifier":[{"system":"urn:mrn","value":"42"}])";
  Headers cond = {{"if-none-exist", "identifier=urn:mrn|42"}};
  RestResponse first = Call("POST", "/Patient", PatientJson("Cond", mrn), cond);
  ASSERT_EQ(first.status, 201) << first.body;
  RestResponse second = Call("POST", "/Patient", PatientJson("Cond", mrn), cond);
  EXPECT_EQ(second.status, 200) << second.body;

  RestResponse update = Call("PUT", "/Patient?identifier=urn:mrn%7C42",
                             PatientJson("Cond", mrn + R"(,"active":false)"));
  EXPECT_EQ(update.status, 200) << update.body;
  EXPECT_EQ(Json(update).at("id"), Json(first).at("id"));

  RestResponse del = Call("DELETE", "/Patient?identifier=urn:mrn%7C42");
  EXPECT_EQ(del.status, 204) << del.body;
  EXPECT_EQ(Call("GET", "/Patient/" + std::string(Json(first).at("id").as_string())).status, 410);
  EXPECT_EQ(Call("DELETE", "/Patient").status, 400) << "delete needs an id or a query";
  EXPECT_EQ(Call("PUT", "/Patient", PatientJson("X")).status, 400);
}

TEST_F(RestTest, BadInput) {
  RestResponse malformed = Call("POST", "/Patient", "{\"resourceType\":");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_TRUE(IsOutcome(malformed));
  EXPECT_EQ(Call("POST", "/Patient", "[1,2]").status, 400);
  EXPECT_EQ(Call("POST", "/Patient", R"({"resourceType":"Observation","status":"final"})").status,
            400);
  EXPECT_EQ(Call("POST", "/Patient", R"({"name":[{"family":"NoType"}]})").status, 400);

  std::string id = Create("Patient", PatientJson("Known"));
  EXPECT_EQ(Call("PUT", "/Patient/" + id, PatientJson("Known", R"(,"id":"other")")).status, 400);
  EXPECT_EQ(Call("PUT", "/Patient/" + id, PatientJson("Known")).status, 400) << "missing id";
  EXPECT_EQ(
      Call("PUT", "/Patient/" + id, R"({"resourceType":"Observation","id":")" + id + "\"}").status,
      400);

  // 10,000 levels of nesting: a 400, never a stack overflow.
  std::string deep = R"({"resourceType":"Patient","extension":)" + std::string(10000, '[') +
                     std::string(10000, ']') + "}";
  RestResponse too_deep = Call("POST", "/Patient", deep);
  EXPECT_EQ(too_deep.status, 400);
  EXPECT_TRUE(IsOutcome(too_deep));
  std::string deep_bundle = R"({"resourceType":"Bundle","type":"batch","entry":)" +
                            std::string(10000, '[') + std::string(10000, ']') + "}";
  EXPECT_EQ(Call("POST", "/", deep_bundle).status, 400);

  EXPECT_EQ(Call("GET", "/Patient/" + std::string(65, 'a')).status, 400);
  EXPECT_EQ(Call("GET", "/Patient/x y").status, 400);
  EXPECT_EQ(Call("GET", "/patient/1").status, 404) << "type names start upper-case";
  EXPECT_EQ(Call("GET", "/Patient/1/_history/abc").status, 400);
  RestResponse patch = Call("PATCH", "/Patient/" + id, "[]");
  EXPECT_EQ(patch.status, 405);
  EXPECT_TRUE(IsOutcome(patch));
  EXPECT_EQ(Call("POST", "/Patient/" + id, PatientJson("X")).status, 405);
  EXPECT_EQ(Call("GET", "/Patient", "", {{"accept", "application/fhir+xml"}}).status, 406);
  // Nothing changed the known patient.
  EXPECT_EQ(HeaderOf(Call("GET", "/Patient/" + id), "ETag"), "W/\"1\"");
}

TEST_F(RestTest, HistoryShowsTheMethodEachVersionWasWrittenWith) {
  // An update-as-create is recorded as the PUT it was.
  ASSERT_EQ(Call("PUT", "/Patient/made-by-put", R"({"resourceType":"Patient","id":"made-by-put"})")
                .status,
            201);
  json::value history = Json(Call("GET", "/Patient/made-by-put/_history"));
  EXPECT_EQ(history.at("entry").at(0).at("request").at("method"), "PUT");
  EXPECT_EQ(history.at("entry").at(0).at("request").at("url"), "Patient/made-by-put");
}

TEST_F(RestTest, InstanceTypeAndSystemHistory) {
  std::string id = Create("Patient", PatientJson("Hist"));
  json::object v2 = Json(Call("GET", "/Patient/" + id)).as_object();
  v2["active"] = true;
  ASSERT_EQ(Call("PUT", "/Patient/" + id, json::serialize(v2)).status, 200);
  ASSERT_EQ(Call("DELETE", "/Patient/" + id).status, 204);
  Create("Patient", PatientJson("Other"));

  RestResponse instance = Call("GET", "/Patient/" + id + "/_history");
  ASSERT_EQ(instance.status, 200) << instance.body;
  json::value bundle = Json(instance);
  EXPECT_EQ(bundle.at("type"), "history");
  EXPECT_EQ(bundle.at("total"), 3);
  const auto& entries = bundle.at("entry").as_array();
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].at("request").at("method"), "DELETE");
  EXPECT_EQ(entries[1].at("request").at("method"), "PUT");
  EXPECT_EQ(entries[2].at("request").at("method"), "POST");
  EXPECT_EQ(entries[2].at("response").at("status"), "201 Created");
  EXPECT_EQ(entries[1].at("response").at("etag"), "W/\"2\"");
  EXPECT_TRUE(entries[1].at("response").as_object().contains("lastModified"));
  EXPECT_FALSE(entries[0].as_object().contains("resource")) << "a tombstone has no resource";

  RestResponse type = Call("GET", "/Patient/_history?_count=1");
  ASSERT_EQ(type.status, 200) << type.body;
  json::value page = Json(type);
  EXPECT_EQ(page.at("total"), 4);
  EXPECT_EQ(page.at("entry").as_array().size(), 1u);
  bool has_next = false;
  for (const auto& link : page.at("link").as_array()) {
    if (link.at("relation") == "next") {
      has_next = true;
      EXPECT_EQ(S(link.at("url")), std::string(kBase) + "/Patient/_history?_count=1&_offset=1");
    }
  }
  EXPECT_TRUE(has_next);
  RestResponse system = Call("GET", "/_history");
  ASSERT_EQ(system.status, 200);
  EXPECT_GE(Json(system).at("total").as_int64(), 4);
  EXPECT_EQ(Call("GET", "/Patient/" + id + "/_history?_count=x").status, 400);
  EXPECT_EQ(Call("GET", "/Patient/unknown/_history").status, 404);
}

}  // namespace
}  // namespace junction::fhir::testing
