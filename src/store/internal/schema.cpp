#include "store/internal/schema.h"

#include <string>

#include "store/internal/sqlite_util.h"

namespace junction::store::internal {
namespace {

// Migration i takes the database from version i to version i + 1. Append new
// steps; never edit a released one (existing files have already run it).
constexpr const char* kMigrations[] = {
    // 0 -> 1: the message journal.
    R"sql(
CREATE TABLE messages (
  id                    INTEGER PRIMARY KEY,
  received_at           INTEGER NOT NULL,           -- UTC, microseconds since the epoch
  updated_at            INTEGER NOT NULL,           -- last status change, same unit
  channel               TEXT    NOT NULL DEFAULT '',
  peer                  TEXT    NOT NULL DEFAULT '',
  control_id            TEXT    NOT NULL DEFAULT '', -- MSH-10
  message_type          TEXT    NOT NULL DEFAULT '', -- MSH-9.1
  trigger_event         TEXT    NOT NULL DEFAULT '', -- MSH-9.2
  message_structure     TEXT    NOT NULL DEFAULT '', -- MSH-9.3
  version               TEXT    NOT NULL DEFAULT '', -- MSH-12
  sending_application   TEXT    NOT NULL DEFAULT '', -- MSH-3
  sending_facility      TEXT    NOT NULL DEFAULT '', -- MSH-4
  receiving_application TEXT    NOT NULL DEFAULT '', -- MSH-5
  receiving_facility    TEXT    NOT NULL DEFAULT '', -- MSH-6
  patient_id            TEXT    NOT NULL DEFAULT '', -- PID-3.1
  size                  INTEGER NOT NULL,
  status                TEXT    NOT NULL,
  error                 TEXT    NOT NULL DEFAULT '',
  raw                   BLOB    NOT NULL             -- last: large values go to overflow pages
);
CREATE INDEX messages_by_control_id ON messages (control_id, sending_application, sending_facility);
CREATE INDEX messages_by_type ON messages (message_type, trigger_event);
CREATE INDEX messages_by_patient ON messages (patient_id);
CREATE INDEX messages_by_received_at ON messages (received_at);
CREATE INDEX messages_by_status ON messages (status);
)sql",
    // 1 -> 2: channel processing and delivery queues.
    R"sql(
ALTER TABLE messages ADD COLUMN transformed BLOB;   -- channel output; NULL = unprocessed or unchanged
CREATE TABLE deliveries (
  id              INTEGER PRIMARY KEY,
  message_id      INTEGER NOT NULL,                 -- messages.id (deleted together by Prune)
  channel         TEXT    NOT NULL,                 -- the message's channel (queue key)
  destination     TEXT    NOT NULL,
  state           TEXT    NOT NULL,                 -- queued, sent, error, filtered
  attempts        INTEGER NOT NULL DEFAULT 0,
  created_at      INTEGER NOT NULL,                 -- UTC, microseconds since the epoch
  updated_at      INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL DEFAULT 0,
  error           TEXT    NOT NULL DEFAULT '',
  response        TEXT    NOT NULL DEFAULT '',
  payload         BLOB                              -- NULL: send the message's transformed/raw bytes
);
CREATE INDEX deliveries_by_queue ON deliveries (channel, destination, state, id);
CREATE INDEX deliveries_by_message ON deliveries (message_id);
CREATE INDEX messages_by_channel_status ON messages (channel, status, id);
)sql",
    // 2 -> 3: searches by channel or message type alone come back newest
    // first straight from an index (the admin API pages 50 rows at a time;
    // with (message_type, trigger_event) SQLite sorted every ORU of a million).
    R"sql(
DROP INDEX messages_by_type;
CREATE INDEX messages_by_type ON messages (message_type, id);
CREATE INDEX messages_by_channel ON messages (channel, id);
)sql",
    // 3 -> 4: the message bytes move out of the messages row. A row holding
    // a ~2 KB message and its transformed copy overflowed its page and was
    // rewritten whole at each state change (received, queued, sent): three
    // times the WAL pages and fsync bytes of everything else per message.
    // The bytes are now written once; the hot row stays small.
    R"sql(
