// Channel processing and delivery queues in the SQLite store.
//
// Writes (RecordProcessing, UpdateDelivery, AddDelivery, ResetForReprocess,
// Prune) are writer operations like UpdateStatus: validated and queued here,
// applied by the writer thread inside its batch transaction with statements
// prepared once (PrepareDeliveryStatements). Reads use the pooled read
// connections. Schema: src/store/internal/schema.cpp (version 2).
#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>

#include "store/internal/delivery_sql.h"
#include "store/internal/rows.h"
#include "store/internal/sqlite_store.h"

namespace junction::store::internal {
namespace {

using namespace sql;  // NOLINT(google-build-using-namespace): this file's statements

constexpr std::string_view kSuperseded = "superseded by reprocess";

Status ReadOnlyError() { return Status::Io("the message store is open read-only"); }

Status CheckText(std::string_view what, const std::string& value, bool required) {
  if (required && value.empty())
    return Status::Invalid("store: " + std::string(what) + " is empty");
  if (value.size() > kMaxMetadataFieldBytes) {
    return Status::Invalid("store: " + std::string(what) + " is longer than " +
                           std::to_string(kMaxMetadataFieldBytes) + " bytes");
  }
  return Status::Ok();
}

Status CheckDeliveryState(DeliveryState state) {
  if (!ParseDeliveryState(DeliveryStateName(state))) {
    return Status::Invalid("store: unknown delivery state");
  }
  return Status::Ok();
}

// Validates and bounds a new delivery; returns the bytes it adds to the queue.
Result<std::size_t> PrepareNewDelivery(NewDelivery& d) {
  JUNCTION_RETURN_IF_ERROR(CheckText("destination name", d.destination, /*required=*/true));
  JUNCTION_RETURN_IF_ERROR(CheckDeliveryState(d.state));
  TruncateUtf8(d.error, kMaxErrorTextBytes);
  if (!d.has_payload) d.payload.clear();
  return d.payload.size() + d.error.size() + d.destination.size();
}

// Reads one row of a statement built on kDeliveryColumns followed by the
// payload column (12) and, for ListQueued, control_id (13), received_at (14).
Result<DeliveryRecord> ReadDelivery(const Stmt& stmt, bool with_message) {
  DeliveryRecord r;
  r.id = stmt.ColumnInt64(0);
  r.message_id = stmt.ColumnInt64(1);
  r.channel = stmt.ColumnText(2);
  r.destination = stmt.ColumnText(3);
  std::optional<DeliveryState> state = ParseDeliveryState(stmt.ColumnText(4));
  if (!state) return Status::Invalid("delivery " + std::to_string(r.id) + " has an unknown state");
  r.state = *state;
  r.attempts = static_cast<int>(stmt.ColumnInt64(5));
  r.created_at_us = stmt.ColumnInt64(6);
  r.updated_at_us = stmt.ColumnInt64(7);
  r.next_attempt_at_us = stmt.ColumnInt64(8);
  r.error = stmt.ColumnText(9);
  r.response = stmt.ColumnText(10);
  r.has_payload = stmt.ColumnInt64(11) != 0;
  r.payload = stmt.ColumnBlob(12);
  if (with_message) {
    r.control_id = stmt.ColumnText(13);
    r.received_at_us = stmt.ColumnInt64(14);
  }
  return r;
}

// Steps a statement to the end, collecting rows with `read`.
template <typename T, typename Read>
Result<std::vector<T>> Collect(sqlite3* db, Stmt& stmt, Read read) {
  std::vector<T> rows;
  for (;;) {
    int rc = stmt.Step();
    if (rc == SQLITE_DONE) return rows;
    if (rc != SQLITE_ROW) return SqliteError(db, rc, "store: read failed");
    Result<T> row = read(stmt);
    if (!row.ok()) return row.status();
    rows.push_back(std::move(*row));
  }
}

// Binds a cached statement with `bind(stmt)`, collects every row and resets
// it (which ends the read transaction and clears the bindings).
template <typename T, typename Bind, typename Read>
Result<std::vector<T>> QueryCached(sqlite3* db, Result<Stmt*> stmt, Bind bind, Read read) {
  if (!stmt.ok()) return stmt.status();
  bind(**stmt);
  Result<std::vector<T>> rows = Collect<T>(db, **stmt, read);
  (*stmt)->Reset();
  return rows;
}

// Prepares `sql`, binds with `bind(stmt)` and collects every row.
template <typename T, typename Bind, typename Read>
Result<std::vector<T>> QueryRows(sqlite3* db, const std::string& sql, Bind bind, Read read) {
  Result<Stmt> stmt = Stmt::Prepare(db, sql);
  if (!stmt.ok()) return stmt.status();
  bind(*stmt);
  return Collect<T>(db, *stmt, read);
}

}  // namespace

// ------------------------------------------------------------ queueing

Result<std::size_t> SqliteStore::PrepareOutcome(ProcessingOutcome& outcome) {
  if (!ParseMessageState(MessageStateName(outcome.state))) {
    return Status::Invalid("store: unknown message state");
  }
  TruncateUtf8(outcome.error, kMaxErrorTextBytes);
  if (!outcome.has_transformed) outcome.transformed.clear();
  std::size_t bytes = outcome.transformed.size() + outcome.error.size();
  for (NewDelivery& d : outcome.deliveries) {
    Result<std::size_t> size = PrepareNewDelivery(d);
    if (!size.ok()) return size.status();
    bytes += *size;
  }
  return bytes;
}

Status SqliteStore::RecordProcessing(ProcessingOutcome outcome, IdsCallback done) {
  if (options_.read_only) return ReadOnlyError();
  Result<std::size_t> bytes = PrepareOutcome(outcome);
  if (!bytes.ok()) return bytes.status();
  Op op;
  op.kind = OpKind::kRecordProcessing;
  op.id = outcome.id;
  op.bytes = *bytes;
  op.processing = std::make_unique<ProcessingOutcome>(std::move(outcome));
  op.ids_done = std::move(done);
  return Enqueue(std::move(op), /*fail_fast=*/false);
}

Status SqliteStore::RecordProcessingBatch(std::vector<ProcessingOutcome> outcomes,
                                          std::vector<ProcessingCallback> done) {
  done.resize(outcomes.size());
  if (options_.read_only) {
    for (auto& cb : done) {
      if (cb) cb(ReadOnlyError());
    }
    return ReadOnlyError();
  }
  auto batch = std::make_shared<Op::ProcessingBatch>();
  batch->outcomes.reserve(outcomes.size());
  batch->done.reserve(outcomes.size());
  std::size_t total = 0;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    Result<std::size_t> bytes = PrepareOutcome(outcomes[i]);
    if (!bytes.ok()) {
      if (done[i]) done[i](bytes.status());
      continue;
    }
    total += *bytes;
    batch->outcomes.push_back(std::move(outcomes[i]));
    batch->done.push_back(std::move(done[i]));
  }
  if (batch->outcomes.empty()) return Status::Ok();
  Op op;
  op.kind = OpKind::kRecordProcessingBatch;
  op.bytes = total;
  op.processing_batch = batch;
  Status queued = Enqueue(std::move(op), /*fail_fast=*/false);
  if (!queued.ok()) {
    for (auto& cb : batch->done) {
      if (cb) cb(queued);
    }
  }
  return queued;
}

