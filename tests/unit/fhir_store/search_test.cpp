// FHIR search over the index tables (search_query.h): parameter types,
// modifiers, prefixes, chains, _has, includes, sorting, paging, and patient
// access. The fixture fills an in-memory database with schema.h and the
// writer's own index extraction (index_extract.h), so the search is tested
// against the rows the store really writes.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <boost/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "fhir/store/index_extract.h"
#include "fhir/store/index_values.h"
#include "fhir/store/schema.h"
#include "fhir/store/search_parse.h"
#include "fhir/store/search_query.h"
#include "junction/fhir/resource_store.h"

namespace junction::fhir::store_internal {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;
using Ids = std::vector<std::string>;

class SearchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(sqlite3_open(":memory:", &db_), SQLITE_OK);
    Exec(kSchemaSql);
    Put("Organization", "org1",
        R"({"name":"Acme Clinic","identifier":[{"system":"urn:org","value":"O1"}]})");
    Put("Practitioner", "pr1", R"({"name":[{"family":"Who","given":["John"]}]})");
    Put("Patient", "pA",
        R"({"identifier":[{"system":"urn:mrn","value":"A1"}],"name":[{"family":"Müller","given":["Anna"]}],
            "birthDate":"1980-05-15","gender":"female","active":true,
            "managingOrganization":{"reference":"Organization/org1"},
            "generalPractitioner":[{"reference":"Practitioner/pr1"}]})",
        "2024-01-01T00:00:00.000Z");
    Put("Patient", "pB",
        R"({"identifier":[{"system":"urn:mrn","value":"B1"}],"name":[{"family":"Smith","given":["Bob"]}],
            "birthDate":"1990-01-02","gender":"male","active":false})",
        "2024-06-01T00:00:00.000Z");
    Put("Patient", "pC",
        R"({"identifier":[{"system":"urn:mrn","value":"C1"}],"name":[{"family":"Smithson"}],
            "birthDate":"1980-05","gender":"male"})",
        "2024-07-01T00:00:00.000Z");
    Put("Observation", "oA1",
        R"({"status":"final","code":{"coding":[{"system":"http://loinc.org","code":"1234-5","display":"Glucose"}]},
            "subject":{"reference":"Patient/pA"},"effectiveDateTime":"2020-03-15T10:00:00Z",
            "valueQuantity":{"value":5.4,"unit":"mg/dL","system":"http://unitsofmeasure.org","code":"mg/dL"},
            "performer":[{"reference":"Practitioner/pr1"}]})");
    Put("Observation", "oA2",
        R"({"status":"preliminary","code":{"coding":[{"system":"http://loinc.org","code":"2345-7"}]},
            "subject":{"reference":"Patient/pA"},"effectivePeriod":{"start":"2020-01-01","end":"2020-12-31"},
            "valueQuantity":{"value":100,"unit":"g/L","system":"http://unitsofmeasure.org","code":"g/L"}})");
    Put("Observation", "oB1",
        R"({"status":"final","code":{"coding":[{"system":"http://loinc.org","code":"1234-5"}]},
            "subject":{"reference":"Patient/pB"},"effectiveDateTime":"2021-06-01",
            "valueQuantity":{"value":7.2,"unit":"mg/dL","system":"http://unitsofmeasure.org","code":"mg/dL"},
            "performer":[{"reference":"Practitioner/pr1"}]})");
    Put("Observation", "oX",
        R"({"code":{"coding":[{"code":"local1"}]},"subject":{"reference":"Patient/pC"}})");
    Put("Observation", "oAbs",
        R"({"status":"final","code":{"coding":[{"system":"http://loinc.org","code":"9-9"}]},
            "subject":{"reference":"http://other.example/fhir/Patient/zz"}})");
    Put("Provenance", "provA",
        R"({"target":[{"reference":"Observation/oA1"}],"recorded":"2020-03-16T00:00:00Z",
            "agent":[{"who":{"reference":"Practitioner/pr1"}}]})");
    Put("DiagnosticReport", "drA",
        R"({"status":"final","code":{"text":"panel"},"subject":{"reference":"Patient/pA"},
            "result":[{"reference":"Observation/oA1"},{"reference":"Observation/oA2"}]})");
    Put("DocumentReference", "docA",
        R"({"status":"current","subject":{"reference":"Patient/pA"},
            "content":[{"attachment":{"url":"http://docs.example/store/a/1.pdf"}}]})");
  }

  void TearDown() override { sqlite3_close(db_); }

  void Exec(const char* sql) {
    char* error = nullptr;
    ASSERT_EQ(sqlite3_exec(db_, sql, nullptr, nullptr, &error), SQLITE_OK) << (error ? error : "");
  }

  // Stores a current resource and its index rows as the writer would.
  std::int64_t Put(const std::string& type, const std::string& id, const std::string& body,
                   const std::string& last_updated = "2024-01-01T00:00:00.000Z") {
    boost::system::error_code ec;
    boost::json::value parsed = boost::json::parse(body, ec);
    EXPECT_FALSE(ec) << type << "/" << id;
    boost::json::object resource = parsed.is_object() ? parsed.get_object() : boost::json::object{};
    resource["resourceType"] = type;
    resource["id"] = id;
    resource["meta"] = {{"versionId", "1"}, {"lastUpdated", last_updated}};
    std::string json = boost::json::serialize(resource);
    auto us = ParseDateRange(last_updated);
    EXPECT_TRUE(us.has_value());
    Run("INSERT INTO resources(type, id, version, last_updated, last_updated_us, deleted, json) "
        "VALUES(?1, ?2, 1, ?3, ?4, 0, ?5)",
        {type, id, last_updated, std::to_string(us->lo_us), json});
    std::int64_t rid = sqlite3_last_insert_rowid(db_);
    std::string r = std::to_string(rid);
    IndexRows rows = ExtractIndex(type, id, resource);
    for (const auto& t : rows.tokens)
      Run("INSERT INTO idx_token VALUES(?1,?2,?3,?4,?5)", {r, t.param, t.system, t.code, t.text});
    for (const auto& s : rows.strings)
      Run("INSERT INTO idx_string VALUES(?1,?2,?3,?4)", {r, s.param, s.norm, s.value});
    for (const auto& d : rows.dates) {
      Run("INSERT INTO idx_date VALUES(?1,?2,?3,?4)",
          {r, d.param, std::to_string(d.lo_us), std::to_string(d.hi_us)});
    }
    for (const auto& x : rows.references) {
      Run("INSERT INTO idx_reference VALUES(?1,?2,?3,?4,?5)",
          {r, x.param, x.target_type, x.target_id, x.url});
    }
    for (const auto& q : rows.quantities) {
      Run("INSERT INTO idx_quantity VALUES(?1,?2,?3,?4,?5,?6)",
          {r, q.param, std::to_string(q.value), q.system, q.code, q.unit});
    }
    for (const auto& u : rows.uris)
      Run("INSERT INTO idx_uri VALUES(?1,?2,?3)", {r, u.param, u.value});
    for (const auto& p : rows.compartment) Run("INSERT INTO compartments VALUES(?1,?2)", {p, r});
    return rid;
  }

  void Delete(const std::string& type, const std::string& id) {
    Run("UPDATE resources SET deleted = 1, json = '', version = 2 WHERE type = ?1 AND id = ?2",
        {type, id});
    for (const char* table :
         {"idx_token", "idx_string", "idx_date", "idx_reference", "idx_quantity", "idx_uri"}) {
      Run(std::string("DELETE FROM ") + table +
              " WHERE rid = (SELECT rid FROM resources WHERE type = ?1 AND id = ?2)",
          {type, id});
    }
  }

  // Binds every value as text, except all-digit ones (and decimals) which
  // SQLite's column affinity converts anyway.
  void Run(const std::string& sql, const std::vector<std::string>& values) {
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db_);
    for (std::size_t i = 0; i < values.size(); ++i) {
      sqlite3_bind_text(stmt, static_cast<int>(i + 1), values[i].c_str(), -1, SQLITE_TRANSIENT);
    }
    EXPECT_EQ(sqlite3_step(stmt), SQLITE_DONE) << sqlite3_errmsg(db_);
    sqlite3_finalize(stmt);
  }

  Result<SearchPage> Search(const std::string& type, Params params, Access access = {},
                            bool strict = false) {
    SearchRequest request{.type = type, .params = std::move(params), .strict = strict};
    return RunSearch(db_, request, access);
  }

  static Ids Names(const std::vector<StoredResource>& resources) {
    Ids out;
    for (const auto& r : resources) out.push_back(r.type + "/" + r.id);
    return out;
  }
  static Ids Sorted(Ids ids) {
    std::sort(ids.begin(), ids.end());
    return ids;
  }
  // Matched ids (sorted) of a search that must succeed.
  Ids Find(const std::string& type, Params params, Access access = {}) {
    auto page = Search(type, std::move(params), std::move(access));
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    if (!page.ok()) return {"<error>"};
    Ids ids;
    for (const auto& r : page->matches) ids.push_back(r.id);
    return Sorted(ids);
  }

  static Access PatientA() { return Access{.patient = "pA"}; }

  sqlite3* db_ = nullptr;
};

