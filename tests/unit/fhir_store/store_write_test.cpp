// ResourceStore writes and reads: versions, history, conditional operations,
// transactions, compartments and Access, group commit, Close.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "junction/fhir/resource_store.h"

namespace junction::fhir {
namespace {

namespace json = boost::json;

std::unique_ptr<ResourceStore> OpenMemory(ResourceStoreOptions options = {}) {
  options.sqlite_path = ":memory:";
  options.durable = false;
  auto store = ResourceStore::Open(options);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return std::move(*store);
}

json::object Obj(std::string_view text) { return json::parse(text).as_object(); }

json::object PatientJson(std::string_view id, std::string_view family) {
  json::object p = Obj(R"({"resourceType":"Patient","name":[{"family":"x"}]})");
  if (!id.empty()) p["id"] = id;
  p["name"].as_array()[0].as_object()["family"] = family;
  return p;
}

json::object ObservationJson(std::string_view id, std::string_view patient,
                             std::string_view value) {
  json::object o = Obj(R"({"resourceType":"Observation","status":"final",
    "code":{"coding":[{"system":"http://loinc.org","code":"2345-7"}]}})");
  if (!id.empty()) o["id"] = id;
  o["subject"] = json::object{{"reference", "Patient/" + std::string(patient)}};
  o["valueString"] = value;
  return o;
}

WriteOp Put(std::string type, std::string id, json::object resource) {
  return WriteOp{.method = "PUT",
                 .type = std::move(type),
                 .id = std::move(id),
                 .resource = std::move(resource)};
}

Result<WriteOutcome> ApplyOne(ResourceStore& store, WriteOp op, const Access& access = {}) {
  WriteBatch batch;
  batch.entries.push_back(std::move(op));
  return store.ApplyAndWait(std::move(batch), access);
}

// The one entry's result of a committed single-entry write.
WriteResult One(const Result<WriteOutcome>& outcome) {
  EXPECT_TRUE(outcome.ok()) << outcome.status().ToString();
  if (!outcome.ok()) return {};
  EXPECT_TRUE(outcome->committed) << outcome->error;
  if (!outcome->committed || outcome->entries.size() != 1) return {};
  return outcome->entries[0];
}

TEST(StoreWrite, CreateReadUpdateVersions) {
  auto store = OpenMemory();
  WriteResult created = One(ApplyOne(*store, Put("Patient", "p1", PatientJson("p1", "Smith"))));
  EXPECT_EQ(created.status, 201);
  EXPECT_TRUE(created.created);
  ASSERT_TRUE(created.resource);
  EXPECT_EQ(created.resource->version, 1);

  auto read = store->Read("Patient", "p1", {});
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  json::object body = Obj(read->json);
  EXPECT_EQ(body["id"], "p1");
  EXPECT_EQ(body["meta"].as_object()["versionId"], "1");
  EXPECT_EQ(body["meta"].as_object()["lastUpdated"].as_string(), read->last_updated);
  EXPECT_EQ(read->last_updated.size(), 24u);  // 2024-01-01T00:00:00.000Z

  WriteResult updated = One(ApplyOne(*store, Put("Patient", "p1", PatientJson("p1", "Jones"))));
  EXPECT_EQ(updated.status, 200);
  EXPECT_FALSE(updated.created);
  EXPECT_FALSE(updated.unchanged);
  EXPECT_EQ(updated.resource->version, 2);
  EXPECT_GE(updated.resource->last_updated, created.resource->last_updated);

  auto v1 = store->ReadVersion("Patient", "p1", 1, {});
  ASSERT_TRUE(v1.ok());
  EXPECT_NE(v1->json.find("Smith"), std::string::npos);
  auto v2 = store->Read("Patient", "p1", {});
  EXPECT_NE(v2->json.find("Jones"), std::string::npos);
  EXPECT_EQ(store->ReadVersion("Patient", "p1", 3, {}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->Read("Patient", "nope", {}).status().code(), StatusCode::kNotFound);
}

TEST(StoreWrite, UnchangedPutAddsNoVersion) {
  auto store = OpenMemory();
  One(ApplyOne(*store, Put("Patient", "p1", PatientJson("p1", "Smith"))));
  // Same content, with a stale meta: still unchanged.
  json::object again = PatientJson("p1", "Smith");
  again["meta"] = json::object{{"versionId", "7"}, {"lastUpdated", "2001-01-01T00:00:00Z"}};
  WriteResult second = One(ApplyOne(*store, Put("Patient", "p1", again)));
  EXPECT_EQ(second.status, 200);
  EXPECT_TRUE(second.unchanged);
  EXPECT_EQ(second.resource->version, 1);
  auto history = store->History({.type = "Patient", .id = "p1"}, {});
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->total, 1);
}

TEST(StoreWrite, PutValidation) {
  auto store = OpenMemory();
  auto mismatch = ApplyOne(*store, Put("Patient", "p1", PatientJson("p2", "Smith")));
  ASSERT_TRUE(mismatch.ok());
  EXPECT_FALSE(mismatch->committed);
  EXPECT_EQ(mismatch->status, 400);
  auto bad_id = ApplyOne(*store, Put("Patient", "p_1", PatientJson("", "Smith")));
  EXPECT_EQ(bad_id->status, 400);
  auto wrong_type = ApplyOne(*store, Put("Observation", "p1", PatientJson("p1", "Smith")));
  EXPECT_EQ(wrong_type->status, 400);
  EXPECT_EQ(store->Read("Patient", "p1", {}).status().code(), StatusCode::kNotFound);
}

TEST(StoreWrite, IfMatch) {
  auto store = OpenMemory();
  WriteOp missing = Put("Patient", "p1", PatientJson("p1", "A"));
  missing.if_match = "W/\"1\"";
  EXPECT_EQ(ApplyOne(*store, missing)->status, 412);
  One(ApplyOne(*store, Put("Patient", "p1", PatientJson("p1", "A"))));
  WriteOp stale = Put("Patient", "p1", PatientJson("p1", "B"));
  stale.if_match = "W/\"2\"";
  auto failed = ApplyOne(*store, stale);
  EXPECT_FALSE(failed->committed);
  EXPECT_EQ(failed->status, 412);
  WriteOp fresh = Put("Patient", "p1", PatientJson("p1", "B"));
  fresh.if_match = "W/\"1\"";
  EXPECT_EQ(One(ApplyOne(*store, fresh)).resource->version, 2);
}

TEST(StoreWrite, CreateAssignsNewIds) {
  auto store = OpenMemory();
  WriteOp post{.method = "POST", .type = "Patient", .resource = PatientJson("ignored", "A")};
  WriteResult a = One(ApplyOne(*store, post));
  WriteResult b = One(ApplyOne(*store, post));
  EXPECT_EQ(a.status, 201);
  EXPECT_NE(a.resource->id, "ignored");
  EXPECT_NE(a.resource->id, b.resource->id);
  EXPECT_EQ(a.resource->id.size(), 36u);
  EXPECT_TRUE(store->Read("Patient", b.resource->id, {}).ok());
}

TEST(StoreWrite, DeleteKeepsHistory) {
  auto store = OpenMemory();
  One(ApplyOne(*store, Put("Patient", "p1", PatientJson("p1", "A"))));
  WriteResult deleted =
      One(ApplyOne(*store, WriteOp{.method = "DELETE", .type = "Patient", .id = "p1"}));
  EXPECT_EQ(deleted.status, 204);
  auto read = store->Read("Patient", "p1", {});
  ASSERT_TRUE(read.ok());
  EXPECT_TRUE(read->deleted);
  EXPECT_EQ(read->version, 2);
  EXPECT_TRUE(read->json.empty());
  // Deleting again: 204, no new version.
  WriteResult again =
      One(ApplyOne(*store, WriteOp{.method = "DELETE", .type = "Patient", .id = "p1"}));
  EXPECT_EQ(again.status, 204);
  EXPECT_FALSE(again.resource);
  auto history = store->History({.type = "Patient", .id = "p1"}, {});
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->total, 2);
  EXPECT_TRUE(history->versions[0].deleted);  // newest first
  EXPECT_EQ(history->versions[1].version, 1);
  // Update-as-create over the tombstone continues the versions.
  WriteResult back = One(ApplyOne(*store, Put("Patient", "p1", PatientJson("p1", "A"))));
  EXPECT_EQ(back.status, 201);
  EXPECT_EQ(back.resource->version, 3);
}

