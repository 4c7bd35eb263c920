// Value types of the message store: what goes in, what comes out, how to search.
//
//   junction::store::IncomingMessage in;
//   in.raw = std::move(bytes);              // the message exactly as received
//   in.channel = "adt-in";
//   in.control_id = "MSG00001";             // MSH-10, extracted by the caller
//   in.message_type = "ADT"; in.trigger_event = "A01";
//
//   junction::store::MessageQuery q;
//   q.type = "ADT^A01"; q.limit = 20;       // newest first
//
// The store does not parse HL7: the caller (ingest) reads the header and fills
// the metadata fields. Times are UTC microseconds since the Unix epoch.
//
// Thread safety: plain values; safe to copy and move between threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace junction::store {

// Row id of a stored message (SQLite INTEGER PRIMARY KEY); ids start at 1 and
// grow with commit order.
using MessageId = std::int64_t;

// Where a message is in its life. Stored as its lower-case name (see
// MessageStateName) so the database stays readable with the sqlite3 shell.
enum class MessageState : std::uint8_t {
  kReceived,     // stored and acknowledged, not yet processed
  kFiltered,     // a channel filter dropped it on purpose
  kTransformed,  // transformed, not yet queued for delivery
  kQueued,       // waiting for a destination
  kSent,         // delivered to a destination
  kError,        // failed; see the error text
  kProcessed,    // all work for it is done
};

// "received", "filtered", ...
std::string_view MessageStateName(MessageState state);
// The inverse of MessageStateName; std::nullopt for unknown names.
std::optional<MessageState> ParseMessageState(std::string_view name);

// Upper bound on each metadata text field of IncomingMessage (not on raw).
inline constexpr std::size_t kMaxMetadataFieldBytes = 1024;
// Error texts longer than this are cut (at a UTF-8 character boundary).
inline constexpr std::size_t kMaxErrorTextBytes = 4096;
// Delivery responses (DeliveryUpdate::response) are cut the same way.
inline constexpr std::size_t kMaxResponseBytes = 64 * 1024;

struct IncomingMessage {
  std::string raw;  // the bytes as received (after MLLP deframing); not empty

  // Metadata, extracted by the caller. All optional ("" = unknown).
  std::string channel;                // channel / listener name
  std::string peer;                   // remote address, e.g. "127.0.0.1:53122"
  std::string control_id;             // MSH-10
  std::string message_type;           // MSH-9.1, e.g. "ADT"
  std::string trigger_event;          // MSH-9.2, e.g. "A01"
  std::string message_structure;      // MSH-9.3, e.g. "ADT_A01"
  std::string version;                // MSH-12, e.g. "2.5.1"
  std::string sending_application;    // MSH-3 (first component is enough)
  std::string sending_facility;       // MSH-4
  std::string receiving_application;  // MSH-5
  std::string receiving_facility;     // MSH-6
  std::string patient_id;             // PID-3.1 of the first repetition

  std::int64_t received_at_us = 0;  // 0: the store stamps the time of Append
  MessageState state = MessageState::kReceived;
};

// What Append reports once the message is durable.
struct AppendResult {
  MessageId id = 0;
  // True when duplicate detection is on and an earlier message with the same
  // (sending application, sending facility, control id) exists: nothing new was
  // stored and `id` names the earlier message. The caller ACKs it again.
  bool duplicate = false;
};

// One stored message.
struct MessageRecord {
  MessageId id = 0;
  std::int64_t received_at_us = 0;
  std::int64_t updated_at_us = 0;  // last status change (== received_at_us at first)
  std::string channel;
  std::string peer;
  std::string control_id;
  std::string message_type;
  std::string trigger_event;
  std::string message_structure;
  std::string version;
  std::string sending_application;
  std::string sending_facility;
  std::string receiving_application;
  std::string receiving_facility;
  std::string patient_id;
  std::int64_t size = 0;  // raw size in bytes (also when raw was not loaded)
  MessageState state = MessageState::kReceived;
  std::string error;  // set with state kError (may be set with others)
  std::string raw;    // Get(): always; List(): only with include_raw
  // The channel's output (after the channel-level transform), set by
  // RecordProcessing. Get(): always loaded; has_transformed false when the
  // channel has not processed the message or left it unchanged.
  std::string transformed;
  bool has_transformed = false;
};