TEST_F(SearchTest, TokenSystemAndCodeForms) {
  EXPECT_EQ(Find("Observation", {{"code", "http://loinc.org|1234-5"}}), (Ids{"oA1", "oB1"}));
  EXPECT_EQ(Find("Observation", {{"code", "1234-5"}}), (Ids{"oA1", "oB1"}));
  EXPECT_EQ(Find("Observation", {{"code", "|local1"}}), (Ids{"oX"}));
  EXPECT_EQ(Find("Observation", {{"code", "|1234-5"}}), Ids{});
  EXPECT_EQ(Find("Observation", {{"code", "http://loinc.org|"}}),
            (Ids{"oA1", "oA2", "oAbs", "oB1"}));
  EXPECT_EQ(Find("Observation", {{"code", "http://other.org|1234-5"}}), Ids{});
  EXPECT_EQ(Find("Patient", {{"identifier", "urn:mrn|B1"}}), (Ids{"pB"}));
  EXPECT_EQ(Find("Patient", {{"active", "true"}}), (Ids{"pA"}));
  EXPECT_EQ(Find("Patient", {{"gender", "male"}}), (Ids{"pB", "pC"}));
}

TEST_F(SearchTest, TokenModifiers) {
  // :not keeps resources without the element (oX has no status).
  EXPECT_EQ(Find("Observation", {{"status:not", "final"}}), (Ids{"oA2", "oX"}));
  EXPECT_EQ(Find("Observation", {{"code:text", "GLUC"}}), (Ids{"oA1"}));
  EXPECT_EQ(Find("DiagnosticReport", {{"code:text", "pan"}}), (Ids{"drA"}));
  EXPECT_EQ(Find("Observation", {{"status:missing", "true"}}), (Ids{"oX"}));
  EXPECT_EQ(Find("Observation", {{"status:missing", "false"}}), (Ids{"oA1", "oA2", "oAbs", "oB1"}));
  auto bad = Search("Observation", {{"status:missing", "maybe"}});
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  auto unsupported = Search("Observation", {{"code:below", "1234"}});
  ASSERT_FALSE(unsupported.ok());
  EXPECT_NE(unsupported.status().message().find("code:below"), std::string::npos);
}

TEST_F(SearchTest, StringDefaultExactContains) {
  EXPECT_EQ(Find("Patient", {{"name", "smith"}}), (Ids{"pB", "pC"}));
  EXPECT_EQ(Find("Patient", {{"family", "SMITHS"}}), (Ids{"pC"}));
  EXPECT_EQ(Find("Patient", {{"family", "muller"}}), (Ids{"pA"}));  // accents removed
  EXPECT_EQ(Find("Patient", {{"family", "Mül"}}), (Ids{"pA"}));
  EXPECT_EQ(Find("Patient", {{"family:exact", "Smith"}}), (Ids{"pB"}));
  EXPECT_EQ(Find("Patient", {{"family:exact", "smith"}}), Ids{});
  EXPECT_EQ(Find("Patient", {{"name:contains", "ITH"}}), (Ids{"pB", "pC"}));
  EXPECT_EQ(Find("Patient", {{"given:contains", "nn"}}), (Ids{"pA"}));
  EXPECT_EQ(Find("Patient", {{"given:missing", "true"}}), (Ids{"pC"}));
  EXPECT_EQ(Find("Organization", {{"name", "acme c"}}), (Ids{"org1"}));
}