Status SqliteStore::UpdateDelivery(DeliveryUpdate update, StatusCallback done) {
  if (options_.read_only) return ReadOnlyError();
  JUNCTION_RETURN_IF_ERROR(CheckDeliveryState(update.state));
  if (update.attempts < 0) return Status::Invalid("store: attempts must not be negative");
  TruncateUtf8(update.error, kMaxErrorTextBytes);
  TruncateUtf8(update.response, kMaxResponseBytes);
  Op op;
  op.kind = OpKind::kUpdateDelivery;
  op.bytes = update.error.size() + update.response.size();
  op.delivery_update = std::make_unique<DeliveryUpdate>(std::move(update));
  op.status_done = std::move(done);
  return Enqueue(std::move(op), /*fail_fast=*/false);
}

Status SqliteStore::UpdateDeliveries(std::vector<DeliveryUpdate> updates, StatusCallback done) {
  if (options_.read_only) return ReadOnlyError();
  std::size_t bytes = 0;
  for (DeliveryUpdate& update : updates) {
    JUNCTION_RETURN_IF_ERROR(CheckDeliveryState(update.state));
    if (update.attempts < 0) return Status::Invalid("store: attempts must not be negative");
    TruncateUtf8(update.error, kMaxErrorTextBytes);
    TruncateUtf8(update.response, kMaxResponseBytes);
    bytes += update.error.size() + update.response.size();
  }
  Op op;
  op.kind = OpKind::kUpdateDeliveries;
  op.bytes = bytes;
  op.delivery_updates = std::make_unique<std::vector<DeliveryUpdate>>(std::move(updates));
  op.status_done = std::move(done);
  return Enqueue(std::move(op), /*fail_fast=*/false);
}

