// Fuzz target: Message::Parse on arbitrary bytes.
//
// Invariants checked (not just "no crash"):
//  - a failed parse has a non-empty message and an offset inside the input (when given);
//  - a parsed message encodes back to the input byte for byte;
//  - the index agrees with itself: FieldRaw/GetRaw/Count of every field match, and
//    every field's pieces (repetitions, components, subcomponents) decode without error;
//  - re-parsing the encoded bytes yields the same segments.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "junction/hl7/escape.h"
#include "junction/hl7/message.h"

namespace {

using junction::hl7::ForEachPiece;
using junction::hl7::Message;
using junction::hl7::NthPiece;
using junction::hl7::Path;

bool IsHeader(std::string_view id) { return id == "MSH" || id == "BHS" || id == "FHS"; }

// Walks every component of every field with escapes decoded, as a consumer would.
void VisitAll(const Message& m) {
  const auto& d = m.delimiters();
  std::string scratch;
  std::map<std::string_view, int> seen;  // occurrences of each segment id so far
  for (std::size_t s = 0; s < m.SegmentCount(); ++s) {
    const int occurrence = ++seen[m.SegmentId(s)];
    const int fields = m.FieldCount(s);
    for (int f = 1; f <= fields; ++f) {
      auto field = m.FieldRaw(s, f);
      JFUZZ_CHECK(field.has_value());
      if (IsHeader(m.SegmentId(s)) && f <= 2) continue;  // the delimiters themselves
      std::size_t reps = 0;
      ForEachPiece(*field, d.repetition, [&](std::string_view rep, std::size_t) {
        ++reps;
        ForEachPiece(rep, d.component, [&](std::string_view comp, std::size_t ci) {
          auto nth = NthPiece(rep, d.component, ci);
          JFUZZ_CHECK(nth.has_value());
          JFUZZ_CHECK_EQ(*nth, comp);
          scratch.clear();
          junction::hl7::UnescapeTo(comp, d, &scratch);
          if (!junction::hl7::NeedsUnescape(comp, d)) JFUZZ_CHECK_EQ(scratch, comp);
        });
      });
      // Count() agrees with the number of repetitions (0 for an empty field).
      Path path;
      std::memcpy(path.segment, m.SegmentId(s).data(), 3);
      path.occurrence = occurrence;
      path.field = f;
      const int expected = field->empty() ? 0 : static_cast<int>(reps);
      JFUZZ_CHECK(m.Count(path) == expected);
      path.repetition = Path::kAll;
      auto whole = m.GetRaw(path);
      JFUZZ_CHECK(whole.has_value());
      JFUZZ_CHECK_EQ(*whole, *field);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  junction::hl7::ParseOptions options;
  options.max_segments = 2000;  // small bounds so the fuzzer also reaches the bound checks
  options.max_fields_per_segment = 500;
  auto parsed = Message::Parse(input, options);
  if (!parsed.ok()) {
    const auto& status = parsed.status();
    JFUZZ_CHECK(!status.message().empty());
    JFUZZ_CHECK(!status.has_offset() || status.offset() <= size);
    return 0;
  }
  const Message& m = *parsed;
  JFUZZ_CHECK(m.SegmentCount() >= 1);
  JFUZZ_CHECK(m.SegmentId(0) == "MSH");
  JFUZZ_CHECK(!m.modified());
  JFUZZ_CHECK_EQ(m.original(), input);
  const std::string encoded = m.Encode();
  JFUZZ_CHECK_EQ(encoded, input);

  // Header shortcuts and the convenience getter never fail on a parsed message.
  (void)m.Version();
  (void)m.ControlId();
  (void)m.MessageCode();
  (void)m.TriggerEvent();
  (void)m.Get("PID-5.1");
  (void)m.Get("MSH-9");
  (void)m.Get("OBX[2]-5.1.1");
  VisitAll(m);

  // A copy is the same message.
  Message copy = m;
  JFUZZ_CHECK_EQ(copy.Encode(), input);

  // The encoded bytes parse to the same segments.
  auto again = Message::Parse(encoded, options);
  JFUZZ_CHECK(again.ok());
  JFUZZ_CHECK(again->SegmentCount() == m.SegmentCount());
  for (std::size_t s = 0; s < m.SegmentCount(); ++s) {
    JFUZZ_CHECK_EQ(again->SegmentText(s), m.SegmentText(s));
  }
  return 0;
}
