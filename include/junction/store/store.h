// Store: the durable message journal, the engine's single source of truth.
//
//   junction::store::StoreOptions options;
//   options.sqlite_path = "var/junction.db";
//   auto store = junction::store::Store::Open(options);
//   if (!store.ok()) return store.status();
//
//   junction::store::IncomingMessage in;
//   in.raw = frame_bytes; in.control_id = "MSG00001";
//   Status queued = (*store)->Append(std::move(in),
//       [conn](Result<AppendResult> r) {   // runs on the writer thread
//         asio::post(conn->executor(), [conn, r] { conn->SendAck(r); });
//       });
//   if (!queued.ok()) { /* refused at once: closed, too big or queue full -> NAK */ }
//
// Group commit: Append only queues the message. One writer thread takes
// everything queued (up to max_batch), writes it in one transaction and commits
// it; a syncer thread then fsyncs the WAL (one fsync for every commit written
// meanwhile), and only then is each callback called. The writer goes on with
// the next batch during that fsync.
// A callback reporting success therefore means the message survives a crash of
// the process (and, with a drive that honours fsync, of the machine). The more
// appenders are waiting, the larger each batch, so throughput grows with the
// number of concurrent connections.
//
// Callbacks run on a store thread (the syncer, or the writer when not durable),
// after the commit and its fsync, in queue order. Keep
// them short and non-blocking (post to your own executor); they must not throw.
// They may call Append and UpdateStatus (which then never wait for room), but
// not Close(); Flush and the *AndWait helpers fail there instead of deadlocking. Each accepted
// call gets its callback exactly once, also when the commit fails or the store
// is closed with work pending (then with an error; it is never dropped).
//
// Reads (Get, List) use their own SQLite connections and see committed data;
// they never wait for the writer. Another process can open the same file with
// read_only = true (e.g. `junction messages list` while the server runs).
//
// Ownership: Open returns the owner. Destroying a Store calls Close().
// Thread safety: all methods may be called from any thread at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "junction/hl7/status.h"
#include "junction/store/types.h"

namespace junction::store {

// What Append does when the pending queue is full.
enum class QueueFullPolicy {
  kFailFast,  // Append returns kOutOfRange "store write queue is full" at once
  kBlock,     // Append waits for room (or for Close)
};

struct StoreOptions {
  // SQLite database file; parent directories are created. ":memory:" makes a
  // private temporary file that is deleted by Close() (for tests): it behaves
  // exactly like a file store, readers included.
  std::string sqlite_path = "var/junction.db";

  // Open for reading only: no writer thread, no schema migration; Append and
  // UpdateStatus fail. Works while another process writes the file.
  bool read_only = false;

  // Every commit is fsync'd before its callbacks run (by the syncer thread;
  // SQLite's own synchronous=FULL if the WAL cannot be opened for it). false
  // skips that fsync (synchronous=NORMAL): survives a process crash but may
  // lose the last commits on power loss; for tests and benchmarks only.
  bool durable = true;

  // Duplicate detection by (channel, sending_application, sending_facility, control_id).
  // Messages with an empty control id are never treated as duplicates.
  bool detect_duplicates = false;
  // Only messages received within this window count (0 = no limit).
  std::int64_t duplicate_window_us = 0;

  // Group commit: at most max_batch operations per transaction. After the first
  // operation of a batch arrives the writer waits up to max_delay_us for more
  // (0 = commit at once; the fsync itself is the batching window).
  std::size_t max_batch = 512;
  std::int64_t max_delay_us = 0;

  // Bounds.
  std::size_t max_message_bytes = 64u << 20;                // raw size accepted by Append
  std::size_t max_pending_ops = 16'384;                     // queued, not yet committed
  std::size_t max_pending_bytes = 256u << 20;               // raw bytes queued
  QueueFullPolicy queue_full = QueueFullPolicy::kFailFast;  // for Append only
  std::size_t max_readers = 4;                              // pooled read connections
  int busy_timeout_ms = 5000;                               // wait for other processes' locks
};

using AppendCallback = std::function<void(Result<AppendResult>)>;
using StatusCallback = std::function<void(Status)>;

class Store {
 public:
  // Opens (creating and migrating if needed) the store described by options.
  static Result<std::unique_ptr<Store>> Open(const StoreOptions& options);

  Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  virtual ~Store() = default;

  // Queues `message` for the next group commit. Returns an error (and never
  // calls `done`) when the message is refused at once: store closed or
  // read-only (kIoError), raw empty or a metadata field over
  // kMaxMetadataFieldBytes (kInvalidArgument), raw over max_message_bytes or
  // queue full under kFailFast (kOutOfRange). Otherwise returns Ok and calls
  // `done` exactly once after the commit (see the file comment).
  virtual Status Append(IncomingMessage message, AppendCallback done) = 0;

  // Queues a status change of message `id`; applied in the writer's next batch
  // after every operation queued before it. `done` (may be empty) gets Ok,
  // kNotFound for an unknown id, or the commit error. Waits for room when the
  // queue is full (status changes must not be refused). Failures without a
  // callback are counted in StoreStats::failed_ops.
  virtual Status UpdateStatus(MessageId id, MessageState state, std::string error,
                              StatusCallback done) = 0;

  // --- Channel processing and delivery queues (see types.h) ---------------
  // All of these are writer operations: queued like UpdateStatus (they wait
  // for room, never refused for a full queue), applied in order with
  // everything else, reported once after the commit. Without a callback,
  // failures are counted in StoreStats::failed_ops.

