// Index extraction, value normalisation and the search parameter registry.
#include "fhir/store/index_extract.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>

#include "fhir/store/index_values.h"
#include "fhir/store/search_params.h"

namespace junction::fhir::store_internal {
namespace {

namespace json = boost::json;

json::object Obj(std::string_view text) { return json::parse(text).as_object(); }

template <typename Row, typename Pred>
std::vector<Row> Where(const std::vector<Row>& rows, Pred pred) {
  std::vector<Row> out;
  std::copy_if(rows.begin(), rows.end(), std::back_inserter(out), pred);
  return out;
}

std::int64_t Us(std::string_view instant) {
  auto r = ParseDateRange(instant);
  EXPECT_TRUE(r) << instant;
  return r ? r->lo_us : 0;
}

TEST(IndexValues, NormalizeString) {
  EXPECT_EQ(NormalizeString("  Müller   Hans\t"), "muller hans");
  EXPECT_EQ(NormalizeString("ÉLODIE Ærø"), "elodie aero");
  EXPECT_EQ(NormalizeString("Straße"), "strasse");
  EXPECT_EQ(NormalizeString("Łukasz Dvořák"), "lukasz dvorak");
  EXPECT_EQ(NormalizeString("日本"), "日本");  // kept as is
  EXPECT_EQ(NormalizeString(""), "");
}

TEST(IndexValues, DateRanges) {
  auto year = ParseDateRange("2020");
  ASSERT_TRUE(year);
  EXPECT_EQ(year->lo_us, 1577836800LL * 1000000);
  EXPECT_EQ(year->hi_us, 1609459200LL * 1000000 - 1);
  auto feb = ParseDateRange("2024-02");
  ASSERT_TRUE(feb);
  EXPECT_EQ(feb->hi_us - feb->lo_us + 1, 29LL * 86400 * 1000000);  // leap year
  auto day = ParseDateRange("1962-03-20");
  ASSERT_TRUE(day);
  EXPECT_EQ(day->hi_us - day->lo_us + 1, 86400LL * 1000000);
  EXPECT_LT(day->lo_us, 0);  // before 1970
  // A time zone moves the instant; no zone is UTC.
  EXPECT_EQ(Us("2002-02-15T07:30:00+06:00"), Us("2002-02-15T01:30:00Z"));
  EXPECT_EQ(Us("2002-02-15T01:30:00"), Us("2002-02-15T01:30:00Z"));
  auto minute = ParseDateRange("2020-01-02T10:00Z");
  ASSERT_TRUE(minute);
  EXPECT_EQ(minute->hi_us - minute->lo_us + 1, 60LL * 1000000);
  auto fraction = ParseDateRange("2020-01-02T10:00:00.5Z");
  ASSERT_TRUE(fraction);
  EXPECT_EQ(fraction->lo_us - Us("2020-01-02T10:00:00Z"), 500000);
  EXPECT_EQ(fraction->hi_us - fraction->lo_us + 1, 100000);
  for (const char* bad : {"", "20", "2020-13", "2020-02-30", "2020-01-01T25:00Z", "2020-01-01X",
                          "2020-01-01T10:00:00+5", "abcd"}) {
    EXPECT_FALSE(ParseDateRange(bad)) << bad;
  }
}

TEST(IndexValues, FormatInstantRoundTrips) {
  EXPECT_EQ(FormatInstant(0), "1970-01-01T00:00:00.000Z");
  std::int64_t us = Us("2024-02-29T23:59:58.123Z");
  EXPECT_EQ(FormatInstant(us), "2024-02-29T23:59:58.123Z");
  EXPECT_EQ(FormatInstant(Us("1962-03-20T01:02:03Z")), "1962-03-20T01:02:03.000Z");
}

TEST(IndexValues, References) {
  auto ref = SplitReference("Patient/123");
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->type, "Patient");
  EXPECT_EQ(ref->id, "123");
  auto versioned = SplitReference("Observation/a.b-c/_history/2");
  ASSERT_TRUE(versioned);
  EXPECT_EQ(versioned->id, "a.b-c");
  for (const char* bad : {"urn:uuid:1234", "http://x/fhir/Patient/1", "#c1", "patient/1",
                          "Patient/", "Patient/1/x"}) {
    EXPECT_FALSE(SplitReference(bad)) << bad;
  }
  EXPECT_TRUE(IsValidId("abc-1.2"));
  EXPECT_FALSE(IsValidId(std::string(65, 'a')));
  EXPECT_FALSE(IsValidId("a_b"));
}

TEST(SearchParams, Registry) {
  const SearchParamDef* code = FindSearchParam("Observation", "code");
  ASSERT_NE(code, nullptr);
  EXPECT_EQ(code->key, "Observation.code");
  EXPECT_EQ(code->kind, ParamKind::kToken);
  const SearchParamDef* id = FindSearchParam("OperationOutcome", "_id");
  ASSERT_NE(id, nullptr);
  EXPECT_EQ(id->key, "Resource._id");
  EXPECT_EQ(FindSearchParam("Observation", "nonsense"), nullptr);
  EXPECT_TRUE(IsKnownResourceType("Coverage"));
  EXPECT_FALSE(IsKnownResourceType("OperationOutcome"));
  // Every key is unique and every definition has a path.
  std::set<std::string> keys;
  for (const SearchParamDef& def : AllSearchParams()) {
    EXPECT_TRUE(keys.insert(def.key).second) << def.key;
    EXPECT_FALSE(def.paths.empty()) << def.key;
  }
}

TEST(IndexExtract, Patient) {
  json::object p = Obj(R"({"resourceType":"Patient","id":"p1",
    "meta":{"lastUpdated":"2024-01-01T00:00:00.000Z"},
    "identifier":[{"system":"urn:mrn","value":"M1","type":{"text":"MRN"}}],
    "name":[{"family":"Müller","given":["Anna","B"],"prefix":["Dr"]}],
    "telecom":[{"system":"phone","value":"555-1"},{"system":"email","value":"a@b.org"}],
    "gender":"female","birthDate":"1980-02-14","active":true,
    "address":[{"line":["1 Main St"],"city":"Springfield","postalCode":"12345"}],
    "link":[{"other":{"reference":"Patient/old"},"type":"replaces"}],
    "managingOrganization":{"reference":"Organization/o1"}})");
  IndexRows rows = ExtractIndex("Patient", "p1", p);
  auto tokens = [&](std::string_view param) {
    return Where(rows.tokens, [&](const TokenRow& r) { return r.param == param; });
  };
  ASSERT_EQ(tokens("Resource._id").size(), 1u);
  EXPECT_EQ(tokens("Resource._id")[0].code, "p1");
  ASSERT_EQ(tokens("Patient.identifier").size(), 1u);
  EXPECT_EQ(tokens("Patient.identifier")[0].system, "urn:mrn");
  EXPECT_EQ(tokens("Patient.identifier")[0].code, "M1");
  EXPECT_EQ(tokens("Patient.identifier")[0].text, "MRN");
  ASSERT_EQ(tokens("Patient.phone").size(), 1u);
  EXPECT_EQ(tokens("Patient.phone")[0].code, "555-1");
  ASSERT_EQ(tokens("Patient.email").size(), 1u);
  EXPECT_EQ(tokens("Patient.email")[0].code, "a@b.org");
  EXPECT_EQ(tokens("Patient.telecom").size(), 2u);
  EXPECT_EQ(tokens("Patient.gender")[0].code, "female");
  EXPECT_EQ(tokens("Patient.active")[0].code, "true");

