// SQL text with its bound values, and the queries the search runs (private
// to junction::fhir_store). User values only ever travel as bound parameters:
// Sql::Add appends a '?' and remembers the value.
//
//   Sql where;
//   where.Text("r.type = ").Add(std::string("Patient"));
//   AppendAccess("r", access, &where);   // " AND r.rid IN (SELECT rid FROM compartments WHERE
//   patient = ?)" auto rows = LoadResources(db, "SELECT ... WHERE " + where.text, where.values);
//
// Thread safety: values; the functions use the given connection only.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "junction/fhir/resource_store.h"

namespace junction::fhir::store_internal {

using SqlValue = std::variant<std::int64_t, double, std::string>;

struct Sql {
  std::string text;
  std::vector<SqlValue> values;

  Sql& Text(std::string_view s) {
    text += s;
    return *this;
  }
  Sql& Add(SqlValue value) {
    text += '?';
    values.push_back(std::move(value));
    return *this;
  }
  Sql& Append(const Sql& other) {
    text += other.text;
    values.insert(values.end(), other.values.begin(), other.values.end());
    return *this;
  }
};

// " AND <alias>.rid IN (SELECT rid FROM compartments WHERE patient = ?)" when
// access.patient is set; nothing otherwise.
void AppendAccess(std::string_view alias, const Access& access, Sql* sql);

// The columns LoadResources expects, for a resources table alias:
// "<a>.rid, <a>.type, <a>.id, <a>.version, <a>.last_updated, <a>.deleted, <a>.json" and
// the Patient ids of its compartment rows ('\n'-joined, for StoredResource::patients).
std::string ResourceColumns(std::string_view alias);

struct LoadedResource {
  std::int64_t rid = 0;
  StoredResource resource;
};
// Runs a SELECT of ResourceColumns(...).
Result<std::vector<LoadedResource>> LoadResources(sqlite3* db, const std::string& sql,
                                                  const std::vector<SqlValue>& values);
// Runs a SELECT whose first column is an integer (rids, COUNT(*)).
Result<std::vector<std::int64_t>> LoadInts(sqlite3* db, const std::string& sql,
                                           const std::vector<SqlValue>& values);

// Holds a read transaction over several statements (consistent pages,
// totals and includes) when the connection is in autocommit mode; leaves
// an open transaction (the writer's) alone.
class ReadTransaction {
 public:
  explicit ReadTransaction(sqlite3* db);
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;
  ~ReadTransaction();

 private:
  sqlite3* db_;
  bool began_ = false;
};

}  // namespace junction::fhir::store_internal
