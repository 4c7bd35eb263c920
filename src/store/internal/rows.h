// Helpers shared by the SQLite store's source files: clock, text bounds and
// reading message rows.
//
// Thread safety: free functions without state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "junction/hl7/status.h"
#include "junction/store/types.h"
#include "store/internal/sqlite_util.h"

namespace junction::store::internal {

// UTC microseconds since the Unix epoch.
std::int64_t NowMicros();

// Cuts `text` to at most `max` bytes without splitting a UTF-8 sequence.
void TruncateUtf8(std::string& text, std::size_t max);

// The message columns ReadRow expects, in order; the caller appends the two
// byte columns (kBodyColumns, or "NULL, NULL") and the FROM clause:
//   kSelectColumns + kBodyColumns + " FROM messages WHERE ..."
inline constexpr const char* kSelectColumns =
    "SELECT id, received_at, updated_at, channel, peer, control_id, message_type,"
    " trigger_event, message_structure, version, sending_application, sending_facility,"
    " receiving_application, receiving_facility, patient_id, size, status, error, ";

// The bytes of the `messages` row in scope, from their own tables (schema
// version 4): one rowid lookup each.
inline constexpr const char* kTransformedOfMessage =
    "(SELECT transformed FROM message_transformed WHERE message_id = messages.id)";
inline constexpr const char* kRawOfMessage =
    "(SELECT raw FROM message_raw WHERE message_id = messages.id)";
inline const std::string kBodyColumns = std::string(kTransformedOfMessage) + ", " + kRawOfMessage;

// Reads one row of a statement built on kSelectColumns.
Result<MessageRecord> ReadRow(const Stmt& stmt);

}  // namespace junction::store::internal
