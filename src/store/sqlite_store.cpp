#include "store/internal/sqlite_store.h"

#include <stdlib.h>  // mkdtemp

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <future>
#include <limits>
#include <system_error>
#include <utility>

#include "store/internal/rows.h"
#include "store/internal/schema.h"

namespace junction::store::internal {
namespace {

namespace fs = std::filesystem;

Status ClosedError() { return Status::Io("the message store is closed"); }

Status CheckMetadata(const IncomingMessage& m) {
  const std::string* fields[] = {
      &m.channel,
      &m.peer,
      &m.control_id,
      &m.message_type,
      &m.trigger_event,
      &m.message_structure,
      &m.version,
      &m.sending_application,
      &m.sending_facility,
      &m.receiving_application,
      &m.receiving_facility,
      &m.patient_id,
  };
  for (const std::string* field : fields) {
    if (field->size() > kMaxMetadataFieldBytes) {
      return Status::Invalid("a metadata field is longer than " +
                             std::to_string(kMaxMetadataFieldBytes) + " bytes");
    }
  }
  return Status::Ok();
}

constexpr const char* kInsertSql =
    "INSERT INTO messages (received_at, updated_at, channel, peer, control_id, message_type,"
    " trigger_event, message_structure, version, sending_application, sending_facility,"
    " receiving_application, receiving_facility, patient_id, size, status, error)"
    " VALUES (?1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, '')";
constexpr const char* kInsertRawSql = "INSERT INTO message_raw (message_id, raw) VALUES (?1, ?2)";

// Also sees rows inserted earlier in the same (uncommitted) batch, because the
// writer runs it inside the batch's transaction: duplicates within one batch
// are caught the same way as across batches.
constexpr const char* kFindDuplicateSql =
    "SELECT id FROM messages WHERE control_id = ?1 AND sending_application = ?2"
    " AND sending_facility = ?3 AND received_at >= ?4 AND channel = ?5 ORDER BY id LIMIT 1";

constexpr const char* kUpdateSql =
    "UPDATE messages SET status = ?1, error = ?2, updated_at = ?3 WHERE id = ?4";

}  // namespace

// ---------------------------------------------------------------- opening

SqliteStore::SqliteStore(const StoreOptions& options) : options_(options) {}

SqliteStore::~SqliteStore() { (void)Close(); }

Result<std::unique_ptr<Store>> SqliteStore::Open(const StoreOptions& options) {
  if (options.sqlite_path.empty()) return Status::Invalid("store: sqlite_path is empty");
  if (options.max_batch == 0) return Status::Invalid("store: max_batch must be at least 1");
  if (options.max_pending_ops == 0 || options.max_readers == 0) {
    return Status::Invalid("store: max_pending_ops and max_readers must be at least 1");
  }
  if (options.max_delay_us < 0 || options.max_delay_us > 1'000'000) {
    return Status::Invalid("store: max_delay_us must be between 0 and 1000000");
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(options));
  Status status = store->Init();
  if (!status.ok()) {
    (void)store->Close();
    return status;
  }
  return std::unique_ptr<Store>(std::move(store));
}

Status SqliteStore::Init() {
  if (options_.sqlite_path == ":memory:") {
    if (options_.read_only) return Status::Invalid("store: a :memory: store cannot be read-only");
    std::error_code ec;
    fs::path base = fs::temp_directory_path(ec);
    if (ec) return Status::Io("store: no temporary directory: " + ec.message());
    std::string pattern = (base / "junction-store-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      return Status::Io("store: cannot create a temporary directory");
    }
    temp_dir_ = pattern;
    path_ = (fs::path(temp_dir_) / "junction.db").string();
  } else {
    path_ = options_.sqlite_path;
  }

  if (options_.read_only) {
    std::error_code ec;
    if (!fs::exists(path_, ec)) return Status::NotFound("store: no database at " + path_);
    Result<DbPtr> reader = AcquireReader();
    if (!reader.ok()) return reader.status();
    Status status = CheckSchema(reader->get());
    ReleaseReader(std::move(*reader));
    return status;
  }

  fs::path parent = fs::path(path_).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    fs::create_directories(parent, ec);
    if (ec) return Status::Io("store: cannot create " + parent.string() + ": " + ec.message());
  }
  JUNCTION_RETURN_IF_ERROR(OpenWriter());
  writer_ = std::thread([this] { WriterLoop(); });
  return Status::Ok();
}

