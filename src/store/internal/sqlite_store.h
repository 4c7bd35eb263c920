// SqliteStore: the default Store, one SQLite file in WAL mode.
//
// One writer connection, owned by the writer thread, does every write (group
// commit). Reads borrow a connection from a small pool of read-only
// connections, so they see committed data and never wait for the writer.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "junction/store/store.h"
#include "store/internal/sqlite_util.h"
#include "store/internal/wal_syncer.h"

namespace junction::store::internal {

class SqliteStore final : public Store {
 public:
  static Result<std::unique_ptr<Store>> Open(const StoreOptions& options);
  ~SqliteStore() override;

  Status Append(IncomingMessage message, AppendCallback done) override;
  Status UpdateStatus(MessageId id, MessageState state, std::string error,
                      StatusCallback done) override;
  Status RecordProcessing(ProcessingOutcome outcome,
                          std::function<void(Result<std::vector<DeliveryId>>)> done) override;
  Status UpdateDelivery(DeliveryUpdate update, StatusCallback done) override;
  Status UpdateDeliveries(std::vector<DeliveryUpdate> updates, StatusCallback done) override;
  Status RecordProcessingBatch(std::vector<ProcessingOutcome> outcomes,
                               std::vector<ProcessingCallback> done) override;
  Status AddDelivery(MessageId id, NewDelivery delivery,
                     std::function<void(Result<DeliveryId>)> done) override;
  Status ResetForReprocess(MessageId id, StatusCallback done) override;
  Status Prune(PruneRequest request, std::function<void(Result<std::size_t>)> done) override;
  Result<std::vector<MessageRecord>> ListForProcessing(const std::string& channel,
                                                       MessageId after_id,
                                                       std::size_t limit) override;
  Result<std::vector<MessageId>> ListIdsForProcessing(const std::string& channel,
                                                      MessageId after_id,
                                                      std::size_t limit) override;
  Result<std::vector<DeliveryRecord>> ListQueued(const QueueQuery& query) override;
  Result<std::vector<DeliveryRecord>> ListDeliveries(MessageId id) override;
  Result<StatusReport> Report() override;
  std::int64_t SizeBytes() const override;
  Status Flush() override;
  Result<MessageRecord> Get(MessageId id) override;
  Result<std::vector<MessageRecord>> List(const MessageQuery& query) override;
  StoreStats Stats() const override;
  Status Close() override;

 protected:
  bool OnWriterThread() override;

 private:
  enum class OpKind {
    kAppend,
    kUpdate,
    kBarrier,
    kRecordProcessing,
    kRecordProcessingBatch,
    kUpdateDelivery,
    kUpdateDeliveries,
    kAddDelivery,
    kResetForReprocess,
    kPrune,
  };
  using IdsCallback = std::function<void(Result<std::vector<DeliveryId>>)>;
  using IdCallback = std::function<void(Result<DeliveryId>)>;
  using CountCallback = std::function<void(Result<std::size_t>)>;
  struct Op {
    OpKind kind = OpKind::kBarrier;
    IncomingMessage message;  // kAppend
    AppendCallback append_done;
    MessageId id = 0;  // kUpdate, kAddDelivery, kResetForReprocess
    MessageState state = MessageState::kReceived;
    std::string error;
    StatusCallback status_done;  // kUpdate, kBarrier, kUpdateDelivery, kResetForReprocess
    std::size_t bytes = 0;       // counted against max_pending_bytes
    // Delivery operations. Kept out of line so appends (the common op) stay
    // cheap to move.
    std::unique_ptr<ProcessingOutcome> processing;  // kRecordProcessing
    IdsCallback ids_done;
    struct ProcessingBatch {
      std::vector<ProcessingOutcome> outcomes;
      std::vector<IdsCallback> done;
    };
    std::shared_ptr<ProcessingBatch> processing_batch;              // kRecordProcessingBatch
    std::unique_ptr<DeliveryUpdate> delivery_update;                // kUpdateDelivery
    std::unique_ptr<std::vector<DeliveryUpdate>> delivery_updates;  // kUpdateDeliveries
    std::unique_ptr<NewDelivery> new_delivery;                      // kAddDelivery
    IdCallback id_done;
    std::unique_ptr<PruneRequest> prune;  // kPrune
    CountCallback count_done;
  };
  struct Outcome {
    Status status;
    AppendResult append;
    std::vector<DeliveryId> ids;  // kRecordProcessing
    DeliveryId delivery_id = 0;   // kAddDelivery
    std::size_t count = 0;        // kPrune
    std::vector<Outcome> parts;   // kRecordProcessingBatch: one per outcome
  };
  // Prepared statements of the delivery operations (writer connection only).
  struct DeliveryStmts {
    Stmt record, insert_transformed, insert, update, rows_of_message, complete, requeue,
        reset_message, delete_transformed, reset_deliveries, next_channel, prune_candidates,
        delete_deliveries, delete_message, delete_raw;
  };

