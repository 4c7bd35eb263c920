// The message journal for `junction messages list/show/reprocess/resend`:
// building the query from command-line filters, formatting rows (table, JSON
// lines, detail with transformed bytes and deliveries), and the two operator
// actions that change a message: reprocess (run its channel again) and resend
// (one more delivery to one destination).
//
//   ListFilters f;
//   f.type = "ADT^A01"; f.since = "2h";            // or "2024-05-01T10:00:00Z"
//   auto query = MakeQuery(f, NowMicros());
//   auto store = OpenStoreForReading(config);      // read-only, works while serve runs
//   auto rows = (*store)->List(*query);
//   for (const auto& r : *rows) std::cout << FormatJsonLine(r);
//
//   auto rw = OpenStoreForChanges(config);         // read-write, next to a running serve
//   for (const auto& r : Reprocess(**rw, {12, 13})) std::cout << FormatReprocessLine(r);
//   auto delivery = Resend(config, **rw, 12, "lab");
//
// Times are shown as ISO 8601 UTC with milliseconds ("2024-05-01T10:00:00.123Z").
// JSON output is one object per line; strings are escaped and invalid UTF-8 is
// replaced by U+FFFD, so every line is valid JSON.
//
// Thread safety: pure functions, apart from the ones taking a Store (which is
// itself thread-safe).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

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

// --- show: transformed bytes and deliveries --------------------------------

// `messages show`: FormatDetail's metadata and raw message, then (when the
// channel changed it) the transformed message as a line diff against the
// received one, then every delivery: destination, state, attempts, times,
// error and the response (e.g. the ACK), one segment per line.
std::string FormatDetail(const store::MessageRecord& record,
                         const std::vector<store::DeliveryRecord>& deliveries);
// `messages show --json`: FormatJsonLine's fields, "raw", "transformed" (null
// when unchanged) and "deliveries" [{id, destination, state, attempts,
// created_at, updated_at, next_attempt_at (null unless queued), error,
// response, has_payload}].
std::string FormatShowJson(const store::MessageRecord& record,
                           const std::vector<store::DeliveryRecord>& deliveries);
// A line diff of two messages (segments split on \r or \n): every line of
// `after` in order, unchanged ones prefixed "  ", added ones "+ ", and the
// lines of `before` that are gone "- ". Longest common subsequence up to
// kMaxDiffCells (lines x lines); larger inputs show all of before as removed
// and all of after as added.
std::string LineDiff(std::string_view before, std::string_view after);
inline constexpr std::size_t kMaxDiffCells = 4'000'000;

// --- reprocess and resend ---------------------------------------------------

// "12" -> 12; kInvalidArgument unless a positive decimal id.
Result<store::MessageId> ParseMessageId(std::string_view text);

// True when a filter that selects messages is set (--limit alone selects
// nothing: reprocessing "the newest 100 of everything" is refused).
bool HasSelection(const ListFilters& filters);

// The ids the query matches, ascending (so reprocessed messages keep their order).
Result<std::vector<store::MessageId>> SelectIds(store::Store& store,
                                                const store::MessageQuery& query);

// Opens the store named by config.store.sqlite read-write with the config's
// store settings (a second writer next to a running serve: SQLite serialises
// the two, waiting up to busy_timeout_ms). kIoError when the file does not
// exist: nothing is created.
Result<std::unique_ptr<store::Store>> OpenStoreForChanges(const Config& config);

struct ReprocessResult {
  store::MessageId id = 0;
  std::string channel;
  store::MessageState previous = store::MessageState::kReceived;
  Status status;  // kNotFound for an unknown id
};

// ResetForReprocessAndWait for each id (ascending, duplicates once). Goes on
// after a failure; each result tells.
std::vector<ReprocessResult> Reprocess(store::Store& store, std::vector<store::MessageId> ids);
// "12 adt-in: error -> received\n" or "12: <error>\n".
std::string FormatReprocessLine(const ReprocessResult& result);
// "3 messages back to received (1 failed)\n".
std::string FormatReprocessSummary(const std::vector<ReprocessResult>& results);

// A new queued delivery of message `id` to `destination` (the tail of its
// queue). The destination must belong to the message's channel in `config`
// (kInvalidArgument naming the ones it has). The message must have been
// processed: one still waiting for its channel (state received) gets
// kOutOfRange. kNotFound for an unknown id. When an earlier delivery to the
// destination carried its own payload (the destination's transform), the new
// one carries the latest such payload too.
Result<store::DeliveryId> Resend(const Config& config, store::Store& store, store::MessageId id,
                                 const std::string& destination);

}  // namespace junction::engine
