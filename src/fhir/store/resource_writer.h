// The resource store's row-level writes (private to junction::fhir_store):
// one version of one resource into `resources`, `resource_versions`, the
// index tables and `compartments`, on the writer connection, inside the
// writer's transaction. FHIR semantics (conditional operations, If-Match,
// transactions) are in write_txn.h; this class only knows rows.
//
//   ResourceWriter writer(db);             // prepares its statements lazily
//   auto current = writer.Current("Patient", "p1");
//   auto stored = writer.Write("Patient", "p1", current->rid, 2, "PUT", json_text, now_us, rows);
//
// Thread safety: the writer thread only.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "fhir/store/index_extract.h"
#include "fhir/store/sqlite_conn.h"
#include "junction/fhir/resource_store.h"

namespace junction::fhir::store_internal {

// The current row of a resource.
struct CurrentRow {
  std::int64_t rid = 0;
  StoredResource resource;
};

class ResourceWriter {
 public:
  explicit ResourceWriter(sqlite3* db) : db_(db) {}

  sqlite3* db() const { return db_; }

  // nullopt when the resource never existed (a tombstone is returned).
  Result<std::optional<CurrentRow>> Current(std::string_view type, std::string_view id);
  Result<std::optional<CurrentRow>> CurrentByRid(std::int64_t rid);
  Result<bool> InCompartment(std::int64_t rid, std::string_view patient);

  // Writes version `version` of the resource (rid 0 = a new resource) with
  // its index rows, replacing the previous rows. `json` is the final text
  // (meta included). Returns the stored version.
  Result<CurrentRow> Write(std::string_view type, std::string_view id, std::int64_t rid,
                           std::int64_t version, std::string_view method, std::string json,
                           std::int64_t now_us, const IndexRows& rows);
  // A tombstone version; index and compartment rows removed.
  Result<CurrentRow> Delete(const CurrentRow& current, std::int64_t now_us);

  // Savepoint control ("SAVEPOINT name" ...).
  Status Exec(const char* sql);

  // Monotonic counter kept in the meta table (audit event ids).
  Result<std::int64_t> NextSequence(std::string_view name);

  // The highest last_updated_us stored (the writer's clock never goes below it).
  Result<std::int64_t> MaxLastUpdated();

 private:
  Result<SqliteStmt*> Stmt(const char* sql);
  // The resources row (inserted when row.rid is 0, which then gets its rid)
  // and the resource_versions row of `row`; an update drops the old index rows.
  Status StoreVersion(CurrentRow& row, std::string_view method, std::int64_t now_us);
  Status RemoveIndexRows(std::int64_t rid);
  Status InsertIndexRows(std::int64_t rid, const IndexRows& rows);
  Status StepDone(SqliteStmt& stmt, const char* what);

  sqlite3* db_;
  std::map<const char*, SqliteStmt> stmts_;  // keyed by the SQL literal's address
};

}  // namespace junction::fhir::store_internal
