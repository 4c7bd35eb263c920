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
#include <functional>
#include <map>
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

// Prepared statements of one connection kept for reuse, keyed by their SQL
// text (the values travel as bindings, so a query shape has one text).
// While a Scope is alive on a thread, SqliteStmt::Prepare on that
// connection takes its statement from the cache and gives it back (reset,
// bindings cleared) when the SqliteStmt is destroyed; a statement already in
// use is prepared once more and finalized after use.
//
// Ownership: the cache finalizes its statements when destroyed, which must
// happen before the connection closes. Thread safety: one thread at a time,
// like the connection.
class StmtCache {
 public:
  explicit StmtCache(sqlite3* db) : db_(db) {}
  StmtCache(const StmtCache&) = delete;
  StmtCache& operator=(const StmtCache&) = delete;
  ~StmtCache();

  // Binds this cache to the calling thread until destroyed.
  class Scope {
   public:
    explicit Scope(StmtCache* cache);
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
    ~Scope();

   private:
    StmtCache* previous_;
  };
  // The cache bound to this thread for `db`, or nullptr.
  static StmtCache* Current(sqlite3* db);

  // An idle statement for `sql` (now in use), or nullptr.
  sqlite3_stmt* Take(std::string_view sql);
  // Returns a statement after use: reset and kept, or finalized.
  void Give(sqlite3_stmt* stmt);

 private:
  static constexpr std::size_t kMaxStatements = 64;
  struct Entry {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };
  sqlite3* db_;
  std::map<std::string, Entry, std::less<>> entries_;
};

// A prepared statement. Bound text is not copied (SQLITE_STATIC): it must
// outlive the Step/Reset that uses it.
class SqliteStmt {
 public:
  SqliteStmt() = default;
  SqliteStmt(const SqliteStmt&) = delete;
  SqliteStmt& operator=(const SqliteStmt&) = delete;
  SqliteStmt(SqliteStmt&& other) noexcept : stmt_(other.stmt_), cache_(other.cache_) {
    other.stmt_ = nullptr;
    other.cache_ = nullptr;
  }
  SqliteStmt& operator=(SqliteStmt&& other) noexcept;
  ~SqliteStmt() { Release(); }

  // Uses the thread's StmtCache for `db` when there is one.
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
  SqliteStmt(sqlite3_stmt* stmt, StmtCache* cache) : stmt_(stmt), cache_(cache) {}
  void Release();
  sqlite3_stmt* stmt_ = nullptr;
  StmtCache* cache_ = nullptr;  // gives stmt_ back instead of finalizing
};

}  // namespace junction::fhir::store_internal