TEST_F(SearchTest, DatePrefixesUseTheValuePrecision) {
  // eq: the target range lies inside the search range.
  EXPECT_EQ(Find("Patient", {{"birthdate", "1980-05"}}), (Ids{"pA", "pC"}));
  EXPECT_EQ(Find("Patient", {{"birthdate", "1980-05-15"}}), (Ids{"pA"}));
  EXPECT_EQ(Find("Patient", {{"birthdate", "eq1980"}}), (Ids{"pA", "pC"}));
  EXPECT_EQ(Find("Patient", {{"birthdate", "ne1980-05-15"}}), (Ids{"pB", "pC"}));
  EXPECT_EQ(Find("Patient", {{"birthdate", "ge1990"}}), (Ids{"pB"}));
  EXPECT_EQ(Find("Patient", {{"birthdate", "lt1985"}}), (Ids{"pA", "pC"}));
  EXPECT_EQ(Find("Patient", {{"birthdate", "gt1980-05-15"}}),
            (Ids{"pB", "pC"}));  // pC reaches May 31
  EXPECT_EQ(Find("Patient", {{"birthdate", "le1980-05-15"}}),
            (Ids{"pA", "pC"}));  // pC starts May 1
  EXPECT_EQ(Find("Patient", {{"birthdate", "sa1980-05-15"}}), (Ids{"pB"}));
  EXPECT_EQ(Find("Patient", {{"birthdate", "eb1980-05-15"}}), Ids{});
  EXPECT_EQ(Find("Patient", {{"birthdate", "eb1980-06"}}), (Ids{"pA", "pC"}));
  // A period counts as a range: all of 2020, not in March alone.
  EXPECT_EQ(Find("Observation", {{"date", "2020"}}), (Ids{"oA1", "oA2"}));
  EXPECT_EQ(Find("Observation", {{"date", "2020-03"}}), (Ids{"oA1"}));
  EXPECT_EQ(Find("Observation", {{"date", "sa2020-06"}}), (Ids{"oB1"}));
  EXPECT_EQ(Find("Observation", {{"date", "eb2021"}}), (Ids{"oA1", "oA2"}));
  EXPECT_EQ(Find("Observation", {{"date", "ge2020-03-15T10:00:00Z"}}), (Ids{"oA1", "oA2", "oB1"}));
  EXPECT_EQ(Find("Observation", {{"date", "gt2020-03-15T10:00:00Z"}}), (Ids{"oA2", "oB1"}));
  EXPECT_EQ(Find("Observation", {{"date", "lt2020-03-15T11:00:00+01:00"}}), (Ids{"oA2"}));
  EXPECT_EQ(Find("Observation", {{"date", "le2020-03-15T11:00:00+01:00"}}), (Ids{"oA1", "oA2"}));
  // ap: within 10% of the distance to now (at least a day) around the value.
  EXPECT_EQ(Find("Observation", {{"date", "ap2020-03-14"}}), (Ids{"oA1", "oA2"}));
  EXPECT_EQ(Find("Observation", {{"date:missing", "true"}}), (Ids{"oAbs", "oX"}));
  auto bad = Search("Observation", {{"date", "2020-13"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("'date'"), std::string::npos);
}

TEST_F(SearchTest, LastUpdatedAndId) {
  EXPECT_EQ(Find("Patient", {{"_lastUpdated", "ge2024-06"}}), (Ids{"pB", "pC"}));
  EXPECT_EQ(Find("Patient", {{"_lastUpdated", "2024-06-01"}}), (Ids{"pB"}));
  EXPECT_EQ(Find("Patient", {{"_lastUpdated", "lt2024-06-01T00:00:00Z"}}), (Ids{"pA"}));
  EXPECT_EQ(Find("Patient", {{"_id", "pA,pC"}}), (Ids{"pA", "pC"}));
  EXPECT_EQ(Find("Patient", {{"_id", "oA1"}}), Ids{});
  EXPECT_FALSE(Search("Patient", {{"_lastUpdated", "yesterday"}}).ok());
}

TEST_F(SearchTest, QuantityPrefixesAndUnits) {
  EXPECT_EQ(Find("Observation", {{"value-quantity", "5.4"}}), (Ids{"oA1"}));
  EXPECT_EQ(Find("Observation", {{"value-quantity", "5"}}), (Ids{"oA1"}));  // [4.5, 5.5)
  EXPECT_EQ(Find("Observation", {{"value-quantity", "5.0"}}), Ids{});       // [4.95, 5.05)
  EXPECT_EQ(Find("Observation", {{"value-quantity", "gt6"}}), (Ids{"oA2", "oB1"}));
  EXPECT_EQ(Find("Observation", {{"value-quantity", "le7.2"}}), (Ids{"oA1", "oB1"}));
  EXPECT_EQ(Find("Observation", {{"value-quantity", "5.4|http://unitsofmeasure.org|mg/dL"}}),
            (Ids{"oA1"}));
  EXPECT_EQ(Find("Observation", {{"value-quantity", "lt10||mg/dL"}}), (Ids{"oA1", "oB1"}));
  EXPECT_EQ(Find("Observation", {{"value-quantity", "100||mg/dL"}}), Ids{});
  EXPECT_EQ(Find("Observation", {{"value-quantity", "ap95"}}), (Ids{"oA2"}));
  EXPECT_EQ(Find("Observation", {{"value-quantity", "ne5.4"}}), (Ids{"oA2", "oB1"}));
  EXPECT_FALSE(Search("Observation", {{"value-quantity", "five"}}).ok());
  EXPECT_FALSE(Search("Observation", {{"value-quantity", "5|mg"}}).ok());
}

TEST_F(SearchTest, ReferenceForms) {
  EXPECT_EQ(Find("Observation", {{"patient", "pA"}}), (Ids{"oA1", "oA2"}));
  EXPECT_EQ(Find("Observation", {{"subject", "Patient/pA"}}), (Ids{"oA1", "oA2"}));
  EXPECT_EQ(Find("Observation", {{"subject:Patient", "pA"}}), (Ids{"oA1", "oA2"}));
  EXPECT_EQ(Find("Observation", {{"subject", "pB"}}), (Ids{"oB1"}));
  EXPECT_EQ(Find("Observation", {{"subject:Group", "pA"}}), Ids{});
  EXPECT_EQ(Find("Observation", {{"subject", "http://other.example/fhir/Patient/zz"}}),
            (Ids{"oAbs"}));
  EXPECT_EQ(Find("Observation", {{"subject:identifier", "urn:mrn|A1"}}), (Ids{"oA1", "oA2"}));
  EXPECT_EQ(Find("Observation", {{"patient:identifier", "B1"}}), (Ids{"oB1"}));
  EXPECT_EQ(Find("Observation", {{"performer:missing", "true"}}), (Ids{"oA2", "oAbs", "oX"}));
  auto wrong_type = Search("Observation", {{"patient:Practitioner", "pr1"}});
  EXPECT_EQ(wrong_type.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SearchTest, UriExactBelowAbove) {
  EXPECT_EQ(Find("DocumentReference", {{"location", "http://docs.example/store/a/1.pdf"}}),
            (Ids{"docA"}));
  EXPECT_EQ(Find("DocumentReference", {{"location", "http://docs.example/store"}}), Ids{});
  EXPECT_EQ(Find("DocumentReference", {{"location:below", "http://docs.example/store"}}),
            (Ids{"docA"}));
  EXPECT_EQ(Find("DocumentReference", {{"location:above", "http://docs.example/store/a/1.pdf/x"}}),
            (Ids{"docA"}));
  EXPECT_EQ(Find("DocumentReference", {{"location:above", "http://docs.example/store"}}), Ids{});
}

TEST_F(SearchTest, CommaIsOrRepeatIsAnd) {
  EXPECT_EQ(Find("Observation", {{"code", "1234-5,2345-7"}}), (Ids{"oA1", "oA2", "oB1"}));
  EXPECT_EQ(Find("Observation", {{"code", "1234-5"}, {"patient", "pB"}}), (Ids{"oB1"}));
  EXPECT_EQ(Find("Observation", {{"date", "ge2020"}, {"date", "lt2021"}}), (Ids{"oA1", "oA2"}));
  EXPECT_EQ(Find("Patient", {{"name", "bob,anna"}}), (Ids{"pA", "pB"}));
  // An escaped comma is part of the value, not a separator.
  EXPECT_EQ(Find("Patient", {{"family", "smith\\,x"}}), Ids{});
  // Empty values are ignored.
  EXPECT_EQ(Find("Patient", {{"name", ""}}).size(), 3u);
}

TEST_F(SearchTest, Chains) {
  EXPECT_EQ(Find("Observation", {{"patient.name", "smith"}}), (Ids{"oB1", "oX"}));
  EXPECT_EQ(Find("Observation", {{"subject:Patient.identifier", "urn:mrn|A1"}}),
            (Ids{"oA1", "oA2"}));
  // subject may point to several types: every one that has `family`.
  EXPECT_EQ(Find("Observation", {{"subject.family", "muller"}}), (Ids{"oA1", "oA2"}));
  EXPECT_EQ(Find("Observation", {{"performer.family", "who"}}), (Ids{"oA1", "oB1"}));
  // Two levels.
  EXPECT_EQ(Find("Observation", {{"patient.organization.name", "acme"}}), (Ids{"oA1", "oA2"}));
  EXPECT_EQ(Find("Observation", {{"patient._id", "pB"}}), (Ids{"oB1"}));
  // A deleted target no longer matches.
  Delete("Patient", "pC");
  EXPECT_EQ(Find("Observation", {{"patient.name", "smith"}}), (Ids{"oB1"}));
  EXPECT_EQ(Search("Observation", {{"code.name", "x"}}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Search("Observation", {{"patient.nosuch", "x"}}, {}, true).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(SearchTest, ReverseChains) {
  EXPECT_EQ(Find("Patient", {{"_has:Observation:patient:code", "2345-7"}}), (Ids{"pA"}));
  EXPECT_EQ(Find("Patient", {{"_has:Observation:patient:code", "1234-5"}}), (Ids{"pA", "pB"}));
  EXPECT_EQ(Find("Patient", {{"_has:Observation:subject:status", "final"}}), (Ids{"pA", "pB"}));
  EXPECT_EQ(
      Find("Patient", {{"_has:Observation:patient:_has:Provenance:target:recorded", "2020-03-16"}}),
      (Ids{"pA"}));
  EXPECT_EQ(Find("Observation", {{"_has:DiagnosticReport:result:status", "final"}}),
            (Ids{"oA1", "oA2"}));
  EXPECT_EQ(Search("Patient", {{"_has:Observation", "x"}}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(SearchTest, IncludeAndRevinclude) {
  auto page = Search("Observation", {{"code", "1234-5"}, {"_include", "Observation:patient"}});
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_EQ(Sorted(Names(page->matches)), (Ids{"Observation/oA1", "Observation/oB1"}));
  EXPECT_EQ(Sorted(Names(page->included)), (Ids{"Patient/pA", "Patient/pB"}));
  EXPECT_EQ(page->total, 2);

  // One practitioner for two references.
  page = Search("Observation", {{"code", "1234-5"}, {"_include", "Observation:performer"}});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Names(page->included), (Ids{"Practitioner/pr1"}));

  page = Search("Observation", {{"_id", "oA1"}, {"_include", "Observation:subject:Practitioner"}});
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->included.empty());

  page = Search("Observation", {{"_id", "oA1"}, {"_revinclude", "Provenance:target"}});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Names(page->included), (Ids{"Provenance/provA"}));

  page = Search("Observation", {{"_id", "oA1"}, {"_include", "Observation:*"}});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Sorted(Names(page->included)), (Ids{"Patient/pA", "Practitioner/pr1"}));
  page = Search("Observation", {{"_id", "oA1"}, {"_include", "*"}});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Sorted(Names(page->included)), (Ids{"Patient/pA", "Practitioner/pr1"}));
  page = Search("Observation", {{"_id", "oA1"}, {"_include", "Patient:*"}});
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->included.empty());
}

TEST_F(SearchTest, IncludeIterateAndNoDuplicates) {
  // Without :iterate Observation:patient applies to the matches only (reports).
  auto page = Search("DiagnosticReport", {{"_id", "drA"},
                                          {"_include", "DiagnosticReport:result"},
                                          {"_include", "Observation:patient"}});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Sorted(Names(page->included)), (Ids{"Observation/oA1", "Observation/oA2"}));
  page = Search("DiagnosticReport", {{"_id", "drA"},
                                     {"_include", "DiagnosticReport:result"},
                                     {"_include:iterate", "Observation:patient"}});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Sorted(Names(page->included)),
            (Ids{"Observation/oA1", "Observation/oA2", "Patient/pA"}));
  // Three hops: report -> observations -> patient -> organization.
  page = Search("DiagnosticReport", {{"_id", "drA"},
                                     {"_include", "DiagnosticReport:result"},
                                     {"_include:iterate", "Observation:patient"},
                                     {"_include:iterate", "Patient:organization"}});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Sorted(Names(page->included)),
            (Ids{"Observation/oA1", "Observation/oA2", "Organization/org1", "Patient/pA"}));
  // A match reached again through an include is not repeated.
  page = Search("Patient", {{"_id", "pA"},
                            {"_revinclude", "Observation:patient"},
                            {"_include:iterate", "Observation:patient"}});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Names(page->matches), (Ids{"Patient/pA"}));
  EXPECT_EQ(Sorted(Names(page->included)), (Ids{"Observation/oA1", "Observation/oA2"}));
}

