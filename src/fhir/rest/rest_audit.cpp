// The audit record of every interaction (read back as a FHIR R4 AuditEvent,
// IHE BALP-like, see src/fhir/store/audit_trail.h): who, what, which
// patient, when, outcome. Search parameters are recorded by NAME only: the
// values may be PHI (names, birth dates, identifiers).
#include <chrono>

#include "fhir/rest/rest_internal.h"

namespace junction::fhir::rest_internal {
namespace {

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

}  // namespace

AuditRecord BuildAuditRecord(Exchange& ex, int status) {
  AuditInfo& info = ex.audit;
  AuditRecord record;
  record.recorded_us = std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  record.subtype = info.subtype.empty() ? std::string("operation") : std::move(info.subtype);
  record.action = info.action;
  record.type = std::move(info.type);
  record.status = status;
  record.who = ex.caller.who;
  record.client_id = ex.caller.client_id;
  record.peer = PeerAddress(ex.caller.peer);
  record.request_id = ex.caller.request_id;
  record.references = std::move(info.references);
  if (ex.caller.patient) info.patients.insert(*ex.caller.patient);
  record.patients.assign(info.patients.begin(), info.patients.end());
  record.query = record.subtype.find("search") != std::string::npos || !info.param_names.empty();
  record.param_names = std::move(info.param_names);
  return record;
}

void Finish(const ExchangePtr& ex, RestResponse response) {
  if (!ex->options->audit || ex->audit.skip) {
    auto done = std::move(ex->done);
    done(std::move(response));
    return;
  }
  AuditRecord record = BuildAuditRecord(*ex, response.status);
  auto held = std::make_shared<RestResponse>(std::move(response));
  ex->store->AppendAudit(std::move(record), [ex, held](Status status) {
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
