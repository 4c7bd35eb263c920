#include "fhir/store/resource_writer.h"

#include <charconv>
#include <utility>

#include "fhir/store/index_values.h"

namespace junction::fhir::store_internal {
namespace {

constexpr const char* kCurrentSql =
    "SELECT rid, type, id, version, last_updated, deleted, json FROM resources"
    " WHERE type = ?1 AND id = ?2";
constexpr const char* kCurrentByRidSql =
    "SELECT rid, type, id, version, last_updated, deleted, json FROM resources WHERE rid = ?1";
constexpr const char* kInCompartmentSql =
    "SELECT 1 FROM compartments WHERE patient = ?1 AND rid = ?2";
constexpr const char* kInsertResourceSql =
    "INSERT INTO resources(type, id, version, last_updated, last_updated_us, deleted, json)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
constexpr const char* kUpdateResourceSql =
    "UPDATE resources SET version = ?2, last_updated = ?3, last_updated_us = ?4, deleted = ?5,"
    " json = ?6 WHERE rid = ?1";
constexpr const char* kInsertVersionSql =
    "INSERT INTO resource_versions(rid, version, last_updated, last_updated_us, deleted, method,"
    " json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
constexpr const char* kDeleteRowsSql[] = {
    "DELETE FROM idx_token WHERE rid = ?1",    "DELETE FROM idx_string WHERE rid = ?1",
    "DELETE FROM idx_date WHERE rid = ?1",     "DELETE FROM idx_reference WHERE rid = ?1",
    "DELETE FROM idx_quantity WHERE rid = ?1", "DELETE FROM idx_number WHERE rid = ?1",
    "DELETE FROM idx_uri WHERE rid = ?1",      "DELETE FROM compartments WHERE rid = ?1",
};
constexpr const char* kInsertTokenSql =
    "INSERT INTO idx_token(rid, param, system, code, text) VALUES (?1, ?2, ?3, ?4, ?5)";
constexpr const char* kInsertStringSql =
    "INSERT INTO idx_string(rid, param, norm, value) VALUES (?1, ?2, ?3, ?4)";
constexpr const char* kInsertDateSql =
    "INSERT INTO idx_date(rid, param, lo_us, hi_us) VALUES (?1, ?2, ?3, ?4)";
constexpr const char* kInsertReferenceSql =
    "INSERT INTO idx_reference(rid, param, target_type, target_id, url) VALUES (?1, ?2, ?3, ?4, "
    "?5)";
constexpr const char* kInsertQuantitySql =
    "INSERT INTO idx_quantity(rid, param, value, system, code, unit) VALUES (?1, ?2, ?3, ?4, ?5, "
    "?6)";
constexpr const char* kInsertNumberSql =
    "INSERT INTO idx_number(rid, param, value) VALUES (?1, ?2, ?3)";
constexpr const char* kInsertUriSql = "INSERT INTO idx_uri(rid, param, value) VALUES (?1, ?2, ?3)";
constexpr const char* kInsertCompartmentSql =
    "INSERT OR IGNORE INTO compartments(patient, rid) VALUES (?1, ?2)";
constexpr const char* kGetSequenceSql = "SELECT value FROM meta WHERE key = ?1";
constexpr const char* kSetSequenceSql =
    "INSERT INTO meta(key, value) VALUES (?1, ?2)"
    " ON CONFLICT(key) DO UPDATE SET value = excluded.value";
constexpr const char* kMaxUpdatedSql =
    "SELECT COALESCE(MAX(last_updated_us), 0) FROM resource_versions";

CurrentRow ReadCurrent(const SqliteStmt& s) {
  CurrentRow row;
  row.rid = s.ColumnInt64(0);
  row.resource.type = s.ColumnText(1);
  row.resource.id = s.ColumnText(2);
  row.resource.version = s.ColumnInt64(3);
  row.resource.last_updated = s.ColumnText(4);
  row.resource.deleted = s.ColumnInt64(5) != 0;
  row.resource.json = s.ColumnText(6);
  return row;
}

}  // namespace

Result<SqliteStmt*> ResourceWriter::Stmt(const char* sql) {
  auto it = stmts_.find(sql);
  if (it == stmts_.end()) {
    Result<SqliteStmt> prepared = SqliteStmt::Prepare(db_, sql);
    if (!prepared.ok()) return prepared.status();
    it = stmts_.emplace(sql, std::move(*prepared)).first;
  }
  return &it->second;
}

Status ResourceWriter::StepDone(SqliteStmt& stmt, const char* what) {
  int rc = stmt.Step();
  stmt.Reset();
  if (rc != SQLITE_DONE) return SqliteStatus(db_, rc, what);
  return Status::Ok();
}

Status ResourceWriter::Exec(const char* sql) { return ExecSql(db_, sql); }

Result<std::optional<CurrentRow>> ResourceWriter::Current(std::string_view type,
                                                          std::string_view id) {
  Result<SqliteStmt*> s = Stmt(kCurrentSql);
  if (!s.ok()) return s.status();
  (*s)->BindText(1, type);
  (*s)->BindText(2, id);
  int rc = (*s)->Step();
  std::optional<CurrentRow> row;
  if (rc == SQLITE_ROW) row = ReadCurrent(**s);
  (*s)->Reset();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return SqliteStatus(db_, rc, "FHIR store: read failed");
  return row;
}

Result<std::optional<CurrentRow>> ResourceWriter::CurrentByRid(std::int64_t rid) {
  Result<SqliteStmt*> s = Stmt(kCurrentByRidSql);
  if (!s.ok()) return s.status();
  (*s)->BindInt64(1, rid);
  int rc = (*s)->Step();
  std::optional<CurrentRow> row;
  if (rc == SQLITE_ROW) row = ReadCurrent(**s);
  (*s)->Reset();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return SqliteStatus(db_, rc, "FHIR store: read failed");
  return row;
}

Result<bool> ResourceWriter::InCompartment(std::int64_t rid, std::string_view patient) {
  Result<SqliteStmt*> s = Stmt(kInCompartmentSql);
  if (!s.ok()) return s.status();
  (*s)->BindText(1, patient);
  (*s)->BindInt64(2, rid);
  int rc = (*s)->Step();
  (*s)->Reset();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    return SqliteStatus(db_, rc, "FHIR store: compartment lookup failed");
  }
  return rc == SQLITE_ROW;
}

