#include "fhir/store/search_sql.h"

#include "fhir/store/sqlite_conn.h"

namespace junction::fhir::store_internal {

void AppendAccess(std::string_view alias, const Access& access, Sql* sql) {
  if (!access.patient) return;
  sql->Text(" AND ").Text(alias).Text(".rid IN (SELECT rid FROM compartments WHERE patient = ");
  sql->Add(*access.patient).Text(")");
}

std::string ResourceColumns(std::string_view alias) {
  std::string a(alias);
  return a + ".rid, " + a + ".type, " + a + ".id, " + a + ".version, " + a + ".last_updated, " + a +
         ".deleted, " + a + ".json, (SELECT group_concat(c.patient, char(10)) FROM compartments c" +
         " WHERE c.rid = " + a + ".rid)";
}

namespace {

Result<SqliteStmt> PrepareBound(sqlite3* db, const std::string& sql,
                                const std::vector<SqlValue>& values) {
  auto stmt = SqliteStmt::Prepare(db, sql);
  if (!stmt.ok()) return stmt.status();
  for (std::size_t i = 0; i < values.size(); ++i) {
    int index = static_cast<int>(i + 1);
    int rc = SQLITE_OK;
    if (const auto* s = std::get_if<std::string>(&values[i])) {
      rc = stmt->BindText(index, *s);
    } else if (const auto* n = std::get_if<std::int64_t>(&values[i])) {
      rc = stmt->BindInt64(index, *n);
    } else {
      rc = stmt->BindDouble(index, std::get<double>(values[i]));
    }
    if (rc != SQLITE_OK) return SqliteStatus(db, rc, "cannot bind a search value");
  }
  return stmt;
}

}  // namespace

Result<std::vector<LoadedResource>> LoadResources(sqlite3* db, const std::string& sql,
                                                  const std::vector<SqlValue>& values) {
  auto stmt = PrepareBound(db, sql, values);
  if (!stmt.ok()) return stmt.status();
  std::vector<LoadedResource> rows;
  for (;;) {
    int rc = stmt->Step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return SqliteStatus(db, rc, "search query failed");
    LoadedResource row;
    row.rid = stmt->ColumnInt64(0);
    row.resource.type = stmt->ColumnText(1);
    row.resource.id = stmt->ColumnText(2);
    row.resource.version = stmt->ColumnInt64(3);
    row.resource.last_updated = stmt->ColumnText(4);
    row.resource.deleted = stmt->ColumnInt64(5) != 0;
    row.resource.json = stmt->ColumnText(6);
    if (const unsigned char* text = sqlite3_column_text(stmt->get(), 7)) {
      std::string_view rest(reinterpret_cast<const char*>(text),
                            static_cast<std::size_t>(sqlite3_column_bytes(stmt->get(), 7)));
      while (!rest.empty()) {
        std::size_t cut = rest.find('\n');
        if (cut != 0) row.resource.patients.emplace_back(rest.substr(0, cut));
        if (cut == std::string_view::npos) break;
        rest.remove_prefix(cut + 1);
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

Result<std::vector<std::int64_t>> LoadInts(sqlite3* db, const std::string& sql,
                                           const std::vector<SqlValue>& values) {
  auto stmt = PrepareBound(db, sql, values);
  if (!stmt.ok()) return stmt.status();
  std::vector<std::int64_t> out;
  for (;;) {
    int rc = stmt->Step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return SqliteStatus(db, rc, "search query failed");
    out.push_back(stmt->ColumnInt64(0));
  }
  return out;
}

namespace {

// BEGIN / ROLLBACK through SqliteStmt, so that a reader's StmtCache keeps them.
bool StepOnce(sqlite3* db, std::string_view sql) {
  auto stmt = SqliteStmt::Prepare(db, sql);
  return stmt.ok() && stmt->Step() == SQLITE_DONE;
}

}  // namespace

ReadTransaction::ReadTransaction(sqlite3* db) : db_(db) {
  if (sqlite3_get_autocommit(db_) != 0) began_ = StepOnce(db_, "BEGIN");
}

ReadTransaction::~ReadTransaction() {
  // A read-only transaction: COMMIT and ROLLBACK are the same; ROLLBACK
  // cannot fail with SQLITE_BUSY.
  if (began_) (void)StepOnce(db_, "ROLLBACK");
}

}  // namespace junction::fhir::store_internal
