// JSON helpers: bounded-depth parsing, OperationOutcome bodies, _summary and
// _elements subsetting.
#include <algorithm>
#include <array>

#include "fhir/rest/rest_internal.h"

namespace junction::fhir {

std::string OperationOutcomeJson(std::string_view severity, std::string_view code,
                                 std::string_view diagnostics) {
  return boost::json::serialize(rest_internal::OutcomeObject(severity, code, diagnostics));
}

std::string_view IssueTypeForStatus(int status) {
  switch (status) {
    case 400:
      return "invalid";
    case 401:
      return "login";
    case 403:
      return "forbidden";
    case 404:
      return "not-found";
    case 405:
    case 406:
    case 415:
      return "not-supported";
    case 408:
      return "timeout";
    case 409:
    case 412:
      return "conflict";
    case 410:
      return "deleted";
    case 413:  // the body (or a Bundle's entry count) is over the limit
    case 431:  // the headers are
      return "too-long";
    case 422:
      return "processing";
    case 429:
      return "throttled";
    case 503:
      return "transient";
    default:
      return status >= 500 ? "exception" : "processing";
  }
}

}  // namespace junction::fhir

namespace junction::fhir::rest_internal {
namespace {

// Elements marked isSummary in the R4 definitions of the types we serve most,
// by base name (a choice element "value" keeps valueQuantity, valueString...).
// Other types fall back to "everything but text and contained".
struct SummaryList {
  std::string_view type;
  std::vector<std::string_view> elements;
};

const std::vector<SummaryList>& SummaryLists() {
  static const std::vector<SummaryList> kLists = {
      {"Patient",
       {"identifier", "active", "name", "telecom", "gender", "birthDate", "deceased", "address",
        "managingOrganization", "link"}},
      {"Observation",
       {"identifier", "basedOn", "partOf", "status", "code", "subject", "focus", "encounter",
        "effective", "issued", "performer", "value", "hasMember", "derivedFrom", "component"}},
      {"Encounter",
       {"identifier", "status", "class", "type", "serviceType", "priority", "subject",
        "episodeOfCare", "basedOn", "participant", "appointment", "period", "length", "reasonCode",
        "reasonReference", "diagnosis", "account", "serviceProvider", "partOf"}},
      {"Condition",
       {"identifier", "clinicalStatus", "verificationStatus", "severity", "code", "bodySite",
        "subject", "encounter", "onset", "abatement", "recordedDate"}},
      {"Practitioner",
       {"identifier", "active", "name", "telecom", "address", "gender", "birthDate"}},
      {"Organization", {"identifier", "active", "type", "name", "alias", "partOf"}},
      {"DiagnosticReport",
       {"identifier", "basedOn", "status", "category", "code", "subject", "encounter", "effective",
        "issued", "performer", "resultsInterpreter", "specimen", "result", "conclusionCode"}},
      {"AllergyIntolerance",
       {"identifier", "clinicalStatus", "verificationStatus", "type", "category", "criticality",
        "code", "patient", "encounter", "onset", "recordedDate", "lastOccurrence"}},
      {"MedicationRequest",
       {"identifier", "status", "intent", "doNotPerform", "medication", "subject", "encounter",
        "authoredOn", "requester"}},
  };
  return kLists;
}

// Always kept: the resource's identity and its modifiers.
constexpr std::array<std::string_view, 5> kAlwaysKept = {"resourceType", "id", "meta",
                                                         "implicitRules", "modifierExtension"};

// `key` is `element` or a choice of it ("valueQuantity" for "value").
bool MatchesElement(std::string_view key, std::string_view element) {
  if (key == element) return true;
  return key.size() > element.size() && key.substr(0, element.size()) == element &&
         key[element.size()] >= 'A' && key[element.size()] <= 'Z';
}

template <typename List>
bool InList(std::string_view key, const List& list) {
  return std::any_of(list.begin(), list.end(),
                     [&](const auto& element) { return MatchesElement(key, element); });
}

void MarkSubsetted(json::object& resource) {
  json::object& meta = resource["meta"].is_object() ? resource["meta"].as_object()
                                                    : resource["meta"].emplace_object();
  json::value& tags = meta["tag"];
  if (!tags.is_array()) tags.emplace_array();
  tags.as_array().push_back(
      json::object{{"system", "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"},
                   {"code", "SUBSETTED"},
                   {"display", "Resource encoded in summary mode"}});
}

void KeepOnly(json::object& resource, const std::function<bool(std::string_view)>& keep) {
  for (auto it = resource.begin(); it != resource.end();) {
    if (InList(it->key(), kAlwaysKept) || keep(it->key())) {
      ++it;
    } else {
      it = resource.erase(it);
    }
  }
}

void AddPatientReference(const json::value* ref, std::set<std::string>* patients) {
  if (ref == nullptr || !ref->is_object()) return;
  const json::value* text = ref->as_object().if_contains("reference");
  if (text == nullptr || !text->is_string()) return;
  std::string_view value = text->as_string();
  constexpr std::string_view kPrefix = "Patient/";
  if (value.substr(0, kPrefix.size()) != kPrefix) return;
  std::string_view id = value.substr(kPrefix.size());
  if (IsValidId(id)) patients->emplace(id);
}

}  // namespace

std::optional<json::value> ParseJson(std::string_view body, std::string* error) {
  json::parse_options options;
  options.max_depth = kMaxJsonDepth;
  boost::system::error_code ec;
  json::value value = json::parse(body, ec, {}, options);
  if (ec) {
    if (ec == json::error::too_deep) {
      *error = "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels";
    } else {
      *error = "malformed JSON: " + ec.message();
    }
    return std::nullopt;
  }
  return value;
}

json::object OutcomeObject(std::string_view severity, std::string_view code,
                           std::string_view diagnostics) {
  json::object issue{{"severity", severity}, {"code", code}};
  if (!diagnostics.empty()) issue["diagnostics"] = diagnostics;
  return json::object{{"resourceType", "OperationOutcome"}, {"issue", json::array{issue}}};
}

RestResponse OutcomeResponse(int status, std::string_view severity, std::string_view code,
                             std::string_view diagnostics) {
  RestResponse response;
  response.status = status;
  response.body = json::serialize(OutcomeObject(severity, code, diagnostics));
  return response;
}

RestResponse ErrorResponse(int status, std::string_view diagnostics) {
  return OutcomeResponse(status, status >= 500 ? "fatal" : "error", IssueCode(status), diagnostics);
}

RestResponse JsonResponse(int status, const json::value& body) {
  RestResponse response;
  response.status = status;
  response.body = json::serialize(body);
  return response;
}

void ApplySubset(json::object& resource, std::string_view summary,
                 const std::vector<std::string>& elements) {
  if (!elements.empty()) {
    KeepOnly(resource, [&](std::string_view key) { return InList(key, elements); });
    MarkSubsetted(resource);
    return;
  }
  if (summary == "true") {
    const json::value* type = resource.if_contains("resourceType");
    const SummaryList* list = nullptr;
    if (type != nullptr && type->is_string()) {
      for (const auto& candidate : SummaryLists()) {
        if (candidate.type == type->as_string()) list = &candidate;
      }
    }
    if (list != nullptr) {
      KeepOnly(resource, [&](std::string_view key) { return InList(key, list->elements); });
    } else {
      resource.erase("text");
      resource.erase("contained");
    }
    MarkSubsetted(resource);
  } else if (summary == "text") {
    KeepOnly(resource, [](std::string_view key) { return key == "text"; });
    MarkSubsetted(resource);
  } else if (summary == "data") {
    resource.erase("text");
    MarkSubsetted(resource);
  }
}

void CollectPatients(const json::object& resource, std::set<std::string>* patients) {
  const json::value* type = resource.if_contains("resourceType");
  if (type != nullptr && type->is_string() && type->as_string() == "Patient") {
    const json::value* id = resource.if_contains("id");
    if (id != nullptr && id->is_string() && IsValidId(id->as_string())) {
      patients->emplace(id->as_string());
    }
    return;
  }
  AddPatientReference(resource.if_contains("subject"), patients);
  AddPatientReference(resource.if_contains("patient"), patients);
}

}  // namespace junction::fhir::rest_internal
