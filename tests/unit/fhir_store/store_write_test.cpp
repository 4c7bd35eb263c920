// ResourceStore writes and reads: versions, history, conditional operations,
// transactions, compartments and Access, group commit, Close.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fhir/store/sqlite_conn.h"
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

}  // namespace
}  // namespace junction::fhir
