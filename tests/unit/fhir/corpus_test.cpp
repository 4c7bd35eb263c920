// Converts every message of ../shared/corpus (when present): no failure on a
// parseable message, output serializes to JSON that parses back, and every
// reference resolves.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "junction/hl7/batch.h"
#include "test_util.h"

namespace junction::fhir::testing {
namespace {

TEST(FhirCorpus, EveryMessageConverts) {
  const char* src = std::getenv("JUNCTION_SOURCE_DIR");
  std::filesystem::path root = std::filesystem::path(src ? src : ".") / ".." / "shared" / "corpus";
  if (!std::filesystem::exists(root)) GTEST_SKIP() << "no corpus at " << root;
  int files = 0, messages = 0;
  // JUNCTION_FHIR_DUMP=file writes every Bundle there (NDJSON), e.g. for
  // tests/fhir-validate/validate.js.
  const char* dump_path = std::getenv("JUNCTION_FHIR_DUMP");
  std::ofstream dump;
  if (dump_path) dump.open(dump_path, std::ios::binary);
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file()) continue;
    auto ext = entry.path().extension();
    if (ext != ".hl7" && ext != ".bin" && ext != ".txt") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string bytes = ss.str();
    ++files;
    hl7::MessageSplitter splitter(bytes);
    hl7::MessageSpan span;
    while (splitter.Next(&span)) {
      auto msg = hl7::Message::Parse(std::string_view(bytes).substr(span.offset, span.length));
      if (!msg.ok()) continue;
      ++messages;
      auto res = Convert(*msg);
      ASSERT_TRUE(res.ok()) << entry.path() << ": " << res.status().ToString();
      std::string out = Serialize(res->bundle, false);
      if (dump) dump << out << "\n";
      std::error_code ec;
      json::value back = json::parse(out, ec);
      ASSERT_FALSE(ec) << entry.path() << ": invalid JSON";
      EXPECT_TRUE(ReferencesResolve(back.as_object())) << entry.path();
      EXPECT_EQ(out, Serialize(Convert(*msg)->bundle, false)) << entry.path() << ": not deterministic";
    }
  }
  EXPECT_GT(messages, 0);
  std::cout << "converted " << messages << " messages from " << files << " files\n";
}

}  // namespace
}  // namespace junction::fhir::testing
