// ResourceStoreImpl reads: the reader connection pool, Read, ReadVersion,
// History, and Search/Everything (delegated to search_query.h). The Access
// restriction is part of every query's SQL.
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "fhir/store/audit_trail.h"
#include "fhir/store/index_values.h"
#include "fhir/store/resource_store_impl.h"
#include "fhir/store/search_query.h"

namespace junction::fhir::store_internal {
namespace {

constexpr std::size_t kMaxIdleReaders = 8;
constexpr std::size_t kMaxHistoryCount = 1000;

// The restriction to a patient's compartment, on the resources row `alias`.
std::string AccessClause(const Access& access, std::string_view alias, int param) {
  if (!access.patient) return "";
  return " AND " + std::string(alias) + ".rid IN (SELECT rid FROM compartments WHERE patient = ?" +
         std::to_string(param) + ")";
}

StoredResource ReadStored(const SqliteStmt& s) {
  StoredResource r;
  r.type = s.ColumnText(0);
  r.id = s.ColumnText(1);
  r.version = s.ColumnInt64(2);
  r.last_updated = s.ColumnText(3);
  r.deleted = s.ColumnInt64(4) != 0;
  r.json = s.ColumnText(5);
  return r;
}

Result<StoredResource> ReadOne(sqlite3* db, const std::string& sql, std::string_view type,
                               std::string_view id, const std::int64_t* version,
                               const Access& access) {
  Result<SqliteStmt> s = SqliteStmt::Prepare(db, sql);
  if (!s.ok()) return s.status();
  s->BindText(1, type);
  s->BindText(2, id);
  if (version != nullptr) s->BindInt64(3, *version);
  if (access.patient) s->BindText(4, *access.patient);
  int rc = s->Step();
  if (rc == SQLITE_DONE) {
    return Status::NotFound(std::string(type) + "/" + std::string(id) +
                            (version != nullptr ? "/_history/" + std::to_string(*version) : "") +
                            " is not known");
  }
  if (rc != SQLITE_ROW) return SqliteStatus(db, rc, "FHIR store: read failed");
  StoredResource stored = ReadStored(*s);
  if (sqlite3_column_count(s->get()) > 6) {
    std::string patients = s->ColumnText(6);
    std::string_view rest = patients;
    while (!rest.empty()) {
      std::size_t cut = rest.find('\n');
      if (cut != 0) stored.patients.emplace_back(rest.substr(0, cut));
      if (cut == std::string_view::npos) break;
      rest.remove_prefix(cut + 1);
    }
  }
  return stored;
}

}  // namespace

Result<std::unique_ptr<ResourceStoreImpl::Reader>> ResourceStoreImpl::AcquireReader() const {
  {
    std::lock_guard lock(readers_mu_);
    if (readers_closed_) return Status::Io("the FHIR store is closed");
    if (!idle_readers_.empty()) {
      std::unique_ptr<Reader> reader = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return reader;
    }
  }
  Result<SqliteDb> db = OpenSqlite(path_, SQLITE_OPEN_READONLY, 10'000);
  if (!db.ok()) return db.status();
  // A store written by an older version may have no audit trail yet (read-only).
  std::error_code ec;
  if (std::filesystem::exists(audit_path_, ec)) {
    JUNCTION_RETURN_IF_ERROR(AttachAuditTrail(db->get(), audit_path_));
  }
  return std::make_unique<Reader>(std::move(*db));
}

void ResourceStoreImpl::ReleaseReader(std::unique_ptr<Reader> reader) const {
  std::lock_guard lock(readers_mu_);
  if (!readers_closed_ && idle_readers_.size() < kMaxIdleReaders) {
    idle_readers_.push_back(std::move(reader));
  }
}

template <typename F>
auto ResourceStoreImpl::WithReader(F&& f) const -> decltype(f(static_cast<sqlite3*>(nullptr))) {
  Result<std::unique_ptr<Reader>> reader = AcquireReader();
  if (!reader.ok()) return reader.status();
  decltype(f(static_cast<sqlite3*>(nullptr))) result = [&] {
    StmtCache::Scope scope(&(*reader)->cache);
    return f((*reader)->db.get());
  }();
  ReleaseReader(std::move(*reader));
  return result;
}

Result<StoredResource> ResourceStoreImpl::Read(std::string_view type, std::string_view id,
                                               const Access& access) const {
  if (type == "AuditEvent" && id.starts_with("audit-")) {
    return WithReader([&](sqlite3* db) { return ReadAuditEvent(db, id, access); });
  }
  // Other types also name the patients whose compartment holds them (for
  // the audit record), from the compartment rows rather than the JSON.
  std::string sql =
      std::string(type == "Patient"
                      ? "SELECT r.type, r.id, r.version, r.last_updated, r.deleted, r.json"
                      : "SELECT r.type, r.id, r.version, r.last_updated, r.deleted, r.json,"
                        " (SELECT group_concat(c.patient, char(10)) FROM compartments c"
                        " WHERE c.rid = r.rid)") +
      " FROM resources r WHERE r.type = ?1 AND r.id = ?2" + AccessClause(access, "r", 4);
  return WithReader([&](sqlite3* db) { return ReadOne(db, sql, type, id, nullptr, access); });
}

Result<StoredResource> ResourceStoreImpl::ReadVersion(std::string_view type, std::string_view id,
                                                      std::int64_t version,
                                                      const Access& access) const {
  std::string sql =
      "SELECT r.type, r.id, v.version, v.last_updated, v.deleted, v.json"
      " FROM resources r JOIN resource_versions v ON v.rid = r.rid"
      " WHERE r.type = ?1 AND r.id = ?2 AND v.version = ?3" +
      AccessClause(access, "r", 4);
  return WithReader([&](sqlite3* db) { return ReadOne(db, sql, type, id, &version, access); });
}

Result<HistoryPage> ResourceStoreImpl::History(const HistoryRequest& request,
                                               const Access& access) const {
  std::int64_t since_us = kMinTimeUs;
  if (!request.since.empty()) {
    auto range = ParseDateRange(request.since);
    if (!range) return Status::Invalid("_since: not a FHIR instant");
    since_us = range->lo_us;
  }
  if (!request.id.empty() && request.type.empty()) {
    return Status::Invalid("history: an id needs a resource type");
  }
  // ?1 type, ?2 id, ?3 since, ?4 patient; unused ones stay NULL.
  std::string where = " WHERE v.last_updated_us >= ?3";
  if (!request.type.empty()) where += " AND r.type = ?1";
  if (!request.id.empty()) where += " AND r.id = ?2";
  where += AccessClause(access, "r", 4);
  const std::string from = " FROM resource_versions v JOIN resources r ON r.rid = v.rid";
  std::size_t count = std::min(request.count, kMaxHistoryCount);
  std::string page_sql =
      "SELECT r.type, r.id, v.version, v.last_updated, v.deleted, v.json, v.method" + from + where +
      " ORDER BY v.last_updated_us DESC, v.rid DESC, v.version DESC LIMIT " +
      std::to_string(count + 1) + " OFFSET " + std::to_string(request.offset);
  std::string count_sql = "SELECT COUNT(*)" + from + where;
  std::string exists_sql =
      "SELECT 1 FROM resources r WHERE r.type = ?1 AND r.id = ?2" + AccessClause(access, "r", 4);

  return WithReader([&](sqlite3* db) -> Result<HistoryPage> {
    // One read transaction: the page and the total agree.
    JUNCTION_RETURN_IF_ERROR(ExecSql(db, "BEGIN"));
    auto bind = [&](SqliteStmt& s) {
      if (!request.type.empty()) s.BindText(1, request.type);
      if (!request.id.empty()) s.BindText(2, request.id);
      s.BindInt64(3, since_us);
      if (access.patient) s.BindText(4, *access.patient);
    };
    auto run = [&]() -> Result<HistoryPage> {
      HistoryPage page;
      if (!request.id.empty()) {
        Result<SqliteStmt> s = SqliteStmt::Prepare(db, exists_sql);
        if (!s.ok()) return s.status();
        bind(*s);
        int rc = s->Step();
        if (rc == SQLITE_DONE)
          return Status::NotFound(request.type + "/" + request.id + " is not known");
        if (rc != SQLITE_ROW) return SqliteStatus(db, rc, "FHIR store: history failed");
      }
      Result<SqliteStmt> s = SqliteStmt::Prepare(db, page_sql);
      if (!s.ok()) return s.status();
      bind(*s);
      for (;;) {
        int rc = s->Step();
        if (rc == SQLITE_DONE) break;
        if (rc != SQLITE_ROW) return SqliteStatus(db, rc, "FHIR store: history failed");
        if (page.versions.size() == count) {
          page.has_more = true;
          break;
        }
        page.versions.push_back(ReadStored(*s));
        page.versions.back().method = s->ColumnText(6);
      }
      Result<SqliteStmt> c = SqliteStmt::Prepare(db, count_sql);
      if (!c.ok()) return c.status();
      bind(*c);
      int rc = c->Step();
      if (rc != SQLITE_ROW) return SqliteStatus(db, rc, "FHIR store: history count failed");
      page.total = c->ColumnInt64(0);
      return page;
    };
    Result<HistoryPage> page = run();
    (void)ExecSql(db, "COMMIT");
    return page;
  });
}

Result<SearchPage> ResourceStoreImpl::Search(const SearchRequest& request,
                                             const Access& access) const {
  if (request.type == "AuditEvent") {
    return WithReader([&](sqlite3* db) { return RunAuditSearch(db, request, access); });
  }
  return WithReader([&](sqlite3* db) { return RunSearch(db, request, access); });
}

Result<SearchPage> ResourceStoreImpl::Everything(std::string_view patient_id, std::size_t offset,
                                                 std::size_t count, const Access& access) const {
  return WithReader(
      [&](sqlite3* db) { return RunEverything(db, patient_id, offset, count, access); });
}

}  // namespace junction::fhir::store_internal
