// The audit trail (private to junction::fhir_store): one row per audited
// interaction in the append-only table audit.audit_events, in a SQLite file
// of its own (AuditTrailPath) ATTACHed as schema "audit" to the writer and
// reader connections. A commit that only appends audit rows leaves the
// resource file's WAL untouched, so the readers' page caches of the
// resource tables stay valid; no secondary index is kept (searches scan the
// table, which is for administrators only).
//
//   AuditAppender appender;                       // writer thread
//   Result<std::int64_t> seq = appender.Append(writer_db, record);
//   auto event = ReadAuditEvent(reader_db, "audit-1", access);   // JSON rendered on read
//   auto page = RunAuditSearch(reader_db, request, access);
//
// Rows are rendered as FHIR R4 AuditEvent resources (IHE BALP-like: type
// rest, subtype = restful-interaction, agent = the token's subject, entity =
// the references touched, the patients, the search parameter names, the
// request id), id "audit-<seq>", versionId 1, lastUpdated = recorded.
//
// Thread safety: AuditAppender belongs to the writer thread; the read
// functions use only the connection they are given.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "fhir/store/sqlite_conn.h"
#include "junction/fhir/resource_store.h"

namespace junction::fhir::store_internal {

inline constexpr std::string_view kAuditSchema = "audit";

// Creates audit.audit_events when missing (writer, outside a transaction is
// not needed: plain DDL).
inline constexpr const char* kAuditSchemaSql = R"SQL(
CREATE TABLE IF NOT EXISTS audit.audit_events(
  seq INTEGER PRIMARY KEY,
  recorded_us INTEGER NOT NULL,
  subtype TEXT NOT NULL,
  action TEXT NOT NULL,
  type TEXT NOT NULL,
  status INTEGER NOT NULL,
  who TEXT NOT NULL,
  client_id TEXT NOT NULL,
  address TEXT NOT NULL,
  request_id TEXT NOT NULL,
  refs TEXT NOT NULL,       -- '\n' + references joined by '\n' + '\n' ('' when none)
  patients TEXT NOT NULL,   -- likewise, Patient ids
  query TEXT);              -- NULL: not a search; else the parameter names, ', '-joined
)SQL";

// ATTACHes the audit file at `path` as schema "audit" (outside a transaction).
Status AttachAuditTrail(sqlite3* db, const std::string& path);
// Whether `db` has the audit trail attached.
bool HasAuditTrail(sqlite3* db);

// Inserts records with one prepared statement (writer thread).
class AuditAppender {
 public:
  // The row's seq ("audit-<seq>").
  Result<std::int64_t> Append(sqlite3* db, const AuditRecord& record, std::int64_t now_us);

 private:
  SqliteStmt insert_;
};

// kNotFound when `id` is not "audit-<n>" of a stored row, or the row is not
// in access.patient's compartment (one of its patients).
Result<StoredResource> ReadAuditEvent(sqlite3* db, std::string_view id, const Access& access);
// Whether the audit search takes filter parameter `name` (for the
// CapabilityStatement; _id and _lastUpdated are always taken).
bool IsAuditSearchParam(std::string_view name);
// Search of type AuditEvent over the audit rows (parameters: resource_store.h).
Result<SearchPage> RunAuditSearch(sqlite3* db, const SearchRequest& request, const Access& access);

}  // namespace junction::fhir::store_internal