Status SqliteStore::OpenWriter() {
  Result<DbPtr> db =
      OpenDb(path_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, options_.busy_timeout_ms);
  if (!db.ok()) return db.status();
  writer_db_ = std::move(*db);
  sqlite3* w = writer_db_.get();

  // New files only (an existing file keeps its page size). A ~2 KiB message
  // in message_raw or message_transformed fills a 4 KiB page alone; 8 KiB
  // pages hold three, which cut the bytes written per message (WAL and
  // checkpoint) by about a third: +12 % end to end in bench/pipeline.sh.
  // 16 KiB pages made each commit's hot index pages too big to gain more.
  JUNCTION_RETURN_IF_ERROR(Exec(w, "PRAGMA page_size = 8192"));
  Result<std::string> mode = QueryText(w, "PRAGMA journal_mode = WAL");
  if (!mode.ok()) return mode.status();
  if (*mode != "wal") return Status::Io("store: the file system does not support WAL mode");
  // Durable stores fsync the WAL on the syncer thread after each commit
  // (wal_syncer.h), so COMMIT itself does not: NORMAL either way.
  JUNCTION_RETURN_IF_ERROR(Exec(w, "PRAGMA synchronous = NORMAL"));
  // Keep the WAL from growing without bound after checkpoints; a bigger page
  // cache keeps the indexes' hot pages in memory.
  JUNCTION_RETURN_IF_ERROR(Exec(w,
                                "PRAGMA journal_size_limit = 67108864;"
                                "PRAGMA cache_size = -16384;"
                                "PRAGMA temp_store = MEMORY;"));
  JUNCTION_RETURN_IF_ERROR(MigrateSchema(w));
  if (options_.durable) {
    // The migration's transaction created the WAL; a store that cannot sync
    // it in the background syncs in COMMIT instead.
    if (!syncer_.Start(path_ + "-wal").ok()) {
      JUNCTION_RETURN_IF_ERROR(Exec(w, "PRAGMA synchronous = FULL"));
    }
  }

  struct {
    Stmt* stmt;
    const char* sql;
  } statements[] = {
      {&begin_, "BEGIN IMMEDIATE"},  {&commit_, "COMMIT"},
      {&rollback_, "ROLLBACK"},      {&insert_, kInsertSql},
      {&insert_raw_, kInsertRawSql}, {&find_duplicate_, kFindDuplicateSql},
      {&update_, kUpdateSql},
  };
  for (auto& s : statements) {
    Result<Stmt> prepared = Stmt::Prepare(w, s.sql);
    if (!prepared.ok()) return prepared.status();
    *s.stmt = std::move(*prepared);
  }
  return PrepareDeliveryStatements();
}

// ---------------------------------------------------------------- writes

Status SqliteStore::Enqueue(Op op, bool fail_fast) {
  // Callbacks run on the syncer (durable stores) or the writer. Neither may
  // wait for room: only the writer makes room, and the writer itself waits
  // for the syncer when 64 batches are waiting to be synced.
  const bool on_syncer = syncer_.OnSyncerThread();
  std::unique_lock lock(mu_);
  auto full = [&] {
    if (queue_.empty()) return false;  // one op always fits, whatever its size
    return queue_.size() >= options_.max_pending_ops ||
           pending_bytes_ + op.bytes > options_.max_pending_bytes;
  };
  if (closing_) return ClosedError();
  // A callback's ops may exceed the bound a little instead.
  if (!on_syncer && std::this_thread::get_id() != writer_id_ && full()) {
    if (fail_fast) {
      rejected_full_.fetch_add(1, std::memory_order_relaxed);
      return Status::OutOfRange("store write queue is full");
    }
    space_cv_.wait(lock, [&] { return closing_ || !full(); });
    if (closing_) return ClosedError();
  }
  pending_bytes_ += op.bytes;
  queue_.push_back(std::move(op));
  // The writer waits either for the first op or (with max_delay_us) for a full
  // batch; wake it only when that can change what it does.
  if (queue_.size() == 1 || queue_.size() >= options_.max_batch) writer_cv_.notify_one();
  return Status::Ok();
}

