// Google Benchmark suite for junction::hl7 (one core). Run through
// bench/run-all.sh, which also times `junction stats` on a generated ~100 MB file
// and compares it with python-hl7 (see docs/performance.md).
//
//   build/release/bench/hl7_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <string>
#include <string_view>
#include <vector>

#include "junction/hl7/batch.h"
#include "junction/hl7/escape.h"
#include "junction/hl7/message.h"
#include "junction/hl7/path.h"
#include "sample_messages.h"

namespace {

using junction::hl7::Delimiters;
using junction::hl7::ForEachPiece;
using junction::hl7::Message;
using junction::hl7::Path;

const std::string& Oru() {
  static const std::string* s = new std::string(junction::bench::OruR01Sample());
  return *s;
}

bool IsHeader(std::string_view id) { return id == "MSH" || id == "BHS" || id == "FHS"; }

// Parse: copy the bytes into the message and build the segment/field index.
void BM_ParseIndex(benchmark::State& state) {
  const std::string_view bytes = Oru();
  for (auto _ : state) {
    auto m = Message::Parse(bytes);
    benchmark::DoNotOptimize(m);
    if (!m.ok()) state.SkipWithError("parse failed");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(bytes.size()));
  state.counters["msg_bytes"] = static_cast<double>(bytes.size());
}
BENCHMARK(BM_ParseIndex);

// Visits every component of every field (all repetitions) and decodes its escapes
// into one reused buffer: what a consumer reading the whole message does.
std::size_t VisitAll(const Message& m, std::string* scratch) {
  const Delimiters& d = m.delimiters();
  std::size_t total = 0;
  for (std::size_t s = 0; s < m.SegmentCount(); ++s) {
    const int fields = m.FieldCount(s);
    for (int f = IsHeader(m.SegmentId(s)) ? 3 : 1; f <= fields; ++f) {
      const std::string_view field = *m.FieldRaw(s, f);
      ForEachPiece(field, d.repetition, [&](std::string_view rep, std::size_t) {
        ForEachPiece(rep, d.component, [&](std::string_view comp, std::size_t) {
          scratch->clear();
          junction::hl7::UnescapeTo(comp, d, scratch);
          total += scratch->size();
        });
      });
    }
  }
  return total;
}

void BM_ParseVisitDecoded(benchmark::State& state) {
  const std::string_view bytes = Oru();
  std::string scratch;
  scratch.reserve(1024);
  for (auto _ : state) {
    auto m = Message::Parse(bytes);
    benchmark::DoNotOptimize(VisitAll(*m, &scratch));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(bytes.size()));
}
BENCHMARK(BM_ParseVisitDecoded);

// The visit alone, on a parsed message.
void BM_VisitDecoded(benchmark::State& state) {
  const std::string_view bytes = Oru();
  auto m = Message::Parse(bytes);
  std::string scratch;
  scratch.reserve(1024);
  for (auto _ : state) benchmark::DoNotOptimize(VisitAll(*m, &scratch));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(bytes.size()));
}
BENCHMARK(BM_VisitDecoded);

const std::vector<std::string_view>& CommonPaths() {
  static const auto* paths = new std::vector<std::string_view>{
      "MSH-9.1", "MSH-10",  "PID-3[1].1", "PID-5.1", "PID-5.2",
      "PID-7",   "PID-8",   "PV1-3.1",    "OBR-4.1", "OBX[3]-5"};
  return *paths;
}

// GetRaw of 10 common paths (paths parsed once, as a channel's compiled config would).
void BM_Get10PathsRaw(benchmark::State& state) {
  auto m = Message::Parse(std::string_view(Oru()));
  std::vector<Path> paths;
  for (std::string_view p : CommonPaths()) paths.push_back(*Path::Parse(p));
  for (auto _ : state) {
    for (const Path& p : paths) benchmark::DoNotOptimize(m->GetRaw(p));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 10);
}
BENCHMARK(BM_Get10PathsRaw);

// Get("PID-5.1") of 10 common paths: path text parsed each time, value decoded
// into a new std::string (the convenience API).
void BM_Get10PathsDecoded(benchmark::State& state) {
  auto m = Message::Parse(std::string_view(Oru()));
  for (auto _ : state) {
    for (std::string_view p : CommonPaths()) benchmark::DoNotOptimize(m->Get(p));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 10);
}
BENCHMARK(BM_Get10PathsDecoded);

// Re-encode an unmodified message (byte-identical output).
void BM_Encode(benchmark::State& state) {
  auto m = Message::Parse(std::string_view(Oru()));
  for (auto _ : state) benchmark::DoNotOptimize(m->Encode());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(Oru().size()));
}
BENCHMARK(BM_Encode);

// Re-encode after one edit (PID-5.1 set, so one segment is owned and re-indexed).
void BM_EncodeModified(benchmark::State& state) {
  auto m = Message::Parse(std::string_view(Oru()));
  (void)m->Set(*Path::Parse("PID-5.1"), "O'BRIEN & SONS");
  for (auto _ : state) benchmark::DoNotOptimize(m->Encode());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(Oru().size()));
}
BENCHMARK(BM_EncodeModified);

// Parse, set one field, encode: the typical transform step.
void BM_ParseSetEncode(benchmark::State& state) {
  const std::string_view bytes = Oru();
  const Path path = *Path::Parse("PID-5.1");
  for (auto _ : state) {
    auto m = Message::Parse(bytes);
    (void)m->Set(path, "DOE");
    benchmark::DoNotOptimize(m->Encode());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(bytes.size()));
}
BENCHMARK(BM_ParseSetEncode);

constexpr std::string_view kEscapedText =
    "Reviewed by technologist.\\.br\\Platelet clumps absent.\\.br\\Result \\F\\ verified "
    "\\E\\ released \\T\\ signed \\X0D0A\\ end.";

void BM_Unescape(benchmark::State& state) {
  const Delimiters d;
  std::string out;
  for (auto _ : state) {
    out.clear();
    junction::hl7::UnescapeTo(kEscapedText, d, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(kEscapedText.size()));
}
BENCHMARK(BM_Unescape);

void BM_Escape(benchmark::State& state) {
  const Delimiters d;
  const std::string text = junction::hl7::Unescape(kEscapedText, d);
  std::string out;
  for (auto _ : state) {
    out.clear();
    junction::hl7::EscapeTo(text, d, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_Escape);

// Split a ~1 MB in-memory stream of ORU and ADT messages and parse each message.
void BM_SplitAndParseStream(benchmark::State& state) {
  std::string stream;
  const std::string adt = junction::bench::AdtA01Sample();
  while (stream.size() < (1u << 20)) {
    stream += Oru();
    stream += adt;
  }
  for (auto _ : state) {
    junction::hl7::MessageSplitter splitter(stream);
    junction::hl7::MessageSpan span;
    std::size_t segments = 0;
    while (splitter.Next(&span)) {
      auto m = Message::Parse(std::string_view(stream).substr(span.offset, span.length));
      segments += m->SegmentCount();
    }
    benchmark::DoNotOptimize(segments);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(stream.size()));
}
BENCHMARK(BM_SplitAndParseStream);

}  // namespace

BENCHMARK_MAIN();