TEST(StoreWrite, HistoryPagingAndSince) {
  auto store = OpenMemory();
  for (int i = 0; i < 5; ++i) {
    One(ApplyOne(*store, Put("Patient", "p1", PatientJson("p1", "N" + std::to_string(i)))));
  }
  One(ApplyOne(*store, Put("Observation", "o1", ObservationJson("o1", "p1", "x"))));
  auto page = store->History({.type = "Patient", .id = "p1", .count = 2, .offset = 1}, {});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total, 5);
  ASSERT_EQ(page->versions.size(), 2u);
  EXPECT_TRUE(page->has_more);
  EXPECT_EQ(page->versions[0].version, 4);
  EXPECT_EQ(page->versions[1].version, 3);
  auto type = store->History({.type = "Patient"}, {});
  EXPECT_EQ(type->total, 5);
  auto system = store->History({}, {});
  EXPECT_EQ(system->total, 6);
  EXPECT_EQ(system->versions[0].type, "Observation");
  auto future = store->History({.since = "2999-01-01T00:00:00Z"}, {});
  ASSERT_TRUE(future.ok());
  EXPECT_EQ(future->total, 0);
  EXPECT_EQ(store->History({.since = "garbage"}, {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->History({.type = "Patient", .id = "zz"}, {}).status().code(),
            StatusCode::kNotFound);
}

// A Bundle (transaction) as the REST layer would hand it over: request.url
// "Type", "Type/id" or "Type?query" (the query as it stands), ifNoneExist.
WriteBatch BatchFromBundle(const json::object& bundle) {
  WriteBatch batch;
  batch.atomic = bundle.at("type") == "transaction";
  for (const json::value& e : bundle.at("entry").as_array()) {
    const json::object& entry = e.as_object();
    const json::object& request = entry.at("request").as_object();
    WriteOp op;
    op.method = std::string(request.at("method").as_string());
    std::string url(request.at("url").as_string());
    if (std::size_t q = url.find('?'); q != std::string::npos) {
      op.type = url.substr(0, q);
      op.condition = url.substr(q + 1);
    } else if (std::size_t slash = url.find('/'); slash != std::string::npos) {
      op.type = url.substr(0, slash);
      op.id = url.substr(slash + 1);
    } else {
      op.type = url;
    }
    if (const json::value* ine = request.if_contains("ifNoneExist"))
      op.condition = std::string(ine->as_string());
    if (const json::value* full = entry.if_contains("fullUrl"))
      op.full_url = std::string(full->as_string());
    if (const json::value* r = entry.if_contains("resource")) op.resource = r->as_object();
    batch.entries.push_back(std::move(op));
  }
  return batch;
}

json::object ReadBundle(const std::string& name) {
  std::ifstream in("tests/unit/fhir_store/testdata/" + name);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_FALSE(text.str().empty()) << name;
  return json::parse(text.str()).as_object();
}

TEST(StoreWrite, ConditionalCreate) {
  auto store = OpenMemory();
  json::object p = PatientJson("", "A");
  p["identifier"] = json::array{json::object{{"system", "urn:mrn"}, {"value", "123"}}};
  WriteOp post{
      .method = "POST", .type = "Patient", .condition = "identifier=urn:mrn|123", .resource = p};
  WriteResult first = One(ApplyOne(*store, post));
  EXPECT_EQ(first.status, 201);
  WriteResult second = One(ApplyOne(*store, post));
  EXPECT_EQ(second.status, 200);
  EXPECT_FALSE(second.created);
  ASSERT_TRUE(second.resource);
  EXPECT_EQ(second.resource->id, first.resource->id);
  EXPECT_EQ(second.resource->version, 1);
  // Two matches: 412.
  One(ApplyOne(*store, WriteOp{.method = "POST", .type = "Patient", .resource = p}));
  auto ambiguous = ApplyOne(*store, post);
  EXPECT_FALSE(ambiguous->committed);
  EXPECT_EQ(ambiguous->status, 412);
  // An unknown parameter in a condition is an error, not "matches all".
  post.condition = "nonsense=1";
  EXPECT_EQ(ApplyOne(*store, post)->status, 400);
}

TEST(StoreWrite, ConditionalUpdateAndDelete) {
  auto store = OpenMemory();
  json::object p = PatientJson("", "A");
  p["identifier"] = json::array{json::object{{"system", "urn:mrn"}, {"value", "9"}}};
  WriteOp put{
      .method = "PUT", .type = "Patient", .condition = "identifier=urn:mrn|9", .resource = p};
  WriteResult created = One(ApplyOne(*store, put));
  EXPECT_EQ(created.status, 201);
  p["gender"] = "female";
  put.resource = p;
  WriteResult updated = One(ApplyOne(*store, put));
  EXPECT_EQ(updated.status, 200);
  EXPECT_EQ(updated.resource->id, created.resource->id);
  EXPECT_EQ(updated.resource->version, 2);
  // A body id that differs from the match: 400.
  put.resource["id"] = "other";
  EXPECT_EQ(ApplyOne(*store, put)->status, 400);
  // A body id with no match: created with that id.
  json::object q = PatientJson("given-id", "B");
  q["identifier"] = json::array{json::object{{"system", "urn:mrn"}, {"value", "10"}}};
  WriteResult with_id = One(ApplyOne(*store, WriteOp{.method = "PUT",
                                                     .type = "Patient",
                                                     .condition = "identifier=urn:mrn|10",
                                                     .resource = q}));
  EXPECT_EQ(with_id.resource->id, "given-id");

  WriteOp del{.method = "DELETE", .type = "Patient", .condition = "identifier=urn:mrn|9"};
  EXPECT_EQ(One(ApplyOne(*store, del)).status, 204);
  EXPECT_TRUE(store->Read("Patient", created.resource->id, {})->deleted);
  WriteResult none = One(ApplyOne(*store, del));  // nothing matches any more
  EXPECT_EQ(none.status, 204);
  EXPECT_FALSE(none.resource);
}

TEST(StoreWrite, TransactionRollsBackAsAWhole) {
  auto store = OpenMemory();
  One(ApplyOne(*store, Put("Patient", "p1", PatientJson("p1", "A"))));
  WriteBatch batch;
  batch.entries.push_back(Put("Patient", "p1", PatientJson("p1", "Changed")));
  batch.entries.push_back(Put("Observation", "o1", ObservationJson("o1", "p1", "v")));
  WriteOp bad = Put("Patient", "p2", PatientJson("p2", "B"));
  bad.if_match = "5";  // fails: no such resource
  batch.entries.push_back(bad);
  auto outcome = store->ApplyAndWait(std::move(batch), {});
  ASSERT_TRUE(outcome.ok());
  EXPECT_FALSE(outcome->committed);
  EXPECT_EQ(outcome->status, 412);
  EXPECT_EQ(outcome->failed_entry, 2u);
  EXPECT_EQ(store->Read("Patient", "p1", {})->version, 1);
  EXPECT_EQ(store->Read("Observation", "o1", {}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->History({}, {})->total, 1);
}

TEST(StoreWrite, BatchEntriesStandAlone) {
  auto store = OpenMemory();
  WriteBatch batch;
  batch.atomic = false;
  batch.entries.push_back(Put("Patient", "p1", PatientJson("p1", "A")));
  batch.entries.push_back(Put("Patient", "bad_id", PatientJson("", "B")));
  batch.entries.push_back(Put("Patient", "p3", PatientJson("p3", "C")));
  auto outcome = store->ApplyAndWait(std::move(batch), {});
  ASSERT_TRUE(outcome.ok());
  EXPECT_TRUE(outcome->committed);
  ASSERT_EQ(outcome->entries.size(), 3u);
  EXPECT_EQ(outcome->entries[0].status, 201);
  EXPECT_EQ(outcome->entries[1].status, 400);
  EXPECT_FALSE(outcome->entries[1].error.empty());
  EXPECT_EQ(outcome->entries[2].status, 201);
  EXPECT_TRUE(store->Read("Patient", "p3", {}).ok());
}

TEST(StoreWrite, TransactionResolvesUrnUuidAndConditionalReferences) {
  auto store = OpenMemory();
  json::object org =
      Obj(R"({"resourceType":"Organization","identifier":[{"system":"urn:org","value":"H1"}]})");
  One(ApplyOne(*store, Put("Organization", "org1", org)));

  WriteBatch batch;
  json::object patient = PatientJson("", "A");
  patient["managingOrganization"] =
      json::object{{"reference", "Organization?identifier=urn:org|H1"}};
  batch.entries.push_back(WriteOp{.method = "POST",
                                  .type = "Patient",
                                  .full_url = "urn:uuid:11111111-1111-4111-8111-111111111111",
                                  .resource = patient});
  json::object obs = ObservationJson("", "x", "v");
  obs["subject"] = json::object{{"reference", "urn:uuid:11111111-1111-4111-8111-111111111111"}};
  // PUT comes first in the request but runs after the POST.
  batch.entries.insert(batch.entries.begin(), Put("Observation", "o1", obs));
  auto outcome = store->ApplyAndWait(std::move(batch), {});
  ASSERT_TRUE(outcome.ok());
  ASSERT_TRUE(outcome->committed) << outcome->error;
  std::string patient_id = outcome->entries[1].resource->id;
  json::object stored_obs = Obj(store->Read("Observation", "o1", {})->json);
  EXPECT_EQ(stored_obs["subject"].as_object()["reference"].as_string(), "Patient/" + patient_id);
  json::object stored_patient = Obj(store->Read("Patient", patient_id, {})->json);
  EXPECT_EQ(stored_patient["managingOrganization"].as_object()["reference"], "Organization/org1");
  // The observation is in the new patient's compartment.
  auto scoped = store->Read("Observation", "o1", Access{.patient = patient_id});
  EXPECT_TRUE(scoped.ok()) << scoped.status().ToString();

  // A conditional reference that matches nothing fails the transaction (412).
  WriteBatch broken;
  json::object p2 = PatientJson("p2", "B");
  p2["managingOrganization"] = json::object{{"reference", "Organization?identifier=urn:org|NOPE"}};
  broken.entries.push_back(Put("Patient", "p2", p2));
  auto failed = store->ApplyAndWait(std::move(broken), {});
  EXPECT_FALSE(failed->committed);
  EXPECT_EQ(failed->status, 412);
}

TEST(StoreWrite, AccessRestrictsReadsAndWrites) {
  auto store = OpenMemory();
  One(ApplyOne(*store, Put("Patient", "p1", PatientJson("p1", "A"))));
  One(ApplyOne(*store, Put("Patient", "p2", PatientJson("p2", "B"))));
  One(ApplyOne(*store, Put("Observation", "o1", ObservationJson("o1", "p1", "mine"))));
  One(ApplyOne(*store, Put("Observation", "o2", ObservationJson("o2", "p2", "theirs"))));
  Access p1{.patient = "p1"};
  EXPECT_TRUE(store->Read("Observation", "o1", p1).ok());
  EXPECT_TRUE(store->Read("Patient", "p1", p1).ok());
  EXPECT_EQ(store->Read("Observation", "o2", p1).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->Read("Patient", "p2", p1).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->ReadVersion("Observation", "o2", 1, p1).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->History({.type = "Observation", .id = "o2"}, p1).status().code(),
            StatusCode::kNotFound);
  auto history = store->History({}, p1);
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->total, 2);  // p1 and o1
  for (const StoredResource& r : history->versions)
    EXPECT_TRUE(r.id == "p1" || r.id == "o1") << r.id;

  // Writing into another patient's compartment: 403, nothing written.
  auto foreign = ApplyOne(*store, Put("Observation", "o3", ObservationJson("o3", "p2", "x")), p1);
  EXPECT_FALSE(foreign->committed);
  EXPECT_EQ(foreign->status, 403);
  EXPECT_EQ(store->Read("Observation", "o3", {}).status().code(), StatusCode::kNotFound);
  // Moving the other patient's observation into one's own compartment: 403 too.
  auto steal = ApplyOne(*store, Put("Observation", "o2", ObservationJson("o2", "p1", "x")), p1);
  EXPECT_EQ(steal->status, 403);
  EXPECT_EQ(
      ApplyOne(*store, WriteOp{.method = "DELETE", .type = "Observation", .id = "o2"}, p1)->status,
      403);
  // Own compartment: fine.
  EXPECT_EQ(
      One(ApplyOne(*store, Put("Observation", "o4", ObservationJson("o4", "p1", "y")), p1)).status,
      201);
}

TEST(StoreWrite, CompartmentRows) {
  auto store = OpenMemory();
  json::object p = PatientJson("p1", "A");
  p["link"] = json::array{
      json::object{{"other", json::object{{"reference", "Patient/old"}}}, {"type", "replaces"}}};
  One(ApplyOne(*store, Put("Patient", "p1", p)));
  json::object cov = Obj(R"({"resourceType":"Coverage","status":"active",
    "beneficiary":{"reference":"Patient/p1"},"subscriber":{"reference":"Patient/p9"},
    "payor":[{"reference":"Organization/o1"}]})");
  One(ApplyOne(*store, Put("Coverage", "c1", cov)));
  EXPECT_TRUE(store->Read("Patient", "p1", Access{.patient = "old"}).ok());  // merged patient
  EXPECT_TRUE(store->Read("Coverage", "c1", Access{.patient = "p1"}).ok());
  EXPECT_TRUE(store->Read("Coverage", "c1", Access{.patient = "p9"}).ok());
  EXPECT_FALSE(store->Read("Coverage", "c1", Access{.patient = "o1"}).ok());
  // An update that drops the subscriber takes c1 out of p9's compartment.
  cov.erase("subscriber");
  One(ApplyOne(*store, Put("Coverage", "c1", cov)));
  EXPECT_FALSE(store->Read("Coverage", "c1", Access{.patient = "p9"}).ok());
}

