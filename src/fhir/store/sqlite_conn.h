// Thin RAII wrappers over the SQLite C API for the FHIR resource store
// (private to junction::fhir_store; the message store keeps its own).
//
//   Result<SqliteDb> db = OpenSqlite(path, SQLITE_OPEN_READONLY, 5000);
//   Result<SqliteStmt> stmt = SqliteStmt::Prepare(db->get(), "SELECT 1");
//
// Thread safety: a connection or statement is used by one thread at a time
// (connections are opened with SQLITE_OPEN_NOMUTEX).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "junction/hl7/status.h"

namespace junction::fhir::store_internal {

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using SqliteDb = std::unique_ptr<sqlite3, SqliteCloser>;

// "what: sqlite message (code N)". SQLite messages name tables and columns,
// never row values, so they carry no PHI.
Status SqliteStatus(sqlite3* db, int rc, std::string_view what);

// Opens `path` with `flags` (SQLITE_OPEN_NOMUTEX added) and a busy timeout.
Result<SqliteDb> OpenSqlite(const std::string& path, int flags, int busy_timeout_ms);

// Runs statements that return no rows of interest.
Status ExecSql(sqlite3* db, const char* sql);

// A prepared statement. Bound text is not copied (SQLITE_STATIC): it must
// outlive the Step/Reset that uses it.
class SqliteStmt {
 public:
  SqliteStmt() = default;
  SqliteStmt(const SqliteStmt&) = delete;
  SqliteStmt& operator=(const SqliteStmt&) = delete;
  SqliteStmt(SqliteStmt&& other) noexcept : stmt_(other.stmt_) { other.stmt_ = nullptr; }
  SqliteStmt& operator=(SqliteStmt&& other) noexcept;
  ~SqliteStmt() { sqlite3_finalize(stmt_); }

  static Result<SqliteStmt> Prepare(sqlite3* db, std::string_view sql);

  sqlite3_stmt* get() const { return stmt_; }
  int BindText(int index, std::string_view value);
  int BindInt64(int index, std::int64_t value);
  int BindDouble(int index, double value);
  int BindNull(int index);
  int Step() { return sqlite3_step(stmt_); }
  // Resets for reuse and clears the bindings.
  void Reset();

  std::int64_t ColumnInt64(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string ColumnText(int col) const;

 private:
  explicit SqliteStmt(sqlite3_stmt* stmt) : stmt_(stmt) {}
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace junction::fhir::store_internal