Status SqliteStore::AddDelivery(MessageId id, NewDelivery delivery, IdCallback done) {
  if (options_.read_only) return ReadOnlyError();
  delivery.state = DeliveryState::kQueued;  // a resend always joins the queue
  Result<std::size_t> size = PrepareNewDelivery(delivery);
  if (!size.ok()) return size.status();
  Op op;
  op.kind = OpKind::kAddDelivery;
  op.id = id;
  op.bytes = *size;
  op.new_delivery = std::make_unique<NewDelivery>(std::move(delivery));
  op.id_done = std::move(done);
  return Enqueue(std::move(op), /*fail_fast=*/false);
}

Status SqliteStore::ResetForReprocess(MessageId id, StatusCallback done) {
  if (options_.read_only) return ReadOnlyError();
  Op op;
  op.kind = OpKind::kResetForReprocess;
  op.id = id;
  op.status_done = std::move(done);
  return Enqueue(std::move(op), /*fail_fast=*/false);
}

Status SqliteStore::Prune(PruneRequest request, CountCallback done) {
  if (options_.read_only) return ReadOnlyError();
  request.max_rows = std::min(request.max_rows, kMaxQueryLimit);
  Op op;
  op.kind = OpKind::kPrune;
  op.prune = std::make_unique<PruneRequest>(std::move(request));
  op.count_done = std::move(done);
  return Enqueue(std::move(op), /*fail_fast=*/false);
}

// ------------------------------------------------------------ writer side

Status SqliteStore::PrepareDeliveryStatements() {
  sqlite3* w = writer_db_.get();
  DeliveryStmts& d = delivery_stmts_;
  struct {
    Stmt* stmt;
    const char* sql;
  } statements[] = {
      {&d.record, kRecordSql},
      {&d.insert_transformed, kInsertTransformedSql},
      {&d.insert, kInsertDeliverySql},
      {&d.update, kUpdateDeliverySql},
      {&d.rows_of_message, kRowsOfMessageSql},
      {&d.complete, kCompleteSql},
      {&d.requeue, kRequeueSql},
      {&d.reset_message, kResetMessageSql},
      {&d.delete_transformed, kDeleteTransformedSql},
      {&d.reset_deliveries, kResetDeliveriesSql},
      {&d.next_channel, kNextChannelSql},
      {&d.prune_candidates, kPruneCandidatesSql},
      {&d.delete_deliveries, kDeleteDeliveriesSql},
      {&d.delete_message, kDeleteMessageSql},
      {&d.delete_raw, kDeleteRawSql},
  };
  for (auto& s : statements) {
    Result<Stmt> prepared = Stmt::Prepare(w, s.sql);
    if (!prepared.ok()) return prepared.status();
    *s.stmt = std::move(*prepared);
  }
  return Status::Ok();
}

