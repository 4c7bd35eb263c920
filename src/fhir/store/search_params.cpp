// The R4 search parameters the store indexes, as data: one row per
// parameter, paths and targets '|'-separated (FHIR R4 search parameter
// registry, simplified to plain paths; choice types list each variant).
#include "fhir/store/search_params.h"

#include <algorithm>
#include <map>
#include <utility>

namespace junction::fhir::store_internal {
namespace {

struct Row {
  const char* type;
  const char* name;
  ParamKind kind;
  const char* paths;         // '|'-separated
  const char* targets = "";  // reference targets, '|'-separated
  const char* contact = "";  // ContactPoint.system filter
};

constexpr ParamKind T = ParamKind::kToken;
constexpr ParamKind S = ParamKind::kString;
constexpr ParamKind D = ParamKind::kDate;
constexpr ParamKind R = ParamKind::kReference;
constexpr ParamKind Q = ParamKind::kQuantity;
constexpr ParamKind U = ParamKind::kUri;

// clang-format off
constexpr Row kRows[] = {
  {"Resource", "_id", T, "id"},
  {"Resource", "_lastUpdated", D, "meta.lastUpdated"},

  {"Patient", "identifier", T, "identifier"},
  {"Patient", "name", S, "name"},
  {"Patient", "family", S, "name.family"},
  {"Patient", "given", S, "name.given"},
  {"Patient", "birthdate", D, "birthDate"},
  {"Patient", "gender", T, "gender"},
  {"Patient", "address", S, "address"},
  {"Patient", "address-city", S, "address.city"},
  {"Patient", "address-postalcode", S, "address.postalCode"},
  {"Patient", "address-state", S, "address.state"},
  {"Patient", "address-country", S, "address.country"},
  {"Patient", "telecom", T, "telecom"},
  {"Patient", "phone", T, "telecom", "", "phone"},
  {"Patient", "email", T, "telecom", "", "email"},
  {"Patient", "active", T, "active"},
  {"Patient", "general-practitioner", R, "generalPractitioner", "Organization|Practitioner|PractitionerRole"},
  {"Patient", "organization", R, "managingOrganization", "Organization"},
  {"Patient", "link", R, "link.other", "Patient|RelatedPerson"},
  {"Patient", "language", T, "communication.language"},

  {"Encounter", "patient", R, "subject", "Patient"},
  {"Encounter", "subject", R, "subject"},
  {"Encounter", "identifier", T, "identifier"},
  {"Encounter", "status", T, "status"},
  {"Encounter", "class", T, "class"},
  {"Encounter", "type", T, "type"},
  {"Encounter", "date", D, "period"},
  {"Encounter", "participant", R, "participant.individual"},
  {"Encounter", "practitioner", R, "participant.individual", "Practitioner"},
  {"Encounter", "participant-type", T, "participant.type"},
  {"Encounter", "location", R, "location.location", "Location"},
  {"Encounter", "service-provider", R, "serviceProvider", "Organization"},
  {"Encounter", "reason-code", T, "reasonCode"},
  {"Encounter", "episode-of-care", R, "episodeOfCare", "EpisodeOfCare"},
  {"Encounter", "based-on", R, "basedOn", "ServiceRequest"},
  {"Encounter", "part-of", R, "partOf", "Encounter"},
  {"Encounter", "account", R, "account", "Account"},

  {"Observation", "patient", R, "subject", "Patient"},
  {"Observation", "subject", R, "subject"},
  {"Observation", "code", T, "code"},
  {"Observation", "category", T, "category"},
  {"Observation", "date", D, "effectiveDateTime|effectivePeriod|effectiveInstant"},
  {"Observation", "status", T, "status"},
  {"Observation", "value-quantity", Q, "valueQuantity"},
  {"Observation", "value-concept", T, "valueCodeableConcept"},
  {"Observation", "value-string", S, "valueString"},
  {"Observation", "value-date", D, "valueDateTime|valuePeriod"},
  {"Observation", "encounter", R, "encounter", "Encounter|EpisodeOfCare"},
  {"Observation", "identifier", T, "identifier"},
  {"Observation", "performer", R, "performer"},
  {"Observation", "based-on", R, "basedOn"},
  {"Observation", "specimen", R, "specimen", "Specimen"},
  {"Observation", "has-member", R, "hasMember"},
  {"Observation", "derived-from", R, "derivedFrom"},
  {"Observation", "part-of", R, "partOf"},
  {"Observation", "focus", R, "focus"},
  {"Observation", "device", R, "device"},
  {"Observation", "method", T, "method"},
  {"Observation", "data-absent-reason", T, "dataAbsentReason"},
  {"Observation", "component-code", T, "component.code"},
  {"Observation", "component-value-quantity", Q, "component.valueQuantity"},
  {"Observation", "component-value-concept", T, "component.valueCodeableConcept"},

  {"DiagnosticReport", "patient", R, "subject", "Patient"},
  {"DiagnosticReport", "subject", R, "subject"},
  {"DiagnosticReport", "code", T, "code"},
  {"DiagnosticReport", "category", T, "category"},
  {"DiagnosticReport", "date", D, "effectiveDateTime|effectivePeriod"},
  {"DiagnosticReport", "status", T, "status"},
  {"DiagnosticReport", "encounter", R, "encounter", "Encounter|EpisodeOfCare"},
  {"DiagnosticReport", "identifier", T, "identifier"},
  {"DiagnosticReport", "result", R, "result", "Observation"},
  {"DiagnosticReport", "based-on", R, "basedOn"},
  {"DiagnosticReport", "issued", D, "issued"},
  {"DiagnosticReport", "performer", R, "performer"},
  {"DiagnosticReport", "results-interpreter", R, "resultsInterpreter"},
  {"DiagnosticReport", "specimen", R, "specimen", "Specimen"},
  {"DiagnosticReport", "conclusion", T, "conclusionCode"},
  {"DiagnosticReport", "media", R, "media.link", "Media"},

  {"ServiceRequest", "patient", R, "subject", "Patient"},
  {"ServiceRequest", "subject", R, "subject"},
  {"ServiceRequest", "code", T, "code"},
  {"ServiceRequest", "status", T, "status"},
  {"ServiceRequest", "intent", T, "intent"},
  {"ServiceRequest", "priority", T, "priority"},
  {"ServiceRequest", "identifier", T, "identifier"},
  {"ServiceRequest", "requisition", T, "requisition"},
  {"ServiceRequest", "encounter", R, "encounter", "Encounter"},
  {"ServiceRequest", "authored", D, "authoredOn"},
  {"ServiceRequest", "occurrence", D, "occurrenceDateTime|occurrencePeriod"},
  {"ServiceRequest", "requester", R, "requester"},
  {"ServiceRequest", "performer", R, "performer"},
  {"ServiceRequest", "category", T, "category"},
  {"ServiceRequest", "specimen", R, "specimen", "Specimen"},
  {"ServiceRequest", "based-on", R, "basedOn"},
  {"ServiceRequest", "replaces", R, "replaces", "ServiceRequest"},

  {"Specimen", "patient", R, "subject", "Patient"},
  {"Specimen", "subject", R, "subject"},
  {"Specimen", "identifier", T, "identifier"},
  {"Specimen", "accession", T, "accessionIdentifier"},
  {"Specimen", "type", T, "type"},
  {"Specimen", "status", T, "status"},
  {"Specimen", "collected", D, "collection.collectedDateTime|collection.collectedPeriod"},
  {"Specimen", "collector", R, "collection.collector"},
  {"Specimen", "bodysite", T, "collection.bodySite"},
  {"Specimen", "parent", R, "parent", "Specimen"},

  {"Immunization", "patient", R, "patient", "Patient"},
  {"Immunization", "vaccine-code", T, "vaccineCode"},
  {"Immunization", "date", D, "occurrenceDateTime"},
  {"Immunization", "status", T, "status"},
  {"Immunization", "identifier", T, "identifier"},
  {"Immunization", "lot-number", S, "lotNumber"},
  {"Immunization", "performer", R, "performer.actor"},
  {"Immunization", "location", R, "location", "Location"},
  {"Immunization", "manufacturer", R, "manufacturer", "Organization"},
  {"Immunization", "reason-code", T, "reasonCode"},

  {"AllergyIntolerance", "patient", R, "patient", "Patient"},
  {"AllergyIntolerance", "code", T, "code|reaction.substance"},
  {"AllergyIntolerance", "clinical-status", T, "clinicalStatus"},
  {"AllergyIntolerance", "verification-status", T, "verificationStatus"},
  {"AllergyIntolerance", "criticality", T, "criticality"},
  {"AllergyIntolerance", "type", T, "type"},
  {"AllergyIntolerance", "category", T, "category"},
  {"AllergyIntolerance", "date", D, "recordedDate"},
  {"AllergyIntolerance", "identifier", T, "identifier"},
  {"AllergyIntolerance", "recorder", R, "recorder"},
  {"AllergyIntolerance", "asserter", R, "asserter"},
  {"AllergyIntolerance", "onset", D, "reaction.onset"},
  {"AllergyIntolerance", "manifestation", T, "reaction.manifestation"},
  {"AllergyIntolerance", "severity", T, "reaction.severity"},

  {"Condition", "patient", R, "subject", "Patient"},
  {"Condition", "subject", R, "subject"},
  {"Condition", "code", T, "code"},
  {"Condition", "clinical-status", T, "clinicalStatus"},
  {"Condition", "verification-status", T, "verificationStatus"},
  {"Condition", "category", T, "category"},
  {"Condition", "severity", T, "severity"},
  {"Condition", "body-site", T, "bodySite"},
  {"Condition", "onset-date", D, "onsetDateTime|onsetPeriod"},
  {"Condition", "abatement-date", D, "abatementDateTime|abatementPeriod"},
  {"Condition", "recorded-date", D, "recordedDate"},
  {"Condition", "encounter", R, "encounter", "Encounter"},
  {"Condition", "identifier", T, "identifier"},
  {"Condition", "asserter", R, "asserter"},

  {"Procedure", "patient", R, "subject", "Patient"},
  {"Procedure", "subject", R, "subject"},
  {"Procedure", "code", T, "code"},
  {"Procedure", "category", T, "category"},
  {"Procedure", "date", D, "performedDateTime|performedPeriod"},
  {"Procedure", "status", T, "status"},
  {"Procedure", "encounter", R, "encounter", "Encounter"},
  {"Procedure", "identifier", T, "identifier"},
  {"Procedure", "performer", R, "performer.actor"},
  {"Procedure", "location", R, "location", "Location"},
  {"Procedure", "reason-code", T, "reasonCode"},
  {"Procedure", "based-on", R, "basedOn"},
  {"Procedure", "part-of", R, "partOf"},

  {"Coverage", "patient", R, "beneficiary", "Patient"},
  {"Coverage", "beneficiary", R, "beneficiary", "Patient"},
  {"Coverage", "subscriber", R, "subscriber", "Patient|RelatedPerson"},
  {"Coverage", "policy-holder", R, "policyHolder", "Patient|RelatedPerson|Organization"},
  {"Coverage", "payor", R, "payor", "Patient|RelatedPerson|Organization"},
  {"Coverage", "identifier", T, "identifier"},
  {"Coverage", "status", T, "status"},
  {"Coverage", "type", T, "type"},
  {"Coverage", "dependent", S, "dependent"},

  {"RelatedPerson", "patient", R, "patient", "Patient"},
  {"RelatedPerson", "identifier", T, "identifier"},
  {"RelatedPerson", "name", S, "name"},
  {"RelatedPerson", "relationship", T, "relationship"},
  {"RelatedPerson", "telecom", T, "telecom"},
  {"RelatedPerson", "phone", T, "telecom", "", "phone"},
  {"RelatedPerson", "email", T, "telecom", "", "email"},
  {"RelatedPerson", "gender", T, "gender"},
  {"RelatedPerson", "birthdate", D, "birthDate"},
  {"RelatedPerson", "address", S, "address"},
  {"RelatedPerson", "active", T, "active"},

  {"Practitioner", "identifier", T, "identifier"},
  {"Practitioner", "name", S, "name"},
  {"Practitioner", "family", S, "name.family"},
  {"Practitioner", "given", S, "name.given"},
  {"Practitioner", "telecom", T, "telecom"},
  {"Practitioner", "phone", T, "telecom", "", "phone"},
  {"Practitioner", "email", T, "telecom", "", "email"},
  {"Practitioner", "active", T, "active"},
  {"Practitioner", "gender", T, "gender"},
  {"Practitioner", "address", S, "address"},
  {"Practitioner", "communication", T, "communication"},

  {"PractitionerRole", "practitioner", R, "practitioner", "Practitioner"},
  {"PractitionerRole", "organization", R, "organization", "Organization"},
  {"PractitionerRole", "role", T, "code"},
  {"PractitionerRole", "specialty", T, "specialty"},
  {"PractitionerRole", "identifier", T, "identifier"},
  {"PractitionerRole", "location", R, "location", "Location"},
  {"PractitionerRole", "service", R, "healthcareService", "HealthcareService"},
  {"PractitionerRole", "active", T, "active"},
  {"PractitionerRole", "telecom", T, "telecom"},
  {"PractitionerRole", "phone", T, "telecom", "", "phone"},
  {"PractitionerRole", "email", T, "telecom", "", "email"},

  {"Organization", "identifier", T, "identifier"},
  {"Organization", "name", S, "name|alias"},
  {"Organization", "type", T, "type"},
  {"Organization", "active", T, "active"},
  {"Organization", "partof", R, "partOf", "Organization"},
  {"Organization", "address", S, "address"},
  {"Organization", "address-city", S, "address.city"},
  {"Organization", "address-postalcode", S, "address.postalCode"},
  {"Organization", "address-state", S, "address.state"},
  {"Organization", "endpoint", R, "endpoint", "Endpoint"},

  {"Location", "identifier", T, "identifier"},
  {"Location", "name", S, "name|alias"},
  {"Location", "address", S, "address"},
  {"Location", "address-city", S, "address.city"},
  {"Location", "address-postalcode", S, "address.postalCode"},
  {"Location", "address-state", S, "address.state"},
  {"Location", "type", T, "type"},
  {"Location", "status", T, "status"},
  {"Location", "operational-status", T, "operationalStatus"},
  {"Location", "organization", R, "managingOrganization", "Organization"},
  {"Location", "partof", R, "partOf", "Location"},
  {"Location", "endpoint", R, "endpoint", "Endpoint"},

  {"DocumentReference", "patient", R, "subject", "Patient"},
  {"DocumentReference", "subject", R, "subject"},
  {"DocumentReference", "identifier", T, "masterIdentifier|identifier"},
  {"DocumentReference", "type", T, "type"},
  {"DocumentReference", "category", T, "category"},
  {"DocumentReference", "date", D, "date"},
  {"DocumentReference", "status", T, "status"},
  {"DocumentReference", "encounter", R, "context.encounter"},
  {"DocumentReference", "author", R, "author"},
  {"DocumentReference", "authenticator", R, "authenticator"},
  {"DocumentReference", "custodian", R, "custodian", "Organization"},
  {"DocumentReference", "related", R, "context.related"},
  {"DocumentReference", "relatesto", R, "relatesTo.target", "DocumentReference"},
  {"DocumentReference", "period", D, "context.period"},
  {"DocumentReference", "setting", T, "context.practiceSetting"},
  {"DocumentReference", "facility", T, "context.facilityType"},
  {"DocumentReference", "format", T, "content.format"},
  {"DocumentReference", "contenttype", T, "content.attachment.contentType"},
  {"DocumentReference", "description", S, "description"},
  {"DocumentReference", "location", U, "content.attachment.url"},

  {"Appointment", "patient", R, "participant.actor", "Patient"},
  {"Appointment", "actor", R, "participant.actor"},
  {"Appointment", "practitioner", R, "participant.actor", "Practitioner"},
  {"Appointment", "location", R, "participant.actor", "Location"},
  {"Appointment", "part-status", T, "participant.status"},
  {"Appointment", "date", D, "start"},
  {"Appointment", "status", T, "status"},
  {"Appointment", "identifier", T, "identifier"},
  {"Appointment", "service-type", T, "serviceType"},
  {"Appointment", "service-category", T, "serviceCategory"},
  {"Appointment", "appointment-type", T, "appointmentType"},
  {"Appointment", "specialty", T, "specialty"},
  {"Appointment", "reason-code", T, "reasonCode"},
  {"Appointment", "based-on", R, "basedOn", "ServiceRequest"},
  {"Appointment", "slot", R, "slot", "Slot"},

  {"MessageHeader", "event", T, "eventCoding|eventUri"},
  {"MessageHeader", "source", S, "source.name"},
  {"MessageHeader", "source-uri", U, "source.endpoint"},
  {"MessageHeader", "destination", S, "destination.name"},
  {"MessageHeader", "destination-uri", U, "destination.endpoint"},
  {"MessageHeader", "receiver", R, "destination.receiver"},
  {"MessageHeader", "target", R, "destination.target", "Device"},
  {"MessageHeader", "sender", R, "sender"},
  {"MessageHeader", "author", R, "author"},
  {"MessageHeader", "enterer", R, "enterer"},
  {"MessageHeader", "responsible", R, "responsible"},
  {"MessageHeader", "focus", R, "focus"},
  {"MessageHeader", "code", T, "response.code"},
  {"MessageHeader", "response-id", T, "response.identifier"},

  {"Provenance", "target", R, "target"},
  {"Provenance", "patient", R, "target", "Patient"},
  {"Provenance", "agent", R, "agent.who"},
  {"Provenance", "agent-type", T, "agent.type"},
  {"Provenance", "agent-role", T, "agent.role"},
  {"Provenance", "entity", R, "entity.what"},
  {"Provenance", "recorded", D, "recorded"},
  {"Provenance", "when", D, "occurredDateTime|occurredPeriod"},
  {"Provenance", "location", R, "location", "Location"},
  {"Provenance", "signature-type", T, "signature.type"},

  {"AuditEvent", "date", D, "recorded"},
  {"AuditEvent", "agent", R, "agent.who"},
  {"AuditEvent", "agent-name", S, "agent.name"},
  {"AuditEvent", "agent-role", T, "agent.role"},
  {"AuditEvent", "altid", T, "agent.altId"},
  {"AuditEvent", "address", S, "agent.network.address"},
  {"AuditEvent", "policy", U, "agent.policy"},
  {"AuditEvent", "entity", R, "entity.what"},
  {"AuditEvent", "entity-name", S, "entity.name"},
  {"AuditEvent", "entity-type", T, "entity.type"},
  {"AuditEvent", "entity-role", T, "entity.role"},
  {"AuditEvent", "patient", R, "agent.who|entity.what", "Patient"},
  {"AuditEvent", "source", R, "source.observer"},
  {"AuditEvent", "site", T, "source.site"},
  {"AuditEvent", "type", T, "type"},
  {"AuditEvent", "subtype", T, "subtype"},
  {"AuditEvent", "action", T, "action"},
  {"AuditEvent", "outcome", T, "outcome"},

  {"MedicationRequest", "patient", R, "subject", "Patient"},
  {"MedicationRequest", "subject", R, "subject"},
  {"MedicationRequest", "identifier", T, "identifier"},
  {"MedicationRequest", "status", T, "status"},
  {"MedicationRequest", "intent", T, "intent"},
  {"MedicationRequest", "category", T, "category"},
  {"MedicationRequest", "code", T, "medicationCodeableConcept"},
  {"MedicationRequest", "medication", R, "medicationReference", "Medication"},
  {"MedicationRequest", "authoredon", D, "authoredOn"},
  {"MedicationRequest", "encounter", R, "encounter", "Encounter"},
  {"MedicationRequest", "requester", R, "requester"},
  {"MedicationRequest", "intended-performer", R, "performer"},

  {"MedicationAdministration", "patient", R, "subject", "Patient"},
  {"MedicationAdministration", "subject", R, "subject"},
  {"MedicationAdministration", "identifier", T, "identifier"},
  {"MedicationAdministration", "status", T, "status"},
  {"MedicationAdministration", "code", T, "medicationCodeableConcept"},
  {"MedicationAdministration", "medication", R, "medicationReference", "Medication"},
  {"MedicationAdministration", "effective-time", D, "effectiveDateTime|effectivePeriod"},
  {"MedicationAdministration", "performer", R, "performer.actor"},
  {"MedicationAdministration", "request", R, "request", "MedicationRequest"},
  {"MedicationAdministration", "context", R, "context"},

  {"MedicationStatement", "patient", R, "subject", "Patient"},
  {"MedicationStatement", "subject", R, "subject"},
  {"MedicationStatement", "identifier", T, "identifier"},
  {"MedicationStatement", "status", T, "status"},
  {"MedicationStatement", "category", T, "category"},
  {"MedicationStatement", "code", T, "medicationCodeableConcept"},
  {"MedicationStatement", "medication", R, "medicationReference", "Medication"},
  {"MedicationStatement", "effective", D, "effectiveDateTime|effectivePeriod"},
  {"MedicationStatement", "context", R, "context"},
};
// clang-format on

std::vector<std::string> SplitBars(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    std::size_t bar = text.find('|');
    out.emplace_back(text.substr(0, bar));
    if (bar == std::string_view::npos) break;
    text.remove_prefix(bar + 1);
  }
  return out;
}

struct Registry {
  std::vector<SearchParamDef> all;
  // (type, name) -> index into `all`.
  std::map<std::pair<std::string, std::string>, std::size_t, std::less<>> by_name;