Status SqliteStore::Append(IncomingMessage message, AppendCallback done) {
  if (options_.read_only) return Status::Io("the message store is open read-only");
  if (message.raw.empty()) return Status::Invalid("store: empty message");
  if (message.raw.size() > options_.max_message_bytes) {
    return Status::OutOfRange("message of " + std::to_string(message.raw.size()) +
                              " bytes exceeds the store limit of " +
                              std::to_string(options_.max_message_bytes));
  }
  JUNCTION_RETURN_IF_ERROR(CheckMetadata(message));
  if (message.received_at_us == 0) message.received_at_us = NowMicros();
  Op op;
  op.kind = OpKind::kAppend;
  op.bytes = message.raw.size();
  op.message = std::move(message);
  op.append_done = std::move(done);
  return Enqueue(std::move(op), options_.queue_full == QueueFullPolicy::kFailFast);
}

Status SqliteStore::UpdateStatus(MessageId id, MessageState state, std::string error,
                                 StatusCallback done) {
  if (options_.read_only) return Status::Io("the message store is open read-only");
  TruncateUtf8(error, kMaxErrorTextBytes);
  Op op;
  op.kind = OpKind::kUpdate;
  op.id = id;
  op.state = state;
  op.bytes = error.size();
  op.error = std::move(error);
  op.status_done = std::move(done);
  return Enqueue(std::move(op), /*fail_fast=*/false);
}

Status SqliteStore::Flush() {
  if (options_.read_only) return Status::Ok();
  if (OnWriterThread()) return Status::Invalid("store: Flush called from a store callback");
  auto promise = std::make_shared<std::promise<Status>>();
  std::future<Status> future = promise->get_future();
  Op op;
  op.kind = OpKind::kBarrier;
  op.status_done = [promise](Status s) { promise->set_value(std::move(s)); };
  JUNCTION_RETURN_IF_ERROR(Enqueue(std::move(op), /*fail_fast=*/false));
  return future.get();
}

bool SqliteStore::OnWriterThread() {
  std::lock_guard lock(mu_);
  // Callbacks run on the writer, or on the syncer for durable stores.
  return std::this_thread::get_id() == writer_id_ || syncer_.OnSyncerThread();
}

