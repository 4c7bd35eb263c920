// Fuzz target: Validate() on whatever Message::Parse accepts, with and without a
// local profile.
//
// Invariants checked:
//  - the report is bounded by ValidationOptions::max_findings;
//  - ok() agrees with errors(), and errors() + warnings() never exceed the findings;
//  - every finding has a message and a known severity;
//  - validation does not modify the message (Encode() is still the input).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"
#include "junction/hl7/message.h"
#include "junction/hl7/validate.h"

namespace {

using junction::hl7::Message;
using junction::hl7::Profile;
using junction::hl7::Severity;
using junction::hl7::ValidationOptions;
using junction::hl7::ValidationReport;

const Profile& TestProfile() {
  static const Profile* profile = [] {
    auto* p = new Profile;
    p->name = "fuzz";
    p->fields.push_back({"PID-3", true, {}, 1, 5, ""});
    p->fields.push_back({"PID-8", false, {"M", "F", "U"}, 0, 0, ""});
    p->fields.push_back({"OBX-2", false, {}, 0, 0, "[A-Z]{2,3}"});
    p->fields.push_back({"MSH-10", true, {}, 0, 0, "[A-Za-z0-9-]{1,20}"});
    p->segments.push_back({"OBX", 0, 50});
    p->segments.push_back({"PID", 1, 1});
    return p;
  }();
  return *profile;
}

void CheckReport(const ValidationReport& r, const ValidationOptions& options) {
  JFUZZ_CHECK(r.findings.size() <= options.max_findings + 1);  // +1: a "more findings" note
  JFUZZ_CHECK(r.ok() == (r.errors() == 0));
  JFUZZ_CHECK(r.errors() >= 0 && r.warnings() >= 0);
  JFUZZ_CHECK(static_cast<std::size_t>(r.errors() + r.warnings()) <= r.findings.size());
  for (const auto& f : r.findings) {
    JFUZZ_CHECK(!f.message.empty());
    JFUZZ_CHECK(f.severity == Severity::kError || f.severity == Severity::kWarning ||
                f.severity == Severity::kInfo);
    JFUZZ_CHECK(!junction::hl7::SeverityName(f.severity).empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  junction::hl7::ParseOptions parse_options;
  parse_options.max_segments = 1000;
  auto parsed = Message::Parse(input, parse_options);
  if (!parsed.ok()) return 0;
  const Message& m = *parsed;

  ValidationOptions plain;
  CheckReport(junction::hl7::Validate(m, plain), plain);

  ValidationOptions tight;
  tight.profile = &TestProfile();
  tight.max_findings = 5;
  tight.check_tables = (size & 1) != 0;
  tight.check_lengths = (size & 2) != 0;
  tight.fallback_version = (size & 4) != 0 ? "2.3" : "2.7.1";
  CheckReport(junction::hl7::Validate(m, tight), tight);

  JFUZZ_CHECK_EQ(m.Encode(), input);
  return 0;
}