CREATE TABLE message_raw (
  message_id  INTEGER PRIMARY KEY,                  -- messages.id; deleted with it
  raw         BLOB    NOT NULL
);
CREATE TABLE message_transformed (
  message_id  INTEGER PRIMARY KEY,                  -- messages.id; none = unprocessed or unchanged
  transformed BLOB    NOT NULL
);
INSERT INTO message_raw (message_id, raw) SELECT id, raw FROM messages;
INSERT INTO message_transformed (message_id, transformed)
  SELECT id, transformed FROM messages WHERE transformed IS NOT NULL;
ALTER TABLE messages DROP COLUMN transformed;
ALTER TABLE messages DROP COLUMN raw;
)sql",
};

constexpr int kVersion = static_cast<int>(sizeof(kMigrations) / sizeof(kMigrations[0]));

Status CheckApplicationId(sqlite3* db, bool allow_unset) {
  Result<std::int64_t> app_id = QueryInt(db, "PRAGMA application_id");
  if (!app_id.ok()) return app_id.status();
  if (*app_id == kApplicationId) return Status::Ok();
  if (*app_id == 0 && allow_unset) return Status::Ok();
  return Status::Invalid("the file is not a Junction message store (application_id " +
                         std::to_string(*app_id) + ")");
}

Status Migrate(sqlite3* db) {
  Result<std::int64_t> version = QueryInt(db, "PRAGMA user_version");
  if (!version.ok()) return version.status();
  if (*version > kVersion) {
    return Status::Invalid("the message store has schema version " + std::to_string(*version) +
                           ", newer than this build supports (" + std::to_string(kVersion) + ")");
  }
  if (*version == 0) {
    // A fresh file must be empty; refuse to add our tables to someone else's.
    Result<std::int64_t> tables = QueryInt(db, "SELECT count(*) FROM sqlite_schema");
    if (!tables.ok()) return tables.status();
    if (*tables != 0) return Status::Invalid("the file is not a Junction message store");
  }
  JUNCTION_RETURN_IF_ERROR(CheckApplicationId(db, /*allow_unset=*/*version == 0));
  for (std::int64_t v = *version; v < kVersion; ++v) {
    JUNCTION_RETURN_IF_ERROR(Exec(db, kMigrations[v]));
  }
  if (*version != kVersion) {
    std::string pragmas = "PRAGMA application_id = " + std::to_string(kApplicationId) +
                          "; PRAGMA user_version = " + std::to_string(kVersion) + ";";
    JUNCTION_RETURN_IF_ERROR(Exec(db, pragmas.c_str()));
  }
  return Status::Ok();
}

}  // namespace

int SchemaVersion() { return kVersion; }

Status MigrateSchema(sqlite3* db) {
  JUNCTION_RETURN_IF_ERROR(Exec(db, "BEGIN IMMEDIATE"));
  Status status = Migrate(db);
  if (status.ok()) status = Exec(db, "COMMIT");
  if (!status.ok()) (void)Exec(db, "ROLLBACK");
  return status;
}

Status CheckSchema(sqlite3* db) {
  Result<std::int64_t> version = QueryInt(db, "PRAGMA user_version");
  if (!version.ok()) return version.status();
  if (*version == 0) return Status::NotFound("no message store in this file yet");
  JUNCTION_RETURN_IF_ERROR(CheckApplicationId(db, /*allow_unset=*/false));
  if (*version != kVersion) {
    return Status::Invalid("the message store has schema version " + std::to_string(*version) +
                           ", this build reads version " + std::to_string(kVersion) +
                           (*version < kVersion ? " (open it read-write once to migrate)" : ""));
  }
  return Status::Ok();
}

}  // namespace junction::store::internal