TEST_F(SearchTest, IncludeErrorsAndUnknowns) {
  auto page = Search("Observation", {{"_include", "Observation:nosuch"}});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->ignored_params, (Ids{"_include=Observation:nosuch"}));
  EXPECT_EQ(Search("Observation", {{"_include", "Observation:nosuch"}}, {}, true).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Search("Observation", {{"_include", "patient"}}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Search("Observation", {{"_include", "Observation:code"}}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(SearchTest, Sorting) {
  auto ids = [&](Params params) {
    auto page = Search("Patient", std::move(params));
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    return page.ok() ? Names(page->matches) : Ids{};
  };
  EXPECT_EQ(ids({{"_sort", "birthdate"}}), (Ids{"Patient/pC", "Patient/pA", "Patient/pB"}));
  EXPECT_EQ(ids({{"_sort", "-birthdate"}}), (Ids{"Patient/pB", "Patient/pC", "Patient/pA"}));
  EXPECT_EQ(ids({{"_sort", "family"}}), (Ids{"Patient/pA", "Patient/pB", "Patient/pC"}));
  EXPECT_EQ(ids({{"_sort", "-_id"}}), (Ids{"Patient/pC", "Patient/pB", "Patient/pA"}));
  EXPECT_EQ(ids({{"_sort", "-_lastUpdated"}}), (Ids{"Patient/pC", "Patient/pB", "Patient/pA"}));
  // gender ties (pB, pC male) broken by the second key; given: pC has none, so last.
  EXPECT_EQ(ids({{"_sort", "gender,-family"}}), (Ids{"Patient/pA", "Patient/pC", "Patient/pB"}));
  EXPECT_EQ(ids({{"_sort", "-given"}}), (Ids{"Patient/pB", "Patient/pA", "Patient/pC"}));
  EXPECT_EQ(ids({{"_sort", "given"}}), (Ids{"Patient/pA", "Patient/pB", "Patient/pC"}));
  auto lenient = Search("Patient", {{"_sort", "nosuch"}});
  ASSERT_TRUE(lenient.ok());
  EXPECT_EQ(lenient->ignored_params, (Ids{"_sort=nosuch"}));
  EXPECT_FALSE(Search("Patient", {{"_sort", "nosuch"}}, {}, true).ok());
}

TEST_F(SearchTest, PagingLinksAndTotals) {
  Params base = {{"code", "http://loinc.org|"}, {"_sort", "_id"}, {"_count", "2"}};
  auto page = Search("Observation", base);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Names(page->matches), (Ids{"Observation/oA1", "Observation/oA2"}));
  EXPECT_EQ(page->total, 4);
  EXPECT_EQ(page->self_query, "code=http://loinc.org%7C&_sort=_id&_count=2");
  EXPECT_EQ(page->next_query, "code=http://loinc.org%7C&_sort=_id&_count=2&_offset=2");
  EXPECT_EQ(page->prev_query, "");

  // Follow the link as a client would.
  SearchRequest next{.type = "Observation", .params = ParseQueryString(page->next_query)};
  auto second = RunSearch(db_, next, {});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(Names(second->matches), (Ids{"Observation/oAbs", "Observation/oB1"}));
  EXPECT_EQ(second->next_query, "");
  EXPECT_EQ(second->prev_query, "code=http://loinc.org%7C&_sort=_id&_count=2");

  base.emplace_back("_offset", "3");
  page = Search("Observation", base);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Names(page->matches), (Ids{"Observation/oB1"}));
  EXPECT_EQ(page->prev_query, "code=http://loinc.org%7C&_sort=_id&_count=2&_offset=1");

  // '+' in a value is encoded, so that form decoding does not make it a space.
  page = Search("Observation", {{"date", "lt2020-03-15T11:00:00+01:00"}});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->self_query, "date=lt2020-03-15T11:00:00%2B01:00&_count=50");

  // _count is capped by max_count; default_count applies without it.
  SearchRequest capped{
      .type = "Observation", .params = {{"_count", "500"}}, .default_count = 2, .max_count = 3};
  auto capped_page = RunSearch(db_, capped, {});
  ASSERT_TRUE(capped_page.ok());
  EXPECT_EQ(capped_page->matches.size(), 3u);
  capped.params.clear();
  capped_page = RunSearch(db_, capped, {});
  ASSERT_TRUE(capped_page.ok());
  EXPECT_EQ(capped_page->matches.size(), 2u);

  page = Search("Observation", {{"_total", "none"}});
  ASSERT_TRUE(page.ok());
  EXPECT_FALSE(page->total.has_value());
  EXPECT_EQ(page->matches.size(), 5u);

  page = Search("Observation", {{"_summary", "count"}, {"code", "1234-5"}});
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->matches.empty());
  EXPECT_EQ(page->total, 2);
  EXPECT_EQ(page->summary, "count");

  page = Search("Observation", {{"_count", "0"}, {"_include", "Observation:patient"}});
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->matches.empty());
  EXPECT_TRUE(page->included.empty());
  EXPECT_EQ(page->total, 5);
  EXPECT_EQ(page->next_query, "");

  page = Search("Patient", {{"_summary", "true"}, {"_elements", "name,birthDate"}});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->summary, "true");
  EXPECT_EQ(page->elements, (Ids{"name", "birthDate"}));
  EXPECT_EQ(page->matches.size(), 3u);

  EXPECT_FALSE(Search("Patient", {{"_count", "-1"}}).ok());
  EXPECT_FALSE(Search("Patient", {{"_offset", "18446744073709551615"}}).ok());
  EXPECT_FALSE(Search("Patient", {{"_total", "maybe"}}).ok());
  EXPECT_FALSE(Search("Patient", {{"_summary", "all"}}).ok());
}