void SqliteStore::WriterLoop() {
  {
    std::lock_guard lock(mu_);
    writer_id_ = std::this_thread::get_id();
  }
  std::vector<Op> batch;
  batch.reserve(options_.max_batch);
  for (;;) {
    bool draining = false;
    {
      std::unique_lock lock(mu_);
      writer_cv_.wait(lock, [&] { return !queue_.empty() || closing_; });
      if (queue_.empty()) return;  // closing and nothing left
      if (options_.max_delay_us > 0 && queue_.size() < options_.max_batch && !closing_) {
        writer_cv_.wait_for(lock, std::chrono::microseconds(options_.max_delay_us),
                            [&] { return queue_.size() >= options_.max_batch || closing_; });
      }
      std::size_t n = std::min(queue_.size(), options_.max_batch);
      for (std::size_t i = 0; i < n; ++i) {
        pending_bytes_ -= queue_.front().bytes;
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      draining = closing_;
    }
    space_cv_.notify_all();
    ExecuteBatch(batch, draining);
    batch.clear();
  }
}

void SqliteStore::ExecuteBatch(std::vector<Op>& batch, bool draining) {
  std::vector<Outcome> outcomes(batch.size());
  Status batch_status = RunBatch(batch, outcomes);

  std::uint64_t appended = 0, duplicates = 0, updates = 0, failed = 0, pruned = 0;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    Outcome& out = outcomes[i];
    if (!batch_status.ok()) out.status = batch_status;  // nothing of the batch was kept
    if (!out.status.ok()) {
      ++failed;
    } else if (batch[i].kind == OpKind::kAppend) {
      ++(out.append.duplicate ? duplicates : appended);
    } else if (batch[i].kind == OpKind::kUpdate) {
      ++updates;
    } else if (batch[i].kind == OpKind::kPrune) {
      pruned += out.count;
    } else if (batch[i].kind == OpKind::kRecordProcessingBatch) {
      for (const Outcome& part : out.parts) failed += part.status.ok() ? 0 : 1;
    }
  }
  appended_.fetch_add(appended, std::memory_order_relaxed);
  duplicates_.fetch_add(duplicates, std::memory_order_relaxed);
  status_updates_.fetch_add(updates, std::memory_order_relaxed);
  failed_ops_.fetch_add(failed, std::memory_order_relaxed);
  pruned_.fetch_add(pruned, std::memory_order_relaxed);
  if (draining) drain_failures_.fetch_add(failed, std::memory_order_relaxed);
  if (batch_status.ok()) {
    commits_.fetch_add(1, std::memory_order_relaxed);
    std::uint64_t size = batch.size();
    std::uint64_t seen = max_batch_.load(std::memory_order_relaxed);
    while (size > seen && !max_batch_.compare_exchange_weak(seen, size)) {
    }
    std::size_t bucket = 0;
    while (bucket < std::size(kBatchSizeBounds) && size > kBatchSizeBounds[bucket]) ++bucket;
    batch_buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
    batch_ops_.fetch_add(size, std::memory_order_relaxed);
  }

  if (!syncer_.running()) {
    ReportOutcomes(batch, outcomes);
    return;
  }
  // Only once the commit is on disk does anyone hear about their operation.
  struct Finished {
    std::vector<Op> batch;
    std::vector<Outcome> outcomes;
  };
  auto finished = std::make_shared<Finished>(Finished{std::move(batch), std::move(outcomes)});
  batch.clear();
  syncer_.Submit(batch_status.ok(), [this, finished, draining](const Status& synced) {
    if (!synced.ok()) {
      // Committed but maybe not on disk: nobody is told it was stored. Ops
      // that had already failed were counted by ExecuteBatch.
      std::uint64_t newly_failed = 0;
      for (Outcome& out : finished->outcomes) {
        newly_failed += out.status.ok() ? 1 : 0;
        out.status = synced;
      }
      failed_ops_.fetch_add(newly_failed, std::memory_order_relaxed);
      if (draining) drain_failures_.fetch_add(newly_failed, std::memory_order_relaxed);
    }
    ReportOutcomes(finished->batch, finished->outcomes);
  });
}

void SqliteStore::ReportOutcomes(std::vector<Op>& batch, std::vector<Outcome>& outcomes) {
  // Only now, after the commit, does anyone hear about their operation.
  for (std::size_t i = 0; i < batch.size(); ++i) {
    Op& op = batch[i];
    Outcome& out = outcomes[i];
    // Result<T> from the outcome: the value on success, else the error.
    auto report = [&](auto& done, auto value) {
      if (!done) return;
      if (out.status.ok()) {
        done(std::move(value));
      } else {
        done(std::move(out.status));
      }
    };
    switch (op.kind) {
      case OpKind::kAppend:
        report(op.append_done, out.append);
        break;
      case OpKind::kRecordProcessing:
        report(op.ids_done, std::move(out.ids));
        break;
      case OpKind::kRecordProcessingBatch: {
        auto& done = op.processing_batch->done;
        for (std::size_t k = 0; k < done.size(); ++k) {
          if (!done[k]) continue;
          if (!out.status.ok()) {
            done[k](out.status);
          } else if (k < out.parts.size() && !out.parts[k].status.ok()) {
            done[k](std::move(out.parts[k].status));
          } else {
            done[k](k < out.parts.size() ? std::move(out.parts[k].ids) : std::vector<DeliveryId>{});
          }
        }
        break;
      }
      case OpKind::kAddDelivery:
        report(op.id_done, out.delivery_id);
        break;
      case OpKind::kPrune:
        report(op.count_done, out.count);
        break;
      default:
        if (op.status_done) op.status_done(std::move(out.status));
        break;
    }
  }
}

