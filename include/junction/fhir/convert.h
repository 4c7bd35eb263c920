// HL7 v2 -> FHIR R4 (4.0.1) conversion.
//
// Converts one parsed HL7 v2 message into a FHIR Bundle (Boost.JSON), following
// the HL7 v2-to-FHIR Implementation Guide. Choices where the IG is silent, the
// resource id scheme and the unmapped-data report are described in
// docs/fhir-mapping.md.
//
//   auto msg = junction::hl7::Message::Parse(bytes);
//   junction::fhir::ConvertOptions opts;
//   opts.default_timezone = "Europe/Berlin";
//   auto res = junction::fhir::Convert(*msg, opts);
//   if (res.ok()) std::cout << junction::fhir::Serialize(res->bundle, false);
//   for (const auto& i : res->issues) std::cerr << i.location << ": " << i.message;
//
// Properties:
//  - Deterministic: resource ids are derived from business identifiers (never
//    time or randomness); converting the same message twice gives identical
//    bytes from Serialize().
//  - Nothing silent: every segment/field with data that is not mapped appears
//    in ConvertResult::issues and in an OperationOutcome entry of the Bundle.
//  - Every `reference` in the Bundle resolves to an entry's fullUrl.
//
// Thread safety: Convert and Serialize are pure functions; call them from any
// number of threads concurrently. Ownership: results are returned by value.
//
// Memory: each Bundle is built in its own arena (a bump allocator like
// boost::json::monotonic_resource) that ConvertResult::bundle owns
// (bundle.storage()): building it costs one allocation per arena block instead
// of one per JSON value, and destroying it frees the blocks at once without
// visiting the values. Values *inside* the bundle refer to the arena without
// owning it, so a part that must outlive the bundle has to be copied onto other
// storage, e.g. `json::value keep(bundle.at("entry"), json::storage_ptr());`
// (a plain copy, `json::value v = bundle.at("entry")`, would share the arena).
// Copying or moving the whole bundle object is safe. The arena is not
// thread-safe: do not add to or copy from one bundle on several threads at once
// (reading and Serialize are fine).
#pragma once

#include <boost/json.hpp>
#include <map>
#include <string>
#include <vector>

#include "junction/hl7/message.h"
#include "junction/hl7/status.h"

namespace junction::fhir {

enum class BundleType { kTransaction, kBatch, kCollection };

struct ConvertOptions {
  BundleType bundle = BundleType::kTransaction;
  // IANA zone name ("Europe/Berlin") or fixed offset ("+01:00"); applied to
  // DTM values that carry no offset. Never the host's zone.
  std::string default_timezone = "UTC";
  // Assigning authority (HD namespace id or universal id) -> identifier system URI.
  std::map<std::string, std::string> identifier_systems;
  // Prefix for non-OID authorities without a table entry: base + authority.
  std::string local_system_base = "urn:junction:id:";
};

// One unmapped or questionable piece of data, e.g. {"warning", "PID-11", "not mapped"}.
struct Issue {
  std::string severity;  // "error", "warning" or "information"
  std::string location;  // segment/field path, e.g. "ZPD", "PID-11", "OBX[3]-5"
  std::string message;
};

struct ConvertResult {
  boost::json::object bundle;
  std::vector<Issue> issues;
};

// Fails only when the message cannot be converted at all (e.g. no MSH, or an
// invalid default_timezone).
Result<ConvertResult> Convert(const hl7::Message& message, const ConvertOptions& options = {});

// Serializes with a deterministic key order (keys as inserted by Convert,
// "resourceType" first). pretty = two-space indentation. Writes through a
// per-thread scratch buffer that is kept between calls (64 KB, grown as needed;
// one grown past 4 MB is shrunk back to 64 KB after the call).
std::string Serialize(const boost::json::object& bundle, bool pretty);

// Parses "transaction" / "batch" / "collection".
Result<BundleType> ParseBundleType(std::string_view name);

}  // namespace junction::fhir