TEST_F(SearchTest, UnknownParametersTypesAndBounds) {
  auto page = Search("Patient", {{"foo", "1"}, {"name", "smith"}});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->ignored_params, (Ids{"foo"}));
  EXPECT_EQ(page->matches.size(), 2u);
  EXPECT_EQ(page->self_query, "name=smith&_count=50");  // the ignored parameter is not in the links
  auto strict = Search("Patient", {{"foo", "1"}}, {}, true);
  ASSERT_FALSE(strict.ok());
  EXPECT_EQ(strict.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(strict.status().message().find("foo"), std::string::npos);

  auto type = Search("not a type", {});
  ASSERT_FALSE(type.ok());
  EXPECT_NE(type.status().message().find("unknown resource type"), std::string::npos);

  Params many;
  for (int i = 0; i < 101; ++i) many.emplace_back("name", "x");
  EXPECT_EQ(Search("Patient", many).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Search("Patient", {{"name", std::string(1025, 'a')}}).status().code(),
            StatusCode::kInvalidArgument);
  std::string ors = "a";
  for (int i = 0; i < 100; ++i) ors += ",a";
  EXPECT_EQ(Search("Patient", {{"name", ors}}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(
      Search("Observation", {{"patient.organization.partof.partof.name", "x"}}).status().code(),
      StatusCode::kInvalidArgument);
}

TEST_F(SearchTest, SystemSearchAndDeleted) {
  auto page = Search("", {{"_type", "Patient,Organization"}});
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_EQ(Sorted(Names(page->matches)),
            (Ids{"Organization/org1", "Patient/pA", "Patient/pB", "Patient/pC"}));
  EXPECT_EQ(Find("", {{"_id", "oA1,pr1"}}), (Ids{"oA1", "pr1"}));
  page = Search("", {{"name", "smith"}});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->ignored_params, (Ids{"name"}));

  Delete("Patient", "pB");
  EXPECT_EQ(Find("Patient", {}), (Ids{"pA", "pC"}));
  EXPECT_EQ(Find("Patient", {{"_id", "pB"}}), Ids{});
}

// Patient A's access must not reveal anything of patient B through any path.
class SearchAccessTest : public SearchTest {
 protected:
  void SetUp() override {
    SearchTest::SetUp();
    // In both compartments (subject A, performer B).
    Put("Observation", "oShared",
        R"({"status":"final","code":{"coding":[{"code":"shared"}]},"subject":{"reference":"Patient/pA"},
            "performer":[{"reference":"Patient/pB"}]})");
    // B's only, but it points at A through `focus` (not a compartment link).
    Put("Observation", "oHidden",
        R"({"status":"final","code":{"coding":[{"code":"9999-9"}]},"subject":{"reference":"Patient/pB"},
            "focus":[{"reference":"Patient/pA"}]})");
  }
};

