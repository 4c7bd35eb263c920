// Loading a local conformance profile (junction::hl7::Profile) from YAML.
//
//   Result<hl7::Profile> p = profile::LoadProfileYaml("profiles/adt_a01_strict.yaml");
//   if (!p.ok()) { std::cerr << p.status().message() << "\n"; return 2; }
//   hl7::ValidationOptions options;
//   options.profile = &*p;
//   hl7::ValidationReport report = hl7::Validate(message, options);
//
// The format (see docs/validation.md):
//
//   name: adt-a01-strict
//   message_type: ADT^A01      # optional; CODE or CODE^EVENT
//   version: "2.5.1"           # optional; pins the dictionary version
//   segments:
//     - { segment: PV1, min: 1, max: 1 }
//   fields:
//     - { path: PID-3, required: true, min_repetitions: 1 }
//     - { path: PID-8, allowed: [F, M, U] }
//     - { path: PID-7, required: true, pattern: "^[0-9]{8}" }
//
// Unknown keys and bad values are rejected with "file:line: key: reason" (line
// 1-based). The returned profile is already compiled (hl7::CompileProfile), so
// validating with it parses no paths and compiles no regexes.
//
// This library (junction::profile) uses yaml-cpp; junction::hl7 does not.
// Thread safety: the functions are reentrant; the result is a plain value.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "junction/hl7/status.h"
#include "junction/hl7/validate.h"

namespace junction::profile {

// Bounds on what a profile file may hold.
inline constexpr std::size_t kMaxProfileBytes = 1u << 20;
inline constexpr std::size_t kMaxRules = 10'000;
inline constexpr std::size_t kMaxAllowedValues = 10'000;

// Reads and parses `file`. I/O failures are kIoError; bad content kInvalidArgument.
Result<hl7::Profile> LoadProfileYaml(const std::string& file);

// Parses YAML text; `source` names it in errors (e.g. the file name).
Result<hl7::Profile> ParseProfileYaml(std::string_view text, std::string_view source = "<profile>");

}  // namespace junction::profile
