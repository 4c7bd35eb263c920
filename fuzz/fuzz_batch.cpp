// Fuzz target: batch/stream splitting (SplitBatch and MessageSplitter).
//
// Invariants checked:
//  - every span lies inside the input, in order, without overlap, and starts at "MSH";
//  - control and stray items lie inside the input and carry their segment id;
//  - the strict splitter, when it succeeds, finds exactly the messages the
//    lenient one finds, and its header/trailer segments are where it says;
//  - errors carry a message and an offset inside the input;
//  - a span that parses as a message encodes back to the span's bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "junction/hl7/batch.h"
#include "junction/hl7/message.h"

namespace {

using junction::hl7::MessageSpan;
using junction::hl7::MessageSplitter;

void CheckSpans(std::string_view input, const std::vector<MessageSpan>& spans) {
  std::size_t last_end = 0;
  for (const MessageSpan& s : spans) {
    JFUZZ_CHECK(s.offset >= last_end);
    JFUZZ_CHECK(s.length >= 4);
    JFUZZ_CHECK(s.offset + s.length <= input.size());
    JFUZZ_CHECK_EQ(input.substr(s.offset, 3), "MSH");
    last_end = s.offset + s.length;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  junction::hl7::SplitOptions options;
  options.max_messages = 500;  // small bounds so the fuzzer reaches the bound checks too
  options.max_findings = 8;

  // Lenient, low level.
  std::vector<MessageSpan> lenient;
  {
    MessageSplitter items(input, options);
    MessageSplitter::Item item;
    std::size_t last_end = 0;
    while (items.NextItem(&item)) {
      JFUZZ_CHECK(item.offset >= last_end);
      JFUZZ_CHECK(item.offset + item.length <= size);
      if (item.kind == MessageSplitter::Item::Kind::kMessage) {
        lenient.push_back({item.offset, item.length});
      } else if (item.length >= 3) {
        JFUZZ_CHECK_EQ(std::string_view(item.id, 3), input.substr(item.offset, 3));
      }
      last_end = item.offset + item.length;
    }
    JFUZZ_CHECK(items.findings().size() <= options.max_findings);
    JFUZZ_CHECK(items.finding_count() >= items.findings().size());
    if (!items.status().ok()) JFUZZ_CHECK(!items.status().message().empty());
  }
  CheckSpans(input, lenient);

  // Lenient, message level: the same messages as the item level.
  {
    MessageSplitter splitter(input, options);
    MessageSpan span;
    std::size_t n = 0;
    while (splitter.Next(&span)) {
      JFUZZ_CHECK(n < lenient.size());
      JFUZZ_CHECK(span.offset == lenient[n].offset && span.length == lenient[n].length);
      ++n;
    }
    JFUZZ_CHECK(n == lenient.size());
    JFUZZ_CHECK(splitter.messages() == n);
  }

  // Strict.
  auto batch = junction::hl7::SplitBatch(input, options);
  if (!batch.ok()) {
    JFUZZ_CHECK(!batch.status().message().empty());
    JFUZZ_CHECK(!batch.status().has_offset() || batch.status().offset() <= size);
  } else {
    CheckSpans(input, batch->messages);
    JFUZZ_CHECK(batch->messages.size() == lenient.size());
    for (std::size_t i = 0; i < lenient.size(); ++i) {
      JFUZZ_CHECK(batch->messages[i].offset == lenient[i].offset &&
                  batch->messages[i].length == lenient[i].length);
    }
    for (const auto& h : batch->headers) {
      JFUZZ_CHECK(h.offset + h.length <= size);
      const std::string_view id = h.id();
      JFUZZ_CHECK(id == "FHS" || id == "BHS" || id == "BTS" || id == "FTS");
      JFUZZ_CHECK_EQ(input.substr(h.offset, 3), id);
    }
  }

  // Each message found parses or fails cleanly; parsed ones round-trip.
  for (const MessageSpan& s : lenient) {
    const std::string_view bytes = input.substr(s.offset, s.length);
    auto m = junction::hl7::Message::Parse(bytes);
    if (m.ok()) JFUZZ_CHECK_EQ(m->Encode(), bytes);
  }
  return 0;
}