Status SqliteStore::ApplyDeliveryOp(Op& op, std::int64_t now_us, Outcome& outcome) {
  switch (op.kind) {
    case OpKind::kRecordProcessing:
      return RecordOne(*op.processing, now_us, outcome);
    case OpKind::kRecordProcessingBatch: {
      const auto& outcomes = op.processing_batch->outcomes;
      outcome.parts.resize(outcomes.size());
      for (std::size_t i = 0; i < outcomes.size(); ++i) {
        JUNCTION_RETURN_IF_ERROR(RecordOne(outcomes[i], now_us, outcome.parts[i]));
      }
      return Status::Ok();
    }
    case OpKind::kUpdateDelivery:
      return UpdateDeliveryOne(*op.delivery_update, now_us, outcome);
    case OpKind::kUpdateDeliveries: {
      // Each update as UpdateDelivery would apply it; the first per-update
      // failure is reported, the others still apply.
      Status first;
      for (const DeliveryUpdate& u : *op.delivery_updates) {
        Outcome one;
        JUNCTION_RETURN_IF_ERROR(UpdateDeliveryOne(u, now_us, one));
        if (!one.status.ok() && first.ok()) first = std::move(one.status);
      }
      outcome.status = std::move(first);
      return Status::Ok();
    }
    case OpKind::kAddDelivery:
      return AddDeliveryOne(op.id, *op.new_delivery, now_us, outcome);
    case OpKind::kResetForReprocess:
      return ResetOne(op.id, now_us, outcome);
    case OpKind::kPrune:
      return PruneOne(*op.prune, outcome);
    default:
      return Status::Invalid("store: unexpected operation kind");
  }
}

Status SqliteStore::RecordOne(const ProcessingOutcome& p, std::int64_t now_us, Outcome& outcome) {
  sqlite3* w = writer_db_.get();
  Stmt& s = delivery_stmts_.record;
  s.BindText(1, MessageStateName(p.state));
  s.BindText(2, p.error);
  s.BindInt64(3, now_us);
  s.BindInt64(4, p.id);
  int rc = s.Step();
  std::string channel = rc == SQLITE_ROW ? s.ColumnText(0) : std::string();
  s.Reset();
  if (rc == SQLITE_DONE) {
    // Only a waiting message takes an outcome: a second run of the same
    // message (a race around a reload) must not queue its deliveries twice.
    outcome.status = Status::NotFound("message " + std::to_string(p.id) +
                                      " is unknown or not waiting to be processed");
    return Status::Ok();
  }
  if (rc != SQLITE_ROW) return SqliteError(w, rc, "store: recording processing failed");
  if (p.has_transformed) {
    Stmt& t = delivery_stmts_.insert_transformed;
    t.BindInt64(1, p.id);
    rc = t.BindBlob(2, p.transformed);
    if (rc == SQLITE_OK) rc = t.Step();
    t.Reset();
    if (rc != SQLITE_DONE) return SqliteError(w, rc, "store: recording processing failed");
  }

  outcome.ids.reserve(p.deliveries.size());
  bool any_queued = false;
  for (const NewDelivery& d : p.deliveries) {
    DeliveryId id = 0;
    JUNCTION_RETURN_IF_ERROR(InsertDelivery(p.id, channel, d, now_us, id));
    outcome.ids.push_back(id);
    any_queued = any_queued || d.state == DeliveryState::kQueued;
  }
  // "Queued" with nothing queued would wait forever: settle it now.
  if (p.state == MessageState::kQueued && !any_queued) return CompleteMessage(p.id, now_us);
  return Status::Ok();
}

Status SqliteStore::InsertDelivery(MessageId id, const std::string& channel, const NewDelivery& d,
                                   std::int64_t now_us, DeliveryId& inserted) {
  sqlite3* w = writer_db_.get();
  Stmt& s = delivery_stmts_.insert;
  s.BindInt64(1, id);
  s.BindText(2, channel);
  s.BindText(3, d.destination);
  s.BindText(4, DeliveryStateName(d.state));
  s.BindInt64(5, now_us);
  s.BindText(6, d.error);
  int rc = d.has_payload ? s.BindBlob(7, d.payload) : s.BindNull(7);
  if (rc == SQLITE_OK) rc = s.Step();
  s.Reset();
  if (rc != SQLITE_DONE) return SqliteError(w, rc, "store: inserting a delivery failed");
  inserted = sqlite3_last_insert_rowid(w);
  return Status::Ok();
}