Status ResourceWriter::RemoveIndexRows(std::int64_t rid) {
  for (const char* sql : kDeleteRowsSql) {
    Result<SqliteStmt*> s = Stmt(sql);
    if (!s.ok()) return s.status();
    (*s)->BindInt64(1, rid);
    JUNCTION_RETURN_IF_ERROR(StepDone(**s, "FHIR store: index removal failed"));
  }
  return Status::Ok();
}

Status ResourceWriter::InsertIndexRows(std::int64_t rid, const IndexRows& rows) {
  // Every insert binds rid as ?1 and the parameter key as ?2.
  auto run = [&](const char* sql, const std::string& param, auto&& bind) -> Status {
    Result<SqliteStmt*> s = Stmt(sql);
    if (!s.ok()) return s.status();
    (*s)->BindInt64(1, rid);
    (*s)->BindText(2, param);
    bind(**s);
    return StepDone(**s, "FHIR store: index insert failed");
  };
  for (const TokenRow& r : rows.tokens) {
    JUNCTION_RETURN_IF_ERROR(run(kInsertTokenSql, r.param, [&](SqliteStmt& s) {
      s.BindText(3, r.system);
      s.BindText(4, r.code);
      s.BindText(5, r.text);
    }));
  }
  for (const StringRow& r : rows.strings) {
    JUNCTION_RETURN_IF_ERROR(run(kInsertStringSql, r.param, [&](SqliteStmt& s) {
      s.BindText(3, r.norm);
      s.BindText(4, r.value);
    }));
  }
  for (const DateRow& r : rows.dates) {
    JUNCTION_RETURN_IF_ERROR(run(kInsertDateSql, r.param, [&](SqliteStmt& s) {
      s.BindInt64(3, r.lo_us);
      s.BindInt64(4, r.hi_us);
    }));
  }
  for (const ReferenceRow& r : rows.references) {
    JUNCTION_RETURN_IF_ERROR(run(kInsertReferenceSql, r.param, [&](SqliteStmt& s) {
      s.BindText(3, r.target_type);
      s.BindText(4, r.target_id);
      s.BindText(5, r.url);
    }));
  }
  for (const QuantityRow& r : rows.quantities) {
    JUNCTION_RETURN_IF_ERROR(run(kInsertQuantitySql, r.param, [&](SqliteStmt& s) {
      s.BindDouble(3, r.value);
      s.BindText(4, r.system);
      s.BindText(5, r.code);
      s.BindText(6, r.unit);
    }));
  }
  for (const NumberRow& r : rows.numbers) {
    JUNCTION_RETURN_IF_ERROR(
        run(kInsertNumberSql, r.param, [&](SqliteStmt& s) { s.BindDouble(3, r.value); }));
  }
  for (const UriRow& r : rows.uris) {
    JUNCTION_RETURN_IF_ERROR(
        run(kInsertUriSql, r.param, [&](SqliteStmt& s) { s.BindText(3, r.value); }));
  }
  for (const std::string& patient : rows.compartment) {
    Result<SqliteStmt*> s = Stmt(kInsertCompartmentSql);
    if (!s.ok()) return s.status();
    (*s)->BindText(1, patient);
    (*s)->BindInt64(2, rid);
    JUNCTION_RETURN_IF_ERROR(StepDone(**s, "FHIR store: compartment insert failed"));
  }
  return Status::Ok();
}

