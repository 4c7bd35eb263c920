// Store behaviour fixed for the FHIR API: If-Match on DELETE, :identifier on
// Reference.identifier, dangling urn:uuid references in transactions, and
// resource types limited to FHIR R4.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "junction/fhir/resource_store.h"

namespace junction::fhir {
namespace {

namespace json = boost::json;

std::unique_ptr<ResourceStore> OpenMemory() {
  ResourceStoreOptions options;
  options.sqlite_path = ":memory:";
  options.durable = false;
  auto store = ResourceStore::Open(options);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return std::move(*store);
}

WriteOutcome Write(ResourceStore& store, std::vector<WriteOp> ops, bool atomic = true) {
  WriteBatch batch;
  batch.atomic = atomic;
  batch.entries = std::move(ops);
  auto outcome = store.ApplyAndWait(std::move(batch), {});
  EXPECT_TRUE(outcome.ok()) << outcome.status().ToString();
  return std::move(*outcome);
}

WriteOp Put(std::string type, std::string id, std::string_view body) {
  WriteOp op{.method = "PUT", .type = std::move(type), .id = std::move(id)};
  op.resource = json::parse(body).as_object();
  return op;
}

std::vector<std::string> Ids(ResourceStore& store, std::string type, std::string name,
                             std::string value) {
  SearchRequest request{.type = std::move(type), .params = {{std::move(name), std::move(value)}}};
  auto page = store.Search(request, {});
  EXPECT_TRUE(page.ok()) << page.status().ToString();
  std::vector<std::string> ids;
  if (page.ok()) {
    for (const auto& r : page->matches) ids.push_back(r.id);
  }
  return ids;
}

TEST(StoreFixes, DeleteChecksIfMatch) {
  auto store = OpenMemory();
  ASSERT_TRUE(
      Write(*store, {Put("Patient", "p1", R"({"resourceType":"Patient","id":"p1"})")}).committed);
  WriteOp del{.method = "DELETE", .type = "Patient", .id = "p1", .if_match = "W/\"2\""};
  WriteOutcome refused = Write(*store, {del});
  EXPECT_FALSE(refused.committed);
  EXPECT_EQ(refused.status, 412);
  EXPECT_FALSE(store->Read("Patient", "p1", {})->deleted);
  del.if_match = "W/\"1\"";
  EXPECT_TRUE(Write(*store, {del}).committed);
  EXPECT_TRUE(store->Read("Patient", "p1", {})->deleted);
}

TEST(StoreFixes, IdentifierModifierMatchesReferenceIdentifier) {
  auto store = OpenMemory();
  ASSERT_TRUE(Write(*store, {Put("Patient", "p1",
                                 R"({"resourceType":"Patient","id":"p1",
                                     "identifier":[{"system":"urn:mrn","value":"T1"}]})"),
                             Put("Observation", "o1",
                                 R"({"resourceType":"Observation","id":"o1","status":"final",
                                     "code":{"text":"x"},
                                     "subject":{"reference":"Patient/p1",
                                       "identifier":{"system":"urn:other","value":"R1"}}})"),
                             Put("Observation", "o2",
                                 R"({"resourceType":"Observation","id":"o2","status":"final",
                                     "code":{"text":"x"},
                                     "subject":{"identifier":{"system":"urn:other","value":"R2"}}})")})
                  .committed);
  // The identifier inside the Reference element, with or without a literal reference.
  EXPECT_EQ(Ids(*store, "Observation", "subject:identifier", "urn:other|R1"),
            std::vector<std::string>{"o1"});
  EXPECT_EQ(Ids(*store, "Observation", "subject:identifier", "urn:other|R2"),
            std::vector<std::string>{"o2"});
  // The target's identifier still matches.
  EXPECT_EQ(Ids(*store, "Observation", "subject:identifier", "urn:mrn|T1"),
            std::vector<std::string>{"o1"});
  EXPECT_TRUE(Ids(*store, "Observation", "subject:identifier", "urn:other|R3").empty());
  EXPECT_TRUE(Ids(*store, "Observation", "subject:identifier", "urn:mrn|R1").empty());
}

TEST(StoreFixes, DanglingUrnUuidFailsTheTransaction) {
  auto store = OpenMemory();
  WriteOp patient{.method = "POST", .type = "Patient", .full_url = "urn:uuid:aaaa"};
  patient.resource = json::parse(R"({"resourceType":"Patient"})").as_object();
  WriteOp obs{.method = "POST", .type = "Observation"};
  obs.resource = json::parse(R"({"resourceType":"Observation","status":"final",
      "code":{"text":"x"},"subject":{"reference":"urn:uuid:bbbb"}})")
                     .as_object();
  WriteOutcome outcome = Write(*store, {patient, obs});
  EXPECT_FALSE(outcome.committed);
  EXPECT_EQ(outcome.status, 400);
  EXPECT_NE(outcome.error.find("entry 1"), std::string::npos) << outcome.error;
  EXPECT_NE(outcome.error.find("urn:uuid:bbbb"), std::string::npos) << outcome.error;
  EXPECT_EQ(store->History({}, {})->total, 0);
}

TEST(StoreFixes, OnlyR4ResourceTypes) {
  auto store = OpenMemory();
  WriteOutcome bad = Write(*store, {Put("NoSuchType", "x1", R"({"resourceType":"NoSuchType"})")});
  EXPECT_FALSE(bad.committed);
  EXPECT_EQ(bad.status, 400);
  // Any R4 type without parameters of its own is stored generically.
  EXPECT_TRUE(
      Write(*store, {Put("VisionPrescription", "v1", R"({"resourceType":"VisionPrescription"})")})
          .committed);
}

}  // namespace
}  // namespace junction::fhir
