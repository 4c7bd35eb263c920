// Helpers shared by the store tests: temporary directories and sample messages.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "junction/store/store.h"

namespace junction::store::testing {

// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "junction-store-test-XXXXXX").string();
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  bool ok() const { return !path_.empty(); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Opens a store; a failure is reported to gtest and yields nullptr.
inline std::unique_ptr<Store> MustOpen(const StoreOptions& options) {
  Result<std::unique_ptr<Store>> store = Store::Open(options);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  if (!store.ok()) return nullptr;
  return std::move(*store);
}

inline IncomingMessage SampleMessage(const std::string& control_id,
                                     const std::string& patient_id = "12345",
                                     const std::string& type = "ADT",
                                     const std::string& trigger = "A01") {
  IncomingMessage m;
  m.channel = "adt-in";
  m.peer = "127.0.0.1:40001";
  m.control_id = control_id;
  m.message_type = type;
  m.trigger_event = trigger;
  m.message_structure = type + "_" + trigger;
  m.version = "2.5.1";
  m.sending_application = "EPIC";
  m.sending_facility = "HOSP";
  m.receiving_application = "JUNCTION";
  m.receiving_facility = "LAB";
  m.patient_id = patient_id;
  m.raw = "MSH|^~\\&|EPIC|HOSP|JUNCTION|LAB|20240101120000||" + type + "^" + trigger + "|" +
          control_id + "|P|2.5.1\rPID|1||" + patient_id + "^^^HOSP^MR||DOE^JANE\r";
  return m;
}

// Runs `sql` (any number of statements) on a private read-write connection to
// `path`, creating the file if needed: e.g. a store file as an older version
// wrote it.
inline void RunSql(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
}

// Runs a query returning one integer on a private connection to `path`.
inline std::int64_t SqlInt(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::int64_t value = -1;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      value = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close_v2(db);
  return value;
}

inline std::string SqlText(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string value = "<error>";
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      value = text ? reinterpret_cast<const char*>(text) : "";
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close_v2(db);
  return value;
}

}  // namespace junction::store::testing
