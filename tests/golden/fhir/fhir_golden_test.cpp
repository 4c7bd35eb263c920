// Golden tests for the v2 -> FHIR converter (junction::fhir::Convert).
//
// Each case is cases/<name>.hl7 (one self-written message) with the expected
// Bundle cases/<name>.json and, optionally, cases/<name>.options.json
// ({"bundle": "collection", "default_timezone": "...", "identifier_systems": {...},
// "local_system_base": "..."}). The comparison is semantic (json_compare.h):
// JSON equality, dateTimes compared as instants.
//
//   build/<dir>/tests/golden/fhir/fhir_golden_tests
//   UPDATE_GOLDEN=1 build/<dir>/tests/golden/fhir/fhir_golden_tests   # rewrite the .json files
//
// Rewritten expectations must be reviewed by hand against the v2-to-FHIR IG maps
// before they are committed: the converter's output is not its own oracle.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "json_compare.h"
#include "junction/fhir/convert.h"
#include "junction/hl7/message.h"

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using junction::fhir::ConvertOptions;
using junction::fhir::ConvertResult;

fs::path CasesDir() { return fs::path(JUNCTION_FHIR_GOLDEN_DIR) / "cases"; }

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> CaseNames() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(CasesDir(), ec)) {
    if (e.path().extension() == ".hl7") names.push_back(e.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Options from cases/<name>.options.json; defaults when absent.
ConvertOptions LoadOptions(const std::string& name) {
  ConvertOptions o;
  const fs::path p = CasesDir() / (name + ".options.json");
  if (!fs::exists(p)) return o;
  const json::object j = json::parse(ReadFile(p)).as_object();
  if (const auto* b = j.if_contains("bundle")) {
    auto t = junction::fhir::ParseBundleType(std::string(b->as_string()));
    EXPECT_TRUE(t.ok()) << p;
    if (t.ok()) o.bundle = *t;
  }
  if (const auto* z = j.if_contains("default_timezone")) o.default_timezone = z->as_string();
  if (const auto* base = j.if_contains("local_system_base")) o.local_system_base = base->as_string();
  if (const auto* m = j.if_contains("identifier_systems")) {
    for (const auto& kv : m->as_object()) {
      o.identifier_systems[std::string(kv.key())] = std::string(kv.value().as_string());
    }
  }
  return o;
}

junction::Result<ConvertResult> ConvertText(const std::string& text, const ConvertOptions& o) {
  auto msg = junction::hl7::Message::Parse(text);
  if (!msg.ok()) return msg.status();
  return junction::fhir::Convert(*msg, o);
}

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += "\n  " + l;
  return out;
}

class FhirGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(FhirGolden, MatchesExpectedBundle) {
  const std::string& name = GetParam();
  const ConvertOptions options = LoadOptions(name);
  const std::string input = ReadFile(CasesDir() / (name + ".hl7"));
  auto result = ConvertText(input, options);
  ASSERT_TRUE(result.ok()) << result.status().ToString();

  const std::string compact = junction::fhir::Serialize(result->bundle, false);
  // Serialize gives valid JSON that reads back as the same value.
  json::error_code ec;
  const json::value reparsed = json::parse(compact, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(reparsed, json::value(result->bundle));
  EXPECT_EQ(compact.find('\n'), std::string::npos) << "compact output must be one line (NDJSON)";
  EXPECT_EQ(compact.rfind(R"({"resourceType":"Bundle")", 0), 0u) << "resourceType first";

  // Deterministic: a second conversion gives the same bytes.
  auto again = ConvertText(input, options);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(junction::fhir::Serialize(again->bundle, false), compact);
  EXPECT_EQ(junction::fhir::Serialize(again->bundle, true),
            junction::fhir::Serialize(result->bundle, true));

  for (const auto& issue : result->issues) {
    EXPECT_TRUE(issue.severity == "error" || issue.severity == "warning" ||
                issue.severity == "information")
        << issue.severity;
    EXPECT_FALSE(issue.location.empty()) << issue.message;
    EXPECT_FALSE(issue.message.empty()) << issue.location;
  }

  const fs::path expected_path = CasesDir() / (name + ".json");
  const char* update = std::getenv("UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(expected_path, std::ios::binary) << junction::fhir::Serialize(result->bundle, true)
                                                   << "\n";
    GTEST_SKIP() << "rewrote " << expected_path << ": review it against the IG before committing";
  }
  ASSERT_TRUE(fs::exists(expected_path)) << expected_path << " missing (UPDATE_GOLDEN=1 writes it)";
  const json::value expected = json::parse(ReadFile(expected_path), ec);
  ASSERT_FALSE(ec) << expected_path << ": " << ec.message();
  const auto diffs = junction::fhir::testing::CompareJson(expected, reparsed);
  EXPECT_TRUE(diffs.empty()) << name << ": " << diffs.size() << " difference(s):" << Join(diffs);
}

INSTANTIATE_TEST_SUITE_P(Cases, FhirGolden, ::testing::ValuesIn(CaseNames()),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           std::string n = param_info.param;
                           for (char& c : n) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });

TEST(FhirGoldenSet, EveryCaseHasExpectation) {
  const auto names = CaseNames();
  ASSERT_GE(names.size(), 11u) << "one case per message type";
  for (const auto& n : names) EXPECT_TRUE(fs::exists(CasesDir() / (n + ".json"))) << n;
}

// ---- Identity: what does not change in the business data keeps its ids ----

struct EntryKey {
  std::string type, id, full_url, request_url;
};

std::vector<EntryKey> Keys(const json::object& bundle) {
  std::vector<EntryKey> keys;
  const auto* entries = bundle.if_contains("entry");
  if (entries == nullptr) return keys;
  for (const auto& e : entries->as_array()) {
    const auto& eo = e.as_object();
    EntryKey k;
    if (const auto* r = eo.if_contains("resource")) {
      k.type = r->as_object().at("resourceType").as_string();
      if (const auto* id = r->as_object().if_contains("id")) k.id = id->as_string();
    }
    if (const auto* f = eo.if_contains("fullUrl")) k.full_url = f->as_string();
    if (const auto* rq = eo.if_contains("request")) {
      if (const auto* u = rq->as_object().if_contains("url")) k.request_url = u->as_string();
    }
    keys.push_back(k);
  }
  return keys;
}

const EntryKey* FindType(const std::vector<EntryKey>& keys, std::string_view type) {
  for (const auto& k : keys) {
    if (k.type == type) return &k;
  }
  return nullptr;
}

bool HasCase(const std::string& name) { return fs::exists(CasesDir() / (name + ".hl7")); }

TEST(FhirIdentity, SamePatientInTwoMessagesSameIdentity) {
  // adt_a01 and adt_a08 are about the same person (same PID-3) but differ in
  // everything else, including the message header.
  ASSERT_TRUE(HasCase("adt_a01") && HasCase("adt_a08"));
  auto a = ConvertText(ReadFile(CasesDir() / "adt_a01.hl7"), {});
  auto b = ConvertText(ReadFile(CasesDir() / "adt_a08.hl7"), {});
  ASSERT_TRUE(a.ok() && b.ok());
  const auto ka = Keys(a->bundle);
  const auto kb = Keys(b->bundle);
  const EntryKey* pa = FindType(ka, "Patient");
  const EntryKey* pb = FindType(kb, "Patient");
  ASSERT_NE(pa, nullptr);
  ASSERT_NE(pb, nullptr);
  // The identity is the fullUrl and the (conditional) request; an id, when the
  // converter sets one, must agree too.
  EXPECT_EQ(pa->id, pb->id);
  EXPECT_EQ(pa->full_url, pb->full_url);
  EXPECT_EQ(pa->request_url, pb->request_url);
  EXPECT_FALSE(pa->full_url.empty());
  EXPECT_NE(pa->request_url.find("identifier="), std::string::npos) << pa->request_url;
}

TEST(FhirIdentity, ResentMessageKeepsEveryResourceId) {
  // A re-send has a new control id and time in MSH; nothing else changes, so
  // every resource but the message's own (MessageHeader, Provenance,
  // OperationOutcome) keeps its id.
  ASSERT_TRUE(HasCase("oru_r01"));
  const std::string text = ReadFile(CasesDir() / "oru_r01.hl7");
  auto first_msg = junction::hl7::Message::Parse(text);
  ASSERT_TRUE(first_msg.ok());
  auto resent = *first_msg;
  ASSERT_TRUE(resent.Set(*junction::hl7::Path::Parse("MSH-10"), "RESEND-0001").ok());
  ASSERT_TRUE(resent.Set(*junction::hl7::Path::Parse("MSH-7"), "20300101000000").ok());
  auto a = junction::fhir::Convert(*first_msg, {});
  auto b = junction::fhir::Convert(resent, {});
  ASSERT_TRUE(a.ok() && b.ok());
  const auto ka = Keys(a->bundle);
  const auto kb = Keys(b->bundle);
  ASSERT_EQ(ka.size(), kb.size());
  const std::set<std::string> per_message = {"MessageHeader", "Provenance", "OperationOutcome"};
  int compared = 0;
  for (std::size_t i = 0; i < ka.size(); ++i) {
    ASSERT_EQ(ka[i].type, kb[i].type);
    if (per_message.count(ka[i].type) != 0) continue;
    EXPECT_EQ(ka[i].id, kb[i].id) << ka[i].type;
    EXPECT_EQ(ka[i].full_url, kb[i].full_url) << ka[i].type;
    EXPECT_EQ(ka[i].request_url, kb[i].request_url) << ka[i].type;
    ++compared;
  }
  EXPECT_GE(compared, 12) << "Patient, Observations, DiagnosticReport, ...";
}

TEST(FhirIdentity, DefaultTimezoneIsTheOptionNeverTheHost) {
  ASSERT_TRUE(HasCase("adt_a01"));
  const std::string text = ReadFile(CasesDir() / "adt_a01.hl7");
  // The host zone must not leak in: the same options give the same bytes under any TZ.
  ::setenv("TZ", "Pacific/Kiritimati", 1);
  auto a = ConvertText(text, {});
  ::setenv("TZ", "America/Los_Angeles", 1);
  auto b = ConvertText(text, {});
  ::unsetenv("TZ");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(junction::fhir::Serialize(a->bundle, false), junction::fhir::Serialize(b->bundle, false));
}

TEST(FhirIdentity, BundleTypeOption) {
  ASSERT_TRUE(HasCase("adt_a01"));
  const std::string text = ReadFile(CasesDir() / "adt_a01.hl7");
  for (const auto& [type, name] : {std::pair{junction::fhir::BundleType::kTransaction, "transaction"},
                                   std::pair{junction::fhir::BundleType::kBatch, "batch"},
                                   std::pair{junction::fhir::BundleType::kCollection, "collection"}}) {
    ConvertOptions o;
    o.bundle = type;
    auto r = ConvertText(text, o);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->bundle.at("type").as_string(), name);
    for (const auto& e : r->bundle.at("entry").as_array()) {
      // Requests belong to transaction/batch Bundles only (FHIR bdl rules).
      EXPECT_EQ(e.as_object().contains("request"), type != junction::fhir::BundleType::kCollection) << name;
    }
  }
}

TEST(FhirFallback, UnknownMessageTypeReportsUnmappedSegments) {
  ASSERT_TRUE(HasCase("unknown_zzz"));
  auto r = ConvertText(ReadFile(CasesDir() / "unknown_zzz.hl7"), {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto keys = Keys(r->bundle);
  EXPECT_NE(FindType(keys, "MessageHeader"), nullptr);
  EXPECT_NE(FindType(keys, "Patient"), nullptr);
  EXPECT_NE(FindType(keys, "Encounter"), nullptr);
  EXPECT_NE(FindType(keys, "OperationOutcome"), nullptr);
  bool zpi = false;
  for (const auto& i : r->issues) zpi = zpi || i.location.rfind("ZPI", 0) == 0;
  EXPECT_TRUE(zpi) << "the Z segment must be reported as unmapped";
}

}  // namespace
