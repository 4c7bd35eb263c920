// FHIR R4 REST interactions over the ResourceStore, independent of the HTTP
// server (the http module adapts its requests to these neutral structs).
//
//   fhir::RestApi api(*store, fhir::RestOptions{});
//   fhir::RestRequest req{.method = "GET", .path = "/Patient/123",
//                         .base_url = "http://127.0.0.1:8080/fhir"};
//   fhir::Caller caller{.who = "demo-app", .allows = [](auto, auto) { return true; }};
//   api.Handle(std::move(req), caller, [](fhir::RestResponse res) { ... });
//
// Supported: read, vread, create, update (update-as-create), conditional
// create (If-None-Exist), conditional update (PUT Type?query), delete
// (conditional too), history (instance, type, system), search (GET and
// POST Type/_search with a form body), transaction and batch Bundles POSTed
// to the base, Patient/$everything (paged), GET /metadata (the
// CapabilityStatement lists exactly what this implements).
// HTTP semantics: ETag W/"<versionId>", Last-Modified, If-Match (412 on a
// mismatch), Prefer: return=minimal|representation|OperationOutcome,
// Prefer: handling=strict|lenient, Location on create/update.
// Every error is an OperationOutcome with its status (400 401 403 404 405
// 409 410 412 413 422). JSON is parsed with a bounded depth (kMaxJsonDepth):
// deeper input is a 400, never a crash.
//
// Batch Bundles may hold GET entries (answered before the batch's writes);
// transactions may not (400 naming the entry). docs/fhir-api.md is the
// reference for users (every decision below is listed there).
//
// Authorization: Caller::allows is asked for every interaction and resource
// type before any store call (403 when refused; an empty `allows` refuses
// everything). Reads and instance history need kRead, searches and type
// history kSearch, _include/_revinclude targets kRead on their type, _has
// and chains kSearch on the types they reach; update-as-create also needs
// kCreate, conditional operations also kSearch; system history and a system
// search without _type need Caller::admin. Caller::patient restricts
// everything to that patient's compartment through fhir::Access (inside the
// store's queries). AuditEvent resources are readable only with
// Caller::admin. Every interaction but GET /metadata writes one audit record
// (who, what, which patient, when, outcome; search parameter names, never
// values) through ResourceStore::AppendAudit, read back as an AuditEvent;
// the response is sent after the record is committed, and is a 500 when it
// could not be written.
//
// Ownership: RestApi keeps a reference to the store, which must outlive it.
// Thread safety: Handle may be called from any number of threads at once;
// `done` is called exactly once, possibly on the store's writer thread.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "junction/fhir/resource_store.h"

namespace junction::fhir {

inline constexpr std::size_t kMaxJsonDepth = 100;
// Entries of one transaction or batch Bundle; more is a 413.
inline constexpr std::size_t kMaxBundleEntries = 10'000;

enum class Interaction { kCreate, kRead, kUpdate, kDelete, kSearch };

struct Caller {
  std::string who;                     // token subject / client id, for the audit trail
  std::string client_id;               // for the audit trail
  std::optional<std::string> patient;  // patient context: compartment restriction
  bool admin = false;                  // may read AuditEvent
  std::string peer;                    // "127.0.0.1:5000", for the audit trail
  std::string request_id;
  // Whether the token's scopes grant `interaction` on `resource_type`.
  std::function<bool(std::string_view resource_type, Interaction interaction)> allows;
};

struct RestRequest {
  std::string method;  // GET POST PUT DELETE (PATCH -> 405)
  std::string path;    // after the base: "/Patient/123/_history/2", "" or "/" for the base
  std::string query;   // raw query string, not decoded
  // Lower-case names: if-match, if-none-exist, prefer, content-type, accept.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string base_url;  // "http://127.0.0.1:8080/fhir": for fullUrl, Location, links

  std::string_view Header(std::string_view name) const;
};

struct RestResponse {
  int status = 200;
  std::string content_type = "application/fhir+json; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;  // ETag, Location, Last-Modified
  std::string body;                                          // "" for 204
};

struct RestOptions {
  bool audit = true;  // write an AuditEvent per interaction
  std::size_t default_count = 50;
  std::size_t max_count = 1000;
  std::string software_version = "0.1.0";  // CapabilityStatement.software
};

class RestApi {
 public:
  RestApi(ResourceStore& store, RestOptions options);
  void Handle(RestRequest request, const Caller& caller, std::function<void(RestResponse)> done);

 private:
  ResourceStore& store_;
  RestOptions options_;
};

// A FHIR Bundle (transaction or batch, as JSON) turned into a WriteBatch:
// entry.request.method/url/ifNoneExist/ifMatch, fullUrl and resource. Used by
// the REST transaction interaction and the engine's fhir-store destination.
// kInvalidArgument names the entry that is wrong.
Result<WriteBatch> BundleToWriteBatch(const boost::json::object& bundle);

// An OperationOutcome body: {"resourceType":"OperationOutcome","issue":[...]}.
std::string OperationOutcomeJson(std::string_view severity, std::string_view code,
                                 std::string_view diagnostics);

// The OperationOutcome issue.code (http://hl7.org/fhir/issue-type, R4) for
// an HTTP error status, used by the REST layer and the HTTP server alike:
// 400 invalid, 401 login, 403 forbidden, 404 not-found, 405/406/415
// not-supported, 408 timeout, 409/412 conflict, 410 deleted, 413/431
// too-long ("provided content is too long"; too-costly is for operations
// stopped to protect the server, not for oversized input), 422 processing,
// 429 throttled, 503 transient, other 5xx exception, other 4xx processing.
std::string_view IssueTypeForStatus(int status);

}  // namespace junction::fhir
