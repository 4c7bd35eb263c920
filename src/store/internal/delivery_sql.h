// The SQL of the delivery-queue operations (sqlite_deliveries.cpp), kept in
// one place so tests can check their query plans (index lookups, no scans).
//
// Thread safety: constants only.
#pragma once

#include <string>

#include "store/internal/rows.h"

namespace junction::store::internal::sql {

// Writer statements, prepared once on the writer connection.

inline constexpr const char* kRecordSql =
    "UPDATE messages SET status = ?1, error = ?2, updated_at = ?3"
    " WHERE id = ?4 AND status = 'received' RETURNING channel";
// REPLACE: a row left by an earlier run (reset deletes it, so only by hand).
inline constexpr const char* kInsertTransformedSql =
    "INSERT OR REPLACE INTO message_transformed (message_id, transformed) VALUES (?1, ?2)";
inline constexpr const char* kInsertDeliverySql =
    "INSERT INTO deliveries (message_id, channel, destination, state, attempts, created_at,"
    " updated_at, next_attempt_at, error, response, payload)"
    " VALUES (?1, ?2, ?3, ?4, 0, ?5, ?5, 0, ?6, '', ?7)";
inline constexpr const char* kUpdateDeliverySql =
    "UPDATE deliveries SET state = ?1, attempts = ?2, next_attempt_at = ?3, error = ?4,"
    " response = ?5, updated_at = ?6 WHERE id = ?7 RETURNING message_id";
// Few rows per message (one per destination and resend), via deliveries_by_message.
inline constexpr const char* kRowsOfMessageSql =
    "SELECT destination, state, error FROM deliveries WHERE message_id = ?1 ORDER BY id";
// Only a message waiting for its deliveries is completed: one that was reset
// for reprocessing (or set by hand) keeps its state when a late attempt of a
// superseded delivery is recorded.
inline constexpr const char* kCompleteSql =
    "UPDATE messages SET status = ?1, error = ?2, updated_at = ?3"
    " WHERE id = ?4 AND status = 'queued'";
inline constexpr const char* kRequeueSql =
    "UPDATE messages SET status = 'queued', error = '', updated_at = ?1 WHERE id = ?2"
    " RETURNING channel";
inline constexpr const char* kResetMessageSql =
    "UPDATE messages SET status = 'received', error = '', updated_at = ?1 WHERE id = ?2";
inline constexpr const char* kDeleteTransformedSql =
    "DELETE FROM message_transformed WHERE message_id = ?1";
inline constexpr const char* kResetDeliveriesSql =
    "UPDATE deliveries SET state = 'error', error = ?3, updated_at = ?1"
    " WHERE message_id = ?2 AND state = 'queued'";
// Channel names in order, one index seek each (messages_by_channel_status).
inline constexpr const char* kNextChannelSql =
    "SELECT min(channel) FROM messages WHERE channel > ?1";
// Walks messages_by_channel_status in id order; the caller stops at the first
// row that is too young, so a call reads about as many rows as it deletes.
inline constexpr const char* kPruneCandidatesSql =
    "SELECT id, received_at FROM messages WHERE channel = ?1 AND status = ?2"
    " AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = messages.id"
    " AND d.state = 'queued') ORDER BY id";
inline constexpr const char* kDeleteDeliveriesSql = "DELETE FROM deliveries WHERE message_id = ?1";
inline constexpr const char* kDeleteMessageSql = "DELETE FROM messages WHERE id = ?1";
inline constexpr const char* kDeleteRawSql = "DELETE FROM message_raw WHERE message_id = ?1";

// Reads (pooled read connections).

inline constexpr const char* kDeliveryColumns =
    "SELECT d.id, d.message_id, d.channel, d.destination, d.state, d.attempts, d.created_at,"
    " d.updated_at, d.next_attempt_at, d.error, d.response, d.payload IS NOT NULL, ";

inline std::string ListForProcessingSql() {
  return std::string(kSelectColumns) + kBodyColumns +
         " FROM messages WHERE channel = ?1 AND status = 'received'"
         " AND id > ?2 ORDER BY id LIMIT ?3";
}

// Reads only messages_by_channel_status (covering: channel, status, id).
inline constexpr const char* kListIdsForProcessingSql =
    "SELECT id FROM messages WHERE channel = ?1 AND status = 'received' AND id > ?2"
    " ORDER BY id LIMIT ?3";

// Payload resolved: the row's own, else the message's transformed, else raw.
inline std::string ListQueuedSql() {
  return std::string(kDeliveryColumns) + "coalesce(d.payload, " + kTransformedOfMessage + ", " +
         kRawOfMessage +
         "), messages.control_id, messages.received_at"
         " FROM deliveries d JOIN messages ON messages.id = d.message_id"
         " WHERE d.channel = ?1 AND d.destination = ?2 AND d.state = 'queued'"
         " AND d.id > ?3 ORDER BY d.id LIMIT ?4";
}

inline std::string ListDeliveriesSql() {
  return std::string(kDeliveryColumns) +
         "d.payload FROM deliveries d WHERE d.message_id = ?1 ORDER BY d.id";
}

// Both GROUP BYs read only a covering index (messages_by_channel_status,
// deliveries_by_queue) in its own order: no table rows, no sort.
inline constexpr const char* kChannelCountsSql =
    "SELECT channel, status, count(*) FROM messages GROUP BY channel, status"
    " ORDER BY channel, status";
inline constexpr const char* kDestinationCountsSql =
    "SELECT channel, destination, state, count(*) FROM deliveries"
    " GROUP BY channel, destination, state ORDER BY channel, destination, state";
inline constexpr const char* kQueueHeadSql =
    "SELECT created_at, attempts, error FROM deliveries WHERE channel = ?1 AND destination = ?2"
    " AND state = 'queued' ORDER BY id LIMIT 1";

}  // namespace junction::store::internal::sql