TEST_F(SearchAccessTest, MatchesStayInTheCompartment) {
  EXPECT_EQ(Find("Observation", {}, PatientA()), (Ids{"oA1", "oA2", "oShared"}));
  EXPECT_EQ(Find("Observation", {{"patient", "pB"}}, PatientA()), Ids{});
  EXPECT_EQ(Find("Observation", {{"code", "9999-9"}}, PatientA()), Ids{});
  EXPECT_EQ(Find("Patient", {}, PatientA()), (Ids{"pA"}));
  EXPECT_EQ(Find("Patient", {{"_id", "pB"}}, PatientA()), Ids{});
  EXPECT_EQ(Find("", {{"_type", "Patient,Organization"}}, PatientA()), (Ids{"pA"}));
  auto page = Search("Observation", {{"_summary", "count"}}, PatientA());
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total, 3);
}

TEST_F(SearchAccessTest, ChainsSeeOnlyVisibleTargets) {
  EXPECT_EQ(Find("Observation", {{"performer:Patient.name", "smith"}}), (Ids{"oShared"}));
  EXPECT_EQ(Find("Observation", {{"performer:Patient.name", "smith"}}, PatientA()), Ids{});
  EXPECT_EQ(Find("Observation", {{"performer:Patient.identifier", "urn:mrn|B1"}}, PatientA()),
            Ids{});
  EXPECT_EQ(Find("Observation", {{"performer:identifier", "urn:mrn|B1"}}), (Ids{"oShared"}));
  EXPECT_EQ(Find("Observation", {{"performer:identifier", "urn:mrn|B1"}}, PatientA()), Ids{});
  // Practitioners are outside every compartment: invisible to a patient.
  EXPECT_EQ(Find("Observation", {{"performer.family", "who"}}, PatientA()), Ids{});
  EXPECT_EQ(Find("Observation", {{"subject:Patient.name", "anna"}}, PatientA()),
            (Ids{"oA1", "oA2", "oShared"}));
}

TEST_F(SearchAccessTest, HasSeesOnlyVisibleSources) {
  EXPECT_EQ(Find("Patient", {{"_has:Observation:focus:code", "9999-9"}}), (Ids{"pA"}));
  EXPECT_EQ(Find("Patient", {{"_has:Observation:focus:code", "9999-9"}}, PatientA()), Ids{});
  EXPECT_EQ(Find("Patient", {{"_has:Observation:patient:code", "1234-5"}}, PatientA()),
            (Ids{"pA"}));
}

TEST_F(SearchAccessTest, IncludesSeeOnlyVisibleResources) {
  auto page = Search("Observation", {{"_id", "oShared"}, {"_include", "Observation:performer"}});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Names(page->included), (Ids{"Patient/pB"}));
  page = Search("Observation", {{"_id", "oShared"}, {"_include", "Observation:performer"}},
                PatientA());
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Names(page->matches), (Ids{"Observation/oShared"}));
  EXPECT_TRUE(page->included.empty());

  page = Search("Patient", {{"_revinclude", "Observation:focus"}});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Names(page->included), (Ids{"Observation/oHidden"}));
  page = Search("Patient", {{"_revinclude", "Observation:focus"}}, PatientA());
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->included.empty());

  // Provenance/provA targets an Observation, so it is in no compartment.
  page = Search("Observation", {{"_id", "oA1"}, {"_revinclude", "Provenance:target"}}, PatientA());
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->included.empty());
  // Iterating from visible resources reaches invisible ones (pr1, pB): left out.
  Params iterate = {{"_id", "pA"},
                    {"_revinclude", "Observation:patient"},
                    {"_include:iterate", "Observation:performer"}};
  page = Search("Patient", iterate);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Sorted(Names(page->included)),
            (Ids{"Observation/oA1", "Observation/oA2", "Observation/oShared", "Patient/pB",
                 "Practitioner/pr1"}));
  page = Search("Patient", iterate, PatientA());
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Sorted(Names(page->included)),
            (Ids{"Observation/oA1", "Observation/oA2", "Observation/oShared"}));
}

TEST_F(SearchAccessTest, Everything) {
  auto page = RunEverything(db_, "pA", 0, 100, PatientA());
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_FALSE(page->matches.empty());
  EXPECT_EQ(page->matches.front().id, "pA");
  EXPECT_EQ(Sorted(Names(page->matches)),
            (Ids{"DiagnosticReport/drA", "DocumentReference/docA", "Observation/oA1",
                 "Observation/oA2", "Observation/oShared", "Patient/pA"}));
  EXPECT_EQ(page->total, 6);
  EXPECT_EQ(page->next_query, "");

  auto other = RunEverything(db_, "pB", 0, 100, PatientA());
  EXPECT_EQ(other.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(RunEverything(db_, "nobody", 0, 100, {}).status().code(), StatusCode::kNotFound);

  // Without a patient restriction B's record holds B's resources only.
  auto b = RunEverything(db_, "pB", 0, 100, {});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(Sorted(Names(b->matches)),
            (Ids{"Observation/oB1", "Observation/oHidden", "Observation/oShared", "Patient/pB"}));

  auto first = RunEverything(db_, "pA", 0, 4, PatientA());
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->matches.size(), 4u);
  EXPECT_EQ(first->next_query, "_offset=4&_count=4");
  EXPECT_EQ(first->prev_query, "");
  auto second = RunEverything(db_, "pA", 4, 4, PatientA());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->matches.size(), 2u);
  EXPECT_EQ(second->next_query, "");
  EXPECT_EQ(second->prev_query, "_offset=0&_count=4");
  std::set<std::string> all;
  for (const auto& r : first->matches) all.insert(r.id);
  for (const auto& r : second->matches) all.insert(r.id);
  EXPECT_EQ(all.size(), 6u);
}

