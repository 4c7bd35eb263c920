#include <gtest/gtest.h>

#include "test_util.h"

namespace junction::fhir::testing {
namespace {

std::string Msh(const std::string& type, const std::string& control, const std::string& facility = "HOSP") {
  return Seg("MSH", {{3, "EPIC"}, {4, facility}, {5, "REC"}, {6, "RECFAC"}, {7, "20240305143000+0100"},
                     {9, type}, {10, control}, {11, "P"}, {12, "2.5.1"}});
}

std::string AdtA01(const std::string& control = "MSG0001", const std::string& event = "A01") {
  return Msg({
      Msh("ADT^" + event + "^ADT_A01", control),
      Seg("EVN", {{1, event}, {2, "20240305143000+0100"}, {5, "OP123^Smith^Olga"}}),
      Seg("PID", {{1, "1"},
                  {3, "12345^^^HOSP^MR"},
                  {5, "Doe^John^Q^Jr^Dr^^L"},
                  {7, "19800102"},
                  {8, "M"},
                  {11, "1 Main St^Apt 2^Springfield^IL^62701^USA^H"},
                  {13, "^PRN^PH^^1^217^5551234~^NET^Internet^john@example.org"},
                  {14, "(217)555-9999^WPN^PH"},
                  {16, "M^Married^HL70002"},
                  {19, "123-45-6789"}}),
      Seg("NK1", {{1, "1"}, {2, "Doe^Jane"}, {3, "SPO^Spouse^HL70063"}, {5, "^PRN^PH^^^217^5551235"}}),
      Seg("PV1", {{1, "1"},
                  {2, "I"},
                  {3, "WARD1^101^A^HOSP"},
                  {7, "1234^Welby^Marcus^^^Dr"},
                  {10, "MED"},
                  {17, "1234^Welby^Marcus^^^Dr"},
                  {19, "V100^^^HOSP^VN"},
                  {44, "20240305140000+0100"}}),
      Seg("AL1", {{1, "1"}, {2, "DA"}, {3, "70618^Penicillin^RXNORM"}, {4, "SV"}, {5, "Hives~Rash"}}),
      Seg("DG1", {{1, "1"}, {3, "J18.9^Pneumonia^I10"}, {5, "20240305"}, {6, "A"}}),
      Seg("ZPD", {{1, "1"}, {2, "custom"}}),
  });
}

ConvertOptions HospOptions() {
  ConvertOptions o;
  o.identifier_systems["HOSP"] = "http://hosp.example/id";
  return o;
}

TEST(FhirAdt, A01ResourcesAndFields) {
  ConvertResult r = MustConvert(AdtA01(), HospOptions());
  const json::object& b = r.bundle;
  EXPECT_EQ(Str(b.at("type")), "transaction");
  EXPECT_EQ(Str(b.at("timestamp")), "2024-03-05T14:30:00+01:00");
  EXPECT_EQ(Resources(b, "MessageHeader").size(), 1u);
  EXPECT_EQ(Resources(b, "Patient").size(), 1u);
  EXPECT_EQ(Resources(b, "RelatedPerson").size(), 1u);
  EXPECT_EQ(Resources(b, "Encounter").size(), 1u);
  EXPECT_EQ(Resources(b, "AllergyIntolerance").size(), 1u);
  EXPECT_EQ(Resources(b, "Condition").size(), 1u);
  EXPECT_EQ(Resources(b, "Provenance").size(), 1u);
  // Welby appears in PV1-7 and PV1-17: one Practitioner; plus the EVN operator.
  EXPECT_EQ(Resources(b, "Practitioner").size(), 2u);
  EXPECT_TRUE(ReferencesResolve(b));

  const json::object& p = *Resources(b, "Patient")[0];
  EXPECT_FALSE(p.contains("id"));  // conditional PUT: the server picks the id
  const auto& ids = p.at("identifier").as_array();
  EXPECT_EQ(Str(ids[0].at("system")), "http://hosp.example/id");
  EXPECT_EQ(Str(ids[0].at("value")), "12345");
  EXPECT_EQ(Str(ids[0].at("type").at("coding").at(0).at("system")), "http://terminology.hl7.org/CodeSystem/v2-0203");
  EXPECT_EQ(Str(ids[1].at("system")), "http://hl7.org/fhir/sid/us-ssn");
  EXPECT_EQ(Str(p.at("name").at(0).at("family")), "Doe");
  EXPECT_EQ(Str(p.at("name").at(0).at("use")), "official");
  EXPECT_EQ(p.at("name").at(0).at("given").as_array().size(), 2u);
  EXPECT_EQ(Str(p.at("gender")), "male");
  EXPECT_EQ(Str(p.at("birthDate")), "1980-01-02");
  EXPECT_EQ(Str(p.at("address").at(0).at("city")), "Springfield");
  EXPECT_EQ(Str(p.at("address").at(0).at("use")), "home");
  const auto& tel = p.at("telecom").as_array();
  ASSERT_EQ(tel.size(), 3u);
  EXPECT_EQ(Str(tel[1].at("system")), "email");
  EXPECT_EQ(Str(tel[2].at("use")), "work");
  EXPECT_EQ(Str(p.at("maritalStatus").at("coding").at(0).at("system")),
            "http://terminology.hl7.org/CodeSystem/v2-0002");

  const json::object* pe = Entry(b, "Patient");
  EXPECT_EQ(Str(pe->at("request").at("method")), "PUT");
  EXPECT_EQ(Str(pe->at("request").at("url")), "Patient?identifier=http://hosp.example/id|12345");

  const json::object& e = *Resources(b, "Encounter")[0];
  EXPECT_EQ(Str(e.at("class").at("code")), "IMP");
  EXPECT_EQ(Str(e.at("status")), "in-progress");
  EXPECT_EQ(Str(e.at("period").at("start")), "2024-03-05T14:00:00+01:00");
  EXPECT_EQ(Str(e.at("identifier").at(0).at("value")), "V100");
  EXPECT_EQ(Str(e.at("subject").at("reference")), FullUrl(b, "Patient"));
  EXPECT_EQ(e.at("participant").as_array().size(), 2u);  // ATND + ADM, same Practitioner
  EXPECT_EQ(Str(e.at("participant").at(0).at("individual").at("reference")),
            Str(e.at("participant").at(1).at("individual").at("reference")));
  EXPECT_EQ(e.at("diagnosis").as_array().size(), 1u);

  const json::object& a = *Resources(b, "AllergyIntolerance")[0];
  EXPECT_EQ(Str(a.at("criticality")), "high");
  EXPECT_EQ(Str(a.at("category").at(0)), "medication");
  EXPECT_EQ(Str(a.at("type")), "allergy");
  EXPECT_EQ(a.at("reaction").at(0).at("manifestation").as_array().size(), 2u);
  EXPECT_EQ(Str(a.at("code").at("coding").at(0).at("system")), "http://www.nlm.nih.gov/research/umls/rxnorm");

  const json::object& c = *Resources(b, "Condition")[0];
  EXPECT_EQ(Str(c.at("code").at("coding").at(0).at("system")), "http://hl7.org/fhir/sid/icd-10");
  EXPECT_EQ(Str(c.at("onsetDateTime")), "2024-03-05");

  const json::object& rp = *Resources(b, "RelatedPerson")[0];
  EXPECT_EQ(Str(rp.at("relationship").at(0).at("coding").at(0).at("system")),
            "http://terminology.hl7.org/CodeSystem/v2-0063");

  const json::object& mh = *Resources(b, "MessageHeader")[0];
  EXPECT_EQ(Str(mh.at("eventCoding").at("code")), "A01");
  EXPECT_TRUE(mh.contains("sender"));
}

TEST(FhirAdt, UnmappedSegmentAndFieldAreReported) {
  std::string text = AdtA01();
  // PID-18 (patient account number) is not mapped.
  text.replace(text.find("|123-45-6789"), 0, "ACCT1");
  ConvertResult r = MustConvert(text);
  EXPECT_TRUE(HasIssueAt(r, "ZPD"));
  EXPECT_TRUE(HasIssueAt(r, "PID-18"));
  auto oo = Resources(r.bundle, "OperationOutcome");
  ASSERT_EQ(oo.size(), 1u);
  bool found = false;
  for (const auto& i : oo[0]->at("issue").as_array())
    found = found || Str(i.at("location").at(0)) == "ZPD";
  EXPECT_TRUE(found);
}

TEST(FhirAdt, ConvertingTwiceGivesIdenticalBytes) {
  std::string text = AdtA01();
  std::string a = Serialize(MustConvert(text).bundle, false);
  std::string b = Serialize(MustConvert(text).bundle, false);
  EXPECT_EQ(a, b);
  std::string pa = Serialize(MustConvert(text).bundle, true);
  EXPECT_EQ(pa, Serialize(MustConvert(text).bundle, true));
  // Serialize output is valid JSON that parses back to the same value.
  EXPECT_EQ(json::parse(a), json::parse(pa));
}

TEST(FhirAdt, SamePatientInTwoMessagesHasSameIdentity) {
  ConvertResult first = MustConvert(AdtA01("MSG0001", "A01"));
  ConvertResult second = MustConvert(AdtA01("MSG0777", "A08"));
  EXPECT_EQ(FullUrl(first.bundle, "Patient"), FullUrl(second.bundle, "Patient"));
  EXPECT_EQ(FullUrl(first.bundle, "Encounter"), FullUrl(second.bundle, "Encounter"));
  EXPECT_EQ(FullUrl(first.bundle, "Practitioner"), FullUrl(second.bundle, "Practitioner"));
  // The message-scoped resources differ.
  EXPECT_NE(FullUrl(first.bundle, "MessageHeader"), FullUrl(second.bundle, "MessageHeader"));
}

TEST(FhirAdt, SameMrnFromAnotherFacilityIsAnotherPatient) {
  // PID-3 without assigning authority: the sending facility scopes it.
  auto make = [](const std::string& facility) {
    return Msg({Msh("ADT^A04", "X1", facility), Seg("PID", {{1, "1"}, {3, "555"}, {5, "Roe^Ann"}})});
  };
  ConvertResult a = MustConvert(make("CLINIC_A"));
  ConvertResult b = MustConvert(make("CLINIC_B"));
  EXPECT_NE(FullUrl(a.bundle, "Patient"), FullUrl(b.bundle, "Patient"));
  const json::object& p = *Resources(a.bundle, "Patient")[0];
  EXPECT_EQ(Str(p.at("identifier").at(0).at("system")), "urn:junction:id:CLINIC_A");
}

TEST(FhirAdt, OidAuthorityBecomesUrnOid) {
  std::string text = Msg({Msh("ADT^A04", "X1"), Seg("PID", {{3, "77^^^&2.16.840.1.113883.3.1&ISO^MR"}})});
  ConvertResult r = MustConvert(text);
  const json::object& p = *Resources(r.bundle, "Patient")[0];
  EXPECT_EQ(Str(p.at("identifier").at(0).at("system")), "urn:oid:2.16.840.1.113883.3.1");
}

TEST(FhirAdt, A40MergeLinksOldAndSurvivor) {
  std::string text = Msg({Msh("ADT^A40^ADT_A39", "M1"), Seg("EVN", {{2, "20240305143000"}}),
                          Seg("PID", {{1, "1"}, {3, "100^^^HOSP^MR"}, {5, "Doe^John"}}),
                          Seg("MRG", {{1, "200^^^HOSP^MR"}, {7, "Doe^Johnny"}})});
  ConvertResult r = MustConvert(text, HospOptions());
  auto patients = Resources(r.bundle, "Patient");
  ASSERT_EQ(patients.size(), 2u);
  const json::object& survivor = *patients[0];
  const json::object& old = *patients[1];
  EXPECT_EQ(Str(survivor.at("link").at(0).at("type")), "replaces");
  EXPECT_EQ(Str(survivor.at("link").at(0).at("other").at("reference")), FullUrl(r.bundle, "Patient", 1));
  EXPECT_EQ(Str(old.at("link").at(0).at("type")), "replaced-by");
  EXPECT_EQ(Str(old.at("link").at(0).at("other").at("reference")), FullUrl(r.bundle, "Patient", 0));
  EXPECT_FALSE(old.at("active").as_bool());
  EXPECT_EQ(Str(old.at("identifier").at(0).at("value")), "200");
  EXPECT_EQ(Str(Entry(r.bundle, "Patient", 1)->at("request").at("url")), "Patient?identifier=http://hosp.example/id|200");
  EXPECT_TRUE(ReferencesResolve(r.bundle));
}

TEST(FhirAdt, EventsSetEncounterStatus) {
  auto status = [](const std::string& event, const std::string& discharge) {
    std::string text = Msg({Msh("ADT^" + event, "S1"), Seg("PID", {{3, "1^^^H"}}),
                            Seg("PV1", {{2, "O"}, {19, "V1^^^H"}, {45, discharge}})});
    ConvertResult r = MustConvert(text);
    auto e = Resources(r.bundle, "Encounter");
    return e.empty() ? std::string("none") : Str(e[0]->at("status"));
  };
  EXPECT_EQ(status("A04", ""), "in-progress");
  EXPECT_EQ(status("A03", ""), "finished");
  EXPECT_EQ(status("A08", "202403061200"), "finished");
  EXPECT_EQ(status("A11", ""), "cancelled");
  EXPECT_EQ(status("A05", ""), "planned");
}

TEST(FhirAdt, EmptyPv1MakesNoEncounter) {
  std::string text = Msg({Msh("ADT^A28", "S1"), Seg("PID", {{3, "1^^^H"}}), Seg("PV1", {{1, "1"}, {2, "N"}})});
  ConvertResult r = MustConvert(text);
  EXPECT_TRUE(Resources(r.bundle, "Encounter").empty());
  EXPECT_TRUE(r.issues.empty());
}

TEST(FhirAdt, InsuranceBecomesCoverage) {
  std::string text = Msg({Msh("ADT^A01", "S1"), Seg("PID", {{3, "1^^^H"}}),
                          Seg("IN1", {{1, "1"}, {2, "PPO^Gold plan"}, {3, "AET01^^^H"}, {4, "Aetna"},
                                      {12, "20240101"}, {17, "SEL^Self^HL70063"}, {36, "POL123"}})});
  ConvertResult r = MustConvert(text);
  auto cov = Resources(r.bundle, "Coverage");
  ASSERT_EQ(cov.size(), 1u);
  EXPECT_EQ(Str(cov[0]->at("status")), "active");
  EXPECT_EQ(Str(cov[0]->at("identifier").at(0).at("value")), "POL123");
  EXPECT_EQ(Str(cov[0]->at("period").at("start")), "2024-01-01");
  auto orgs = Resources(r.bundle, "Organization");
  bool aetna = false;
  for (auto* o : orgs) aetna = aetna || (o->contains("name") && Str(o->at("name")) == "Aetna");
  EXPECT_TRUE(aetna);
  EXPECT_TRUE(ReferencesResolve(r.bundle));
}

TEST(FhirAdt, CollectionBundleHasIdsAndNoRequests) {
  ConvertOptions o;
  o.bundle = BundleType::kCollection;
  ConvertResult r = MustConvert(AdtA01(), o);
  EXPECT_EQ(Str(r.bundle.at("type")), "collection");
  for (const auto& e : r.bundle.at("entry").as_array()) {
    EXPECT_FALSE(e.as_object().contains("request"));
    const auto& res = e.at("resource").as_object();
    ASSERT_TRUE(res.contains("id"));
    EXPECT_EQ("urn:uuid:" + Str(res.at("id")), Str(e.at("fullUrl")));
  }
}

TEST(FhirAdt, FallbackForOtherMessages) {
  std::string text = Msg({Msh("ADT^A09", "F1"), Seg("EVN", {{2, "20240305143000"}}), Seg("PID", {{3, "1^^^H"}}),
                          Seg("PV1", {{2, "I"}, {19, "V9^^^H"}}), Seg("DG1", {{1, "1"}, {3, "X^Y^I10"}})});
  ConvertResult r = MustConvert(text);
  EXPECT_EQ(Resources(r.bundle, "Patient").size(), 1u);
  EXPECT_EQ(Resources(r.bundle, "Encounter").size(), 1u);
  EXPECT_EQ(Resources(r.bundle, "Condition").size(), 0u);
  EXPECT_TRUE(HasIssueAt(r, "DG1"));
  EXPECT_TRUE(HasIssueAt(r, "MSH-9"));
  EXPECT_TRUE(ReferencesResolve(r.bundle));
}

TEST(FhirAdt, ShortMessagesDoNotFail) {
  ConvertResult r = MustConvert(Msg({Seg("MSH", {{9, "ADT^A01"}})}));
  EXPECT_EQ(Resources(r.bundle, "MessageHeader").size(), 1u);
  EXPECT_TRUE(ReferencesResolve(r.bundle));
  EXPECT_FALSE(ParseBundleType("nope").ok());
  EXPECT_EQ(*ParseBundleType("batch"), BundleType::kBatch);
}

}  // namespace
}  // namespace junction::fhir::testing