Status SqliteStore::RunBatch(std::vector<Op>& batch, std::vector<Outcome>& outcomes) {
  sqlite3* w = writer_db_.get();
  int rc = begin_.Step();
  begin_.Reset();
  if (rc != SQLITE_DONE) return SqliteError(w, rc, "store: cannot begin a transaction");

  std::int64_t now = NowMicros();
  Status status;
  for (std::size_t i = 0; i < batch.size() && status.ok(); ++i) {
    switch (batch[i].kind) {
      case OpKind::kAppend:
        status = InsertOne(batch[i].message, now, outcomes[i]);
        break;
      case OpKind::kUpdate:
        status = UpdateOne(batch[i], now, outcomes[i]);
        break;
      case OpKind::kBarrier:
        break;
      default:
        status = ApplyDeliveryOp(batch[i], now, outcomes[i]);
        break;
    }
  }
  if (status.ok()) {
    rc = commit_.Step();
    commit_.Reset();
    if (rc == SQLITE_DONE) return Status::Ok();
    status = SqliteError(w, rc, "store: commit failed");
  }
  // SQLite may already have rolled back (e.g. on SQLITE_FULL); only roll back
  // a transaction that is still open.
  if (sqlite3_get_autocommit(w) == 0) {
    rollback_.Step();
    rollback_.Reset();
  }
  return status;
}

Status SqliteStore::InsertOne(const IncomingMessage& m, std::int64_t now_us, Outcome& outcome) {
  sqlite3* w = writer_db_.get();
  if (options_.detect_duplicates && !m.control_id.empty()) {
    std::int64_t since = std::numeric_limits<std::int64_t>::min();
    if (options_.duplicate_window_us > 0) since = now_us - options_.duplicate_window_us;
    find_duplicate_.BindText(1, m.control_id);
    find_duplicate_.BindText(2, m.sending_application);
    find_duplicate_.BindText(3, m.sending_facility);
    find_duplicate_.BindInt64(4, since);
    // Per channel: the same message routed into another channel (a channel
    // destination, or a sender feeding two channels) is not a duplicate.
    find_duplicate_.BindText(5, m.channel);
    int rc = find_duplicate_.Step();
    MessageId earlier = rc == SQLITE_ROW ? find_duplicate_.ColumnInt64(0) : 0;
    find_duplicate_.Reset();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
      return SqliteError(w, rc, "store: duplicate lookup failed");
    }
    if (earlier != 0) {
      outcome.append = AppendResult{earlier, true};
      return Status::Ok();
    }
  }
  Stmt& s = insert_;
  s.BindInt64(1, m.received_at_us);
  s.BindText(2, m.channel);
  s.BindText(3, m.peer);
  s.BindText(4, m.control_id);
  s.BindText(5, m.message_type);
  s.BindText(6, m.trigger_event);
  s.BindText(7, m.message_structure);
  s.BindText(8, m.version);
  s.BindText(9, m.sending_application);
  s.BindText(10, m.sending_facility);
  s.BindText(11, m.receiving_application);
  s.BindText(12, m.receiving_facility);
  s.BindText(13, m.patient_id);
  s.BindInt64(14, static_cast<std::int64_t>(m.raw.size()));
  s.BindText(15, MessageStateName(m.state));
  int rc = s.Step();
  s.Reset();
  if (rc != SQLITE_DONE) return SqliteError(w, rc, "store: insert failed");
  const MessageId id = sqlite3_last_insert_rowid(w);
  Stmt& r = insert_raw_;
  r.BindInt64(1, id);
  rc = r.BindBlob(2, m.raw);
  if (rc == SQLITE_OK) rc = r.Step();
  r.Reset();
  if (rc != SQLITE_DONE) return SqliteError(w, rc, "store: insert failed");
  outcome.append = AppendResult{id, false};
  return Status::Ok();
}

Status SqliteStore::UpdateOne(const Op& op, std::int64_t now_us, Outcome& outcome) {
  sqlite3* w = writer_db_.get();
  update_.BindText(1, MessageStateName(op.state));
  update_.BindText(2, op.error);
  update_.BindInt64(3, now_us);
  update_.BindInt64(4, op.id);
  int rc = update_.Step();
  update_.Reset();
  if (rc != SQLITE_DONE) return SqliteError(w, rc, "store: status update failed");
  // An unknown id fails this operation only, not the whole batch.
  if (sqlite3_changes(w) == 0) {
    outcome.status = Status::NotFound("no message with id " + std::to_string(op.id));
  }
  return Status::Ok();
}

// ---------------------------------------------------------------- reads