  // Writes a channel's outcome for a message: state, error, transformed bytes
  // and the new delivery rows, in one transaction. `done` gets the new
  // delivery ids (in the order given), kNotFound for an unknown message or
  // one not in state kReceived (an outcome is recorded once per run).
  virtual Status RecordProcessing(ProcessingOutcome outcome,
                                  std::function<void(Result<std::vector<DeliveryId>>)> done) = 0;

  // Several outcomes (a channel worker's run of messages) as ONE writer
  // operation: applied in order in one transaction, each exactly as
  // RecordProcessing would; done[i] (may be empty; the vector may be shorter)
  // gets outcome i's result after the commit. Unlike the single calls, every
  // callback is called exactly once even when refused: an outcome that fails
  // validation, or all of them when the store is closed or read-only, get the
  // error at once (on the calling thread); then an error is also returned.
  // The default calls RecordProcessing for each.
  using ProcessingCallback = std::function<void(Result<std::vector<DeliveryId>>)>;
  virtual Status RecordProcessingBatch(std::vector<ProcessingOutcome> outcomes,
                                       std::vector<ProcessingCallback> done);

  // Records an attempt. When the message has no queued delivery left, its
  // state becomes kSent (all sent/filtered) or kError (any error, with that
  // delivery's error text). kNotFound for an unknown delivery.
  virtual Status UpdateDelivery(DeliveryUpdate update, StatusCallback done) = 0;

  // Records several attempts (e.g. a destination's pipelined run of
  // messages) as ONE writer operation: applied in the order given, in one
  // transaction, each exactly as UpdateDelivery would. `done` (may be empty)
  // gets Ok, or the first per-update error (the other updates still apply),
  // or the commit error. The default calls UpdateDelivery for each.
  virtual Status UpdateDeliveries(std::vector<DeliveryUpdate> updates, StatusCallback done);

  // Resend: a new kQueued delivery of message `id` to `delivery.destination`
  // (at the tail of that queue); the message becomes kQueued again.
  virtual Status AddDelivery(MessageId id, NewDelivery delivery,
                             std::function<void(Result<DeliveryId>)> done) = 0;

  // Reprocess: the message goes back to kReceived (its transformed bytes are
  // cleared) so the channel runs it again; its still-queued deliveries become
  // kError "superseded by reprocess". Old deliveries stay as history.
  virtual Status ResetForReprocess(MessageId id, StatusCallback done) = 0;

  // Deletes per the request; `done` gets the number of messages deleted.
  virtual Status Prune(PruneRequest request, std::function<void(Result<std::size_t>)> done) = 0;

  // Messages of `channel` in state kReceived with id > after_id, oldest
  // first, raw included, at most min(limit, kMaxQueryLimit).
  virtual Result<std::vector<MessageRecord>> ListForProcessing(const std::string& channel,
                                                               MessageId after_id,
                                                               std::size_t limit) = 0;
  // The same rows' ids only (no raw bytes read): for a worker that has most
  // of them in memory already. The default calls ListForProcessing.
  virtual Result<std::vector<MessageId>> ListIdsForProcessing(const std::string& channel,
                                                              MessageId after_id,
                                                              std::size_t limit);
  // The head of a destination's queue, payloads resolved (see QueueQuery).
  virtual Result<std::vector<DeliveryRecord>> ListQueued(const QueueQuery& query) = 0;
  // Every delivery of a message, oldest first (payload: the row's own only).
  virtual Result<std::vector<DeliveryRecord>> ListDeliveries(MessageId id) = 0;
  // Counts per channel and destination (indexed; fast on large stores).
  virtual Result<StatusReport> Report() = 0;
  // Size of the database files in bytes (main file + WAL).
  virtual std::int64_t SizeBytes() const = 0;

  // Waits until every operation queued before the call is committed.
  virtual Status Flush() = 0;

  // The full row, raw bytes included; kNotFound for an unknown id.
  virtual Result<MessageRecord> Get(MessageId id) = 0;

  // Matching rows, newest first, at most min(query.limit, kMaxQueryLimit).
  virtual Result<std::vector<MessageRecord>> List(const MessageQuery& query) = 0;

  virtual StoreStats Stats() const = 0;

  // Stops accepting work, commits everything pending, joins the writer and
  // closes the database. Returns an error if any of the pending work failed to
  // commit (each affected callback was told too). Later calls return the same.
  virtual Status Close() = 0;

  // Blocking conveniences (CLI, file poller, tests). Called from a store
  // callback they would wait for themselves, so there they fail instead.
  Result<AppendResult> AppendAndWait(IncomingMessage message);
  Status UpdateStatusAndWait(MessageId id, MessageState state, std::string error = {});
  Result<std::vector<DeliveryId>> RecordProcessingAndWait(ProcessingOutcome outcome);
  Status UpdateDeliveryAndWait(DeliveryUpdate update);
  Result<DeliveryId> AddDeliveryAndWait(MessageId id, NewDelivery delivery);
  Status ResetForReprocessAndWait(MessageId id);
  Result<std::size_t> PruneAndWait(PruneRequest request);

 protected:
  // True on the thread that runs the callbacks (where waiting would deadlock).
  virtual bool OnWriterThread() = 0;
};

// The SQLite schema version this build writes (PRAGMA user_version).
int CurrentSchemaVersion();

}  // namespace junction::store