Status SqliteStore::UpdateDeliveryOne(const DeliveryUpdate& u, std::int64_t now_us,
                                      Outcome& outcome) {
  sqlite3* w = writer_db_.get();
  Stmt& s = delivery_stmts_.update;
  s.BindText(1, DeliveryStateName(u.state));
  s.BindInt64(2, u.attempts);
  s.BindInt64(3, u.next_attempt_at_us);
  s.BindText(4, u.error);
  s.BindText(5, u.response);
  s.BindInt64(6, now_us);
  s.BindInt64(7, u.id);
  int rc = s.Step();
  MessageId message_id = rc == SQLITE_ROW ? s.ColumnInt64(0) : 0;
  s.Reset();
  if (rc == SQLITE_DONE) {
    outcome.status = Status::NotFound("no delivery with id " + std::to_string(u.id));
    return Status::Ok();
  }
  if (rc != SQLITE_ROW) return SqliteError(w, rc, "store: delivery update failed");
  // A retry leaves this delivery queued, so the message cannot be complete.
  if (u.state == DeliveryState::kQueued) return Status::Ok();
  return CompleteMessage(message_id, now_us);
}

// When no delivery of the message is queued any more, its state follows the
// latest delivery (highest id) of each destination: any error -> error (with
// the most recent such error text), else sent.
Status SqliteStore::CompleteMessage(MessageId id, std::int64_t now_us) {
  sqlite3* w = writer_db_.get();
  Stmt& rows = delivery_stmts_.rows_of_message;
  rows.BindInt64(1, id);
  struct Latest {
    int seq = 0;  // position in id order
    std::string state, error;
  };
  std::map<std::string, Latest, std::less<>> latest;
  bool any_queued = false;
  int rc = SQLITE_ROW;
  for (int seq = 0; !any_queued && (rc = rows.Step()) == SQLITE_ROW; ++seq) {
    Latest row{seq, rows.ColumnText(1), rows.ColumnText(2)};
    any_queued = row.state == DeliveryStateName(DeliveryState::kQueued);
    latest[rows.ColumnText(0)] = std::move(row);
  }
  rows.Reset();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    return SqliteError(w, rc, "store: reading a message's deliveries failed");
  }
  if (any_queued || latest.empty()) return Status::Ok();

  // Of several destinations in error, report the most recent failure.
  const Latest* failed = nullptr;
  for (const auto& entry : latest) {
    const Latest& row = entry.second;
    if (row.state == DeliveryStateName(DeliveryState::kError) &&
        (failed == nullptr || row.seq > failed->seq)) {
      failed = &row;
    }
  }
  const std::string* error = failed ? &failed->error : nullptr;
  Stmt& s = delivery_stmts_.complete;
  s.BindText(1, MessageStateName(error ? MessageState::kError : MessageState::kSent));
  s.BindText(2, error ? std::string_view(*error) : std::string_view(""));
  s.BindInt64(3, now_us);
  s.BindInt64(4, id);
  rc = s.Step();
  s.Reset();
  if (rc != SQLITE_DONE) return SqliteError(w, rc, "store: completing a message failed");
  return Status::Ok();
}

Status SqliteStore::AddDeliveryOne(MessageId id, const NewDelivery& d, std::int64_t now_us,
                                   Outcome& outcome) {
  sqlite3* w = writer_db_.get();
  Stmt& s = delivery_stmts_.requeue;
  s.BindInt64(1, now_us);
  s.BindInt64(2, id);
  int rc = s.Step();
  std::string channel = rc == SQLITE_ROW ? s.ColumnText(0) : std::string();
  s.Reset();
  if (rc == SQLITE_DONE) {
    outcome.status = Status::NotFound("no message with id " + std::to_string(id));
    return Status::Ok();
  }
  if (rc != SQLITE_ROW) return SqliteError(w, rc, "store: requeueing a message failed");
  return InsertDelivery(id, channel, d, now_us, outcome.delivery_id);
}