// Filters for Store::List. Empty strings and zero values mean "any".
// Results are ordered by id, newest first.
struct MessageQuery {
  std::string channel;
  // "ADT", "ADT^A01" or "ADT^A01^ADT_A01": message type, trigger, structure.
  std::string type;
  std::string patient_id;
  std::string control_id;
  std::optional<MessageState> state;
  std::int64_t since_us = 0;  // received_at >= since_us
  std::int64_t until_us = 0;  // received_at <  until_us
  MessageId before_id = 0;    // paging: only ids < before_id
  MessageId after_id = 0;     // only ids > after_id (bounds a scan to an id window)
  // Text that must occur in the raw message (byte match, case-sensitive).
  // Not indexed: it scans what the other conditions leave.
  std::string text;
  std::size_t limit = 100;    // capped at kMaxQueryLimit
  bool include_raw = false;
};

inline constexpr std::size_t kMaxQueryLimit = 10'000;

// ---------------------------------------------------------------------------
// Channel processing and delivery queues.
//
// After ingest, a channel worker runs the channel (filter, transform) on a
// received message and records the outcome with Store::RecordProcessing: the
// message's new state, its transformed bytes, and one delivery row per
// destination, all in one transaction. Each destination's queue is its
// delivery rows in state kQueued, oldest (lowest id) first. A dispatcher
// reads the head of its queue (ListQueued), sends, and records each attempt
// with UpdateDelivery. When no delivery of a message is queued any more, the
// message becomes kSent (every delivery sent or filtered) or kError (any
// delivery in error). A resend adds a new delivery row (AddDelivery); a
// reprocess puts the message back to kReceived (ResetForReprocess).

using DeliveryId = std::int64_t;

enum class DeliveryState : std::uint8_t {
  kQueued,    // waiting to be sent (possibly after failed attempts)
  kSent,      // the destination accepted it
  kError,     // given up (permanent rejection, attempts exhausted, superseded)
  kFiltered,  // the destination's own filter dropped it (see `error` for the rule)
};
std::string_view DeliveryStateName(DeliveryState state);  // "queued", ...
std::optional<DeliveryState> ParseDeliveryState(std::string_view name);

struct NewDelivery {
  std::string destination;                       // destination name within the message's channel
  DeliveryState state = DeliveryState::kQueued;  // kQueued or kFiltered (or kError)
  std::string payload;                           // the bytes to send; see has_payload
  // false: the destination sends the message's transformed bytes (or its raw
  // bytes when the channel left it unchanged); saves storing a copy.
  bool has_payload = false;
  std::string error;  // kFiltered: the rule that dropped it; kError: why
};

// The outcome of running a channel on message `id`, written atomically.
struct ProcessingOutcome {
  MessageId id = 0;
  // kFiltered (channel filter dropped it), kQueued (deliveries follow),
  // kError (parse/filter/transform failure), kProcessed (no destination
  // queued anything: all filtered, or the channel has none).
  MessageState state = MessageState::kQueued;
  std::string error;        // kFiltered: the rule; kError: the reason
  std::string transformed;  // the channel's output; see has_transformed
  bool has_transformed = false;
  std::vector<NewDelivery> deliveries;
};

// One attempt's result for a delivery.
struct DeliveryUpdate {
  DeliveryId id = 0;
  DeliveryState state = DeliveryState::kQueued;  // kQueued again = will retry
  int attempts = 0;                              // total attempts so far
  std::int64_t next_attempt_at_us = 0;           // when to retry (kQueued)
  std::string error;                             // last error ("" on success)
  std::string response;                          // e.g. the ACK received (cut to 64 KiB)
};