TEST_F(SearchAccessTest, MatchRidsForConditionalOperations) {
  auto rids = MatchRids(db_, "Patient", "identifier=urn:mrn|A1", {}, 10);
  ASSERT_TRUE(rids.ok()) << rids.status().ToString();
  ASSERT_EQ(rids->size(), 1u);
  auto encoded = MatchRids(db_, "Patient", "identifier=urn%3Amrn%7CA1&gender=female", {}, 10);
  ASSERT_TRUE(encoded.ok());
  EXPECT_EQ(*encoded, *rids);
  auto two = MatchRids(db_, "Patient", "gender=male", {}, 10);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->size(), 2u);
  auto limited = MatchRids(db_, "Patient", "gender=male", {}, 1);
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(limited->size(), 1u);
  // Patient A cannot find B's record.
  auto hidden = MatchRids(db_, "Patient", "identifier=urn:mrn|B1", PatientA(), 10);
  ASSERT_TRUE(hidden.ok());
  EXPECT_TRUE(hidden->empty());
  auto chained = MatchRids(db_, "Observation", "patient.identifier=urn:mrn|B1", {}, 10);
  ASSERT_TRUE(chained.ok());
  EXPECT_EQ(chained->size(), 2u);  // oB1, oHidden (subject B), not oShared (performer)

  EXPECT_EQ(MatchRids(db_, "Patient", "identifer=urn:mrn|A1", {}, 10).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(MatchRids(db_, "Patient", "", {}, 10).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MatchRids(db_, "Patient", "name=", {}, 10).status().code(),
            StatusCode::kInvalidArgument);
  Delete("Patient", "pC");
  auto deleted = MatchRids(db_, "Patient", "identifier=urn:mrn|C1", {}, 10);
  ASSERT_TRUE(deleted.ok());
  EXPECT_TRUE(deleted->empty());
}

// The same search through the store's write path: versions, deletes,
// transaction references and conditional creates (MatchRids) as written by
// ResourceStore, searched through ResourceStore::Search / Everything.
TEST(SearchStoreTest, SearchesWhatTheStoreWrote) {
  auto opened = ResourceStore::Open({.sqlite_path = ":memory:", .durable = false});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  ResourceStore& store = **opened;
  auto obj = [](std::string_view text) { return boost::json::parse(text).as_object(); };
  WriteBatch batch;
  batch.entries.push_back(
      {.method = "POST",
       .type = "Patient",
       .full_url = "urn:uuid:11111111-1111-1111-1111-111111111111",
       .resource =
           obj(R"({"resourceType":"Patient","identifier":[{"system":"urn:mrn","value":"S1"}],
                                               "name":[{"family":"Store"}]})")});
  for (const char* code : {"1234-5", "2345-7"}) {
    boost::json::object o = obj(R"({"resourceType":"Observation","status":"final",
        "subject":{"reference":"urn:uuid:11111111-1111-1111-1111-111111111111"}})");
    o["code"] = {{"coding", boost::json::array{{{"system", "http://loinc.org"}, {"code", code}}}}};
    batch.entries.push_back({.method = "POST", .type = "Observation", .resource = std::move(o)});
  }
  batch.entries.push_back(
      {.method = "PUT",
       .type = "Patient",
       .id = "other",
       .resource = obj(R"({"resourceType":"Patient","id":"other","name":[{"family":"Other"}]})")});
  auto written = store.ApplyAndWait(std::move(batch), {});
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  ASSERT_TRUE(written->committed) << written->error;
  ASSERT_EQ(written->entries.size(), 4u);
  ASSERT_TRUE(written->entries[0].resource.has_value());
  std::string patient_id = written->entries[0].resource->id;
  std::string obs_id = written->entries[1].resource->id;

  SearchRequest by_patient{.type = "Observation",
                           .params = {{"patient", patient_id}, {"code", "1234-5"}}};
  auto page = store.Search(by_patient, {});
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->matches.size(), 1u);
  EXPECT_EQ(page->matches[0].id, obs_id);
  EXPECT_EQ(page->matches[0].version, 1);

  // An update re-indexes: the old code no longer matches, the new one once.
  boost::json::object changed = obj(R"({"resourceType":"Observation","status":"amended",
      "code":{"coding":[{"system":"http://loinc.org","code":"9999-9"}]}})");
  changed["id"] = obs_id;
  changed["subject"] = {{"reference", "Patient/" + patient_id}};
  WriteBatch update;
  update.entries.push_back(
      {.method = "PUT", .type = "Observation", .id = obs_id, .resource = changed});
  ASSERT_TRUE(store.ApplyAndWait(std::move(update), {}).ok());
  page = store.Search(by_patient, {});
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->matches.empty());
  page = store.Search(
      {.type = "Observation", .params = {{"code", "9999-9"}, {"patient.identifier", "urn:mrn|S1"}}},
      {});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->matches.size(), 1u);
  EXPECT_EQ(page->matches[0].version, 2);

  // Deleted: gone from search, the patient's record and conditional matches.
  WriteBatch remove;
  remove.entries.push_back({.method = "DELETE", .type = "Observation", .id = obs_id});
  ASSERT_TRUE(store.ApplyAndWait(std::move(remove), {}).ok());
  page = store.Search({.type = "Observation", .params = {{"patient", patient_id}}}, {});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total, 1);

  // Conditional create through MatchRids: the identifier exists, nothing new.
  WriteBatch conditional;
  conditional.entries.push_back(
      {.method = "POST",
       .type = "Patient",
       .condition = "identifier=urn:mrn|S1",
       .resource = obj(R"({"resourceType":"Patient","name":[{"family":"Dup"}]})")});
  auto cond = store.ApplyAndWait(std::move(conditional), {});
  ASSERT_TRUE(cond.ok());
  ASSERT_TRUE(cond->committed) << cond->error;
  EXPECT_FALSE(cond->entries[0].created);
  page = store.Search({.type = "Patient", .params = {{"_summary", "count"}}}, {});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total, 2);

  // _lastUpdated is the store's meta.lastUpdated (now).
  page = store.Search(
      {.type = "Patient", .params = {{"_lastUpdated", "ge2020-01-01"}, {"name", "store"}}}, {});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->matches.size(), 1u);

  // Patient access through the store.
  Access own{.patient = patient_id};
  page = store.Search({.type = "Patient"}, own);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->matches.size(), 1u);
  EXPECT_EQ(page->matches[0].id, patient_id);
  auto everything = store.Everything(patient_id, 0, 10, own);
  ASSERT_TRUE(everything.ok()) << everything.status().ToString();
  EXPECT_EQ(everything->total, 2);  // the patient and its remaining observation
  EXPECT_EQ(store.Everything("other", 0, 10, own).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store.Close().ok());
}

