// Validation of a message against the HL7 v2 standard (2.1–2.7.1) and local profiles.
//
//   auto msg = Message::Parse(bytes);
//   ValidationReport report = Validate(*msg);
//   for (const Finding& f : report.findings)
//     std::cout << f.path << " " << SeverityName(f.severity) << " " << f.code << " " << f.message;
//   if (!report.ok()) ...  // at least one error
//
// Checks: segment order and cardinality against the message structure (from MSH-9.3
// or the event→structure table), required fields, repetition limits, lengths
// (warning), datatype formats (NM, SI, DT, DTM/TS, TM), ID values against HL7
// tables. Z-segments are allowed; unknown segments are a warning. Messages of 2.8
// and later are checked against 2.7.1 with a warning. A Profile tightens the rules.
//
// Profiles: build one in code (then call CompileProfile once, so paths are
// parsed and regexes compiled a single time), or load one from YAML with
// junction/profile/profile_yaml.h. An uncompiled profile still works: Validate
// then compiles it on every call. See docs/validation.md.
//
// Thread safety: Validate is reentrant; a Profile is immutable once built.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "junction/hl7/message.h"

namespace junction::hl7 {

enum class Severity { kError, kWarning, kInfo };
std::string_view SeverityName(Severity s);  // "error", "warning", "info"

struct Finding {
  std::string path;  // e.g. "PID-7", "OBX[2]-2", "PID" (a whole segment), "" (the message)
  Severity severity = Severity::kError;
  int code = 0;  // HL7 table 0357: 100 segment sequence, 101 required field missing,
                 // 102 data type error, 103 table value not found, 104 value too long,
                 // 200 unsupported message type, 201 unsupported event, 203 unsupported
                 // version, 207 internal (e.g. an invalid profile)
  std::string message;  // plain English, no message content beyond the offending value
};

// A local conformance profile for one message type, tightening the standard.
struct Profile {
  struct FieldRule {
    std::string path;                  // e.g. "PID-3", "PID-5.1", "OBX-3.3"
    bool required = false;
    std::set<std::string> allowed;     // when non-empty, the value must be one of these
    int min_repetitions = 0;           // 0 = no minimum beyond `required`
    int max_repetitions = 0;           // 0 = no limit beyond the standard
    std::string pattern;               // ECMAScript regex the value must match (optional)
  };
  struct SegmentRule {
    std::string segment;  // e.g. "OBX"
    int min = 0;
    int max = 0;  // 0 = unbounded
  };
  std::string name;
  std::string message_type;  // e.g. "ADT^A01" or "ORU^R01"; "" = any
  std::string version;       // pin a version; "" = use MSH-12
  std::vector<FieldRule> fields;
  std::vector<SegmentRule> segments;

  // Parsed paths and compiled regexes, filled by CompileProfile; null until then.
  // Opaque so this header does not pull in <regex>.
  struct Compiled;
  std::shared_ptr<const Compiled> compiled;
};

// Checks every rule (paths parse and name a field, counts are sane, patterns are
// valid ECMAScript regexes) and caches the parsed paths and compiled regexes in
// profile->compiled. On error the profile is left uncompiled and the Status
// names the rule, e.g. "fields[2] (PID-8): pattern: ...". Safe to call again.
Status CompileProfile(Profile* profile);

// Values longer than this are not matched against a profile pattern (std::regex
// recurses per character); they are reported instead of being matched.
inline constexpr std::size_t kMaxPatternInput = 4096;

struct ValidationOptions {
  const Profile* profile = nullptr;
  bool check_lengths = true;   // length overruns are warnings
  bool check_tables = true;    // ID/IS values against HL7 tables
  std::string fallback_version = "2.5.1";  // when MSH-12 is empty or unknown
  std::size_t max_findings = 1000;         // bounded report
};

struct ValidationReport {
  std::string version_used;  // the dictionary version the message was checked against
  std::string structure;     // e.g. "ADT_A01"
  std::vector<Finding> findings;
  bool truncated = false;    // max_findings was reached; later findings were dropped
  bool ok() const;           // no finding of severity error
  int errors() const;
  int warnings() const;
};

ValidationReport Validate(const Message& message, const ValidationOptions& options = {});

}  // namespace junction::hl7
