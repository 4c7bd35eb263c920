// FHIR R4 resource store: current and historical versions of every resource,
// search indexes, patient compartments and the audit trail, in its own SQLite
// file (design.md: one writer per SQLite file, so the FHIR resources do not
// compete with the message journal's writer).
//
//   fhir::ResourceStoreOptions options;
//   options.sqlite_path = "var/junction-fhir.db";
//   auto store = fhir::ResourceStore::Open(options);
//
//   fhir::WriteBatch batch;                      // one create
//   batch.entries.push_back({.method = "POST", .type = "Patient", .resource = patient_json});
//   auto results = (*store)->ApplyAndWait(std::move(batch), fhir::Access{});
//
//   fhir::SearchRequest search{.type = "Observation",
//                              .params = {{"patient", "123"}, {"code", "http://loinc.org|2345-7"}}};
//   auto page = (*store)->Search(search, fhir::Access{.patient = "123"});
//
// Versions: every write (create, update, delete) adds a version; the current
// one is in `resources`, all of them in `resource_versions`. A delete keeps the
// history and leaves a tombstone (Read answers with deleted = true: 410).
// meta.versionId and meta.lastUpdated are set by the store (the instant is
// UTC with milliseconds); an update whose content (ignoring meta) equals the
// current version adds no version (WriteResult::unchanged), so a re-sent
// transaction changes nothing.
//
// Search indexes (token, string, date, reference, quantity, number, uri) are
// written in the same transaction as the resource, from the search parameter
// definitions (search_params.h). Compartment membership (which patients a
// resource belongs to, per the R4 Patient compartment definition) is written
// alongside.
//
// Patient access: every read, search, include, chain, _has, history,
// $everything and conditional operation takes an Access. With a patient set,
// the restriction to that patient's compartment is part of the SQL query
// itself; nothing is filtered afterwards. A resource outside the compartment
// is reported as not found (kNotFound), never as forbidden, so its existence
// does not leak.
//
// Writes go through one writer thread with group commit (like the message
// store): Apply queues, the writer commits many batches in one SQLite
// transaction (each WriteBatch inside its own SAVEPOINT, so a failing
// transaction rolls back alone) with one fsync, then runs the callbacks.
// Audit records are queued the same way (AppendAudit) and batched with
// everything else: a callback means the record is committed (durable).
// They are not stored as FHIR resources: each is one row of an append-only
// table in a file of its own next to the store (AuditTrailPath), so that an
// audit commit neither writes index rows nor empties the page caches of the
// readers of the resource tables. They are read back as AuditEvent
// resources: Read("AuditEvent", "audit-<n>") and Search of type AuditEvent
// (parameters _id, _lastUpdated, date, patient, agent, altid, address,
// entity, type, subtype, action, outcome, plus _count, _offset,
// _sort=date|-date, _total, _summary, _elements) render
// the row as an AuditEvent; they are not in history, $everything or
// _include results. AuditEvent resources written by clients are ordinary
// resources; an AuditEvent search answers from the audit trail only.
//
// Ownership: Open returns the owner; destroying it calls Close(), which
// commits everything queued. Thread safety: every method may be called from
// any thread at once; reads use their own connections (WAL) and never wait
// for the writer.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "junction/hl7/status.h"

