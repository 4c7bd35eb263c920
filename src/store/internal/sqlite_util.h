// Thin RAII wrappers over the SQLite C API, private to the store.
//
// Thread safety: a Db or Stmt is used by one thread at a time (connections are
// opened with SQLITE_OPEN_NOMUTEX; the store gives each its own owner).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "junction/hl7/status.h"

namespace junction::store::internal {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;

// "what: sqlite message (code N)". SQLite messages name tables and columns,
// never row values, so they carry no PHI.
Status SqliteError(sqlite3* db, int rc, std::string_view what);

// Opens `path` with `flags` (SQLITE_OPEN_NOMUTEX is added) and busy timeout.
Result<DbPtr> OpenDb(const std::string& path, int flags, int busy_timeout_ms);

// Runs one or more statements that return no rows of interest.
Status Exec(sqlite3* db, const char* sql);

// Runs a statement returning one integer (e.g. "PRAGMA user_version").
Result<std::int64_t> QueryInt(sqlite3* db, const char* sql);
// Runs a statement returning one text value (e.g. "PRAGMA journal_mode=WAL").
Result<std::string> QueryText(sqlite3* db, const char* sql);

// A prepared statement. Bound text and blobs are not copied (SQLITE_STATIC):
// they must outlive the Step/Reset that uses them.
class Stmt {
 public:
  Stmt() = default;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt(Stmt&& other) noexcept : stmt_(other.stmt_) { other.stmt_ = nullptr; }
  Stmt& operator=(Stmt&& other) noexcept;
  ~Stmt() { sqlite3_finalize(stmt_); }

  static Result<Stmt> Prepare(sqlite3* db, std::string_view sql);

  sqlite3_stmt* get() const { return stmt_; }
  int BindText(int index, std::string_view value);
  int BindBlob(int index, std::string_view value);
  int BindInt64(int index, std::int64_t value);
  int BindNull(int index);
  int Step() { return sqlite3_step(stmt_); }
  // Resets for reuse and clears bindings (so no pointer to freed memory stays).
  void Reset();

  std::int64_t ColumnInt64(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string ColumnText(int col) const;
  std::string ColumnBlob(int col) const;

 private:
  explicit Stmt(sqlite3_stmt* stmt) : stmt_(stmt) {}
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace junction::store::internal