Status ResourceWriter::StoreVersion(CurrentRow& row, std::string_view method, std::int64_t now_us) {
  const StoredResource& r = row.resource;
  const std::int64_t deleted = r.deleted ? 1 : 0;
  if (row.rid == 0) {
    Result<SqliteStmt*> s = Stmt(kInsertResourceSql);
    if (!s.ok()) return s.status();
    (*s)->BindText(1, r.type);
    (*s)->BindText(2, r.id);
    (*s)->BindInt64(3, r.version);
    (*s)->BindText(4, r.last_updated);
    (*s)->BindInt64(5, now_us);
    (*s)->BindInt64(6, deleted);
    (*s)->BindText(7, r.json);
    JUNCTION_RETURN_IF_ERROR(StepDone(**s, "FHIR store: insert failed"));
    row.rid = sqlite3_last_insert_rowid(db_);
  } else {
    Result<SqliteStmt*> s = Stmt(kUpdateResourceSql);
    if (!s.ok()) return s.status();
    (*s)->BindInt64(1, row.rid);
    (*s)->BindInt64(2, r.version);
    (*s)->BindText(3, r.last_updated);
    (*s)->BindInt64(4, now_us);
    (*s)->BindInt64(5, deleted);
    (*s)->BindText(6, r.json);
    JUNCTION_RETURN_IF_ERROR(StepDone(**s, "FHIR store: update failed"));
    JUNCTION_RETURN_IF_ERROR(RemoveIndexRows(row.rid));
  }
  Result<SqliteStmt*> v = Stmt(kInsertVersionSql);
  if (!v.ok()) return v.status();
  (*v)->BindInt64(1, row.rid);
  (*v)->BindInt64(2, r.version);
  (*v)->BindText(3, r.last_updated);
  (*v)->BindInt64(4, now_us);
  (*v)->BindInt64(5, deleted);
  (*v)->BindText(6, method);
  (*v)->BindText(7, r.json);
  return StepDone(**v, "FHIR store: version insert failed");
}

Result<CurrentRow> ResourceWriter::Write(std::string_view type, std::string_view id,
                                         std::int64_t rid, std::int64_t version,
                                         std::string_view method, std::string json,
                                         std::int64_t now_us, const IndexRows& rows) {
  CurrentRow row;
  row.rid = rid;
  row.resource.type = std::string(type);
  row.resource.id = std::string(id);
  row.resource.version = version;
  row.resource.last_updated = FormatInstant(now_us);
  row.resource.json = std::move(json);
  JUNCTION_RETURN_IF_ERROR(StoreVersion(row, method, now_us));
  JUNCTION_RETURN_IF_ERROR(InsertIndexRows(row.rid, rows));
  return row;
}

Result<CurrentRow> ResourceWriter::Delete(const CurrentRow& current, std::int64_t now_us) {
  CurrentRow row = current;
  row.resource.version = current.resource.version + 1;
  row.resource.last_updated = FormatInstant(now_us);
  row.resource.deleted = true;
  row.resource.json.clear();
  JUNCTION_RETURN_IF_ERROR(StoreVersion(row, "DELETE", now_us));
  return row;
}

Result<std::int64_t> ResourceWriter::NextSequence(std::string_view name) {
  Result<SqliteStmt*> get = Stmt(kGetSequenceSql);
  if (!get.ok()) return get.status();
  (*get)->BindText(1, name);
  int rc = (*get)->Step();
  std::int64_t value = 0;
  if (rc == SQLITE_ROW) {
    std::string text = (*get)->ColumnText(0);
    std::from_chars(text.data(), text.data() + text.size(), value);
  }
  (*get)->Reset();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return SqliteStatus(db_, rc, "FHIR store: meta read failed");
  ++value;
  Result<SqliteStmt*> set = Stmt(kSetSequenceSql);
  if (!set.ok()) return set.status();
  std::string text = std::to_string(value);
  (*set)->BindText(1, name);
  (*set)->BindText(2, text);
  JUNCTION_RETURN_IF_ERROR(StepDone(**set, "FHIR store: meta write failed"));
  return value;
}

Result<std::int64_t> ResourceWriter::MaxLastUpdated() {
  Result<SqliteStmt*> s = Stmt(kMaxUpdatedSql);
  if (!s.ok()) return s.status();
  int rc = (*s)->Step();
  std::int64_t value = rc == SQLITE_ROW ? (*s)->ColumnInt64(0) : 0;
  (*s)->Reset();
  if (rc != SQLITE_ROW) return SqliteStatus(db_, rc, "FHIR store: meta read failed");
  return value;
}

}  // namespace junction::fhir::store_internal
