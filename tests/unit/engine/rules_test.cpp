// Filters and declarative transform steps (rules.h), built from YAML snippets
// with the real config parsers.
#include <gtest/gtest.h>

#include <chrono>

#include "engine/internal/rules_values.h"
#include "rules_test_util.h"

namespace junction::engine {
namespace {

using testing::Build;
using testing::LabResult;
using testing::Lines;
using Kind = StageResult::Kind;

StageResult RunOn(const std::string& yaml, hl7::Message* m) {
  auto pipeline = Build(yaml);
  EXPECT_TRUE(pipeline.ok()) << pipeline.status().message();
  if (!pipeline.ok()) return {Kind::kError, pipeline.status().message()};
  MessageContext context;
  context.message_id = 7;
  context.channel = "lab";
  return (*pipeline)->Run(m, context);
}

// Filter result on the sample message: "" when it passes, else the reason.
std::string FilterReason(const std::string& filter_yaml) {
  hl7::Message m = LabResult();
  StageResult r = RunOn("filter:\n" + filter_yaml, &m);
  if (r.kind == Kind::kError) return "ERROR " + r.reason;
  return r.kind == Kind::kPass ? "" : r.reason;
}

TEST(RulesFilter, EmptySpecPassesUnchanged) {
  auto pipeline = Pipeline::Compile(PipelineSpec{}, nullptr);
  ASSERT_TRUE(pipeline.ok());
  EXPECT_TRUE((*pipeline)->empty());
  hl7::Message m = LabResult();
  EXPECT_EQ((*pipeline)->Run(&m, {}).kind, Kind::kPass);
  EXPECT_FALSE(m.modified());
}

TEST(RulesFilter, Equals) {
  EXPECT_EQ(FilterReason("  { path: MSH-9.1, equals: ORU }"), "");
  EXPECT_EQ(FilterReason("  { path: MSH-9.1, equals: ADT }"), "filter: MSH-9.1 equals ADT");
  EXPECT_EQ(FilterReason("  { path: MSH-9.1, equals: oru, ignore_case: true }"), "");
}

TEST(RulesFilter, InList) {
  EXPECT_EQ(FilterReason("  { path: MSH-9.1, in: [ADT, ORU] }"), "");
  EXPECT_EQ(FilterReason("  { path: MSH-9.1, in: [ADT, ORM] }"), "filter: MSH-9.1 in [ADT, ORM]");
}

TEST(RulesFilter, MatchesSearchesWithEcmaScript) {
  EXPECT_EQ(FilterReason("  { path: PID-3.1, matches: \"^[0-9]+$\" }"), "");
  EXPECT_EQ(FilterReason("  { path: PID-5.1, matches: \"^[0-9]+$\" }"),
            "filter: PID-5.1 matches ^[0-9]+$");
  EXPECT_EQ(FilterReason("  { path: PID-5.1, matches: \"O\" }"), "");  // search, not full match
  EXPECT_EQ(FilterReason("  { path: PID-5.1, matches: \"^doe$\", ignore_case: true }"), "");
}

TEST(RulesFilter, ExistsAndEmpty) {
  EXPECT_EQ(FilterReason("  { path: PID-8, exists: true }"), "");
  EXPECT_EQ(FilterReason("  { path: PID-19, exists: true }"), "filter: PID-19 exists");
  EXPECT_EQ(FilterReason("  { path: PID-19, exists: false }"), "");
  EXPECT_EQ(FilterReason("  { path: ZZZ-1, empty: true }"), "");
  EXPECT_EQ(FilterReason("  { path: PID-8, empty: true }"), "filter: PID-8 is empty");
  EXPECT_EQ(FilterReason("  { path: PID-8, empty: false }"), "");
}

TEST(RulesFilter, NumericComparisons) {
  EXPECT_EQ(FilterReason("  { path: OBX-5, gt: 139 }"), "");  // OBX[2]-5 is 140
  EXPECT_EQ(FilterReason("  { path: OBX-5, gt: 140 }"), "filter: OBX-5 gt 140");
  EXPECT_EQ(FilterReason("  { path: OBX-5, ge: 140 }"), "");
  EXPECT_EQ(FilterReason("  { path: OBX-5, lt: 100 }"), "filter: OBX-5 lt 100");
  EXPECT_EQ(FilterReason("  { path: OBX-5, le: 105 }"), "");
  EXPECT_EQ(FilterReason("  { path: OBX-5, ge: 100, le: 110 }"), "");  // both on one value
  EXPECT_EQ(FilterReason("  { path: OBX-5, ge: 106, le: 139 }"), "filter: OBX-5 ge 106 and le 139");
  EXPECT_EQ(FilterReason("  { path: PID-5.1, gt: 0 }"), "filter: PID-5.1 gt 0");  // not a number
}

TEST(RulesFilter, DatesCompareAtTheCommonPrecision) {
  EXPECT_EQ(FilterReason("  { path: PID-7, before: 1981 }"), "");
  EXPECT_EQ(FilterReason("  { path: PID-7, before: 1980 }"), "filter: PID-7 before 1980");
  EXPECT_EQ(FilterReason("  { path: PID-7, after: 198001 }"), "");
  EXPECT_EQ(FilterReason("  { path: PID-7, after: 198002 }"), "filter: PID-7 after 198002");
  // Offsets: 08:30+0100 is 07:30Z, so it is after 07:15Z and before 07:45Z.
  EXPECT_EQ(FilterReason("  { path: MSH-7, after: \"202401150715+0000\" }"), "");
  EXPECT_EQ(FilterReason("  { path: MSH-7, before: \"202401150745+0000\" }"), "");
  EXPECT_EQ(FilterReason("  { path: MSH-7, before: \"202401150715+0000\" }"),
            "filter: MSH-7 before 202401150715+0000");
}

TEST(RulesFilter, AllAnyNotAndTheirReasons) {
  const std::string all =
      "  all:\n"
      "    - { path: MSH-9.1, in: [ORU] }\n"
      "    - { path: PID-5.1, matches: \"^[0-9]+$\" }\n";
  EXPECT_EQ(FilterReason(all), "filter.all[1]: PID-5.1 matches ^[0-9]+$");
  EXPECT_EQ(FilterReason("  any:\n    - { path: MSH-9.1, equals: ADT }\n"
                         "    - { path: MSH-9.1, equals: ORU }\n"),
            "");
  EXPECT_EQ(FilterReason("  any:\n    - { path: MSH-9.1, equals: ADT }\n"
                         "    - { path: MSH-9.1, equals: ORM }\n"),
            "filter: any of (MSH-9.1 equals ADT; MSH-9.1 equals ORM)");
  EXPECT_EQ(FilterReason("  not: { path: OBX-11, equals: P }"), "filter: not (OBX-11 equals P)");
  EXPECT_EQ(FilterReason("  not: { path: OBX-11, equals: X }"), "");
  // A list at the top is `all`.
  EXPECT_EQ(FilterReason("  - { path: MSH-9.1, equals: ORU }\n  - { path: PID-8, equals: M }"),
            "filter[1]: PID-8 equals M");
}

TEST(RulesFilter, RepeatingSegmentsAndFieldsMatchAnyUnlessPinned) {
  // OBX-11 is F in OBX[1] and P in OBX[2].
  EXPECT_EQ(FilterReason("  { path: OBX-11, equals: P }"), "");
  EXPECT_EQ(FilterReason("  { path: \"OBX[1]-11\", equals: P }"), "filter: OBX[1]-11 equals P");
  EXPECT_EQ(FilterReason("  { path: \"OBX[2]-11\", equals: P }"), "");
  // PID-3 repeats: A777 is the second repetition.
  EXPECT_EQ(FilterReason("  { path: PID-3.1, equals: A777 }"), "");
  EXPECT_EQ(FilterReason("  { path: \"PID-3[1].1\", equals: A777 }"),
            "filter: PID-3[1].1 equals A777");
  EXPECT_EQ(FilterReason("  { path: \"PID-3[2].1\", equals: A777 }"), "");
}

TEST(RulesFilter, ValuesAreDecodedBeforeComparing) {
  hl7::Message m = std::move(hl7::Message::Parse("MSH|^~\\&|A|B|C|D|||ADT^A01|1|P|2.5\r"
                                                 "PID|1||X||O\\T\\BRIEN^PAT\r"))
                       .value();
  StageResult r = RunOn("filter: { path: PID-5.1, equals: \"O&BRIEN\" }", &m);
  EXPECT_EQ(r.kind, Kind::kPass) << r.reason;
}

TEST(RulesFilter, LongValuesNeverReachTheRegex) {
  std::string big(100'000, 'a');
  hl7::Message m =
      std::move(hl7::Message::Parse("MSH|^~\\&|A|B|C|D|||ADT^A01|1|P|2.5\rNTE|1||" + big + "\r"))
          .value();
  StageResult r = RunOn("filter: { path: NTE-3, matches: \"(a|b)*\" }", &m);
  EXPECT_EQ(r.kind, Kind::kFiltered);
}

// ---- transform ----

std::string Transformed(const std::string& transform_yaml, Kind expect = Kind::kPass,
                        std::string* reason = nullptr) {
  hl7::Message m = LabResult();
  StageResult r = RunOn("transform:\n" + transform_yaml, &m);
  EXPECT_EQ(r.kind, expect) << r.reason;
  if (reason != nullptr) *reason = r.reason;
  return Lines(m);
}

TEST(RulesTransform, SetValueEscapesAndTemplateIsRaw) {
  hl7::Message m = LabResult();
  ASSERT_EQ(RunOn("transform:\n"
                  "  - set: { path: MSH-5, value: \"A|B\" }\n"
                  "  - set: { path: PID-9, template: \"{PID-5.1}^{PID-5.2}\" }\n",
                  &m)
                .kind,
            Kind::kPass);
  EXPECT_EQ(m.GetRaw(*hl7::Path::Parse("MSH-5")).value(), "A\\F\\B");
  EXPECT_EQ(m.Get("PID-9.1"), "DOE");
  EXPECT_EQ(m.Get("PID-9.2"), "JANE");
}

TEST(RulesTransform, SetOnEveryOccurrenceUsesThatOccurrenceInTemplates) {
  hl7::Message m = LabResult();
  ASSERT_EQ(
      RunOn("transform:\n  - set: { path: \"OBX[*]-4\", template: \"{OBX-3.1}-{OBX-1}\" }\n", &m)
          .kind,
      Kind::kPass);
  EXPECT_EQ(m.Get("OBX[1]-4"), "GLU-1");
  EXPECT_EQ(m.Get("OBX[2]-4"), "NA-2");
}

TEST(RulesTransform, CopyDeleteMap) {
  hl7::Message m = LabResult();
  StageResult r = RunOn(
      "tables:\n  sex: { M: male, F: female, \"*\": unknown }\n"
      "transform:\n"
      "  - copy: { from: PID-3.1, to: PID-2.1 }\n"
      "  - copy: { from: PID-30, to: PID-4 }\n"  // absent source: target unchanged
      "  - delete: { path: PID-11 }\n"
      "  - map: { path: PID-8, table: sex }\n",
      &m);
  ASSERT_EQ(r.kind, Kind::kPass) << r.reason;
  EXPECT_EQ(m.Get("PID-2.1"), "12345");
  EXPECT_EQ(m.Get("PID-11"), "");
  EXPECT_EQ(m.Get("PID-8"), "female");
}

TEST(RulesTransform, MapDefaults) {
  const std::string tables = "tables:\n  codes: { A: alpha, \"*\": other }\n  bare: { A: alpha }\n";
  hl7::Message m = LabResult();
  ASSERT_EQ(RunOn(tables + "transform:\n  - map: { path: PID-8, table: codes }\n", &m).kind,
            Kind::kPass);
  EXPECT_EQ(m.Get("PID-8"), "other");  // the table's "*"
  m = LabResult();
  ASSERT_EQ(
      RunOn(tables + "transform:\n  - map: { path: PID-8, table: codes, default: step }\n", &m)
          .kind,
      Kind::kPass);
  EXPECT_EQ(m.Get("PID-8"), "step");  // per-step default wins
  m = LabResult();
  ASSERT_EQ(RunOn(tables + "transform:\n  - map: { path: PID-8, table: bare }\n", &m).kind,
            Kind::kPass);
  EXPECT_EQ(m.Get("PID-8"), "F");  // no entry and no default: unchanged
}

TEST(RulesTransform, FormatDate) {
  hl7::Message m = LabResult();
  ASSERT_EQ(RunOn("transform:\n"
                  "  - format_date: { path: PID-7, to: \"%Y-%m-%d\" }\n"
                  "  - format_date: { path: MSH-7, precision: day }\n"
                  "  - format_date: { path: OBR-7, precision: fraction }\n",
                  &m)
                .kind,
            Kind::kPass);
  EXPECT_EQ(m.Get("PID-7"), "1980-02-14");
  EXPECT_EQ(m.Get("MSH-7"), "20240115");
  EXPECT_EQ(m.Get("OBR-7"), "20240115070000.0");
}

TEST(RulesTransform, FormatDateRejectsBadDates) {
  hl7::Message m = std::move(hl7::Message::Parse("MSH|^~\\&|A|B|C|D|||ADT^A01|1|P|2.5\r"
                                                 "PID|1||X||Y||20231345\r"))
                       .value();
  StageResult r = RunOn("transform:\n  - format_date: { path: PID-7, to: \"%d.%m.%Y\" }\n", &m);
  EXPECT_EQ(r.kind, Kind::kError);
  EXPECT_EQ(r.reason.rfind("transform[0] (format_date): PID-7: not an HL7 date/time: ", 0), 0u)
      << r.reason;
}

TEST(RulesTransform, Segments) {
  const std::string out = Transformed(
      "  - add_segment: { segment: \"ZLB|{MSH-10}\", after: PID }\n"
      "  - add_segment: \"ZEN|end\"\n"
      "  - remove_segment: NTE\n"
      "  - rename_segment: { from: OBR, to: ZBR }\n"
      "  - version: \"2.6\"\n");
  EXPECT_EQ(out,
            "MSH|^~\\&|LAB|HOSP|EHR|HOSP|20240115083000+0100||ORU^R01^ORU_R01|MSG00001|P|2.6\n"
            "PID|1||12345^^^HOSP^MR~A777^^^OTHER^PI||DOE^JANE^Q||19800214|F|||1 MAIN ST^^TOWN\n"
            "ZLB|MSG00001\n"
            "ZBR|1|ORD1|FIL1|GLU^Glucose^L|||20240115070000\n"
            "OBX|1|NM|GLU^Glucose^^^^||105|mg/dL|70-99|H|||F\n"
            "OBX|2|NM|NA^Sodium^LN||140|mmol/L|135-145|N|||P\n"
            "ZEN|end\n");
}

TEST(RulesTransform, RemoveOnePinnedSegment) {
  const std::string out = Transformed("  - remove_segment: \"OBX[1]\"\n");
  EXPECT_EQ(out.find("OBX|1|"), std::string::npos);
  EXPECT_NE(out.find("OBX|2|"), std::string::npos);
}

TEST(RulesTransform, DeleteEveryOccurrence) {
  const std::string out = Transformed("  - delete: OBX[*]-7\n");
  EXPECT_NE(out.find("OBX|1|NM|GLU^Glucose^^^^||105|mg/dL||H|||F"), std::string::npos) << out;
  EXPECT_NE(out.find("OBX|2|NM|NA^Sodium^LN||140|mmol/L||N|||P"), std::string::npos) << out;
}

TEST(RulesTransform, FilterRunsBeforeTransform) {
  hl7::Message m = LabResult();
  StageResult r = RunOn(
      "filter: { path: MSH-9.1, equals: ADT }\n"
      "transform:\n  - set: { path: MSH-5, value: X }\n",
      &m);
  EXPECT_EQ(r.kind, Kind::kFiltered);
  EXPECT_FALSE(m.modified());
}

// ---- value helpers ----

TEST(RulesValues, CompareDatesAndFormat) {
  using internal::CompareDates;
  auto d = [](const char* s) { return *hl7::ParseDtm(s); };
  EXPECT_EQ(CompareDates(d("2024"), d("20240115")), 0);
  EXPECT_EQ(CompareDates(d("20240115"), d("202402")), -1);
  EXPECT_EQ(CompareDates(d("202401150000+0100"), d("202401142300+0000")), 0);
  EXPECT_EQ(CompareDates(d("202401150000+0100"), d("202401142259+0000")), 1);
  EXPECT_EQ(internal::FormatDate(d("20240115133005.12-0500"), "%d/%m/%y %H:%M:%S.%f %Z"),
            "15/01/24 13:30:05.12 -05:00");
  EXPECT_EQ(internal::WithPrecision(d("2024"), hl7::DatePrecision::kMinute).ToHl7(),
            "202401010000");
  double n = 0;
  EXPECT_TRUE(internal::ParseNumber(" -1.5 ", &n));
  EXPECT_EQ(n, -1.5);
  EXPECT_FALSE(internal::ParseNumber("1e", &n));
  EXPECT_FALSE(internal::ParseNumber("", &n));
}

// The benchmark pipeline of the issue: a filter, three declarative steps and
// one Lua step. Not a timed test (bench/ holds those); it prints msg/s and
// checks the pipeline is far from pathological.
TEST(RulesPipeline, TypicalPipelineThroughput) {
  auto pipeline = Build(
      "tables:\n  sex: { M: male, F: female, \"*\": unknown }\n"
      "filter:\n  all:\n    - { path: MSH-9.1, in: [ORU] }\n"
      "    - { path: PID-3.1, matches: \"^[0-9]+$\" }\n"
      "    - not: { path: OBX-11, equals: X }\n"
      "transform:\n"
      "  - set: { path: MSH-5, value: EHR }\n"
      "  - copy: { from: PID-3.1, to: PID-2.1 }\n"
      "  - map: { path: PID-8, table: sex }\n"
      "  - lua: |\n"
      "      for obx in msg:segments(\"OBX\") do\n"
      "        if obx:get(\"3.3\") == \"\" then obx:set(\"3.3\", \"LN\") end\n"
      "      end\n");
  ASSERT_TRUE(pipeline.ok()) << pipeline.status().message();
  const hl7::Message original = LabResult();
  MessageContext context;
  const int n = 5000;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    hl7::Message m = original;
    context.message_id = i;
    ASSERT_EQ((*pipeline)->Run(&m, context).kind, Kind::kPass);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("typical pipeline: %.0f msg/s (debug+sanitizers)\n", n / seconds);
  hl7::Message m = original;
  ASSERT_EQ((*pipeline)->Run(&m, context).kind, Kind::kPass);
  EXPECT_EQ(m.Get("OBX[1]-3.3"), "LN");
  EXPECT_EQ(m.Get("PID-8"), "female");
}

}  // namespace
}  // namespace junction::engine
