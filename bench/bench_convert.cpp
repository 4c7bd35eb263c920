// Google Benchmark suite for the v2 -> FHIR converter (junction::fhir), one core.
// Figures and the command are recorded in docs/performance-fhir.md.
//
//   build/release/bench/bench_convert --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// Targets (issue 5), counted end to end: parse + Convert + Serialize (compact JSON):
//   ORU^R01 with 10 OBX                 >= 20,000 messages/s
//   ADT^A01 with NK1, AL1 and DG1       >= 50,000 messages/s
// The "msg/s" counter is messages per second of CPU time on one thread.
#include <benchmark/benchmark.h>

#include <string>
#include <string_view>

#include "junction/fhir/convert.h"
#include "junction/hl7/message.h"

namespace {

using junction::fhir::Convert;
using junction::fhir::Serialize;
using junction::hl7::Message;

// Self-written messages (made-up people). ORU: 10 OBX of mixed value types.
constexpr std::string_view kOru =
    "MSH|^~\\&|LABSYS|LAB^2.16.840.1.113883.19.2^ISO|EHR|HOSPA|20240301100000-0500||ORU^R01^ORU_R01|"
    "BENCH-ORU-1|P|2.5.1\r"
    "PID|1||MRN12345^^^HOSPA^MR||Doe^Jane^Q||19800229|F|||12 Main St^^Springfield^IL^62701^USA^H\r"
    "PV1|1|O|CLINIC1^^^HOSPA||||1234567^Primary^Paula^^^^^^NPI||||||||||||VN20240301^^^HOSPA^VN\r"
    "ORC|RE|PLC1001^EHR|FIL2002^LAB||CM||||20240301070000-0500|||1234567^Primary^Paula^^^^^^NPI\r"
    "OBR|1|PLC1001^EHR|FIL2002^LAB|58410-2^CBC panel - Blood by Automated count^LN|||20240301073000-0500"
    "|||||||||1234567^Primary^Paula^^^^^^NPI||||||20240301095500-0500|||F\r"
    "OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood^LN||7.2|10*3/uL^^UCUM|4.0-11.0|N|||F|||20240301073000-0500\r"
    "OBX|2|NM|789-8^Erythrocytes [#/volume] in Blood^LN||4.61|10*6/uL^^UCUM|3.80-5.20|N|||F|||20240301073000-0500\r"
    "OBX|3|NM|718-7^Hemoglobin [Mass/volume] in Blood^LN||13.9|g/dL^^UCUM|11.7-15.5|N|||F|||20240301073000-0500\r"
    "OBX|4|NM|4544-3^Hematocrit [Volume Fraction] of Blood^LN||41.2|%^^UCUM|35.0-45.0|N|||F|||20240301073000-0500\r"
    "OBX|5|NM|777-3^Platelets [#/volume] in Blood^LN||312|10*3/uL^^UCUM|140-400|N|||F|||20240301073000-0500\r"
    "OBX|6|SN|770-8^Neutrophils/100 leukocytes in Blood^LN||^58.1|%^^UCUM|40-75|N|||F|||20240301073000-0500\r"
    "OBX|7|ST|5909-7^Blood smear finding^LN||Normocytic \\T\\ normochromic|||N|||F|||20240301073000-0500\r"
    "OBX|8|CWE|600-7^Bacteria identified in Blood by Culture^LN||112283007^Escherichia coli^SCT|||A|||F|||"
    "20240301073000-0500\r"
    "OBX|9|TX|8251-1^Service comment^LN||Specimen slightly hemolyzed||||||F\r"
    "OBX|10|DTM|8601-7^EKG impression date^LN||20240301083000-0500||||||F\r"
    "SPM|1|SPC3003^LAB||122555007^Venous blood specimen^SCT|||||||||||||20240301073000-0500\r";

constexpr std::string_view kAdt =
    "MSH|^~\\&|ADTSYS|HOSPA^2.16.840.1.113883.19.1^ISO|RECV|RECVFAC|20240301101500+0100||ADT^A01^ADT_A01|"
    "BENCH-ADT-1|P|2.5.1\r"
    "EVN||20240301101000+0100\r"
    "PID|1||MRN12345^^^HOSPA^MR~987-65-4321^^^SSA^SS||Doe^Jane^Q^^Dr.||19800229|F|||12 Main St^Apt 4^"
    "Springfield^IL^62701^USA^H||^PRN^PH^^1^217^5550100|^WPN^PH^^1^217^5550199|en^English^ISO639|"
    "M^Married^HL70002\r"
    "NK1|1|Doe^John^A|SPO^Spouse^HL70063|12 Main St^^Springfield^IL^62701^USA|^PRN^PH^^1^217^5550101||"
    "EP^Emergency contact person^HL70131\r"
    "PV1|1|I|WARD1^101^A^HOSPA||||1234567^Primary^Paula^^^^^^NPI|||MED||||||||IP|VN20240301^^^HOSPA^VN"
    "|||||||||||||||||||||||||20240301093000+0100\r"
    "AL1|1|DA|70618^Penicillin^RXNORM|SV^Severe^HL70128|Hives~Wheezing|20100115\r"
    "DG1|1||I21.9^Acute myocardial infarction, unspecified^I10|||A\r";

// End to end: what a channel destination does for each message.
void RunEndToEnd(benchmark::State& state, std::string_view bytes) {
  std::size_t out_bytes = 0;
  for (auto _ : state) {
    auto m = Message::Parse(bytes);
    if (!m.ok()) {
      state.SkipWithError("parse failed");
      return;
    }
    auto r = Convert(*m);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      return;
    }
    std::string json = Serialize(r->bundle, false);
    out_bytes = json.size();
    benchmark::DoNotOptimize(json);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["msg/s"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                               benchmark::Counter::kIsRate);
  state.counters["in_bytes"] = static_cast<double>(bytes.size());
  state.counters["json_bytes"] = static_cast<double>(out_bytes);
}

void BM_OruR01_10Obx(benchmark::State& state) { RunEndToEnd(state, kOru); }
BENCHMARK(BM_OruR01_10Obx);

void BM_AdtA01_Nk1Al1Dg1(benchmark::State& state) { RunEndToEnd(state, kAdt); }
BENCHMARK(BM_AdtA01_Nk1Al1Dg1);

// The parts, to see where the time goes: Convert alone, Serialize alone.
void RunConvertOnly(benchmark::State& state, std::string_view bytes) {
  auto m = Message::Parse(bytes);
  if (!m.ok()) {
    state.SkipWithError("parse failed");
    return;
  }
  for (auto _ : state) {
    auto r = Convert(*m);
    benchmark::DoNotOptimize(r);
  }
  state.counters["msg/s"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                               benchmark::Counter::kIsRate);
}

void RunSerializeOnly(benchmark::State& state, std::string_view bytes) {
  auto m = Message::Parse(bytes);
  auto r = m.ok() ? Convert(*m) : junction::Result<junction::fhir::ConvertResult>(m.status());
  if (!r.ok()) {
    state.SkipWithError("convert failed");
    return;
  }
  for (auto _ : state) {
    std::string json = Serialize(r->bundle, false);
    benchmark::DoNotOptimize(json);
  }
  state.counters["msg/s"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                               benchmark::Counter::kIsRate);
}

void BM_OruR01_ConvertOnly(benchmark::State& state) { RunConvertOnly(state, kOru); }
BENCHMARK(BM_OruR01_ConvertOnly);
void BM_OruR01_SerializeOnly(benchmark::State& state) { RunSerializeOnly(state, kOru); }
BENCHMARK(BM_OruR01_SerializeOnly);
void BM_AdtA01_ConvertOnly(benchmark::State& state) { RunConvertOnly(state, kAdt); }
BENCHMARK(BM_AdtA01_ConvertOnly);
void BM_AdtA01_SerializeOnly(benchmark::State& state) { RunSerializeOnly(state, kAdt); }
BENCHMARK(BM_AdtA01_SerializeOnly);

}  // namespace

BENCHMARK_MAIN();