TEST(SearchParseTest, ValuesAndQueryStrings) {
  EXPECT_EQ(SplitEscaped("a\\,b,c", ','), (std::vector<std::string>{"a\\,b", "c"}));
  EXPECT_EQ(Unescape("a\\,b\\|c\\\\"), "a,b|c\\");
  EXPECT_EQ(SplitPrefix("ge2020").first, Prefix::kGe);
  EXPECT_EQ(SplitPrefix("ge2020").second, "2020");
  EXPECT_EQ(SplitPrefix("general").first, Prefix::kEq);  // not followed by a number
  auto n = ParseSearchNumber("1.50");
  ASSERT_TRUE(n.has_value());
  EXPECT_DOUBLE_EQ(n->lo, 1.495);
  EXPECT_DOUBLE_EQ(n->hi, 1.505);
  auto e = ParseSearchNumber("1e2");
  ASSERT_TRUE(e.has_value());
  EXPECT_DOUBLE_EQ(e->value, 100);
  EXPECT_DOUBLE_EQ(e->hi, 150);
  EXPECT_FALSE(ParseSearchNumber("1.2.3").has_value());
  EXPECT_FALSE(ParseSearchNumber("abc").has_value());
  EXPECT_EQ(PercentDecode("a%7Cb+c%zz"), "a|b+c%zz");
  auto parsed = ParseQueryString("?a=1&&b=x%3Dy&c");
  EXPECT_EQ(parsed, (std::vector<std::pair<std::string, std::string>>{
                        {"a", "1"}, {"b", "x=y"}, {"c", ""}}));
  EXPECT_EQ(EncodeQuery({{"subject:Patient.name", "a b&c=d"}, {"date", "ge2020+01:00|x"}}),
            "subject:Patient.name=a%20b%26c%3Dd&date=ge2020%2B01:00%7Cx");
}

// The common query (patient + code) is answered through the index tables,
// never by scanning every resource: checked on the statements the search
// runs (EXPLAIN QUERY PLAN), not by timing.
TEST_F(SearchTest, PatientAndCodeUseTheIndexes) {
  std::vector<std::string> statements;
  sqlite3_trace_v2(
      db_, SQLITE_TRACE_STMT,
      [](unsigned, void* ctx, void* p, void*) -> int {
        const char* sql = sqlite3_sql(static_cast<sqlite3_stmt*>(p));
        if (sql != nullptr) static_cast<std::vector<std::string>*>(ctx)->emplace_back(sql);
        return 0;
      },
      &statements);
  auto page = Search("Observation", {{"patient", "pA"}, {"code", "http://loinc.org|1234-5"}});
  sqlite3_trace_v2(db_, 0, nullptr, nullptr);
  ASSERT_TRUE(page.ok());
  std::size_t checked = 0;
  for (const auto& sql : statements) {
    if (sql.find("FROM resources r") == std::string::npos) continue;
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db_, ("EXPLAIN QUERY PLAN " + sql).c_str(), -1, &stmt, nullptr),
              SQLITE_OK);
    std::string plan;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      plan += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3));
      plan += "\n";
    }
    sqlite3_finalize(stmt);
    EXPECT_EQ(plan.find("SCAN r\n"), std::string::npos) << plan;
    EXPECT_EQ(plan.find("SCAN idx_"), std::string::npos) << plan;
    EXPECT_NE(plan.find("idx_reference_target"), std::string::npos) << plan;
    ++checked;
  }
  // The page only: it is the last one, so its total needs no COUNT(*).
  EXPECT_EQ(checked, 1u);
}

TEST_F(SearchTest, TotalIsCountedOnlyWhenThePageDoesNotTellIt) {
  std::vector<std::string> statements;
  auto trace = [&] {
    statements.clear();
    sqlite3_trace_v2(
        db_, SQLITE_TRACE_STMT,
        [](unsigned, void* ctx, void* p, void*) -> int {
          const char* sql = sqlite3_sql(static_cast<sqlite3_stmt*>(p));
          if (sql != nullptr) static_cast<std::vector<std::string>*>(ctx)->emplace_back(sql);
          return 0;
        },
        &statements);
  };
  auto counts = [&] {
    sqlite3_trace_v2(db_, 0, nullptr, nullptr);
    std::size_t n = 0;
    for (const auto& sql : statements) n += sql.find("COUNT(*)") != std::string::npos;
    return n;
  };
  trace();
  auto all = Search("Observation", {});
  std::size_t all_counts = counts();
  ASSERT_TRUE(all.ok());
  ASSERT_GE(all->matches.size(), 2u);
  EXPECT_EQ(all_counts, 0u);
  EXPECT_EQ(all->total, static_cast<std::int64_t>(all->matches.size()));
  // A first page with more behind it: counted, and the same total.
  trace();
  auto first = Search("Observation", {{"_count", "1"}});
  std::size_t first_counts = counts();
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first_counts, 1u);
  EXPECT_EQ(first->total, all->total);
  // The last page by offset: offset + rows.
  trace();
  auto last =
      Search("Observation", {{"_count", "1"}, {"_offset", std::to_string(*all->total - 1)}});
  std::size_t last_counts = counts();
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last_counts, 0u);
  EXPECT_EQ(last->total, all->total);
  // Past the end: nothing on the page says how many there are.
  trace();
  auto past = Search("Observation", {{"_offset", "100000"}});
  std::size_t past_counts = counts();
  ASSERT_TRUE(past.ok());
  EXPECT_TRUE(past->matches.empty());
  EXPECT_EQ(past_counts, 1u);
  EXPECT_EQ(past->total, all->total);
  // _total=none: no total at all.
  auto none = Search("Observation", {{"_count", "1"}, {"_total", "none"}});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->total.has_value());
}

}  // namespace
}  // namespace junction::fhir::store_internal