Status SqliteStore::ResetOne(MessageId id, std::int64_t now_us, Outcome& outcome) {
  sqlite3* w = writer_db_.get();
  Stmt& m = delivery_stmts_.reset_message;
  m.BindInt64(1, now_us);
  m.BindInt64(2, id);
  int rc = m.Step();
  m.Reset();
  if (rc != SQLITE_DONE) return SqliteError(w, rc, "store: resetting a message failed");
  if (sqlite3_changes(w) == 0) {
    outcome.status = Status::NotFound("no message with id " + std::to_string(id));
    return Status::Ok();
  }
  Stmt& t = delivery_stmts_.delete_transformed;
  t.BindInt64(1, id);
  rc = t.Step();
  t.Reset();
  if (rc != SQLITE_DONE) return SqliteError(w, rc, "store: resetting a message failed");
  Stmt& d = delivery_stmts_.reset_deliveries;
  d.BindInt64(1, now_us);
  d.BindInt64(2, id);
  d.BindText(3, kSuperseded);
  rc = d.Step();
  d.Reset();
  if (rc != SQLITE_DONE) return SqliteError(w, rc, "store: superseding deliveries failed");
  return Status::Ok();
}

Status SqliteStore::PruneOne(const PruneRequest& r, Outcome& outcome) {
  sqlite3* w = writer_db_.get();
  if (r.max_rows == 0 || (r.before_us == 0 && r.errors_before_us == 0)) return Status::Ok();

  std::vector<MessageId> candidates;
  if (!r.channel.empty()) {
    JUNCTION_RETURN_IF_ERROR(PruneChannel(r.channel, r, candidates));
  } else {
    // '' sorts first; the others follow by seeking past the previous name.
    std::string channel;
    JUNCTION_RETURN_IF_ERROR(PruneChannel(channel, r, candidates));
    Stmt& next = delivery_stmts_.next_channel;
    for (;;) {
      next.BindText(1, channel);
      int rc = next.Step();
      bool found = rc == SQLITE_ROW && sqlite3_column_type(next.get(), 0) != SQLITE_NULL;
      std::string name = found ? next.ColumnText(0) : std::string();
      next.Reset();
      if (rc != SQLITE_ROW) return SqliteError(w, rc, "store: listing channels failed");
      if (!found) break;
      channel = std::move(name);
      JUNCTION_RETURN_IF_ERROR(PruneChannel(channel, r, candidates));
    }
  }
  std::sort(candidates.begin(), candidates.end());
  if (candidates.size() > r.max_rows) candidates.resize(r.max_rows);

  // A message's rows in every table that keys on it.
  Stmt* deletes[] = {&delivery_stmts_.delete_deliveries, &delivery_stmts_.delete_raw,
                     &delivery_stmts_.delete_transformed, &delivery_stmts_.delete_message};
  for (MessageId id : candidates) {
    for (Stmt* del : deletes) {
      del->BindInt64(1, id);
      int rc = del->Step();
      del->Reset();
      if (rc != SQLITE_DONE) return SqliteError(w, rc, "store: deleting a message failed");
    }
  }
  outcome.count = candidates.size();
  return Status::Ok();
}