  auto strings = [&](std::string_view param) {
    std::vector<std::string> out;
    for (const StringRow& r : rows.strings) {
      if (r.param == param) out.push_back(r.norm);
    }
    return out;
  };
  EXPECT_EQ(strings("Patient.family"), std::vector<std::string>{"muller"});
  EXPECT_EQ(strings("Patient.given"), (std::vector<std::string>{"anna", "b"}));
  EXPECT_EQ(strings("Patient.name"), (std::vector<std::string>{"muller", "anna", "b", "dr"}));
  EXPECT_EQ(strings("Patient.address-city"), std::vector<std::string>{"springfield"});
  EXPECT_EQ(strings("Patient.address"),
            (std::vector<std::string>{"1 main st", "springfield", "12345"}));

  auto birth = Where(rows.dates, [](const DateRow& r) { return r.param == "Patient.birthdate"; });
  ASSERT_EQ(birth.size(), 1u);
  EXPECT_EQ(birth[0].lo_us, Us("1980-02-14T00:00:00Z"));
  auto updated =
      Where(rows.dates, [](const DateRow& r) { return r.param == "Resource._lastUpdated"; });
  ASSERT_EQ(updated.size(), 1u);

  auto org = Where(rows.references,
                   [](const ReferenceRow& r) { return r.param == "Patient.organization"; });
  ASSERT_EQ(org.size(), 1u);
  EXPECT_EQ(org[0].target_type, "Organization");
  EXPECT_EQ(org[0].target_id, "o1");
  EXPECT_EQ(rows.compartment, (std::set<std::string>{"old", "p1"}));
}

