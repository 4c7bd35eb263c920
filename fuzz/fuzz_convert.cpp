// Fuzz target: Message::Parse, then fhir::Convert on whatever parsed.
//
// Invariants checked (not just "no crash"):
//  - Serialize() output, compact and pretty, is valid JSON (boost::json::parse)
//    and reads back as the very Bundle that was serialized;
//  - compact output is one line (it is printed as NDJSON);
//  - the Bundle is a Bundle of the requested type, and every entry has a
//    resource with a resourceType; transaction/batch entries carry a request;
//  - every Reference.reference resolves: to an entry fullUrl, to an entry's
//    Type/id, to a contained resource (#id), or is conditional (Type?query) or
//    an http(s) URL (what convert.h promises);
//  - converting again gives the same bytes (determinism);
//  - every issue names a severity, a location and a message.
// The first input byte picks the Bundle type and default zone, so the fuzzer
// covers the options too; the rest is the message.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "junction/fhir/convert.h"
#include "junction/hl7/message.h"

namespace {

namespace json = boost::json;
using junction::fhir::BundleType;
using junction::fhir::ConvertOptions;

constexpr std::size_t kMaxDepth = 64;  // JSON nesting the converter can produce is far less

struct Targets {
  std::set<std::string, std::less<>> full_urls;
  std::set<std::string, std::less<>> type_ids;  // "Patient/abc"
};

bool IsConditional(std::string_view ref) {
  const auto q = ref.find('?');
  if (q == std::string_view::npos || q == 0 || q + 1 >= ref.size()) return false;
  for (std::size_t i = 0; i < q; ++i) {
    const char c = ref[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return false;
  }
  return ref.find('=', q) != std::string_view::npos;
}

// Checks every "reference" string below `v`; `contained` is the set of ids of
// the current resource's contained resources.
void CheckReferences(const json::value& v, const Targets& t, const std::set<std::string>& contained,
                     std::size_t depth) {
  JFUZZ_CHECK(depth < kMaxDepth);
  if (v.is_array()) {
    for (const auto& item : v.get_array()) CheckReferences(item, t, contained, depth + 1);
    return;
  }
  if (!v.is_object()) return;
  for (const auto& kv : v.get_object()) {
    if (kv.key() == "reference" && kv.value().is_string()) {
      const std::string_view ref = kv.value().get_string();
      const bool ok = t.full_urls.count(ref) != 0 || t.type_ids.count(ref) != 0 ||
                      (ref.size() > 1 && ref[0] == '#' && contained.count(std::string(ref.substr(1))) != 0) ||
                      IsConditional(ref) || ref.rfind("http://", 0) == 0 || ref.rfind("https://", 0) == 0;
      if (!ok) junction::fuzz::Fail(__FILE__, __LINE__, "reference does not resolve", ref);
    } else {
      CheckReferences(kv.value(), t, contained, depth + 1);
    }
  }
}

void CheckBundle(const json::object& bundle, BundleType type) {
  const json::value* rt = bundle.if_contains("resourceType");
  JFUZZ_CHECK(rt != nullptr && rt->is_string() && rt->get_string() == "Bundle");
  const json::value* bt = bundle.if_contains("type");
  JFUZZ_CHECK(bt != nullptr && bt->is_string());
  const std::string_view want = type == BundleType::kTransaction ? "transaction"
                                : type == BundleType::kBatch     ? "batch"
                                                                 : "collection";
  JFUZZ_CHECK_EQ(std::string_view(bt->get_string()), want);
  const json::value* entries = bundle.if_contains("entry");
  if (entries == nullptr) return;
  JFUZZ_CHECK(entries->is_array());
  Targets targets;
  for (const auto& e : entries->get_array()) {
    JFUZZ_CHECK(e.is_object());
    const json::object& entry = e.get_object();
    const json::value* resource = entry.if_contains("resource");
    JFUZZ_CHECK(resource != nullptr && resource->is_object());
    const json::value* rtype = resource->get_object().if_contains("resourceType");
    JFUZZ_CHECK(rtype != nullptr && rtype->is_string() && !rtype->get_string().empty());
    JFUZZ_CHECK(entry.contains("request") == (type != BundleType::kCollection));
    if (const json::value* url = entry.if_contains("fullUrl")) {
      JFUZZ_CHECK(url->is_string());
      JFUZZ_CHECK(targets.full_urls.insert(std::string(url->get_string())).second);  // unique
    }
    if (const json::value* id = resource->get_object().if_contains("id")) {
      JFUZZ_CHECK(id->is_string());
      targets.type_ids.insert(std::string(rtype->get_string()) + "/" + std::string(id->get_string()));
    }
  }
  for (const auto& e : entries->get_array()) {
    const json::object& resource = e.get_object().at("resource").get_object();
    std::set<std::string> contained;
    if (const json::value* c = resource.if_contains("contained"); c != nullptr && c->is_array()) {
      for (const auto& r : c->get_array()) {
        if (const json::value* id = r.is_object() ? r.get_object().if_contains("id") : nullptr;
            id != nullptr && id->is_string()) {
          contained.insert(std::string(id->get_string()));
        }
      }
    }
    CheckReferences(e.get_object().at("resource"), targets, contained, 0);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  ConvertOptions options;
  const std::uint8_t selector = data[0];
  options.bundle = selector % 3 == 0   ? BundleType::kTransaction
                   : selector % 3 == 1 ? BundleType::kBatch
                                       : BundleType::kCollection;
  static const char* const kZones[] = {"UTC", "America/New_York", "+05:30", "Europe/Berlin"};
  options.default_timezone = kZones[(selector / 3) % 4];
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);

  auto message = junction::hl7::Message::Parse(bytes);
  if (!message.ok()) return 0;
  auto result = junction::fhir::Convert(*message, options);
  if (!result.ok()) {
    JFUZZ_CHECK(!result.status().message().empty());
    return 0;
  }
  const std::string compact = junction::fhir::Serialize(result->bundle, false);
  const std::string pretty = junction::fhir::Serialize(result->bundle, true);
  JFUZZ_CHECK(compact.find('\n') == std::string::npos);
  boost::system::error_code ec;
  const json::value reparsed = json::parse(compact, ec);
  if (ec) junction::fuzz::Fail(__FILE__, __LINE__, "compact output is not JSON", compact);
  const json::value reparsed_pretty = json::parse(pretty, ec);
  if (ec) junction::fuzz::Fail(__FILE__, __LINE__, "pretty output is not JSON", pretty);
  JFUZZ_CHECK(reparsed.is_object());
  JFUZZ_CHECK(reparsed == json::value(result->bundle));
  JFUZZ_CHECK(reparsed_pretty == reparsed);
  CheckBundle(reparsed.get_object(), options.bundle);

  for (const auto& issue : result->issues) {
    JFUZZ_CHECK(issue.severity == "error" || issue.severity == "warning" || issue.severity == "information");
    JFUZZ_CHECK(!issue.location.empty());
    JFUZZ_CHECK(!issue.message.empty());
  }

  auto again = junction::fhir::Convert(*message, options);
  JFUZZ_CHECK(again.ok());
  JFUZZ_CHECK_EQ(junction::fhir::Serialize(again->bundle, false), compact);
  return 0;
}
