// The AuditEvent of every interaction (FHIR R4 AuditEvent, IHE BALP-like):
// who, what, which patient, when, outcome. Search parameters are recorded by
// NAME only: the values may be PHI (names, birth dates, identifiers).
#include "fhir/rest/rest_internal.h"

namespace junction::fhir::rest_internal {
namespace {

constexpr std::string_view kEntityType = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
constexpr std::string_view kObjectRole = "http://terminology.hl7.org/CodeSystem/object-role";

// "127.0.0.1:5000" -> "127.0.0.1", "[::1]:5000" -> "::1".
std::string PeerAddress(std::string_view peer) {
  if (!peer.empty() && peer.front() == '[') {
    std::size_t end = peer.find(']');
    return std::string(peer.substr(1, end == std::string_view::npos ? peer.size() : end - 1));
  }
  std::size_t colon = peer.find(':');
  if (colon != std::string_view::npos && peer.find(':', colon + 1) == std::string_view::npos) {
    return std::string(peer.substr(0, colon));
  }
  return std::string(peer);
}

json::object Coding(std::string_view system, std::string_view code, std::string_view display) {
  json::object coding{{"system", system}, {"code", code}};
  if (!display.empty()) coding["display"] = display;
  return coding;
}

std::string_view OutcomeCode(int status) {
  if (status >= 500) return "8";  // serious failure
  if (status >= 400) return "4";  // minor failure
  return "0";
}

}  // namespace

std::string BuildAuditEvent(const Exchange& ex, int status) {
  const AuditInfo& info = ex.audit;
  json::object event;
  event["resourceType"] = "AuditEvent";
  event["type"] =
      Coding("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest", "RESTful Operation");
  event["subtype"] = json::array{Coding("http://hl7.org/fhir/restful-interaction",
                                        info.subtype.empty() ? "operation" : info.subtype, "")};
  event["action"] = std::string(1, info.action);
  event["recorded"] = NowInstant();
  event["outcome"] = OutcomeCode(status);
  event["outcomeDesc"] = StatusLine(status);

  json::object agent;
  json::object who;
  if (!ex.caller.who.empty()) {
    who["identifier"] = json::object{{"value", ex.caller.who}};
    who["display"] = ex.caller.who;
  } else {
    who["display"] = "anonymous";
  }
  agent["who"] = std::move(who);
  if (!ex.caller.client_id.empty()) agent["altId"] = ex.caller.client_id;
  agent["requestor"] = true;
  if (!ex.caller.peer.empty()) {
    agent["network"] = json::object{{"address", PeerAddress(ex.caller.peer)}, {"type", "2"}};
  }
  event["agent"] = json::array{std::move(agent)};
  event["source"] = json::object{
      {"observer", json::object{{"display", "junction"}}},
      {"type", json::array{Coding("http://terminology.hl7.org/CodeSystem/security-source-type", "4",
                                  "Application Server")}}};

  json::array entities;
  for (const auto& reference : info.references) {
    entities.push_back(json::object{{"what", json::object{{"reference", reference}}},
                                    {"type", Coding(kEntityType, "2", "System Object")},
                                    {"role", Coding(kObjectRole, "4", "Domain Resource")}});
  }
  if (info.subtype.find("search") != std::string::npos || !info.param_names.empty()) {
    std::string names;
    for (const auto& name : info.param_names) {
      if (!names.empty()) names += ", ";
      names += name;
    }
    json::object query{{"type", Coding(kEntityType, "2", "System Object")},
                       {"role", Coding(kObjectRole, "24", "Query")},
                       {"name", info.type.empty() ? "system" : info.type}};
    query["description"] = "search parameters: " + (names.empty() ? std::string("none") : names);
    entities.push_back(std::move(query));
  }
  std::set<std::string> patients = info.patients;
  if (ex.caller.patient) patients.insert(*ex.caller.patient);
  for (const auto& patient : patients) {
    entities.push_back(json::object{{"what", json::object{{"reference", "Patient/" + patient}}},
                                    {"type", Coding(kEntityType, "1", "Person")},
                                    {"role", Coding(kObjectRole, "1", "Patient")}});
  }
  if (!ex.caller.request_id.empty()) {
    entities.push_back(
        json::object{{"type", Coding(kEntityType, "2", "System Object")},
                     {"name", "request"},
                     {"detail", json::array{json::object{{"type", "request-id"},
                                                         {"valueString", ex.caller.request_id}}}}});
  }
  if (!entities.empty()) event["entity"] = std::move(entities);
  return json::serialize(event);
}

void Finish(const ExchangePtr& ex, RestResponse response) {
  if (!ex->options->audit || ex->audit.skip) {
    auto done = std::move(ex->done);
    done(std::move(response));
    return;
  }
  std::string event = BuildAuditEvent(*ex, response.status);
  auto held = std::make_shared<RestResponse>(std::move(response));
  ex->store->AppendAudit(std::move(event), [ex, held](Status status) {
    auto done = std::move(ex->done);
    if (!status.ok()) {
      // The interaction is never answered without its audit record.
      done(ErrorResponse(500, "the audit record could not be written"));
      return;
    }
    done(std::move(*held));
  });
}

}  // namespace junction::fhir::rest_internal