// Adds up to r.max_rows of the oldest prunable messages of one channel, per
// state, to `candidates` (the caller keeps the oldest overall).
Status SqliteStore::PruneChannel(const std::string& channel, const PruneRequest& r,
                                 std::vector<MessageId>& candidates) {
  sqlite3* w = writer_db_.get();
  // Never "received" (not processed yet); errors only with their own cutoff.
  static constexpr MessageState kPrunable[] = {
      MessageState::kFiltered, MessageState::kTransformed, MessageState::kQueued,
      MessageState::kSent,     MessageState::kProcessed,   MessageState::kError,
  };
  Stmt& s = delivery_stmts_.prune_candidates;
  for (MessageState state : kPrunable) {
    std::int64_t cutoff = state == MessageState::kError ? r.errors_before_us : r.before_us;
    if (cutoff == 0) continue;
    s.BindText(1, channel);
    s.BindText(2, MessageStateName(state));
    std::size_t taken = 0;
    int rc = SQLITE_ROW;
    while (taken < r.max_rows && (rc = s.Step()) == SQLITE_ROW) {
      // Ids grow with time: the first young message ends this state's run.
      if (s.ColumnInt64(1) >= cutoff) break;
      candidates.push_back(s.ColumnInt64(0));
      ++taken;
    }
    s.Reset();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
      return SqliteError(w, rc, "store: finding messages to prune failed");
    }
  }
  return Status::Ok();
}

// ------------------------------------------------------------ reads

Result<std::vector<MessageRecord>> SqliteStore::ListForProcessing(const std::string& channel,
                                                                  MessageId after_id,
                                                                  std::size_t limit) {
  return WithReader<std::vector<MessageRecord>>([&](sqlite3* db) {
    return QueryRows<MessageRecord>(
        db, ListForProcessingSql(),
        [&](Stmt& s) {
          s.BindText(1, channel);
          s.BindInt64(2, after_id);
          s.BindInt64(3, static_cast<std::int64_t>(std::min(limit, kMaxQueryLimit)));
        },
        [](const Stmt& s) { return ReadRow(s); });
  });
}

Result<std::vector<MessageId>> SqliteStore::ListIdsForProcessing(const std::string& channel,
                                                                 MessageId after_id,
                                                                 std::size_t limit) {
  return WithReader<std::vector<MessageId>>([&](sqlite3* db) {
    return QueryCached<MessageId>(
        db, ReaderStmt(db, kListIdsStmt, kListIdsForProcessingSql),
        [&](Stmt& s) {
          s.BindText(1, channel);
          s.BindInt64(2, after_id);
          s.BindInt64(3, static_cast<std::int64_t>(std::min(limit, kMaxQueryLimit)));
        },
        [](const Stmt& s) -> Result<MessageId> { return s.ColumnInt64(0); });
  });
}

Result<std::vector<DeliveryRecord>> SqliteStore::ListQueued(const QueueQuery& query) {
  static const std::string sql = ListQueuedSql();
  return WithReader<std::vector<DeliveryRecord>>([&](sqlite3* db) {
    return QueryCached<DeliveryRecord>(
        db, ReaderStmt(db, kListQueuedStmt, sql.c_str()),
        [&](Stmt& s) {
          s.BindText(1, query.channel);
          s.BindText(2, query.destination);
          s.BindInt64(3, query.after_id);
          s.BindInt64(4, static_cast<std::int64_t>(std::min(query.limit, kMaxQueryLimit)));
        },
        [](const Stmt& s) { return ReadDelivery(s, /*with_message=*/true); });
  });
}

Result<std::vector<DeliveryRecord>> SqliteStore::ListDeliveries(MessageId id) {
  static const std::string sql = ListDeliveriesSql();
  return WithReader<std::vector<DeliveryRecord>>([&](sqlite3* db) {
    return QueryCached<DeliveryRecord>(
        db, ReaderStmt(db, kListDeliveriesStmt, sql.c_str()), [&](Stmt& s) { s.BindInt64(1, id); },
        [](const Stmt& s) { return ReadDelivery(s, /*with_message=*/false); });
  });
}

