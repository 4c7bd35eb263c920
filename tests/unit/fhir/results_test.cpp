// ORU^R01, ORM^O01, OML^O21, VXU^V04, SIU, MDM.
#include <gtest/gtest.h>

#include "test_util.h"

namespace junction::fhir::testing {
namespace {

std::string Msh(const std::string& type, const std::string& control = "C1") {
  return Seg("MSH", {{3, "LIS"}, {4, "LAB"}, {5, "EHR"}, {6, "HOSP"}, {7, "20240305143000+0100"}, {9, type},
                     {10, control}, {11, "P"}, {12, "2.5.1"}});
}

std::string Oru() {
  return Msg({
      Msh("ORU^R01^ORU_R01"),
      Seg("PID", {{1, "1"}, {3, "12345^^^HOSP^MR"}, {5, "Doe^John"}}),
      Seg("PV1", {{1, "1"}, {2, "O"}, {19, "V100^^^HOSP"}}),
      Seg("ORC", {{1, "RE"}, {2, "P100^EHR"}, {3, "F200^LAB"}, {12, "1234^Welby^Marcus"}}),
      Seg("OBR", {{1, "1"}, {2, "P100^EHR"}, {3, "F200^LAB"}, {4, "24331-1^Lipid panel^LN"},
                  {7, "202403050800+0100"}, {22, "20240305120000+0100"}, {25, "F"},
                  {32, "777&Path&Pat"}}),
      Seg("OBX", {{1, "1"}, {2, "NM"}, {3, "2093-3^Cholesterol^LN"}, {5, "185.50"}, {6, "mg/dL^^UCUM"},
                  {7, "<200"}, {8, "N"}, {11, "F"}, {14, "202403050800+0100"}}),
      Seg("NTE", {{1, "1"}, {3, "fasting sample"}}),
      Seg("OBX", {{1, "2"}, {2, "SN"}, {3, "X1^Titer^L"}, {5, "^1^:^128"}, {11, "F"}}),
      Seg("OBX", {{1, "3"}, {2, "SN"}, {3, "X2^Range^L"}, {5, "^2^-^4"}, {6, "mmol/L^^UCUM"}, {11, "F"}}),
      Seg("OBX", {{1, "4"}, {2, "SN"}, {3, "X3^Compare^L"}, {5, ">^100"}, {11, "F"}}),
      Seg("OBX", {{1, "5"}, {2, "CWE"}, {3, "X4^Coded^L"}, {5, "260385009^Negative^SCT"}, {11, "F"}}),
      Seg("OBX", {{1, "6"}, {2, "TX"}, {3, "X5^Text^L"}, {5, "line one~line two"}, {11, "P"}}),
      Seg("OBX", {{1, "7"}, {2, "DT"}, {3, "X6^Date^L"}, {5, "202403"}, {11, "F"}}),
      Seg("OBX", {{1, "8"}, {2, "TM"}, {3, "X7^Time^L"}, {5, "1430"}, {11, "F"}}),
      Seg("OBX", {{1, "9"}, {2, "ED"}, {3, "X8^Doc^L"}, {5, "LAB^AP^PDF^Base64^SGVsbG8="}, {11, "F"}}),
      Seg("OBX", {{1, "10"}, {2, "RP"}, {3, "X9^Ptr^L"}, {5, "http://img.example/1^IMG^IM^JPEG"}, {11, "F"}}),
      Seg("OBX", {{1, "11"}, {2, "NA"}, {3, "X10^Array^L"}, {5, "1^2.5^^4"}, {6, "/min^^UCUM"}, {11, "F"}}),
      Seg("OBX", {{1, "12"}, {2, "NM"}, {3, "X11^Bad^L"}, {5, "12,5"}, {11, "F"}}),
      Seg("OBX", {{1, "13"}, {2, "CWE"}, {3, "X12^Multi^L"}, {5, "A^Alpha^L~B^Beta^L"}, {11, "F"}}),
      Seg("SPM", {{1, "1"}, {2, "S1&LAB^S2&LAB"}, {4, "BLD^Blood^HL70487"}, {17, "202403050755+0100"}}),
  });
}

const json::object* Obs(const json::object& bundle, const std::string& code) {
  for (auto* o : Resources(bundle, "Observation"))
    if (Str(o->at("code").at("coding").at(0).at("code")) == code) return o;
  return nullptr;
}

TEST(FhirOru, ReportObservationsAndValues) {
  ConvertResult r = MustConvert(Oru());
  const json::object& b = r.bundle;
  EXPECT_TRUE(ReferencesResolve(b));
  ASSERT_EQ(Resources(b, "DiagnosticReport").size(), 1u);
  ASSERT_EQ(Resources(b, "ServiceRequest").size(), 1u);
  ASSERT_EQ(Resources(b, "Observation").size(), 13u);
  ASSERT_EQ(Resources(b, "Specimen").size(), 1u);

  const json::object& dr = *Resources(b, "DiagnosticReport")[0];
  EXPECT_EQ(Str(dr.at("status")), "final");
  EXPECT_EQ(dr.at("result").as_array().size(), 13u);
  EXPECT_EQ(Str(dr.at("code").at("coding").at(0).at("system")), "http://loinc.org");
  EXPECT_EQ(Str(dr.at("effectiveDateTime")), "2024-03-05T08:00:00+01:00");
  EXPECT_EQ(Str(dr.at("issued")), "2024-03-05T12:00:00+01:00");
  EXPECT_EQ(Str(dr.at("basedOn").at(0).at("reference")), FullUrl(b, "ServiceRequest"));
  EXPECT_EQ(dr.at("specimen").as_array().size(), 1u);
  EXPECT_EQ(dr.at("resultsInterpreter").as_array().size(), 1u);
  const json::object* dre = Entry(b, "DiagnosticReport");
  EXPECT_EQ(Str(dre->at("request").at("url")), "DiagnosticReport?identifier=urn:junction:id:LAB|F200");

  const json::object* chol = Obs(b, "2093-3");
  ASSERT_NE(chol, nullptr);
  EXPECT_EQ(Str(chol->at("status")), "final");
  EXPECT_DOUBLE_EQ(chol->at("valueQuantity").at("value").as_double(), 185.5);
  EXPECT_EQ(Str(chol->at("valueQuantity").at("system")), "http://unitsofmeasure.org");
  EXPECT_EQ(Str(chol->at("valueQuantity").at("code")), "mg/dL");
  EXPECT_EQ(Str(chol->at("referenceRange").at(0).at("text")), "<200");
  EXPECT_EQ(Str(chol->at("interpretation").at(0).at("coding").at(0).at("system")),
            "http://terminology.hl7.org/CodeSystem/v2-0078");
  EXPECT_EQ(Str(chol->at("note").at(0).at("text")), "fasting sample");
  EXPECT_EQ(Str(chol->at("effectiveDateTime")), "2024-03-05T08:00:00+01:00");
  EXPECT_EQ(Str(chol->at("specimen").at("reference")), FullUrl(b, "Specimen"));

  const json::object* ratio = Obs(b, "X1");
  EXPECT_EQ(ratio->at("valueRatio").at("denominator").at("value").as_int64(), 128);
  const json::object* range = Obs(b, "X2");
  EXPECT_EQ(range->at("valueRange").at("high").at("value").as_int64(), 4);
  EXPECT_EQ(Str(range->at("valueRange").at("low").at("code")), "mmol/L");
  const json::object* cmp = Obs(b, "X3");
  EXPECT_EQ(Str(cmp->at("valueQuantity").at("comparator")), ">");
  const json::object* coded = Obs(b, "X4");
  EXPECT_EQ(Str(coded->at("valueCodeableConcept").at("coding").at(0).at("system")), "http://snomed.info/sct");
  const json::object* text = Obs(b, "X5");
  EXPECT_EQ(Str(text->at("valueString")), "line one\nline two");
  EXPECT_EQ(Str(text->at("status")), "preliminary");
  EXPECT_EQ(Str(Obs(b, "X6")->at("valueDateTime")), "2024-03");
  EXPECT_EQ(Str(Obs(b, "X7")->at("valueTime")), "14:30:00");
  const json::object* ed = Obs(b, "X8");
  EXPECT_EQ(Str(ed->at("extension").at(0).at("valueAttachment").at("contentType")), "application/pdf");
  EXPECT_EQ(Str(ed->at("extension").at(0).at("valueAttachment").at("data")), "SGVsbG8=");
  const json::object* rp = Obs(b, "X9");
  EXPECT_EQ(Str(rp->at("extension").at(0).at("valueAttachment").at("url")), "http://img.example/1");
  EXPECT_EQ(Str(rp->at("extension").at(0).at("valueAttachment").at("contentType")), "image/jpeg");
  EXPECT_EQ(Str(Obs(b, "X10")->at("valueSampledData").at("data")), "1 2.5 E 4");
  EXPECT_EQ(Str(Obs(b, "X10")->at("valueSampledData").at("origin").at("code")), "/min");
  const json::object* bad = Obs(b, "X11");
  EXPECT_EQ(Str(bad->at("valueString")), "12,5");
  EXPECT_TRUE(HasIssueAt(r, "OBX[12]-5"));
  const json::object* multi = Obs(b, "X12");
  EXPECT_EQ(Str(multi->at("valueCodeableConcept").at("coding").at(0).at("code")), "A");
  EXPECT_EQ(Str(multi->at("component").at(0).at("valueCodeableConcept").at("coding").at(0).at("code")), "B");
}

TEST(FhirOru, ObservationIdsAreStableAndDistinct) {
  ConvertResult a = MustConvert(Oru());
  std::string text = Oru();
  // Another control id: same order, same observations.
  text.replace(text.find("|C1|"), 4, "|C2|");
  ConvertResult b = MustConvert(text);
  for (std::size_t i = 0; i < 13; ++i) EXPECT_EQ(FullUrl(a.bundle, "Observation", i), FullUrl(b.bundle, "Observation", i));
  std::set<std::string> urls;
  for (const auto& e : a.bundle.at("entry").as_array()) urls.insert(Str(e.at("fullUrl")));
  EXPECT_EQ(urls.size(), a.bundle.at("entry").as_array().size());
}

TEST(FhirOrders, OrmAndOmlMakeServiceRequests) {
  std::string orm = Msg({Msh("ORM^O01"), Seg("PID", {{3, "1^^^H"}}),
                         Seg("ORC", {{1, "NW"}, {2, "P1^EHR"}, {9, "20240305100000+0100"}, {12, "9^Who^Doc"}}),
                         Seg("OBR", {{1, "1"}, {2, "P1^EHR"}, {4, "CBC^Blood count^L"}, {27, "^^^^^S"}}),
                         Seg("NTE", {{3, "urgent please"}}), Seg("DG1", {{1, "1"}, {3, "R05^Cough^I10"}})});
  ConvertResult r = MustConvert(orm);
  auto srs = Resources(r.bundle, "ServiceRequest");
  ASSERT_EQ(srs.size(), 1u);
  EXPECT_EQ(Str(srs[0]->at("status")), "active");
  EXPECT_EQ(Str(srs[0]->at("intent")), "order");
  EXPECT_EQ(Str(srs[0]->at("priority")), "stat");
  EXPECT_EQ(Str(srs[0]->at("authoredOn")), "2024-03-05T10:00:00+01:00");
  EXPECT_EQ(Str(srs[0]->at("note").at(0).at("text")), "urgent please");
  EXPECT_TRUE(srs[0]->contains("requester"));
  EXPECT_EQ(Str(srs[0]->at("reasonReference").at(0).at("reference")), FullUrl(r.bundle, "Condition"));
  EXPECT_TRUE(Resources(r.bundle, "DiagnosticReport").empty());
  EXPECT_TRUE(ReferencesResolve(r.bundle));

  std::string oml = Msg({Msh("OML^O21^OML_O21"), Seg("PID", {{3, "1^^^H"}}),
                         Seg("ORC", {{1, "NW"}, {2, "P2^EHR"}}), Seg("TQ1", {{1, "1"}, {7, "20240306080000+0100"}, {9, "R"}}),
                         Seg("OBR", {{1, "1"}, {4, "GLU^Glucose^L"}}),
                         Seg("SPM", {{1, "1"}, {4, "SER^Serum^HL70487"}})});
  ConvertResult o = MustConvert(oml);
  auto sr2 = Resources(o.bundle, "ServiceRequest");
  ASSERT_EQ(sr2.size(), 1u);
  EXPECT_EQ(Str(sr2[0]->at("occurrenceDateTime")), "2024-03-06T08:00:00+01:00");
  EXPECT_EQ(Str(sr2[0]->at("priority")), "routine");
  EXPECT_EQ(Str(sr2[0]->at("identifier").at(0).at("value")), "P2");
  auto spm = Resources(o.bundle, "Specimen");
  ASSERT_EQ(spm.size(), 1u);
  EXPECT_EQ(Str(spm[0]->at("request").at(0).at("reference")), FullUrl(o.bundle, "ServiceRequest"));
  EXPECT_TRUE(ReferencesResolve(o.bundle));
  EXPECT_FALSE(HasIssueAt(o, "TQ1"));
}

std::string Vxu() {
  return Msg({
      Msh("VXU^V04^VXU_V04"),
      Seg("PID", {{1, "1"}, {3, "K1^^^IIS^MR"}, {5, "Kid^Amy"}, {7, "20200101"}, {8, "F"}}),
      Seg("ORC", {{1, "RE"}, {3, "IZ-1^IIS"}, {12, "55^Nurse^Nina"}}),
      Seg("RXA", {{1, "0"}, {2, "1"}, {3, "20240301103000-0500"}, {4, "20240301103000-0500"},
                  {5, "08^Hep B^CVX"}, {6, "0.5"}, {7, "mL^milliliter^UCUM"}, {9, "00^New record^NIP001"},
                  {10, "66^Shot^Sam"}, {15, "LOT9"}, {16, "20251231"}, {17, "MSD^Merck^MVX"}, {20, "CP"}}),
      Seg("RXR", {{1, "IM^Intramuscular^HL70162"}, {2, "LD^Left deltoid^HL70163"}}),
      Seg("OBX", {{1, "1"}, {2, "CE"}, {3, "64994-7^Funding eligibility^LN"}, {4, "1"},
                  {5, "V02^Medicaid^HL70064"}, {11, "F"}}),
  });
}

TEST(FhirVxu, ImmunizationFields) {
  ConvertResult r = MustConvert(Vxu());
  const json::object& b = r.bundle;
  EXPECT_TRUE(ReferencesResolve(b));
  auto imm = Resources(b, "Immunization");
  ASSERT_EQ(imm.size(), 1u);
  const json::object& i = *imm[0];
  EXPECT_EQ(Str(i.at("status")), "completed");
  EXPECT_EQ(Str(i.at("vaccineCode").at("coding").at(0).at("system")), "http://hl7.org/fhir/sid/cvx");
  EXPECT_EQ(Str(i.at("occurrenceDateTime")), "2024-03-01T10:30:00-05:00");
  EXPECT_TRUE(i.at("primarySource").as_bool());
  EXPECT_EQ(Str(i.at("lotNumber")), "LOT9");
  EXPECT_EQ(Str(i.at("expirationDate")), "2025-12-31");
  EXPECT_DOUBLE_EQ(i.at("doseQuantity").at("value").as_double(), 0.5);
  EXPECT_EQ(Str(i.at("route").at("coding").at(0).at("system")), "http://terminology.hl7.org/CodeSystem/v2-0162");
  EXPECT_EQ(Str(i.at("site").at("coding").at(0).at("code")), "LD");
  EXPECT_EQ(i.at("performer").as_array().size(), 2u);
  EXPECT_EQ(Str(i.at("manufacturer").at("reference")).rfind("urn:uuid:", 0), 0u);
  EXPECT_EQ(Str(Entry(b, "Immunization")->at("request").at("url")), "Immunization?identifier=urn:junction:id:IIS|IZ-1");
  auto obs = Resources(b, "Observation");
  ASSERT_EQ(obs.size(), 1u);
  EXPECT_EQ(Str(obs[0]->at("partOf").at(0).at("reference")), FullUrl(b, "Immunization"));
  EXPECT_TRUE(r.issues.empty()) << r.issues[0].location << " " << r.issues[0].message;
}

TEST(FhirVxu, RefusedAndDeleted) {
  std::string text = Vxu();
  text.replace(text.find("|CP"), 3, "|RE");
  EXPECT_EQ(Str(Resources(MustConvert(text).bundle, "Immunization")[0]->at("status")), "not-done");
}

TEST(FhirSiu, AppointmentWithParticipants) {
  std::string text = Msg({
      Msh("SIU^S12^SIU_S12"),
      Seg("SCH", {{1, "A1^EHR"}, {2, "B1^SCHED"}, {7, "CHK^Checkup"}, {9, "30"}, {10, "MIN"},
                  {11, "^^^20240310090000+0100^20240310093000+0100"}, {25, "Booked"}}),
      Seg("PID", {{1, "1"}, {3, "1^^^H"}}),
      Seg("RGS", {{1, "1"}}),
      Seg("AIS", {{1, "1"}, {3, "VISIT^Office visit^L"}, {4, "20240310090000+0100"}}),
      Seg("AIL", {{1, "1"}, {3, "ROOM1^^^CLINIC"}}),
      Seg("AIP", {{1, "1"}, {3, "88^Doc^Dan"}, {4, "ATT^Attending^L"}}),
  });
  ConvertResult r = MustConvert(text);
  auto appts = Resources(r.bundle, "Appointment");
  ASSERT_EQ(appts.size(), 1u);
  const json::object& a = *appts[0];
  EXPECT_EQ(Str(a.at("status")), "booked");
  EXPECT_EQ(Str(a.at("start")), "2024-03-10T09:00:00+01:00");
  EXPECT_EQ(a.at("minutesDuration").as_int64(), 30);
  EXPECT_EQ(a.at("participant").as_array().size(), 3u);  // patient, location, practitioner
  EXPECT_TRUE(ReferencesResolve(r.bundle));

  text.replace(text.find("S12^SIU_S12"), 3, "S15");
  text.replace(text.find("|Booked"), 7, "|Cancelled");
  EXPECT_EQ(Str(Resources(MustConvert(text).bundle, "Appointment")[0]->at("status")), "cancelled");
}

TEST(FhirMdm, DocumentReferenceWithContent) {
  std::string text = Msg({
      Msh("MDM^T02^MDM_T02"),
      Seg("EVN", {{2, "20240305143000+0100"}}),
      Seg("PID", {{1, "1"}, {3, "1^^^H"}}),
      Seg("PV1", {{2, "O"}, {19, "V5^^^H"}}),
      Seg("TXA", {{1, "1"}, {2, "DS^Discharge summary^HL70270"}, {3, "TX"}, {6, "20240305120000+0100"},
                  {9, "12^Writer^Wendy"}, {12, "DOC-1^EHR"}, {17, "AU"}}),
      Seg("OBX", {{1, "1"}, {2, "TX"}, {3, "DOC^Document^L"}, {5, "Patient is well."}, {11, "F"}}),
      Seg("OBX", {{1, "2"}, {2, "TX"}, {3, "DOC^Document^L"}, {5, "Go home."}, {11, "F"}}),
  });
  ConvertResult r = MustConvert(text);
  auto docs = Resources(r.bundle, "DocumentReference");
  ASSERT_EQ(docs.size(), 1u);
  const json::object& d = *docs[0];
  EXPECT_EQ(Str(d.at("status")), "current");
  EXPECT_EQ(Str(d.at("docStatus")), "final");
  EXPECT_EQ(Str(d.at("masterIdentifier").at("value")), "DOC-1");
  EXPECT_EQ(Str(d.at("date")), "2024-03-05T12:00:00+01:00");
  // base64("Patient is well.\nGo home.")
  EXPECT_EQ(Str(d.at("content").at(0).at("attachment").at("data")), "UGF0aWVudCBpcyB3ZWxsLgpHbyBob21lLg==");
  EXPECT_TRUE(Resources(r.bundle, "Observation").empty());
  EXPECT_TRUE(ReferencesResolve(r.bundle));
}

}  // namespace
}  // namespace junction::fhir::testing