Result<DbPtr> SqliteStore::AcquireReader() {
  {
    std::unique_lock lock(readers_mu_);
    readers_cv_.wait(lock, [&] {
      return readers_closed_ || !idle_readers_.empty() || open_readers_ < options_.max_readers;
    });
    if (readers_closed_) return ClosedError();
    if (!idle_readers_.empty()) {
      DbPtr db = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return db;
    }
    ++open_readers_;  // reserve the slot; open outside the lock
  }
  Result<DbPtr> db = OpenDb(path_, SQLITE_OPEN_READONLY, options_.busy_timeout_ms);
  if (!db.ok()) {
    std::lock_guard lock(readers_mu_);
    --open_readers_;
    readers_cv_.notify_all();
  }
  return db;
}

Result<Stmt*> SqliteStore::ReaderStmt(sqlite3* db, ReaderStmtId which, const char* sql) {
  Stmt* stmt = nullptr;
  {
    std::lock_guard lock(reader_stmts_mu_);
    stmt = &reader_stmts_[db][which];
  }
  if (stmt->get() == nullptr) {
    Result<Stmt> prepared = Stmt::Prepare(db, sql);
    if (!prepared.ok()) return prepared.status();
    *stmt = std::move(*prepared);
  }
  return stmt;
}

void SqliteStore::DropReaderStmts(sqlite3* db) {
  std::lock_guard lock(reader_stmts_mu_);
  reader_stmts_.erase(db);
}

void SqliteStore::ReleaseReader(DbPtr db) {
  std::lock_guard lock(readers_mu_);
  if (readers_closed_) {
    DropReaderStmts(db.get());
    db.reset();
    --open_readers_;
  } else {
    idle_readers_.push_back(std::move(db));
  }
  readers_cv_.notify_all();
}

Result<MessageRecord> SqliteStore::Get(MessageId id) {
  Result<DbPtr> db = AcquireReader();
  if (!db.ok()) return db.status();
  Result<MessageRecord> result = [&]() -> Result<MessageRecord> {
    static const std::string sql =
        std::string(kSelectColumns) + kBodyColumns + " FROM messages WHERE id = ?1";
    Result<Stmt*> stmt = ReaderStmt(db->get(), kGetStmt, sql.c_str());
    if (!stmt.ok()) return stmt.status();
    Stmt& s = **stmt;
    s.BindInt64(1, id);
    int rc = s.Step();
    Result<MessageRecord> row =
        rc == SQLITE_ROW ? ReadRow(s)
        : rc == SQLITE_DONE
            ? Result<MessageRecord>(Status::NotFound("no message with id " + std::to_string(id)))
            : Result<MessageRecord>(SqliteError(db->get(), rc, "store: read failed"));
    s.Reset();  // ends the read transaction
    return row;
  }();
  ReleaseReader(std::move(*db));
  return result;
}

