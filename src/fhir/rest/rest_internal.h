// Internal to junction::fhir_rest: the state of one REST exchange and the
// helpers the interaction files share (routing result, JSON and HTTP
// helpers, authorization, audit). Not a public interface.
//
// Flow: RestApi::Handle parses the route into a Route, builds an Exchange
// (owned by a shared_ptr because writes finish on the store's writer thread)
// and calls one Handle* function; every path ends in Finish(), which writes
// the AuditEvent and only then calls `done`.
//
// Thread safety: one Exchange is used by one request at a time (the store
// callback runs after the handler has returned).
#pragma once

#include <boost/json.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fhir/store/status_line.h"
#include "junction/fhir/rest.h"

namespace junction::fhir::rest_internal {

namespace json = boost::json;

using Params = std::vector<std::pair<std::string, std::string>>;

// What the AuditEvent of this exchange says (filled by the handlers).
struct AuditInfo {
  std::string subtype;  // http://hl7.org/fhir/restful-interaction code: read, create, ...
  char action = 'R';    // C R U D E
  std::string type;     // resource type, "" for system-level interactions
  std::vector<std::string> references;   // "Patient/1", what was touched
  std::vector<std::string> param_names;  // search parameter NAMES only, never values
  std::set<std::string> patients;        // Patient ids the data belongs to (when known)
  bool skip = false;                     // GET /metadata: public, no data, not audited
};

struct Exchange {
  ResourceStore* store = nullptr;
  const RestOptions* options = nullptr;
  RestRequest request;
  Caller caller;
  Access access;  // from caller.patient
  AuditInfo audit;
  std::function<void(RestResponse)> done;
};
using ExchangePtr = std::shared_ptr<Exchange>;

// Ends the exchange: writes the AuditEvent (unless options.audit is false)
// and calls done after it is durable; 500 when it could not be written.
void Finish(const ExchangePtr& ex, RestResponse response);
// The audit record of this exchange answered with `status` (moves the
// AuditInfo out of `ex`).
AuditRecord BuildAuditRecord(Exchange& ex, int status);

// --- routing ---------------------------------------------------------------

enum class RouteKind {
  kBase,             // "" or "/"
  kSystemSearch,     // "/_search"
  kMetadata,         // "/metadata"
  kSystemHistory,    // "/_history"
  kType,             // "/Type"
  kTypeSearch,       // "/Type/_search"
  kTypeHistory,      // "/Type/_history"
  kInstance,         // "/Type/id"
  kInstanceHistory,  // "/Type/id/_history"
  kVersion,          // "/Type/id/_history/vid"
  kEverything,       // "/Patient/id/$everything"
};

struct Route {
  RouteKind kind = RouteKind::kBase;
  std::string type, id, version;
};

// nullopt with `error` set when the path names nothing we serve.
std::optional<Route> ParseRoute(std::string_view path, RestResponse* error);
bool IsValidType(std::string_view type);
bool IsValidId(std::string_view id);

// --- HTTP helpers (rest_http.cpp) -------------------------------------------

bool EqualsIgnoreCase(std::string_view a, std::string_view b);  // ASCII
// Decodes "a=1&b=2"; `plus_is_space` for form bodies (application/x-www-form-urlencoded).
Params ParseQuery(std::string_view raw, bool plus_is_space);
std::string PercentDecode(std::string_view text, bool plus_is_space);
// Every "prefer" header token, e.g. {"return", "minimal"}, {"handling", "strict"}.
std::string PreferValue(const RestRequest& request, std::string_view key);
// W/"3" or "3" -> "3"; "" when absent or malformed.
std::string EtagVersion(std::string_view header);
std::string Etag(std::int64_t version);
// FHIR instant (UTC) -> RFC 1123 ("Tue, 02 Jan 2024 03:04:05 GMT"); "" when unparsable.
std::string HttpDate(std::string_view instant);
// Now as a FHIR instant with milliseconds, UTC.
std::string NowInstant();
// "201 Created" (fhir/store/status_line.h)
using store_internal::StatusLine;
// OperationOutcome issue code for an HTTP status.
std::string_view IssueCode(int status);
// Strict non-negative integer; nullopt when not a number.
std::optional<std::size_t> ParseCount(std::string_view text);

// --- JSON helpers (rest_json.cpp) -------------------------------------------

// Parses with max_depth = kMaxJsonDepth; an error message when it fails.
std::optional<json::value> ParseJson(std::string_view body, std::string* error);
RestResponse ErrorResponse(int status, std::string_view diagnostics);
RestResponse OutcomeResponse(int status, std::string_view severity, std::string_view code,
                             std::string_view diagnostics);
RestResponse JsonResponse(int status, const json::value& body);
json::object OutcomeObject(std::string_view severity, std::string_view code,
                           std::string_view diagnostics);
// _summary (true, text, data) and _elements on one resource; `elements` empty
// and summary "" or "false" leave it as it is.
void ApplySubset(json::object& resource, std::string_view summary,
                 const std::vector<std::string>& elements);
// "Patient/<id>" references of a resource's subject/patient (or its own id
// when it is a Patient).
void CollectPatients(const json::object& resource, std::set<std::string>* patients);

// --- authorization (rest_auth.cpp) ------------------------------------------

// nullopt = allowed; else the 403 response. AuditEvent also needs caller.admin.
std::optional<RestResponse> Authorize(const Exchange& ex, std::string_view type,
                                      Interaction interaction);
bool Allowed(const Exchange& ex, std::string_view type, Interaction interaction);
// A write (create/update/delete, conditional or not); see rest_auth.cpp.
std::optional<RestResponse> AuthorizeWrite(const Exchange& ex, const WriteOp& op);
// Search parameters that reach other types: _include/_revinclude with a
// target, _has, typed chains. nullopt = allowed.
std::optional<RestResponse> AuthorizeSearchParams(const Exchange& ex, std::string_view type,
                                                  const Params& params);

// --- interactions -----------------------------------------------------------

// Synchronous parts (also used for GET entries of a batch/transaction).
RestResponse DoRead(Exchange& ex, const Route& route, const Params& query);
RestResponse DoSearch(Exchange& ex, const Route& route, Params params);
RestResponse DoHistory(Exchange& ex, const Route& route, const Params& query);
RestResponse DoEverything(Exchange& ex, const Route& route, const Params& query);
RestResponse DoCapability(const Exchange& ex);

void HandleCreate(const ExchangePtr& ex, const Route& route);
void HandleUpdate(const ExchangePtr& ex, const Route& route);
void HandleDelete(const ExchangePtr& ex, const Route& route);
void HandleBundle(const ExchangePtr& ex);

// Bundle entry -> WriteOp (kInvalidArgument naming entry `index`); GET entries are refused here.
Result<WriteOp> EntryToWriteOp(const json::object& entry, std::size_t index);
// Checks resourceType, type (transaction -> true, batch -> false) and the
// entry array (objects, at most kMaxBundleEntries: kOutOfRange).
Result<bool> BundleKind(const json::object& bundle);
// The Interaction a WriteOp needs (POST kCreate, PUT kUpdate, DELETE kDelete).
Interaction WriteInteraction(const WriteOp& op);

// The response headers of a stored version: ETag, Last-Modified (+ Location when asked).
void AddVersionHeaders(const std::string& base_url, const StoredResource& resource, bool location,
                       RestResponse* response);

}  // namespace junction::fhir::rest_internal
