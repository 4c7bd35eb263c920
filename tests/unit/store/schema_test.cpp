// Schema versioning: fresh files are created at the current version, files of
// other applications and of newer builds are refused, never modified.
#include <sqlite3.h>

#include <gtest/gtest.h>

#include <string>

#include "junction/store/store.h"
#include "unit/store/store_test_util.h"

namespace junction::store {
namespace {

using testing::RunSql;
using testing::SampleMessage;
using testing::SqlInt;
using testing::TempDir;

TEST(StoreSchema, FreshFileGetsCurrentVersionAndApplicationId) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  StoreOptions o;
  o.sqlite_path = dir.File("fresh.db");
  ASSERT_TRUE(Store::Open(o).ok());
  EXPECT_GE(CurrentSchemaVersion(), 1);
  EXPECT_EQ(SqlInt(o.sqlite_path, "PRAGMA user_version"), CurrentSchemaVersion());
  EXPECT_EQ(SqlInt(o.sqlite_path, "PRAGMA application_id"), 0x4A4E4354);
  EXPECT_EQ(SqlInt(o.sqlite_path, "PRAGMA page_size"), 8192);  // docs/store.md: why
}

TEST(StoreSchema, EmptyExistingFileIsMigrated) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  StoreOptions o;
  o.sqlite_path = dir.File("empty.db");
  RunSql(o.sqlite_path, "PRAGMA user_version = 0");  // creates an empty database
  Result<std::unique_ptr<Store>> store = Store::Open(o);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_TRUE((*store)->AppendAndWait(SampleMessage("M1")).ok());
}

TEST(StoreSchema, RefusesNewerSchemaVersion) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  StoreOptions o;
  o.sqlite_path = dir.File("newer.db");
  ASSERT_TRUE(Store::Open(o).ok());
  std::string bump = "PRAGMA user_version = " + std::to_string(CurrentSchemaVersion() + 1);
  RunSql(o.sqlite_path, bump.c_str());
  Result<std::unique_ptr<Store>> store = Store::Open(o);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("newer"), std::string::npos);
  o.read_only = true;
  EXPECT_FALSE(Store::Open(o).ok());
  EXPECT_EQ(SqlInt(o.sqlite_path, "PRAGMA user_version"), CurrentSchemaVersion() + 1);
}

TEST(StoreSchema, RefusesAnotherApplicationsDatabase) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  StoreOptions o;
  o.sqlite_path = dir.File("other.db");
  RunSql(o.sqlite_path, "CREATE TABLE patients (id INTEGER); INSERT INTO patients VALUES (1);");
  Result<std::unique_ptr<Store>> store = Store::Open(o);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(SqlInt(o.sqlite_path, "SELECT count(*) FROM sqlite_schema WHERE name = 'messages'"), 0);

  std::string other = dir.File("other-app.db");
  RunSql(other, "PRAGMA application_id = 1234; PRAGMA user_version = 1;");
  o.sqlite_path = other;
  EXPECT_FALSE(Store::Open(o).ok());
}

}  // namespace
}  // namespace junction::store

namespace junction::store {
namespace {

// EXPLAIN QUERY PLAN's detail lines for `sql`, joined.
std::string Plan(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  const std::string explain = "EXPLAIN QUERY PLAN " + sql;
  EXPECT_EQ(sqlite3_prepare_v2(db, explain.c_str(), -1, &stmt, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  std::string plan;
  while (stmt != nullptr && sqlite3_step(stmt) == SQLITE_ROW) {
    plan += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3));
    plan += "\n";
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return plan;
}

TEST(StoreSchema, NewestFirstByChannelOrTypeNeedsNoSort) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  StoreOptions o;
  o.sqlite_path = dir.File("plan.db");
  ASSERT_TRUE(Store::Open(o).ok());
  for (const char* where : {"channel = 'a'", "message_type = 'ORU'"}) {
    const std::string plan = Plan(o.sqlite_path, std::string("SELECT id FROM messages WHERE ") +
                                                     where + " ORDER BY id DESC LIMIT 50");
    EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << where << "\n" << plan;
    EXPECT_NE(plan.find("INDEX messages_by_"), std::string::npos) << where << "\n" << plan;
  }
}

}  // namespace
}  // namespace junction::store