Result<std::vector<MessageRecord>> SqliteStore::List(const MessageQuery& query) {
  // Collect the conditions first: bound text is not copied, so the values must
  // stay put until the statement is done.
  std::vector<std::string> text_args;
  std::string where;
  auto add_text = [&](const char* column, std::string value) {
    where += where.empty() ? " WHERE " : " AND ";
    where += column;
    where += " = ?";
    text_args.push_back(std::move(value));
  };
  if (!query.channel.empty()) add_text("channel", query.channel);
  if (!query.type.empty()) {
    const char* columns[] = {"message_type", "trigger_event", "message_structure"};
    std::string_view rest = query.type;
    for (int part = 0;; ++part) {
      if (part == 3) return Status::Invalid("message type filter has more than 3 components");
      std::size_t caret = rest.find('^');
      std::string_view value = rest.substr(0, caret);
      if (!value.empty()) add_text(columns[part], std::string(value));
      if (caret == std::string_view::npos) break;
      rest.remove_prefix(caret + 1);
    }
  }
  if (!query.patient_id.empty()) add_text("patient_id", query.patient_id);
  if (!query.control_id.empty()) add_text("control_id", query.control_id);
  if (query.state) add_text("status", std::string(MessageStateName(*query.state)));
  if (!query.text.empty()) {
    where += where.empty() ? " WHERE " : " AND ";
    where += "instr(" + std::string(kRawOfMessage) + ", ?) > 0";
    text_args.push_back(query.text);
  }
  // Integer conditions follow the text ones, so their placeholders come later.
  std::vector<std::int64_t> int_args;
  auto add_int = [&](const char* condition, std::int64_t value) {
    where += where.empty() ? " WHERE " : " AND ";
    where += condition;
    int_args.push_back(value);
  };
  if (query.since_us != 0) add_int("received_at >= ?", query.since_us);
  if (query.until_us != 0) add_int("received_at < ?", query.until_us);
  if (query.before_id != 0) add_int("id < ?", query.before_id);
  if (query.after_id != 0) add_int("id > ?", query.after_id);

  std::size_t limit = std::min(query.limit, kMaxQueryLimit);
  std::string sql = std::string(kSelectColumns) +
                    (query.include_raw ? kBodyColumns : std::string("NULL, NULL")) +
                    " FROM messages" + where + " ORDER BY id DESC LIMIT " + std::to_string(limit);

  Result<DbPtr> db = AcquireReader();
  if (!db.ok()) return db.status();
  Result<std::vector<MessageRecord>> result = [&]() -> Result<std::vector<MessageRecord>> {
    Result<Stmt> stmt = Stmt::Prepare(db->get(), sql);
    if (!stmt.ok()) return stmt.status();
    int index = 1;
    for (const std::string& arg : text_args) stmt->BindText(index++, arg);
    for (std::int64_t arg : int_args) stmt->BindInt64(index++, arg);
    std::vector<MessageRecord> rows;
    for (;;) {
      int rc = stmt->Step();
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return SqliteError(db->get(), rc, "store: list failed");
      Result<MessageRecord> row = ReadRow(*stmt);
      if (!row.ok()) return row.status();
      rows.push_back(std::move(*row));
    }
    return rows;
  }();
  ReleaseReader(std::move(*db));
  return result;
}

StoreStats SqliteStore::Stats() const {
  StoreStats s;
  s.appended = appended_.load(std::memory_order_relaxed);
  s.duplicates = duplicates_.load(std::memory_order_relaxed);
  s.status_updates = status_updates_.load(std::memory_order_relaxed);
  s.failed_ops = failed_ops_.load(std::memory_order_relaxed);
  s.commits = commits_.load(std::memory_order_relaxed);
  s.max_batch = max_batch_.load(std::memory_order_relaxed);
  s.rejected_full = rejected_full_.load(std::memory_order_relaxed);
  s.pruned = pruned_.load(std::memory_order_relaxed);
  for (const auto& b : batch_buckets_)
    s.batch_size_buckets.push_back(b.load(std::memory_order_relaxed));
  s.batch_ops = batch_ops_.load(std::memory_order_relaxed);
  return s;
}

// ---------------------------------------------------------------- closing

Status SqliteStore::Close() {
  std::lock_guard close_lock(close_mu_);
  if (closed_) return close_status_;
  closed_ = true;
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  writer_cv_.notify_all();
  space_cv_.notify_all();
  if (writer_.joinable()) writer_.join();  // drains the queue first
  syncer_.Stop();                          // syncs and reports what the writer committed

  // Finalize statements before closing the writer connection.
  begin_ = Stmt();
  commit_ = Stmt();
  rollback_ = Stmt();
  insert_ = Stmt();
  insert_raw_ = Stmt();
  find_duplicate_ = Stmt();
  update_ = Stmt();
  delivery_stmts_ = DeliveryStmts();
  if (writer_db_) {
    // The last connection checkpoints and removes the WAL; a failure here
    // loses nothing (the WAL is replayed on the next open).
    writer_db_.reset();
  }

  {
    std::unique_lock lock(readers_mu_);
    readers_closed_ = true;
    open_readers_ -= idle_readers_.size();
    for (const DbPtr& db : idle_readers_) DropReaderStmts(db.get());
    idle_readers_.clear();
    readers_cv_.notify_all();
    // Readers lent out are closed as they come back (a Get or List in flight).
    readers_cv_.wait(lock, [&] { return open_readers_ == 0; });
  }

  std::uint64_t failures = drain_failures_.load();
  if (failures != 0) {
    close_status_ = Status::Io("store: " + std::to_string(failures) +
                               " pending operations failed to commit while closing");
  }
  if (!temp_dir_.empty()) {
    std::error_code ec;
    fs::remove_all(temp_dir_, ec);
  }
  return close_status_;
}

}  // namespace junction::store::internal