TEST(StoreWrite, ResourceSizeLimit) {
  ResourceStoreOptions options;
  options.max_resource_bytes = 200;
  auto store = OpenMemory(options);
  json::object p = PatientJson("p1", std::string(300, 'x'));
  auto outcome = ApplyOne(*store, Put("Patient", "p1", p));
  EXPECT_FALSE(outcome->committed);
  EXPECT_EQ(outcome->status, 413);
}

Status AppendAndWait(ResourceStore& store, AuditRecord record) {
  std::promise<Status> done;
  store.AppendAudit(std::move(record), [&](Status s) { done.set_value(std::move(s)); });
  return done.get_future().get();
}

AuditRecord Record(std::string subtype, char action, std::vector<std::string> patients,
                   int status = 200) {
  AuditRecord record;
  record.subtype = std::move(subtype);
  record.action = action;
  record.type = "Observation";
  record.status = status;
  record.who = "user-7";
  record.client_id = "app-1";
  record.peer = "127.0.0.1";
  record.references = {"Observation/o1"};
  record.patients = std::move(patients);
  return record;
}

std::vector<std::string> Ids(const SearchPage& page) {
  std::vector<std::string> ids;
  for (const auto& m : page.matches) ids.push_back(m.id);
  return ids;
}

TEST(StoreWrite, AuditRecordsAreReadAsAuditEvents) {
  auto store = OpenMemory();
  AuditRecord first = Record("read", 'R', {"p1"});
  first.recorded_us = 1'704'067'200'000'000;  // 2024-01-01T00:00:00Z
  ASSERT_TRUE(AppendAndWait(*store, first).ok());
  AuditRecord search = Record("search-type", 'E', {"p2"}, 404);
  search.query = true;
  search.param_names = {"code", "patient"};
  ASSERT_TRUE(AppendAndWait(*store, search).ok());

  auto read = store->Read("AuditEvent", "audit-1", Access{.patient = "p1"});
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->version, 1);
  EXPECT_EQ(read->last_updated.substr(0, 19), "2024-01-01T00:00:00");
  json::object event = json::parse(read->json).as_object();
  EXPECT_EQ(event.at("resourceType"), "AuditEvent");
  EXPECT_EQ(event.at("id"), "audit-1");
  EXPECT_EQ(event.at("action"), "R");
  EXPECT_EQ(event.at("outcome"), "0");
  EXPECT_EQ(event.at("subtype").at(0).at("code"), "read");
  EXPECT_EQ(event.at("agent").at(0).at("who").at("identifier").at("value"), "user-7");
  EXPECT_EQ(event.at("agent").at(0).at("altId"), "app-1");
  EXPECT_EQ(event.at("agent").at(0).at("network").at("address"), "127.0.0.1");
  std::string text = json::serialize(event);
  EXPECT_NE(text.find("\"Observation/o1\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"Patient/p1\""), std::string::npos) << text;
  // Another patient's compartment does not hold it; ids that are no audit rows are unknown.
  EXPECT_EQ(store->Read("AuditEvent", "audit-1", Access{.patient = "p2"}).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(store->Read("AuditEvent", "audit-9", {}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->Read("AuditEvent", "audit-01", {}).status().code(), StatusCode::kNotFound);

  auto second = store->Read("AuditEvent", "audit-2", {});
  ASSERT_TRUE(second.ok());
  json::object failed = json::parse(second->json).as_object();
  EXPECT_EQ(failed.at("outcome"), "4");
  EXPECT_NE(json::serialize(failed).find("search parameters: code, patient"), std::string::npos);

  auto find = [&](std::vector<std::pair<std::string, std::string>> params,
                  const Access& access = {}) {
    SearchRequest request{.type = "AuditEvent", .params = std::move(params)};
    auto page = store->Search(request, access);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    return page.ok() ? *page : SearchPage{};
  };
  EXPECT_EQ(Ids(find({})), (std::vector<std::string>{"audit-1", "audit-2"}));
  EXPECT_EQ(Ids(find({{"patient", "p1"}})), std::vector<std::string>{"audit-1"});
  EXPECT_EQ(Ids(find({{"patient", "Patient/p2"}})), std::vector<std::string>{"audit-2"});
  EXPECT_EQ(Ids(find({{"entity", "Patient/p2"}})), std::vector<std::string>{"audit-2"});
  EXPECT_EQ(Ids(find({{"entity", "Observation/o1"}})).size(), 2u);
  EXPECT_EQ(Ids(find({{"entity", "Observation/o2"}})).size(), 0u);
  EXPECT_EQ(Ids(find({{"action", "E"}})), std::vector<std::string>{"audit-2"});
  EXPECT_EQ(Ids(find({{"action", "C,R"}})), std::vector<std::string>{"audit-1"});
  EXPECT_EQ(Ids(find({{"outcome", "4"}})), std::vector<std::string>{"audit-2"});
  EXPECT_EQ(Ids(find({{"subtype", "http://hl7.org/fhir/restful-interaction|read"}})),
            std::vector<std::string>{"audit-1"});
  EXPECT_EQ(Ids(find({{"type", "rest"}})).size(), 2u);
  EXPECT_EQ(Ids(find({{"type", "other"}})).size(), 0u);
  EXPECT_EQ(Ids(find({{"agent", "user-7"}})).size(), 2u);
  EXPECT_EQ(Ids(find({{"agent", "user-8"}})).size(), 0u);
  EXPECT_EQ(Ids(find({{"altid", "app-1"}, {"address", "127.0"}})).size(), 2u);
  EXPECT_EQ(Ids(find({{"date", "2024-01-01"}})), std::vector<std::string>{"audit-1"});
  EXPECT_EQ(Ids(find({{"date", "gt2024-01-01"}})), std::vector<std::string>{"audit-2"});
  EXPECT_EQ(Ids(find({{"_lastUpdated", "lt2025"}})), std::vector<std::string>{"audit-1"});
  EXPECT_EQ(Ids(find({{"_id", "audit-2"}})), std::vector<std::string>{"audit-2"});
  EXPECT_EQ(Ids(find({{"_sort", "-date"}})), (std::vector<std::string>{"audit-2", "audit-1"}));
  EXPECT_EQ(Ids(find({}, Access{.patient = "p2"})), std::vector<std::string>{"audit-2"});

  // Paging: _count with next/prev, the total of everything matching.
  SearchPage page = find({{"action", "R,E"}, {"_count", "1"}});
  EXPECT_EQ(Ids(page), std::vector<std::string>{"audit-1"});
  EXPECT_EQ(page.total, 2);
  EXPECT_EQ(page.next_query, "action=R,E&_count=1&_offset=1");
  SearchPage next = find({{"action", "R,E"}, {"_count", "1"}, {"_offset", "1"}});
  EXPECT_EQ(Ids(next), std::vector<std::string>{"audit-2"});
  EXPECT_TRUE(next.next_query.empty());
  EXPECT_FALSE(next.prev_query.empty());
  EXPECT_EQ(find({{"_summary", "count"}}).total, 2);

  // Unknown parameters: ignored (listed), or 400 when strict; modifiers are refused.
  SearchPage lenient = find({{"policy", "x"}});
  EXPECT_EQ(lenient.ignored_params, std::vector<std::string>{"policy"});
  SearchRequest strict{.type = "AuditEvent", .params = {{"policy", "x"}}, .strict = true};
  EXPECT_EQ(store->Search(strict, {}).status().code(), StatusCode::kInvalidArgument);
  SearchRequest modifier{.type = "AuditEvent", .params = {{"patient:missing", "true"}}};
  EXPECT_EQ(store->Search(modifier, {}).status().code(), StatusCode::kInvalidArgument);
  SearchRequest bad_date{.type = "AuditEvent", .params = {{"date", "yesterday"}}};
  EXPECT_EQ(store->Search(bad_date, {}).status().code(), StatusCode::kInvalidArgument);
}

TEST(StoreWrite, AuditTrailHasItsOwnFile) {
  EXPECT_EQ(AuditTrailPath("var/junction-fhir.db"), "var/junction-fhir-audit.db");
  EXPECT_EQ(AuditTrailPath("var/fhir"), "var/fhir-audit");
  std::string dir = ::testing::TempDir() + "/audit-file-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  ResourceStoreOptions options;
  options.sqlite_path = dir + "/fhir.db";
  {
    auto store = ResourceStore::Open(options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_TRUE(AppendAndWait(**store, Record("read", 'R', {"p1"})).ok());
    ASSERT_TRUE((*store)->Close().ok());
  }
  EXPECT_TRUE(std::filesystem::exists(dir + "/fhir-audit.db"));
  {
    // Reopened: the trail is kept and numbering goes on.
    auto store = ResourceStore::Open(options);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE(AppendAndWait(**store, Record("read", 'R', {"p1"})).ok());
    EXPECT_TRUE((*store)->Read("AuditEvent", "audit-2", {}).ok());
    // The audit rows are no resources: not in history.
    auto history = (*store)->History({.type = "AuditEvent"}, {});
    ASSERT_TRUE(history.ok());
    EXPECT_EQ(history->total, 0);
    ASSERT_TRUE((*store)->Close().ok());
  }
  {
    ResourceStoreOptions ro = options;
    ro.read_only = true;
    auto store = ResourceStore::Open(ro);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    EXPECT_TRUE((*store)->Read("AuditEvent", "audit-1", {}).ok());
    Status refused = AppendAndWait(**store, Record("read", 'R', {}));
    EXPECT_FALSE(refused.ok());
  }
  std::filesystem::remove_all(dir);
}

TEST(StoreWrite, GroupCommitFromManyThreads) {
  ResourceStoreOptions options;
  options.max_batch = 64;
  auto store = OpenMemory(options);
  constexpr int kThreads = 4, kPerThread = 50;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
        auto outcome = ApplyOne(*store, Put("Patient", id, PatientJson(id, "N")));
        if (outcome.ok() && outcome->committed && outcome->entries[0].status == 201) ++ok;
      }
    });
  }
  // Asynchronous writes too: every callback runs once.
  std::atomic<int> callbacks{0};
  for (int i = 0; i < 100; ++i) {
    std::string id = "async-" + std::to_string(i);
    WriteBatch batch;
    batch.entries.push_back(Put("Patient", id, PatientJson(id, "N")));
    store->Apply(std::move(batch), {}, [&](Result<WriteOutcome> r) {
      if (r.ok() && r->committed) ++callbacks;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_TRUE(store->Close().ok());
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  EXPECT_EQ(callbacks.load(), 100);
}

TEST(StoreWrite, CloseDrainsQueuedWorkAndRefusesMore) {
  auto dir =
      std::filesystem::temp_directory_path() / ("fhirwrite-close-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  ResourceStoreOptions options;
  options.sqlite_path = (dir / "sub" / "fhir.db").string();  // parent directories are created
  options.durable = false;
  std::atomic<int> committed{0};
  {
    auto store = ResourceStore::Open(options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    for (int i = 0; i < 200; ++i) {
      std::string id = "q" + std::to_string(i);
      WriteBatch batch;
      batch.entries.push_back(Put("Patient", id, PatientJson(id, "N")));
      (*store)->Apply(std::move(batch), {}, [&](Result<WriteOutcome> r) {
        if (r.ok() && r->committed) ++committed;
      });
    }
    EXPECT_TRUE((*store)->Close().ok());
    EXPECT_EQ(committed.load(), 200);
    std::atomic<int> refused{0};
    (*store)->Apply(WriteBatch{}, {}, [&](Result<WriteOutcome> r) {
      if (!r.ok()) ++refused;
    });
    EXPECT_EQ(refused.load(), 1);
  }
  // Reopen: everything is there.
  auto reopened = ResourceStore::Open(options);
  ASSERT_TRUE(reopened.ok());
  EXPECT_TRUE((*reopened)->Read("Patient", "q199", {}).ok());
  EXPECT_EQ((*reopened)->History({.type = "Patient"}, {})->total, 200);
  (void)(*reopened)->Close();
  std::filesystem::remove_all(dir);
}

TEST(StoreWrite, ConverterBundlesTwiceChangeNothing) {
  auto store = OpenMemory();
  for (const char* name : {"adt_a01.bundle.json", "oru_r01.bundle.json"}) {
    json::object bundle = ReadBundle(name);
    auto first = store->ApplyAndWait(BatchFromBundle(bundle), {});
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    ASSERT_TRUE(first->committed) << name << ": " << first->error;
    std::int64_t versions = store->History({}, {})->total;

    WriteBatch again = BatchFromBundle(bundle);
    std::vector<std::string> methods;
    for (const WriteOp& op : again.entries) methods.push_back(op.method);
    auto second = store->ApplyAndWait(std::move(again), {});
    ASSERT_TRUE(second.ok());
    ASSERT_TRUE(second->committed) << name << ": " << second->error;
    for (std::size_t i = 0; i < second->entries.size(); ++i) {
      const WriteResult& r = second->entries[i];
      EXPECT_EQ(r.status, 200) << name << " entry " << i;
      EXPECT_FALSE(r.created) << name << " entry " << i;
      if (methods[i] == "PUT") {
        EXPECT_TRUE(r.unchanged) << name << " entry " << i;
      }
    }
    EXPECT_EQ(store->History({}, {})->total, versions) << name;
  }
  // One patient, shared by both messages (conditional update by identifier),
  // with the results of both in its compartment.
  auto patients = store->History({.type = "Patient"}, {});
  std::set<std::string> ids;
  for (const StoredResource& r : patients->versions) ids.insert(r.id);
  ASSERT_EQ(ids.size(), 1u);
  auto observations = store->History({.type = "Observation"}, Access{.patient = *ids.begin()});
  EXPECT_EQ(observations->total, 3);  // height (ADT), glucose and comment (ORU)
}

}  // namespace
}  // namespace junction::fhir