  Registry() {
    all.reserve(std::size(kRows));
    for (const Row& row : kRows) {
      SearchParamDef def;
      def.type = row.type;
      def.name = row.name;
      def.key = def.type + "." + def.name;
      def.kind = row.kind;
      def.paths = SplitBars(row.paths);
      def.targets = SplitBars(row.targets);
      def.contact_system = row.contact;
      by_name.emplace(std::make_pair(def.type, def.name), all.size());
      all.push_back(std::move(def));
    }
  }
};

const Registry& TheRegistry() {
  static const Registry registry;
  return registry;
}

}  // namespace

const std::vector<SearchParamDef>& AllSearchParams() { return TheRegistry().all; }

const SearchParamDef* FindSearchParam(std::string_view type, std::string_view name) {
  const Registry& registry = TheRegistry();
  auto find = [&](std::string_view t) -> const SearchParamDef* {
    auto it = registry.by_name.find(std::make_pair(std::string(t), std::string(name)));
    return it == registry.by_name.end() ? nullptr : &registry.all[it->second];
  };
  if (!name.empty() && name[0] == '_') return find("Resource");
  return find(type);
}

std::vector<const SearchParamDef*> SearchParamsOf(std::string_view type) {
  std::vector<const SearchParamDef*> out;
  for (const SearchParamDef& def : TheRegistry().all) {
    if (def.type == type) out.push_back(&def);
  }
  return out;
}

bool IsKnownResourceType(std::string_view type) {
  if (type == "Resource") return false;
  const auto& all = TheRegistry().all;
  return std::any_of(all.begin(), all.end(),
                     [&](const SearchParamDef& d) { return d.type == type; });
}

}  // namespace junction::fhir::store_internal
