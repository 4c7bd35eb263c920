// The SQLite schema of the message store and its forward migrations.
//
// The version lives in PRAGMA user_version; PRAGMA application_id marks the
// file as a Junction store so a stray database is refused instead of changed.
#pragma once

#include <sqlite3.h>

#include <cstdint>

#include "junction/hl7/status.h"

namespace junction::store::internal {

// 'JNCT' in ASCII.
inline constexpr std::int32_t kApplicationId = 0x4A4E4354;

int SchemaVersion();

// Brings the database up to SchemaVersion() in one IMMEDIATE transaction
// (safe against a second process opening at the same time). Refuses a file
// that belongs to another application or was written by a newer build.
Status MigrateSchema(sqlite3* db);

// For read-only opens: the file must already be at SchemaVersion().
Status CheckSchema(sqlite3* db);

}  // namespace junction::store::internal
