#include "store/internal/sqlite_util.h"

#include <limits>
#include <mutex>

namespace junction::store::internal {

Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string text(what);
  text += ": ";
  // sqlite3_errmsg describes the most recent failure on this connection; fall
  // back to the generic text for the code when there is no connection.
  text += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  text += " (code " + std::to_string(rc) + ")";
  return Status::Io(std::move(text));
}

Result<DbPtr> OpenDb(const std::string& path, int flags, int busy_timeout_ms) {
  // SQLite's allocation statistics take one process-wide mutex around every
  // malloc and free: with the writer, the readers and the FHIR store busy at
  // once that lock was ~8% of the pipeline's profile. Nothing reads the
  // statistics. Only possible before SQLite initializes; if another part of
  // the process initialized it first the call fails and changes nothing.
  static std::once_flag memstatus_off;
  std::call_once(memstatus_off, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK) return SqliteError(db.get(), rc, "cannot open the message store");
  sqlite3_extended_result_codes(db.get(), 1);
  sqlite3_busy_timeout(db.get(), busy_timeout_ms);
  return db;
}

Status Exec(sqlite3* db, const char* sql) {
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db, rc, "store statement failed");
  return Status::Ok();
}

Result<std::int64_t> QueryInt(sqlite3* db, const char* sql) {
  Result<Stmt> stmt = Stmt::Prepare(db, sql);
  if (!stmt.ok()) return stmt.status();
  int rc = stmt->Step();
  if (rc != SQLITE_ROW) return SqliteError(db, rc, "store query returned no row");
  return stmt->ColumnInt64(0);
}

Result<std::string> QueryText(sqlite3* db, const char* sql) {
  Result<Stmt> stmt = Stmt::Prepare(db, sql);
  if (!stmt.ok()) return stmt.status();
  int rc = stmt->Step();
  if (rc != SQLITE_ROW) return SqliteError(db, rc, "store query returned no row");
  return stmt->ColumnText(0);
}

Stmt& Stmt::operator=(Stmt&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = other.stmt_;
    other.stmt_ = nullptr;
  }
  return *this;
}

Result<Stmt> Stmt::Prepare(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return SqliteError(db, rc, "cannot prepare store statement");
  }
  return Stmt(stmt);
}

int Stmt::BindText(int index, std::string_view value) {
  // Sizes are bounded by the store long before int overflows; guard anyway.
  if (value.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    return SQLITE_TOOBIG;
  return sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()),
                           SQLITE_STATIC);
}

int Stmt::BindBlob(int index, std::string_view value) {
  return sqlite3_bind_blob64(stmt_, index, value.data(), value.size(), SQLITE_STATIC);
}

int Stmt::BindInt64(int index, std::int64_t value) {
  return sqlite3_bind_int64(stmt_, index, value);
}

int Stmt::BindNull(int index) { return sqlite3_bind_null(stmt_, index); }

void Stmt::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string Stmt::ColumnText(int col) const {
  const unsigned char* text = sqlite3_column_text(stmt_, col);
  int size = sqlite3_column_bytes(stmt_, col);
  if (text == nullptr || size <= 0) return {};
  return std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(size));
}

std::string Stmt::ColumnBlob(int col) const {
  const void* data = sqlite3_column_blob(stmt_, col);
  int size = sqlite3_column_bytes(stmt_, col);
  if (data == nullptr || size <= 0) return {};
  return std::string(static_cast<const char*>(data), static_cast<std::size_t>(size));
}

}  // namespace junction::store::internal
