// Reading the message journal for `junction messages list/show`: building the
// query from command-line filters and formatting rows (table, JSON lines, detail).
//
//   ListFilters f;
//   f.type = "ADT^A01"; f.since = "2h";            // or "2024-05-01T10:00:00Z"
//   auto query = MakeQuery(f, NowMicros());
//   auto store = OpenStoreForReading(config);      // read-only, works while serve runs
//   auto rows = (*store)->List(*query);
//   for (const auto& r : *rows) std::cout << FormatJsonLine(r);
//
// Times are shown as ISO 8601 UTC with milliseconds ("2024-05-01T10:00:00.123Z").
// JSON output is one object per line; strings are escaped and invalid UTF-8 is
// replaced by U+FFFD, so every line is valid JSON.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "junction/engine/config.h"
#include "junction/hl7/status.h"
#include "junction/store/store.h"
#include "junction/store/types.h"

namespace junction::engine {

struct ListFilters {
  std::string channel;
  std::string type;  // "ADT", "ADT^A01", "ADT^A01^ADT_A01"
  std::string patient_id;
  std::string control_id;
  std::string since;   // ISO 8601 (UTC unless an offset is given) or a duration ago: 30s 15m 2h 7d
  std::string status;  // received, error, ...
  std::size_t limit = 100;
};

// kInvalidArgument naming the option for a bad --since, --status or --limit.
Result<store::MessageQuery> MakeQuery(const ListFilters& filters, std::int64_t now_us);

// Parses a --since value; see ListFilters::since.
Result<std::int64_t> ParseSince(std::string_view text, std::int64_t now_us);

std::int64_t NowMicros();
// "2024-05-01T10:00:00.123Z"
std::string FormatTimestamp(std::int64_t micros);

// Opens the store named by config.store.sqlite read-only.
Result<std::unique_ptr<store::Store>> OpenStoreForReading(const Config& config);

// Table output: a header line, then one line per row (no raw bytes).
std::string FormatListHeader();
std::string FormatListRow(const store::MessageRecord& record);
// One JSON object and "\n": id, received_at, updated_at, channel, peer,
// control_id, type (MSG^EVT), message_type, trigger_event, message_structure,
// version, sending/receiving application/facility, patient_id, size, status,
// error. With include_raw (and raw loaded) also "raw".
std::string FormatJsonLine(const store::MessageRecord& record, bool include_raw = false);
// `messages show`: the metadata as "key: value" lines, a blank line, then the
// raw message with segments on their own lines.
std::string FormatDetail(const store::MessageRecord& record);
// The raw bytes with \r segment terminators shown as line breaks.
std::string RawAsLines(std::string_view raw);

// Appends `text` as a JSON string literal (quotes included).
void AppendJsonString(std::string_view text, std::string* out);

}  // namespace junction::engine