  explicit SqliteStore(const StoreOptions& options);
  Status Init();
  Status OpenWriter();
  Status Enqueue(Op op, bool fail_fast);
  void WriterLoop();
  void ExecuteBatch(std::vector<Op>& batch, bool draining);
  // Tells each operation of a finished batch its outcome (its callback).
  void ReportOutcomes(std::vector<Op>& batch, std::vector<Outcome>& outcomes);
  Status RunBatch(std::vector<Op>& batch, std::vector<Outcome>& outcomes);
  Status InsertOne(const IncomingMessage& message, std::int64_t now_us, Outcome& outcome);
  Status UpdateOne(const Op& op, std::int64_t now_us, Outcome& outcome);
  // Delivery operations (sqlite_deliveries.cpp), run inside the batch's
  // transaction. An error return fails the whole batch; a per-op failure
  // (unknown id) goes into outcome.status.
  Status PrepareDeliveryStatements();
  Status ApplyDeliveryOp(Op& op, std::int64_t now_us, Outcome& outcome);
  Status RecordOne(const ProcessingOutcome& p, std::int64_t now_us, Outcome& outcome);
  // Validates and bounds an outcome; returns the bytes it adds to the queue.
  static Result<std::size_t> PrepareOutcome(ProcessingOutcome& outcome);
  Status InsertDelivery(MessageId id, const std::string& channel, const NewDelivery& d,
                        std::int64_t now_us, DeliveryId& inserted);
  Status UpdateDeliveryOne(const DeliveryUpdate& u, std::int64_t now_us, Outcome& outcome);
  Status CompleteMessage(MessageId id, std::int64_t now_us);
  Status AddDeliveryOne(MessageId id, const NewDelivery& d, std::int64_t now_us, Outcome& outcome);
  Status ResetOne(MessageId id, std::int64_t now_us, Outcome& outcome);
  Status PruneOne(const PruneRequest& r, Outcome& outcome);
  Status PruneChannel(const std::string& channel, const PruneRequest& r,
                      std::vector<MessageId>& candidates);

  Result<DbPtr> AcquireReader();
  void ReleaseReader(DbPtr db);
  // The hot reads keep their statements prepared, per read connection (a
  // connection is lent to one thread at a time, and so is its cache).
  enum ReaderStmtId {
    kListQueuedStmt,
    kListIdsStmt,
    kListDeliveriesStmt,
    kGetStmt,
    kReaderStmtCount
  };
  // The statement `which` of connection `db`, prepared from `sql` on first use.
  // The caller resets it when done (Stmt::Reset).
  Result<Stmt*> ReaderStmt(sqlite3* db, ReaderStmtId which, const char* sql);
  // Finalizes `db`'s cached statements; called before the connection closes.
  void DropReaderStmts(sqlite3* db);
  // Runs `read(db)` on a pooled read connection, then returns it to the pool.
  template <typename T, typename Read>
  Result<T> WithReader(Read read) {
    Result<DbPtr> db = AcquireReader();
    if (!db.ok()) return db.status();
    Result<T> result = read(db->get());
    ReleaseReader(std::move(*db));
    return result;
  }

  const StoreOptions options_;
  std::string path_;      // the database file actually used
  std::string temp_dir_;  // set for ":memory:"; removed by Close

  // Writer state: touched only by the writer thread after Init.
  DbPtr writer_db_;
  Stmt begin_, commit_, rollback_, insert_, insert_raw_, find_duplicate_, update_;
  DeliveryStmts delivery_stmts_;
  std::thread writer_;
  // Durable stores: commits are synced and reported by the syncer (see
  // wal_syncer.h); otherwise the writer reports right after COMMIT.
  WalSyncer syncer_;

  // The queue between callers and the writer.
  std::mutex mu_;
  std::condition_variable writer_cv_;  // work arrived or closing
  std::condition_variable space_cv_;   // room in the queue or closing
  std::deque<Op> queue_;
  std::size_t pending_bytes_ = 0;
  bool closing_ = false;
  std::thread::id writer_id_;  // set by the writer thread when it starts

  // Close() runs once; later calls return the same status.
  std::mutex close_mu_;
  bool closed_ = false;
  Status close_status_;
  std::atomic<std::uint64_t> drain_failures_{0};

  // Cached read statements (ReaderStmt). Node-based map: an entry's address
  // stays put while other connections' entries come and go.
  std::mutex reader_stmts_mu_;
  std::unordered_map<sqlite3*, std::array<Stmt, kReaderStmtCount>> reader_stmts_;

  // Read connections.
  std::mutex readers_mu_;
  std::condition_variable readers_cv_;
  std::vector<DbPtr> idle_readers_;
  std::size_t open_readers_ = 0;  // idle + lent out
  bool readers_closed_ = false;

  std::atomic<std::uint64_t> appended_{0}, duplicates_{0}, status_updates_{0}, failed_ops_{0},
      commits_{0}, max_batch_{0}, rejected_full_{0}, pruned_{0}, batch_ops_{0};
  std::array<std::atomic<std::uint64_t>, kBatchSizeBucketCount> batch_buckets_{};
};

}  // namespace junction::store::internal