struct DeliveryRecord {
  DeliveryId id = 0;
  MessageId message_id = 0;
  std::string channel;
  std::string destination;
  DeliveryState state = DeliveryState::kQueued;
  int attempts = 0;
  std::int64_t created_at_us = 0;
  std::int64_t updated_at_us = 0;
  std::int64_t next_attempt_at_us = 0;
  std::string error;
  std::string response;
  // ListQueued: the bytes to send, resolved (own payload, else the message's
  // transformed bytes, else its raw bytes). ListDeliveries: the row's own
  // payload only (has_payload tells).
  std::string payload;
  bool has_payload = false;
  // The message's metadata, filled by ListQueued (for file names, logs).
  std::string control_id;
  std::int64_t received_at_us = 0;
};

// The head of one destination's queue: rows in kQueued with id > after_id,
// ascending, at most min(limit, kMaxQueryLimit).
struct QueueQuery {
  std::string channel;
  std::string destination;
  DeliveryId after_id = 0;
  std::size_t limit = 256;
};

// Counts for `junction status` and metrics.
struct ChannelCounts {
  std::string channel;
  std::uint64_t received = 0;  // every stored message of the channel (any state)
  std::uint64_t waiting = 0;   // state received: not yet processed
  std::uint64_t filtered = 0;
  std::uint64_t queued = 0;  // state queued
  std::uint64_t sent = 0;
  std::uint64_t processed = 0;
  std::uint64_t errored = 0;
};

struct DestinationCounts {
  std::string channel;
  std::string destination;
  std::uint64_t queued = 0;
  std::uint64_t sent = 0;
  std::uint64_t errored = 0;
  std::uint64_t filtered = 0;
  std::int64_t oldest_queued_at_us = 0;  // created_at of the head; 0 when empty
  int head_attempts = 0;                 // failed attempts of the head so far
  std::string head_error;                // the head's last error
};

struct StatusReport {
  std::vector<ChannelCounts> channels;          // sorted by name
  std::vector<DestinationCounts> destinations;  // sorted by channel, destination
};

// Retention: delete messages of `channel` received before `before_us`, and
// those in state error before `errors_before_us` (0 = keep errors). Messages
// still waiting or with a queued delivery are never deleted. At most
// `max_rows` messages (with their deliveries) per call, oldest first, so
// pruning never holds the writer for long.
//
// An empty `channel` prunes every channel. max_rows is capped at
// kMaxQueryLimit; 0 deletes nothing. "Oldest" means lowest id (ids grow with
// commit order).
struct PruneRequest {
  std::string channel;
  std::int64_t before_us = 0;
  std::int64_t errors_before_us = 0;
  std::size_t max_rows = 500;
};

// Counters since Open, for metrics and benchmarks.
struct StoreStats {
  std::uint64_t appended = 0;        // rows inserted
  std::uint64_t duplicates = 0;      // appends answered with an earlier id
  std::uint64_t status_updates = 0;  // status updates applied
  std::uint64_t failed_ops = 0;      // ops whose callback got an error
  std::uint64_t commits = 0;         // transactions committed (durable: fsync'd, one fsync may cover several)
  std::uint64_t max_batch = 0;       // largest batch committed at once
  std::uint64_t rejected_full = 0;   // appends refused because the queue was full
  std::uint64_t pruned = 0;          // messages deleted by Prune
  // Operations per committed batch, as a histogram: batch_size_buckets[i]
  // counts batches of at most kBatchSizeBounds[i] operations (the last
  // bucket: any size); batch_ops = operations in committed batches.
  std::vector<std::uint64_t> batch_size_buckets;
  std::uint64_t batch_ops = 0;
};

inline constexpr std::uint64_t kBatchSizeBounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
inline constexpr std::size_t kBatchSizeBucketCount = std::size(kBatchSizeBounds) + 1;

}  // namespace junction::store
