#include "fhir/store/sqlite_conn.h"

#include <limits>

namespace junction::fhir::store_internal {

Status SqliteStatus(sqlite3* db, int rc, std::string_view what) {
  std::string text(what);
  text += ": ";
  text += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  text += " (code " + std::to_string(rc) + ")";
  return Status::Io(std::move(text));
}

Result<SqliteDb> OpenSqlite(const std::string& path, int flags, int busy_timeout_ms) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  SqliteDb db(raw);
  if (rc != SQLITE_OK) return SqliteStatus(db.get(), rc, "cannot open the FHIR store");
  sqlite3_extended_result_codes(db.get(), 1);
  sqlite3_busy_timeout(db.get(), busy_timeout_ms);
  return db;
}

Status ExecSql(sqlite3* db, const char* sql) {
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteStatus(db, rc, "FHIR store statement failed");
  return Status::Ok();
}

namespace {
thread_local StmtCache* t_cache = nullptr;
}  // namespace

StmtCache::~StmtCache() {
  for (auto& [sql, entry] : entries_) {
    // In-use statements are finalized by their SqliteStmt... which must not
    // outlive the cache; finalize what is idle.
    if (!entry.in_use) sqlite3_finalize(entry.stmt);
  }
}

StmtCache::Scope::Scope(StmtCache* cache) : previous_(t_cache) { t_cache = cache; }
StmtCache::Scope::~Scope() { t_cache = previous_; }

StmtCache* StmtCache::Current(sqlite3* db) {
  return t_cache != nullptr && t_cache->db_ == db ? t_cache : nullptr;
}

sqlite3_stmt* StmtCache::Take(std::string_view sql) {
  auto it = entries_.find(sql);
  if (it == entries_.end() || it->second.in_use) return nullptr;
  it->second.in_use = true;
  return it->second.stmt;
}

void StmtCache::Give(sqlite3_stmt* stmt) {
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  std::string_view sql = sqlite3_sql(stmt);
  auto it = entries_.find(sql);
  if (it != entries_.end()) {
    if (it->second.stmt == stmt) {
      it->second.in_use = false;
      return;
    }
    sqlite3_finalize(stmt);  // a second copy made while the first was in use
    return;
  }
  if (entries_.size() >= kMaxStatements) {
    // Many query shapes (searches with varying parameters): start over
    // rather than track use; statements in use stay with their owners.
    for (auto e = entries_.begin(); e != entries_.end();) {
      if (e->second.in_use) {
        ++e;
      } else {
        sqlite3_finalize(e->second.stmt);
        e = entries_.erase(e);
      }
    }
  }
  entries_.emplace(std::string(sql), Entry{stmt, false});
}

void SqliteStmt::Release() {
  if (stmt_ == nullptr) return;
  if (cache_ != nullptr) {
    cache_->Give(stmt_);
  } else {
    sqlite3_finalize(stmt_);
  }
  stmt_ = nullptr;
  cache_ = nullptr;
}

SqliteStmt& SqliteStmt::operator=(SqliteStmt&& other) noexcept {
  if (this != &other) {
    Release();
    stmt_ = other.stmt_;
    cache_ = other.cache_;
    other.stmt_ = nullptr;
    other.cache_ = nullptr;
  }
  return *this;
}

Result<SqliteStmt> SqliteStmt::Prepare(sqlite3* db, std::string_view sql) {
  StmtCache* cache = StmtCache::Current(db);
  if (cache != nullptr) {
    if (sqlite3_stmt* cached = cache->Take(sql)) return SqliteStmt(cached, cache);
  }
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                              cache != nullptr ? SQLITE_PREPARE_PERSISTENT : 0, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return SqliteStatus(db, rc, "cannot prepare a FHIR store statement");
  }
  if (stmt == nullptr) return Status::Invalid("FHIR store: an empty statement");
  return SqliteStmt(stmt, cache);
}

int SqliteStmt::BindText(int index, std::string_view value) {
  if (value.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    return SQLITE_TOOBIG;
  return sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()),
                           SQLITE_STATIC);
}

int SqliteStmt::BindInt64(int index, std::int64_t value) {
  return sqlite3_bind_int64(stmt_, index, value);
}

int SqliteStmt::BindDouble(int index, double value) {
  return sqlite3_bind_double(stmt_, index, value);
}

int SqliteStmt::BindNull(int index) { return sqlite3_bind_null(stmt_, index); }

void SqliteStmt::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string SqliteStmt::ColumnText(int col) const {
  const unsigned char* text = sqlite3_column_text(stmt_, col);
  int size = sqlite3_column_bytes(stmt_, col);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(size));
}

}  // namespace junction::fhir::store_internal