TEST(IndexExtract, Observation) {
  json::object o = Obj(R"({"resourceType":"Observation","id":"o1","status":"final",
    "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],
    "code":{"coding":[{"system":"http://loinc.org","code":"2345-7","display":"Glucose"}],"text":"Glucose SerPl"},
    "subject":{"reference":"Patient/p1"},
    "performer":[{"reference":"Practitioner/d1"},{"reference":"Patient/p2"}],
    "encounter":{"reference":"Encounter/e1"},
    "effectivePeriod":{"start":"2024-01-06T08:00:00Z"},
    "valueQuantity":{"value":105,"unit":"mg/dL","system":"http://unitsofmeasure.org","code":"mg/dL"},
    "basedOn":[{"reference":"urn:uuid:abc"}],
    "specimen":{"reference":"https://other.example/fhir/Specimen/s1"}})");
  IndexRows rows = ExtractIndex("Observation", "o1", o);
  auto code = Where(rows.tokens, [](const TokenRow& r) { return r.param == "Observation.code"; });
  ASSERT_EQ(code.size(), 1u);
  EXPECT_EQ(code[0].system, "http://loinc.org");
  EXPECT_EQ(code[0].code, "2345-7");
  EXPECT_EQ(code[0].text, "Glucose SerPl");
  EXPECT_EQ(Where(rows.tokens, [](const TokenRow& r) { return r.param == "Observation.category"; })
                .size(),
            1u);

  auto patient = Where(rows.references,
                       [](const ReferenceRow& r) { return r.param == "Observation.patient"; });
  ASSERT_EQ(patient.size(), 1u);
  EXPECT_EQ(patient[0].target_id, "p1");
  // performer: both; unresolved urn:uuid not indexed; absolute URL kept as url.
  EXPECT_EQ(Where(rows.references,
                  [](const ReferenceRow& r) { return r.param == "Observation.performer"; })
                .size(),
            2u);
  EXPECT_TRUE(Where(rows.references, [](const ReferenceRow& r) {
                return r.param == "Observation.based-on";
              }).empty());
  auto specimen = Where(rows.references,
                        [](const ReferenceRow& r) { return r.param == "Observation.specimen"; });
  ASSERT_EQ(specimen.size(), 1u);
  EXPECT_EQ(specimen[0].url, "https://other.example/fhir/Specimen/s1");
  EXPECT_EQ(specimen[0].target_id, "");

  auto date = Where(rows.dates, [](const DateRow& r) { return r.param == "Observation.date"; });
  ASSERT_EQ(date.size(), 1u);
  EXPECT_EQ(date[0].lo_us, Us("2024-01-06T08:00:00Z"));
  EXPECT_EQ(date[0].hi_us, kMaxTimeUs);  // open end

  ASSERT_EQ(rows.quantities.size(), 1u);
  EXPECT_EQ(rows.quantities[0].param, "Observation.value-quantity");
  EXPECT_DOUBLE_EQ(rows.quantities[0].value, 105);
  EXPECT_EQ(rows.quantities[0].code, "mg/dL");
  // subject and performer (Patient only) place it in two compartments.
  EXPECT_EQ(rows.compartment, (std::set<std::string>{"p1", "p2"}));
}