namespace junction::fhir {

struct ResourceStoreOptions {
  // ":memory:" = a private temporary file deleted by Close() (tests).
  std::string sqlite_path = "var/junction-fhir.db";
  bool durable = true;     // synchronous=FULL; false = NORMAL (tests, benchmarks)
  bool read_only = false;  // no writer; Apply/AppendAudit fail
  std::size_t max_batch = 256;  // WriteBatches (and audit events) per commit
  std::size_t max_queue = 100'000;  // queued batches before Apply fails (kOutOfRange)
  std::size_t max_resource_bytes = 8u << 20;
};

// Who may see what. patient set: only that Patient's compartment (the
// Patient resource itself included).
struct Access {
  std::optional<std::string> patient;  // Patient id
};

struct StoredResource {
  std::string type;
  std::string id;
  std::int64_t version = 0;
  std::string last_updated;  // FHIR instant, UTC
  bool deleted = false;      // a tombstone: json is empty
  std::string json;          // the resource, meta.versionId/lastUpdated included
  std::string method;        // History only: how this version was written (POST, PUT, DELETE)
  // Read (of a type other than Patient), search, include and $everything
  // results: the Patients whose compartment holds the current version (the
  // store's compartment rows; a Patient is in its own). Empty elsewhere.
  std::vector<std::string> patients;
};

// One entry of a write: what a REST interaction or a Bundle entry asks.
struct WriteOp {
  std::string method;  // "POST" (create), "PUT" (update), "DELETE"
  std::string type;    // resource type
  std::string id;      // PUT/DELETE by id; "" with `condition` for conditional ops
  // Search query, still percent-encoded as in a URL or Bundle.entry.request
  // ("identifier=urn%3Aoid%3A1.2%7C123"; the store decodes it once), for
  // conditional create (If-None-Exist / ifNoneExist), conditional update
  // (PUT Type?query) and conditional delete (DELETE Type?query).
  std::string condition;
  std::string if_match;  // expected current versionId ("" = none); mismatch -> 412
  std::string full_url;  // Bundle entry fullUrl ("urn:uuid:..."), for reference resolution
  boost::json::object resource;  // POST/PUT body (its resourceType must equal `type`)
};

// atomic = a FHIR transaction: all entries or none; urn:uuid fullUrls and
// conditional references ("Patient?identifier=s|v") inside resources are
// resolved to the ids the entries get. atomic = false: a batch, each entry on
// its own (failures reported per entry).
struct WriteBatch {
  bool atomic = true;
  std::vector<WriteOp> entries;
};

struct WriteResult {
  // HTTP status of this entry: 200 updated, 201 created, 200 conditional
  // create that matched (nothing written), 204/200 deleted; 4xx on failure.
  int status = 200;
  bool created = false;
  bool unchanged = false;  // same content: no new version
  std::optional<StoredResource> resource;  // the version now current (not for failures)
  std::string error;  // failure diagnostics (status >= 400), safe to show
};

// Search: `params` are the decoded query parameters in order, every one of
// them: names may carry a modifier ("name:exact", "subject:Patient.identifier",
// "_has:Observation:patient:code"), values keep ',' (OR) and '|' (system|code)
// and prefixes (ge2020). Result parameters (_count, _offset, _sort, _include,
// _revinclude, _total, _summary, _elements, _id, _lastUpdated) are also here.
// Atomic batch: committed, or rolled back with `status`/`error` naming the
// failing entry (index in `failed_entry`). Non-atomic: committed is true and
// each entry has its own status.
struct WriteOutcome {
  bool committed = true;
  int status = 200;  // when !committed: 400, 403, 404, 409, 412, 422
  std::string error;
  std::size_t failed_entry = 0;
  std::vector<WriteResult> entries;  // in request order
};

struct SearchRequest {
  std::string type;  // "" = every type (system search: only _id, _lastUpdated, _type)
  std::vector<std::pair<std::string, std::string>> params;
  bool strict = false;  // Prefer: handling=strict: unknown parameters are errors
  std::size_t default_count = 50;
  std::size_t max_count = 1000;
};

struct SearchPage {
  std::vector<StoredResource> matches;   // this page, in _sort order
  std::vector<StoredResource> included;  // _include/_revinclude results (search.mode = include)
  std::optional<std::int64_t> total;     // unless _total=none (or _summary=count: only total)
  // Canonical query strings (encoded, ready after "Type?") for the paging
  // links; "" when there is no such page.
  std::string self_query, next_query, prev_query;
  std::vector<std::string> ignored_params;  // unknown, skipped (lenient handling)
  // _summary / _elements the caller must apply when rendering matches
  // (the store returns full resources).
  std::string summary;                 // "", "true", "text", "data", "count"
  std::vector<std::string> elements;  // _elements
};

// One audited interaction (see rest.h: who, what, which patient, when,
// outcome). No query values: param_names holds search parameter names only.
struct AuditRecord {
  std::int64_t recorded_us = 0;  // when (microseconds since 1970, UTC); 0 = now
  std::string subtype;           // restful-interaction code: read, create, search-type, ...
  char action = 'R';             // C R U D E
  std::string type;              // resource type, "" for system-level interactions
  int status = 200;              // HTTP status of the answer (outcome 0 / 4 / 8)
  std::string who;               // token subject; "" = anonymous
  std::string client_id;
  std::string peer;                       // the client's network address ("127.0.0.1")
  std::string request_id;
  std::vector<std::string> references;   // "Patient/1", "Observation/2/_history/3"
  std::vector<std::string> patients;     // Patient ids the data belongs to
  bool query = false;                    // a search: param_names describe it
  std::vector<std::string> param_names;  // search parameter NAMES, never values
};

// The audit trail's file for a store at `sqlite_path`:
// "var/junction-fhir.db" -> "var/junction-fhir-audit.db" (else path + "-audit").
std::string AuditTrailPath(std::string_view sqlite_path);

struct HistoryRequest {
  std::string type;  // "" = whole system
  std::string id;    // "" = type history
  std::string since;  // _since instant, "" = none
  std::size_t count = 50;
  std::size_t offset = 0;
};

struct HistoryPage {
  std::vector<StoredResource> versions;  // newest first; tombstones included (deleted)
  std::int64_t total = 0;
  bool has_more = false;
};

class ResourceStore {
 public:
  // kIoError when the file cannot be opened or created.
  static Result<std::unique_ptr<ResourceStore>> Open(const ResourceStoreOptions& options);
  virtual ~ResourceStore() = default;