namespace {

Result<StatusReport> ReadReport(sqlite3* db) {
  StatusReport report;
  Result<Stmt> channels = Stmt::Prepare(db, kChannelCountsSql);
  if (!channels.ok()) return channels.status();
  for (;;) {
    int rc = channels->Step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return SqliteError(db, rc, "store: counting messages failed");
    std::string channel = channels->ColumnText(0);
    if (report.channels.empty() || report.channels.back().channel != channel) {
      report.channels.push_back(ChannelCounts{});
      report.channels.back().channel = std::move(channel);
    }
    ChannelCounts& c = report.channels.back();
    auto n = static_cast<std::uint64_t>(channels->ColumnInt64(2));
    c.received += n;
    std::optional<MessageState> state = ParseMessageState(channels->ColumnText(1));
    if (!state) continue;  // counted in the total only
    switch (*state) {
      case MessageState::kReceived:
        c.waiting += n;
        break;
      case MessageState::kFiltered:
        c.filtered += n;
        break;
      case MessageState::kQueued:
        c.queued += n;
        break;
      case MessageState::kSent:
        c.sent += n;
        break;
      case MessageState::kProcessed:
        c.processed += n;
        break;
      case MessageState::kError:
        c.errored += n;
        break;
      case MessageState::kTransformed:
        break;
    }
  }

  Result<Stmt> destinations = Stmt::Prepare(db, kDestinationCountsSql);
  if (!destinations.ok()) return destinations.status();
  for (;;) {
    int rc = destinations->Step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return SqliteError(db, rc, "store: counting deliveries failed");
    std::string channel = destinations->ColumnText(0);
    std::string destination = destinations->ColumnText(1);
    if (report.destinations.empty() || report.destinations.back().channel != channel ||
        report.destinations.back().destination != destination) {
      report.destinations.push_back(DestinationCounts{});
      report.destinations.back().channel = std::move(channel);
      report.destinations.back().destination = std::move(destination);
    }
    DestinationCounts& d = report.destinations.back();
    auto n = static_cast<std::uint64_t>(destinations->ColumnInt64(3));
    std::optional<DeliveryState> state = ParseDeliveryState(destinations->ColumnText(2));
    if (!state) continue;
    switch (*state) {
      case DeliveryState::kQueued:
        d.queued += n;
        break;
      case DeliveryState::kSent:
        d.sent += n;
        break;
      case DeliveryState::kError:
        d.errored += n;
        break;
      case DeliveryState::kFiltered:
        d.filtered += n;
        break;
    }
  }

  Result<Stmt> head = Stmt::Prepare(db, kQueueHeadSql);
  if (!head.ok()) return head.status();
  for (DestinationCounts& d : report.destinations) {
    if (d.queued == 0) continue;
    head->BindText(1, d.channel);
    head->BindText(2, d.destination);
    int rc = head->Step();
    if (rc == SQLITE_ROW) {
      d.oldest_queued_at_us = head->ColumnInt64(0);
      d.head_attempts = static_cast<int>(head->ColumnInt64(1));
      d.head_error = head->ColumnText(2);
    }
    head->Reset();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
      return SqliteError(db, rc, "store: reading a queue head failed");
    }
  }
  return report;
}

}  // namespace

Result<StatusReport> SqliteStore::Report() {
  return WithReader<StatusReport>([](sqlite3* db) -> Result<StatusReport> {
    // One read transaction: counts and heads come from the same snapshot.
    JUNCTION_RETURN_IF_ERROR(Exec(db, "BEGIN"));
    Result<StatusReport> result = ReadReport(db);
    (void)Exec(db, "COMMIT");
    return result;
  });
}

std::int64_t SqliteStore::SizeBytes() const {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::int64_t wal = 0;
  auto wal_size = fs::file_size(path_ + "-wal", ec);
  if (!ec) wal = static_cast<std::int64_t>(wal_size);

  // Readers are pooled state, not part of the store's observable value.
  auto* self = const_cast<SqliteStore*>(this);
  Result<DbPtr> db = self->AcquireReader();
  if (!db.ok()) {
    auto main_size = fs::file_size(path_, ec);
    return (ec ? 0 : static_cast<std::int64_t>(main_size)) + wal;
  }
  Result<std::int64_t> pages = QueryInt(db->get(), "PRAGMA page_count");
  Result<std::int64_t> page_size = QueryInt(db->get(), "PRAGMA page_size");
  self->ReleaseReader(std::move(*db));
  if (!pages.ok() || !page_size.ok()) return wal;
  return *pages * *page_size + wal;
}

}  // namespace junction::store::internal