TEST(IndexExtract, CompartmentsOfOtherTypes) {
  IndexRows encounter = ExtractIndex(
      "Encounter", "e1", Obj(R"({"resourceType":"Encounter","subject":{"reference":"Patient/p1"},
        "participant":[{"individual":{"reference":"Practitioner/d1"}}],"period":{"start":"2024-01-05","end":"2024-01-07"}})"));
  EXPECT_EQ(encounter.compartment, std::set<std::string>{"p1"});
  auto period =
      Where(encounter.dates, [](const DateRow& r) { return r.param == "Encounter.date"; });
  ASSERT_EQ(period.size(), 1u);
  EXPECT_EQ(period[0].lo_us, Us("2024-01-05"));
  EXPECT_EQ(period[0].hi_us, Us("2024-01-08") - 1);
  IndexRows practitioner = ExtractIndex(
      "Practitioner", "d1", Obj(R"({"resourceType":"Practitioner","name":[{"family":"Doe"}]})"));
  EXPECT_TRUE(practitioner.compartment.empty());
  IndexRows provenance = ExtractIndex(
      "Provenance", "v1", Obj(R"({"resourceType":"Provenance","target":[{"reference":"Patient/p3"},
        {"reference":"Observation/o1"}],"recorded":"2024-01-01T00:00:00Z"})"));
  EXPECT_EQ(provenance.compartment, std::set<std::string>{"p3"});
  IndexRows allergy =
      ExtractIndex("AllergyIntolerance", "a1",
                   Obj(R"({"resourceType":"AllergyIntolerance","patient":{"reference":"Patient/p4"},
        "asserter":{"reference":"Patient/p5"},"code":{"text":"Penicillin"}})"));
  EXPECT_EQ(allergy.compartment, (std::set<std::string>{"p4", "p5"}));
  auto text_only =
      Where(allergy.tokens, [](const TokenRow& r) { return r.param == "AllergyIntolerance.code"; });
  ASSERT_EQ(text_only.size(), 1u);
  EXPECT_EQ(text_only[0].text, "Penicillin");
  EXPECT_EQ(text_only[0].code, "");
  IndexRows unknown =
      ExtractIndex("OperationOutcome", "x", Obj(R"({"resourceType":"OperationOutcome","id":"x"})"));
  EXPECT_EQ(unknown.tokens.size(), 1u);  // _id only
  EXPECT_TRUE(unknown.compartment.empty());
}

TEST(IndexExtract, MalformedValuesAreSkipped) {
  IndexRows rows =
      ExtractIndex("Patient", "p", Obj(R"({"resourceType":"Patient","birthDate":"14/02/1980",
    "name":"not an array","gender":7,"identifier":[3,{"value":"ok"}]})"));
  EXPECT_TRUE(
      Where(rows.dates, [](const DateRow& r) { return r.param == "Patient.birthdate"; }).empty());
  auto ids = Where(rows.tokens, [](const TokenRow& r) { return r.param == "Patient.identifier"; });
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(ids[0].code, "ok");
}

}  // namespace
}  // namespace junction::fhir::store_internal