  // kNotFound (never existed, or outside the Access compartment). A deleted
  // resource comes back with deleted = true.
  virtual Result<StoredResource> Read(std::string_view type, std::string_view id, const Access& access) const = 0;
  virtual Result<StoredResource> ReadVersion(std::string_view type, std::string_view id, std::int64_t version,
                                             const Access& access) const = 0;
  virtual Result<HistoryPage> History(const HistoryRequest& request, const Access& access) const = 0;
  // kInvalidArgument for a bad parameter value, an unknown parameter when
  // strict, or an unknown resource type; the message names the parameter.
  virtual Result<SearchPage> Search(const SearchRequest& request, const Access& access) const = 0;
  // Patient/$everything: the patient and every resource in its compartment,
  // paged (offset/count); kNotFound when the patient is not visible.
  virtual Result<SearchPage> Everything(std::string_view patient_id, std::size_t offset, std::size_t count,
                                        const Access& access) const = 0;

  // Queues a write; `done` runs on the writer thread after the commit (or
  // rollback), exactly once. The Result is an error only when the store
  // cannot take the write (closed, queue full, I/O); the outcome of the
  // entries is in WriteOutcome. With Access.patient set every written
  // resource must belong to that patient's compartment (else 403).
  using WriteCallback = std::function<void(Result<WriteOutcome>)>;
  virtual void Apply(WriteBatch batch, const Access& access, WriteCallback done) = 0;
  virtual Result<WriteOutcome> ApplyAndWait(WriteBatch batch, const Access& access) = 0;

  // Appends one audit record (id "audit-<n>" assigned by the store),
  // batched with the other writes; `done` runs after it is committed.
  virtual void AppendAudit(AuditRecord record, std::function<void(Status)> done) = 0;

  virtual Status Close() = 0;
};

// HTTP status for a failed read or search Result: kInvalidArgument 400,
// kNotFound 404, kOutOfRange 413, anything else 500.
int FailureStatus(const Status& status);

}  // namespace junction::fhir
