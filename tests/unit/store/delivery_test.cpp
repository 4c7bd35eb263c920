// Channel processing and delivery queues: RecordProcessing, UpdateDelivery,
// AddDelivery, ResetForReprocess, Prune and the reads (ListForProcessing,
// ListQueued, ListDeliveries, Report), schema v1 -> v2 migration, a second
// Store on the same file, and callbacks on Close.
#include <sqlite3.h>

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "junction/store/store.h"
#include "store/internal/delivery_sql.h"
#include "unit/store/store_test_util.h"

namespace junction::store {
namespace {

using testing::MustOpen;
using testing::RunSql;
using testing::SampleMessage;
using testing::SqlInt;
using testing::SqlText;
using testing::TempDir;

NewDelivery Queued(const std::string& destination) {
  NewDelivery d;
  d.destination = destination;
  return d;
}

DeliveryUpdate Attempt(DeliveryId id, DeliveryState state, int attempts,
                       const std::string& error = {}) {
  DeliveryUpdate u;
  u.id = id;
  u.state = state;
  u.attempts = attempts;
  u.error = error;
  return u;
}

// A file store per test (so the tests can look at the file directly).
class DeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    options_.sqlite_path = dir_.File("junction.db");
    options_.durable = false;
    store_ = MustOpen(options_);
    ASSERT_TRUE(store_);
  }

  MessageId AppendOne(const std::string& control_id, const std::string& channel = "adt-in",
                      std::int64_t received_at_us = 0) {
    IncomingMessage m = SampleMessage(control_id);
    m.channel = channel;
    m.received_at_us = received_at_us;
    Result<AppendResult> r = store_->AppendAndWait(std::move(m));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->id : 0;
  }

  // Records a kQueued outcome with one queued delivery per destination.
  std::vector<DeliveryId> Process(MessageId id, const std::vector<std::string>& destinations,
                                  const std::string* transformed = nullptr) {
    ProcessingOutcome p;
    p.id = id;
    p.state = MessageState::kQueued;
    if (transformed != nullptr) {
      p.transformed = *transformed;
      p.has_transformed = true;
    }
    for (const std::string& d : destinations) p.deliveries.push_back(Queued(d));
    Result<std::vector<DeliveryId>> ids = store_->RecordProcessingAndWait(std::move(p));
    EXPECT_TRUE(ids.ok()) << ids.status().ToString();
    return ids.ok() ? *ids : std::vector<DeliveryId>{};
  }

  MessageState StateOf(MessageId id) {
    Result<MessageRecord> row = store_->Get(id);
    EXPECT_TRUE(row.ok()) << row.status().ToString();
    return row.ok() ? row->state : MessageState::kReceived;
  }

  std::string Path() const { return options_.sqlite_path; }

  TempDir dir_;
  StoreOptions options_;
  std::unique_ptr<Store> store_;
};

TEST(DeliveryStateNames, RoundTrip) {
  for (DeliveryState s : {DeliveryState::kQueued, DeliveryState::kSent, DeliveryState::kError,
                          DeliveryState::kFiltered}) {
    std::optional<DeliveryState> back = ParseDeliveryState(DeliveryStateName(s));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(DeliveryStateName(DeliveryState::kFiltered), "filtered");
  EXPECT_FALSE(ParseDeliveryState("received").has_value());
}

TEST_F(DeliveryTest, RecordProcessingStoresOutcomeAndDeliveriesInOrder) {
  MessageId id = AppendOne("M1");
  ProcessingOutcome p;
  p.id = id;
  p.state = MessageState::kQueued;
  p.transformed = "MSH|transformed";
  p.has_transformed = true;
  NewDelivery own = Queued("lab");
  own.payload = "custom bytes";
  own.has_payload = true;
  NewDelivery filtered = Queued("archive");
  filtered.state = DeliveryState::kFiltered;
  filtered.error = "rule: only ORU";
  NewDelivery shared = Queued("ris");
  shared.payload = "ignored without has_payload";
  p.deliveries = {own, filtered, shared};

  Result<std::vector<DeliveryId>> ids = store_->RecordProcessingAndWait(p);
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  ASSERT_EQ(ids->size(), 3u);
  EXPECT_LT((*ids)[0], (*ids)[1]);
  EXPECT_LT((*ids)[1], (*ids)[2]);

  Result<MessageRecord> row = store_->Get(id);
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(row->state, MessageState::kQueued);
  EXPECT_TRUE(row->has_transformed);
  EXPECT_EQ(row->transformed, "MSH|transformed");
  EXPECT_GE(row->updated_at_us, row->received_at_us);

  Result<std::vector<DeliveryRecord>> rows = store_->ListDeliveries(id);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 3u);
  const DeliveryRecord& lab = (*rows)[0];
  EXPECT_EQ(lab.id, (*ids)[0]);
  EXPECT_EQ(lab.message_id, id);
  EXPECT_EQ(lab.channel, "adt-in");  // copied from the message
  EXPECT_EQ(lab.destination, "lab");
  EXPECT_EQ(lab.state, DeliveryState::kQueued);
  EXPECT_EQ(lab.attempts, 0);
  EXPECT_GT(lab.created_at_us, 0);
  EXPECT_EQ(lab.updated_at_us, lab.created_at_us);
  EXPECT_TRUE(lab.has_payload);
  EXPECT_EQ(lab.payload, "custom bytes");
  EXPECT_EQ((*rows)[1].destination, "archive");
  EXPECT_EQ((*rows)[1].state, DeliveryState::kFiltered);
  EXPECT_EQ((*rows)[1].error, "rule: only ORU");
  EXPECT_EQ((*rows)[2].destination, "ris");
  EXPECT_FALSE((*rows)[2].has_payload);
  EXPECT_EQ((*rows)[2].payload, "");
  EXPECT_EQ(SqlInt(Path(), "SELECT count(*) FROM deliveries WHERE payload IS NULL"), 2);
}

TEST_F(DeliveryTest, RecordProcessingWithoutTransformedStoresNull) {
  MessageId id = AppendOne("M1");
  ProcessingOutcome p;
  p.id = id;
  p.state = MessageState::kFiltered;
  p.error = "channel filter: not ADT^A08";
  p.transformed = "dropped because has_transformed is false";
  ASSERT_TRUE(store_->RecordProcessingAndWait(p).ok());
  Result<MessageRecord> row = store_->Get(id);
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(row->state, MessageState::kFiltered);
  EXPECT_EQ(row->error, "channel filter: not ADT^A08");
  EXPECT_FALSE(row->has_transformed);
  EXPECT_EQ(SqlInt(Path(), "SELECT count(*) FROM message_transformed"), 0);
  EXPECT_EQ(SqlInt(Path(), "SELECT count(*) FROM deliveries"), 0);
}

TEST_F(DeliveryTest, RecordProcessingOfUnknownMessageWritesNothing) {
  MessageId id = AppendOne("M1");
  ProcessingOutcome p;
  p.id = id + 100;
  p.deliveries = {Queued("lab")};
  Result<std::vector<DeliveryId>> ids = store_->RecordProcessingAndWait(p);
  ASSERT_FALSE(ids.ok());
  EXPECT_EQ(ids.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(SqlInt(Path(), "SELECT count(*) FROM deliveries"), 0);
  // Only this operation failed: the store goes on.
  EXPECT_EQ(Process(id, {"lab"}).size(), 1u);
}

TEST_F(DeliveryTest, QueuedWithNothingQueuedSettlesAtOnce) {
  MessageId id = AppendOne("M1");
  ProcessingOutcome p;
  p.id = id;
  p.state = MessageState::kQueued;
  NewDelivery f = Queued("lab");
  f.state = DeliveryState::kFiltered;
  p.deliveries = {f};
  Result<std::vector<DeliveryId>> ids = store_->RecordProcessingAndWait(p);
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  EXPECT_EQ(StateOf(id), MessageState::kSent);
}

TEST_F(DeliveryTest, InvalidArgumentsAreRefusedAtOnce) {
  MessageId id = AppendOne("M1");
  ProcessingOutcome p;
  p.id = id;
  p.deliveries = {Queued("")};
  bool called = false;
  Status s = store_->RecordProcessing(p, [&](Result<std::vector<DeliveryId>>) { called = true; });
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  p.deliveries = {Queued(std::string(kMaxMetadataFieldBytes + 1, 'd'))};
  EXPECT_EQ(store_->RecordProcessingAndWait(p).status().code(), StatusCode::kInvalidArgument);
  DeliveryUpdate u = Attempt(1, static_cast<DeliveryState>(42), 1);
  EXPECT_EQ(store_->UpdateDeliveryAndWait(u).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->UpdateDeliveryAndWait(Attempt(1, DeliveryState::kSent, -1)).code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE(store_->Flush().ok());
  EXPECT_FALSE(called);
}

TEST_F(DeliveryTest, ListQueuedResolvesPayloadAndKeepsOrder) {
  std::string transformed = "MSH|T1";
  MessageId with_transformed = AppendOne("M1");
  MessageId raw_only = AppendOne("M2");
  MessageId with_own = AppendOne("M3");
  MessageId other_channel = AppendOne("M4", "other");
  DeliveryId d1 = Process(with_transformed, {"lab", "ris"}, &transformed)[0];
  DeliveryId d2 = Process(raw_only, {"lab"})[0];
  ProcessingOutcome p;
  p.id = with_own;
  p.transformed = "MSH|T3";
  p.has_transformed = true;
  NewDelivery own = Queued("lab");
  own.payload = "OWN";
  own.has_payload = true;
  p.deliveries = {own};
  Result<std::vector<DeliveryId>> ids3 = store_->RecordProcessingAndWait(p);
  ASSERT_TRUE(ids3.ok());
  DeliveryId d3 = (*ids3)[0];
  Process(other_channel, {"lab"});

  QueueQuery q;
  q.channel = "adt-in";
  q.destination = "lab";
  Result<std::vector<DeliveryRecord>> head = store_->ListQueued(q);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  ASSERT_EQ(head->size(), 3u);
  EXPECT_EQ((*head)[0].id, d1);
  EXPECT_EQ((*head)[0].payload, "MSH|T1");
  EXPECT_FALSE((*head)[0].has_payload);
  EXPECT_EQ((*head)[0].control_id, "M1");
  Result<MessageRecord> m1 = store_->Get(with_transformed);
  ASSERT_TRUE(m1.ok());
  EXPECT_EQ((*head)[0].received_at_us, m1->received_at_us);
  EXPECT_EQ((*head)[1].id, d2);
  EXPECT_EQ((*head)[1].payload, SampleMessage("M2").raw);
  EXPECT_EQ((*head)[1].control_id, "M2");
  EXPECT_EQ((*head)[2].id, d3);
  EXPECT_EQ((*head)[2].payload, "OWN");
  EXPECT_TRUE((*head)[2].has_payload);

  q.after_id = d1;
  q.limit = 1;
  head = store_->ListQueued(q);
  ASSERT_TRUE(head.ok());
  ASSERT_EQ(head->size(), 1u);
  EXPECT_EQ((*head)[0].id, d2);

  // Sent rows leave the queue; other destinations and channels are separate.
  ASSERT_TRUE(store_->UpdateDeliveryAndWait(Attempt(d2, DeliveryState::kSent, 1)).ok());
  q.after_id = 0;
  q.limit = 100;
  head = store_->ListQueued(q);
  ASSERT_TRUE(head.ok());
  ASSERT_EQ(head->size(), 2u);
  EXPECT_EQ((*head)[0].id, d1);
  EXPECT_EQ((*head)[1].id, d3);
  q.destination = "ris";
  head = store_->ListQueued(q);
  ASSERT_TRUE(head.ok());
  ASSERT_EQ(head->size(), 1u);
  EXPECT_EQ((*head)[0].message_id, with_transformed);
  q.channel = "other";
  q.destination = "lab";
  head = store_->ListQueued(q);
  ASSERT_TRUE(head.ok());
  ASSERT_EQ(head->size(), 1u);
  EXPECT_EQ((*head)[0].message_id, other_channel);
  q.destination = "nobody";
  head = store_->ListQueued(q);
  ASSERT_TRUE(head.ok());
  EXPECT_TRUE(head->empty());
}

TEST_F(DeliveryTest, RetryKeepsMessageQueuedAndStoresAttempt) {
  MessageId id = AppendOne("M1");
  std::vector<DeliveryId> d = Process(id, {"lab"});
  DeliveryUpdate retry = Attempt(d[0], DeliveryState::kQueued, 1, "connection refused");
  retry.next_attempt_at_us = 123456789;
  retry.response = "no answer";
  ASSERT_TRUE(store_->UpdateDeliveryAndWait(retry).ok());
  EXPECT_EQ(StateOf(id), MessageState::kQueued);
  Result<std::vector<DeliveryRecord>> rows = store_->ListDeliveries(id);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].state, DeliveryState::kQueued);
  EXPECT_EQ((*rows)[0].attempts, 1);
  EXPECT_EQ((*rows)[0].next_attempt_at_us, 123456789);
  EXPECT_EQ((*rows)[0].error, "connection refused");
  EXPECT_EQ((*rows)[0].response, "no answer");
  EXPECT_GE((*rows)[0].updated_at_us, (*rows)[0].created_at_us);
}

TEST_F(DeliveryTest, MessageIsSentWhenTheLastDeliveryIsDone) {
  MessageId id = AppendOne("M1");
  std::vector<DeliveryId> d = Process(id, {"lab", "ris"});
  ASSERT_TRUE(store_->UpdateDeliveryAndWait(Attempt(d[0], DeliveryState::kSent, 1)).ok());
  EXPECT_EQ(StateOf(id), MessageState::kQueued);  // ris is still queued
  ASSERT_TRUE(store_->UpdateDeliveryAndWait(Attempt(d[1], DeliveryState::kFiltered, 0)).ok());
  EXPECT_EQ(StateOf(id), MessageState::kSent);
}

TEST_F(DeliveryTest, AnyFailedDestinationMakesTheMessageAnError) {
  MessageId id = AppendOne("M1");
  std::vector<DeliveryId> d = Process(id, {"lab", "ris"});
  ASSERT_TRUE(
      store_->UpdateDeliveryAndWait(Attempt(d[0], DeliveryState::kError, 5, "AE: unknown patient"))
          .ok());
  EXPECT_EQ(StateOf(id), MessageState::kQueued);
  ASSERT_TRUE(store_->UpdateDeliveryAndWait(Attempt(d[1], DeliveryState::kSent, 1)).ok());
  Result<MessageRecord> row = store_->Get(id);
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(row->state, MessageState::kError);
  EXPECT_EQ(row->error, "AE: unknown patient");
}

TEST_F(DeliveryTest, ResendCountsOnlyTheLatestDeliveryPerDestination) {
  MessageId id = AppendOne("M1");
  std::vector<DeliveryId> d = Process(id, {"lab", "ris"});
  ASSERT_TRUE(
      store_->UpdateDeliveryAndWait(Attempt(d[0], DeliveryState::kError, 3, "timeout")).ok());
  ASSERT_TRUE(store_->UpdateDeliveryAndWait(Attempt(d[1], DeliveryState::kSent, 1)).ok());
  ASSERT_EQ(StateOf(id), MessageState::kError);

  NewDelivery resend = Queued("lab");
  resend.state = DeliveryState::kSent;  // ignored: a resend is always queued
  Result<DeliveryId> again = store_->AddDeliveryAndWait(id, resend);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_GT(*again, d[1]);
  Result<MessageRecord> row = store_->Get(id);
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(row->state, MessageState::kQueued);
  EXPECT_EQ(row->error, "");

  QueueQuery q;
  q.channel = "adt-in";
  q.destination = "lab";
  Result<std::vector<DeliveryRecord>> head = store_->ListQueued(q);
  ASSERT_TRUE(head.ok());
  ASSERT_EQ(head->size(), 1u);
  EXPECT_EQ((*head)[0].id, *again);  // at the tail (here: the only one)

  ASSERT_TRUE(store_->UpdateDeliveryAndWait(Attempt(*again, DeliveryState::kSent, 1)).ok());
  EXPECT_EQ(StateOf(id), MessageState::kSent);  // the old error is history
  Result<std::vector<DeliveryRecord>> rows = store_->ListDeliveries(id);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].state, DeliveryState::kError);

  Result<DeliveryId> unknown = store_->AddDeliveryAndWait(id + 50, Queued("lab"));
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
}

// UpdateDeliveries: one writer operation, each update applied as UpdateDelivery.
TEST_F(DeliveryTest, UpdateDeliveriesAppliesEveryUpdateInOneOperation) {
  const MessageId a = AppendOne("A");
  const MessageId b = AppendOne("B");
  const std::vector<DeliveryId> da = Process(a, {"lab", "ris"});
  const std::vector<DeliveryId> db = Process(b, {"lab"});
  const std::uint64_t ops_before = store_->Stats().batch_ops;
  DeliveryUpdate retry = Attempt(db[0], DeliveryState::kQueued, 1, "timeout");
  retry.next_attempt_at_us = 42;
  std::vector<DeliveryUpdate> updates = {Attempt(da[0], DeliveryState::kSent, 1),
                                         Attempt(999, DeliveryState::kSent, 1),  // unknown
                                         Attempt(da[1], DeliveryState::kSent, 1), retry};
  std::promise<Status> done;
  ASSERT_TRUE(
      store_->UpdateDeliveries(std::move(updates), [&](Status st) { done.set_value(st); }).ok());
  const Status result = done.get_future().get();
  EXPECT_EQ(result.code(), StatusCode::kNotFound) << result.ToString();
  EXPECT_EQ(store_->Stats().batch_ops, ops_before + 1);  // one operation
  // The others applied: a is complete, b waits for its retry.
  EXPECT_EQ(StateOf(a), MessageState::kSent);
  EXPECT_EQ(StateOf(b), MessageState::kQueued);
  Result<std::vector<DeliveryRecord>> rows = store_->ListDeliveries(b);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].attempts, 1);
  EXPECT_EQ((*rows)[0].next_attempt_at_us, 42);
  EXPECT_EQ((*rows)[0].error, "timeout");
  // Refused at once when one update is invalid; nothing applied.
  DeliveryUpdate bad = Attempt(db[0], DeliveryState::kSent, -1);
  EXPECT_EQ(
      store_->UpdateDeliveries({Attempt(db[0], DeliveryState::kSent, 2), bad}, nullptr).code(),
      StatusCode::kInvalidArgument);
  ASSERT_TRUE(store_->Flush().ok());
  EXPECT_EQ(StateOf(b), MessageState::kQueued);
}

TEST_F(DeliveryTest, UnknownDeliveryIsNotFoundAndCountedWithoutCallback) {
  MessageId id = AppendOne("M1");
  Process(id, {"lab"});
  EXPECT_EQ(store_->UpdateDeliveryAndWait(Attempt(999, DeliveryState::kSent, 1)).code(),
            StatusCode::kNotFound);
  std::uint64_t failed = store_->Stats().failed_ops;
  ASSERT_TRUE(store_->UpdateDelivery(Attempt(998, DeliveryState::kSent, 1), nullptr).ok());
  ASSERT_TRUE(store_->ResetForReprocess(id + 10, nullptr).ok());
  ASSERT_TRUE(store_->Flush().ok());
  EXPECT_EQ(store_->Stats().failed_ops, failed + 2);
  EXPECT_EQ(StateOf(id), MessageState::kQueued);
}

TEST_F(DeliveryTest, ReprocessSupersedesQueuedDeliveries) {
  MessageId id = AppendOne("M1");
  std::string transformed = "MSH|T";
  std::vector<DeliveryId> d = Process(id, {"lab", "ris"}, &transformed);
  ASSERT_TRUE(store_->UpdateDeliveryAndWait(Attempt(d[0], DeliveryState::kSent, 1)).ok());
  ASSERT_TRUE(store_->ResetForReprocessAndWait(id).ok());

  Result<MessageRecord> row = store_->Get(id);
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(row->state, MessageState::kReceived);
  EXPECT_FALSE(row->has_transformed);
  Result<std::vector<DeliveryRecord>> rows = store_->ListDeliveries(id);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].state, DeliveryState::kSent);  // history stays
  EXPECT_EQ((*rows)[1].state, DeliveryState::kError);
  EXPECT_EQ((*rows)[1].error, "superseded by reprocess");

  Result<std::vector<MessageRecord>> todo = store_->ListForProcessing("adt-in", 0, 10);
  ASSERT_TRUE(todo.ok());
  ASSERT_EQ(todo->size(), 1u);
  EXPECT_EQ((*todo)[0].id, id);

  // A late result for the superseded delivery is recorded but does not move
  // the message out of "received".
  ASSERT_TRUE(store_->UpdateDeliveryAndWait(Attempt(d[1], DeliveryState::kSent, 1)).ok());
  EXPECT_EQ(StateOf(id), MessageState::kReceived);

  EXPECT_EQ(store_->ResetForReprocessAndWait(id + 10).code(), StatusCode::kNotFound);
}

TEST_F(DeliveryTest, ListForProcessingReturnsWaitingMessagesOldestFirst) {
  MessageId a = AppendOne("A");
  MessageId b = AppendOne("B");
  MessageId other = AppendOne("O", "other");
  MessageId c = AppendOne("C");
  MessageId d = AppendOne("D");
  ASSERT_TRUE(store_->UpdateStatusAndWait(b, MessageState::kProcessed).ok());
  (void)other;

  Result<std::vector<MessageRecord>> todo = store_->ListForProcessing("adt-in", 0, 2);
  ASSERT_TRUE(todo.ok()) << todo.status().ToString();
  ASSERT_EQ(todo->size(), 2u);
  EXPECT_EQ((*todo)[0].id, a);
  EXPECT_EQ((*todo)[1].id, c);
  EXPECT_EQ((*todo)[0].raw, SampleMessage("A").raw);
  EXPECT_EQ((*todo)[0].control_id, "A");

  todo = store_->ListForProcessing("adt-in", c, 100);
  ASSERT_TRUE(todo.ok());
  ASSERT_EQ(todo->size(), 1u);
  EXPECT_EQ((*todo)[0].id, d);
  todo = store_->ListForProcessing("none", 0, 100);
  ASSERT_TRUE(todo.ok());
  EXPECT_TRUE(todo->empty());

  // The id-only read returns the same rows.
  Result<std::vector<MessageId>> ids = store_->ListIdsForProcessing("adt-in", 0, 2);
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  EXPECT_EQ(*ids, (std::vector<MessageId>{a, c}));
  ids = store_->ListIdsForProcessing("adt-in", a, 100);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<MessageId>{c, d}));
  ids = store_->ListIdsForProcessing("none", 0, 100);
  ASSERT_TRUE(ids.ok());
  EXPECT_TRUE(ids->empty());
}

TEST_F(DeliveryTest, ErrorAndResponseAreCutAtCharacterBoundaries) {
  MessageId id = AppendOne("M1");
  std::vector<DeliveryId> d = Process(id, {"lab"});
  // "é" is two bytes; an odd limit would split one.
  std::string error = "x" + std::string();
  for (std::size_t i = 0; i < kMaxErrorTextBytes; ++i) error += "\xC3\xA9";
  std::string response(kMaxResponseBytes + 1000, 'r');
  DeliveryUpdate u = Attempt(d[0], DeliveryState::kError, 1, error);
  u.response = response;
  ASSERT_TRUE(store_->UpdateDeliveryAndWait(u).ok());
  Result<std::vector<DeliveryRecord>> rows = store_->ListDeliveries(id);
  ASSERT_TRUE(rows.ok());
  const DeliveryRecord& r = (*rows)[0];
  EXPECT_EQ(r.error.size(), kMaxErrorTextBytes - 1);  // "x" + whole characters only
  EXPECT_EQ(r.error.substr(0, 3), "x\xC3\xA9");
  EXPECT_EQ(r.error.substr(r.error.size() - 2), "\xC3\xA9");
  EXPECT_EQ(r.response.size(), kMaxResponseBytes);
  Result<MessageRecord> row = store_->Get(id);
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(row->error, r.error);
}

TEST_F(DeliveryTest, ReportCountsPerChannelAndDestination) {
  MessageId m1 = AppendOne("M1");
  MessageId m2 = AppendOne("M2");
  MessageId m3 = AppendOne("M3");
  AppendOne("M4");  // waiting
  AppendOne("X1", "other");
  std::vector<DeliveryId> d1 = Process(m1, {"lab", "ris"});
  std::vector<DeliveryId> d2 = Process(m2, {"lab", "ris"});
  ProcessingOutcome filtered;
  filtered.id = m3;
  filtered.state = MessageState::kFiltered;
  ASSERT_TRUE(store_->RecordProcessingAndWait(filtered).ok());
  ASSERT_TRUE(store_->UpdateDeliveryAndWait(Attempt(d1[0], DeliveryState::kSent, 1)).ok());
  ASSERT_TRUE(store_->UpdateDeliveryAndWait(Attempt(d1[1], DeliveryState::kSent, 1)).ok());
  ASSERT_TRUE(store_->UpdateDeliveryAndWait(Attempt(d2[0], DeliveryState::kError, 2, "AR")).ok());
  ASSERT_TRUE(
      store_->UpdateDeliveryAndWait(Attempt(d2[1], DeliveryState::kQueued, 4, "refused")).ok());

  Result<StatusReport> report = store_->Report();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->channels.size(), 2u);
  const ChannelCounts& adt = report->channels[0];
  EXPECT_EQ(adt.channel, "adt-in");
  EXPECT_EQ(adt.received, 4u);
  EXPECT_EQ(adt.waiting, 1u);
  EXPECT_EQ(adt.filtered, 1u);
  EXPECT_EQ(adt.queued, 1u);  // m2: ris still queued
  EXPECT_EQ(adt.sent, 1u);
  EXPECT_EQ(adt.errored, 0u);
  EXPECT_EQ(adt.processed, 0u);
  EXPECT_EQ(report->channels[1].channel, "other");
  EXPECT_EQ(report->channels[1].received, 1u);
  EXPECT_EQ(report->channels[1].waiting, 1u);

  ASSERT_EQ(report->destinations.size(), 2u);
  const DestinationCounts& lab = report->destinations[0];
  EXPECT_EQ(lab.destination, "lab");
  EXPECT_EQ(lab.sent, 1u);
  EXPECT_EQ(lab.errored, 1u);
  EXPECT_EQ(lab.queued, 0u);
  EXPECT_EQ(lab.oldest_queued_at_us, 0);
  const DestinationCounts& ris = report->destinations[1];
  EXPECT_EQ(ris.channel, "adt-in");
  EXPECT_EQ(ris.destination, "ris");
  EXPECT_EQ(ris.sent, 1u);
  EXPECT_EQ(ris.queued, 1u);
  EXPECT_EQ(ris.head_attempts, 4);
  EXPECT_EQ(ris.head_error, "refused");
  Result<std::vector<DeliveryRecord>> rows = store_->ListDeliveries(m2);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(ris.oldest_queued_at_us, (*rows)[1].created_at_us);
}

TEST_F(DeliveryTest, SizeBytesCountsTheFileAndTheWal) {
  std::int64_t before = store_->SizeBytes();
  EXPECT_GT(before, 0);
  for (int i = 0; i < 50; ++i) {
    IncomingMessage m = SampleMessage("S" + std::to_string(i));
    m.raw.append(8000, 'x');
    ASSERT_TRUE(store_->AppendAndWait(std::move(m)).ok());
  }
  EXPECT_GT(store_->SizeBytes(), before + 50 * 8000);
}

// ------------------------------------------------------------------ prune

class PruneTest : public DeliveryTest {
 protected:
  // Message received at `t` (µs), processed to `state`; with a queued
  // delivery when `queued`.
  MessageId Make(std::int64_t t, MessageState state, bool queued = false,
                 const std::string& channel = "adt-in") {
    MessageId id = AppendOne("P" + std::to_string(++seq_), channel, t);
    if (state == MessageState::kReceived) return id;
    ProcessingOutcome p;
    p.id = id;
    p.state = state;
    p.transformed = "MSH|T" + std::to_string(seq_);
    p.has_transformed = true;
    p.deliveries = {Queued("lab")};
    if (!queued) p.deliveries[0].state = DeliveryState::kFiltered;
    EXPECT_TRUE(store_->RecordProcessingAndWait(p).ok());
    if (state != MessageState::kQueued && state != MessageState::kSent) {
      EXPECT_TRUE(store_->UpdateStatusAndWait(id, state).ok());  // keep the exact state
    }
    return id;
  }
  bool Exists(MessageId id) { return store_->Get(id).ok(); }
  int seq_ = 0;
};

TEST_F(PruneTest, DeletesOnlyOldFinishedMessagesWithTheirDeliveries) {
  MessageId old_sent = Make(100, MessageState::kSent);
  MessageId old_waiting = Make(110, MessageState::kReceived);
  MessageId old_queued = Make(120, MessageState::kQueued, /*queued=*/true);
  MessageId old_error = Make(130, MessageState::kError);
  MessageId old_processed = Make(140, MessageState::kProcessed);
  MessageId old_filtered = Make(150, MessageState::kFiltered);
  MessageId young_sent = Make(1000, MessageState::kSent);
  MessageId other = Make(100, MessageState::kSent, false, "other");

  PruneRequest r;
  r.channel = "adt-in";
  r.before_us = 500;
  Result<std::size_t> n = store_->PruneAndWait(r);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 3u);
  EXPECT_FALSE(Exists(old_sent));
  EXPECT_FALSE(Exists(old_processed));
  EXPECT_FALSE(Exists(old_filtered));
  EXPECT_TRUE(Exists(old_waiting));
  EXPECT_TRUE(Exists(old_queued));
  EXPECT_TRUE(Exists(old_error));  // errors_before_us 0: kept forever
  EXPECT_TRUE(Exists(young_sent));
  EXPECT_TRUE(Exists(other));
  EXPECT_EQ(SqlInt(Path(),
                   "SELECT count(*) FROM deliveries WHERE message_id NOT IN"
                   " (SELECT id FROM messages)"),
            0);
  // The bytes go with their message.
  for (const char* table : {"message_raw", "message_transformed"}) {
    EXPECT_EQ(SqlInt(Path(), std::string("SELECT count(*) FROM ") + table +
                                 " WHERE message_id NOT IN (SELECT id FROM messages)"),
              0)
        << table;
  }
  EXPECT_EQ(SqlInt(Path(), "SELECT count(*) FROM message_transformed"), 4);  // 7 made, 3 pruned
  EXPECT_EQ(store_->Stats().pruned, 3u);

  r.before_us = 0;
  r.errors_before_us = 500;
  n = store_->PruneAndWait(r);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);
  EXPECT_FALSE(Exists(old_error));
  EXPECT_TRUE(Exists(young_sent));

  // Nothing asked, nothing deleted.
  r.errors_before_us = 0;
  n = store_->PruneAndWait(r);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
}

TEST_F(PruneTest, ErrorsHaveTheirOwnCutoff) {
  MessageId old_error = Make(100, MessageState::kError);
  MessageId mid_error = Make(300, MessageState::kError);
  MessageId mid_sent = Make(300, MessageState::kSent);
  PruneRequest r;
  r.channel = "adt-in";
  r.before_us = 400;
  r.errors_before_us = 200;
  Result<std::size_t> n = store_->PruneAndWait(r);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2u);
  EXPECT_FALSE(Exists(old_error));
  EXPECT_TRUE(Exists(mid_error));
  EXPECT_FALSE(Exists(mid_sent));
}

TEST_F(PruneTest, AtMostMaxRowsOldestFirstAcrossStatesAndChannels) {
  std::vector<MessageId> ids;
  for (int i = 0; i < 6; ++i) {
    MessageState s = i % 2 == 0 ? MessageState::kSent : MessageState::kProcessed;
    ids.push_back(Make(100 + i, s, false, i % 3 == 0 ? "b-channel" : "a-channel"));
  }
  MessageId no_channel = Make(50, MessageState::kSent, false, "");
  PruneRequest r;  // empty channel: every channel
  r.before_us = 1000;
  r.max_rows = 3;
  Result<std::size_t> n = store_->PruneAndWait(r);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 3u);
  EXPECT_FALSE(Exists(ids[0]));
  EXPECT_FALSE(Exists(ids[1]));
  EXPECT_FALSE(Exists(ids[2]));
  EXPECT_TRUE(Exists(ids[3]));
  EXPECT_TRUE(Exists(no_channel));  // youngest id, although received earliest
  n = store_->PruneAndWait(r);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 3u);
  EXPECT_FALSE(Exists(ids[5]));
  EXPECT_TRUE(Exists(no_channel));
  n = store_->PruneAndWait(r);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);
  EXPECT_FALSE(Exists(no_channel));
  EXPECT_EQ(SqlInt(Path(), "SELECT count(*) FROM messages"), 0);
  EXPECT_EQ(SqlInt(Path(), "SELECT count(*) FROM deliveries"), 0);
  EXPECT_EQ(store_->Stats().pruned, 7u);
}

// ------------------------------------------------------- files and threads

// The schema exactly as version 1 wrote it (schema.cpp, step 0 -> 1).
constexpr const char* kVersion1Schema = R"sql(
CREATE TABLE messages (
  id INTEGER PRIMARY KEY, received_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  channel TEXT NOT NULL DEFAULT '', peer TEXT NOT NULL DEFAULT '',
  control_id TEXT NOT NULL DEFAULT '', message_type TEXT NOT NULL DEFAULT '',
  trigger_event TEXT NOT NULL DEFAULT '', message_structure TEXT NOT NULL DEFAULT '',
  version TEXT NOT NULL DEFAULT '', sending_application TEXT NOT NULL DEFAULT '',
  sending_facility TEXT NOT NULL DEFAULT '', receiving_application TEXT NOT NULL DEFAULT '',
  receiving_facility TEXT NOT NULL DEFAULT '', patient_id TEXT NOT NULL DEFAULT '',
  size INTEGER NOT NULL, status TEXT NOT NULL, error TEXT NOT NULL DEFAULT '', raw BLOB NOT NULL);
CREATE INDEX messages_by_control_id ON messages (control_id, sending_application, sending_facility);
CREATE INDEX messages_by_type ON messages (message_type, trigger_event);
CREATE INDEX messages_by_patient ON messages (patient_id);
CREATE INDEX messages_by_received_at ON messages (received_at);
CREATE INDEX messages_by_status ON messages (status);
INSERT INTO messages (received_at, updated_at, channel, control_id, size, status, raw)
  VALUES (1700000000000000, 1700000000000000, 'adt-in', 'OLD1', 5, 'received', X'4D53487C31');
PRAGMA application_id = 1246643028;
PRAGMA user_version = 1;
)sql";

TEST(DeliveryMigration, Version1FileIsMigratedAndKeepsItsMessages) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  StoreOptions o;
  o.sqlite_path = dir.File("v1.db");
  RunSql(o.sqlite_path, kVersion1Schema);
  ASSERT_EQ(SqlInt(o.sqlite_path, "PRAGMA user_version"), 1);
  // A read-only open does not migrate; it asks for a read-write open first.
  o.read_only = true;
  Result<std::unique_ptr<Store>> ro = Store::Open(o);
  ASSERT_FALSE(ro.ok());
  EXPECT_NE(ro.status().message().find("migrate"), std::string::npos);
  o.read_only = false;

  auto store = MustOpen(o);
  ASSERT_TRUE(store);
  EXPECT_EQ(SqlInt(o.sqlite_path, "PRAGMA user_version"), CurrentSchemaVersion());
  EXPECT_EQ(CurrentSchemaVersion(), 4);
  Result<std::vector<MessageRecord>> todo = store->ListForProcessing("adt-in", 0, 10);
  ASSERT_TRUE(todo.ok()) << todo.status().ToString();
  ASSERT_EQ(todo->size(), 1u);
  EXPECT_EQ((*todo)[0].control_id, "OLD1");
  EXPECT_EQ((*todo)[0].raw, "MSH|1");
  EXPECT_FALSE((*todo)[0].has_transformed);

  ProcessingOutcome p;
  p.id = (*todo)[0].id;
  p.transformed = "MSH|2";
  p.has_transformed = true;
  p.deliveries = {Queued("lab")};
  Result<std::vector<DeliveryId>> ids = store->RecordProcessingAndWait(p);
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  QueueQuery q;
  q.channel = "adt-in";
  q.destination = "lab";
  Result<std::vector<DeliveryRecord>> head = store->ListQueued(q);
  ASSERT_TRUE(head.ok());
  ASSERT_EQ(head->size(), 1u);
  EXPECT_EQ((*head)[0].payload, "MSH|2");
  ASSERT_TRUE(store->Close().ok());
  EXPECT_EQ(SqlText(o.sqlite_path, "PRAGMA integrity_check"), "ok");
}

// Version 3 as the migrations up to it left it: the bytes still in the
// messages row (schema.cpp, steps 0 -> 3), one message processed with a
// transformed copy and queued for "lab", one still waiting.
constexpr const char* kVersion3Schema = R"sql(
CREATE TABLE messages (
  id INTEGER PRIMARY KEY, received_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  channel TEXT NOT NULL DEFAULT '', peer TEXT NOT NULL DEFAULT '',
  control_id TEXT NOT NULL DEFAULT '', message_type TEXT NOT NULL DEFAULT '',
  trigger_event TEXT NOT NULL DEFAULT '', message_structure TEXT NOT NULL DEFAULT '',
  version TEXT NOT NULL DEFAULT '', sending_application TEXT NOT NULL DEFAULT '',
  sending_facility TEXT NOT NULL DEFAULT '', receiving_application TEXT NOT NULL DEFAULT '',
  receiving_facility TEXT NOT NULL DEFAULT '', patient_id TEXT NOT NULL DEFAULT '',
  size INTEGER NOT NULL, status TEXT NOT NULL, error TEXT NOT NULL DEFAULT '', raw BLOB NOT NULL,
  transformed BLOB);
CREATE INDEX messages_by_control_id ON messages (control_id, sending_application, sending_facility);
CREATE INDEX messages_by_patient ON messages (patient_id);
CREATE INDEX messages_by_received_at ON messages (received_at);
CREATE INDEX messages_by_status ON messages (status);
CREATE TABLE deliveries (
  id INTEGER PRIMARY KEY, message_id INTEGER NOT NULL, channel TEXT NOT NULL,
  destination TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL DEFAULT 0, error TEXT NOT NULL DEFAULT '',
  response TEXT NOT NULL DEFAULT '', payload BLOB);
CREATE INDEX deliveries_by_queue ON deliveries (channel, destination, state, id);
CREATE INDEX deliveries_by_message ON deliveries (message_id);
CREATE INDEX messages_by_channel_status ON messages (channel, status, id);
CREATE INDEX messages_by_type ON messages (message_type, id);
CREATE INDEX messages_by_channel ON messages (channel, id);
INSERT INTO messages (id, received_at, updated_at, channel, control_id, size, status, raw, transformed)
  VALUES (1, 1700000000000000, 1700000000000000, 'lab-in', 'V3A', 5, 'queued', X'4D53487C41',
          X'4D53487C41545F6F7574'),
         (2, 1700000000000001, 1700000000000001, 'lab-in', 'V3B', 5, 'received', X'4D53487C42',
          NULL);
INSERT INTO deliveries (message_id, channel, destination, state, created_at, updated_at)
  VALUES (1, 'lab-in', 'lab', 'queued', 1700000000000000, 1700000000000000);
PRAGMA application_id = 1246643028;
PRAGMA user_version = 3;
)sql";

TEST(DeliveryMigration, Version3FileMovesTheBytesOutOfTheMessagesRow) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  StoreOptions o;
  o.sqlite_path = dir.File("v3.db");
  RunSql(o.sqlite_path, kVersion3Schema);
  auto store = MustOpen(o);
  ASSERT_TRUE(store);
  EXPECT_EQ(SqlInt(o.sqlite_path, "PRAGMA user_version"), 4);
  EXPECT_EQ(SqlInt(o.sqlite_path,
                   "SELECT count(*) FROM pragma_table_info('messages')"
                   " WHERE name IN ('raw', 'transformed')"),
            0);

  Result<MessageRecord> queued = store->Get(1);
  ASSERT_TRUE(queued.ok()) << queued.status().ToString();
  EXPECT_EQ(queued->raw, "MSH|A");
  ASSERT_TRUE(queued->has_transformed);
  EXPECT_EQ(queued->transformed, "MSH|AT_out");
  Result<MessageRecord> waiting = store->Get(2);
  ASSERT_TRUE(waiting.ok());
  EXPECT_EQ(waiting->raw, "MSH|B");
  EXPECT_FALSE(waiting->has_transformed);

  // The queue sends the transformed copy; the waiting message is still
  // waiting, with its bytes.
  QueueQuery q;
  q.channel = "lab-in";
  q.destination = "lab";
  Result<std::vector<DeliveryRecord>> head = store->ListQueued(q);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  ASSERT_EQ(head->size(), 1u);
  EXPECT_EQ((*head)[0].payload, "MSH|AT_out");
  Result<std::vector<MessageRecord>> todo = store->ListForProcessing("lab-in", 0, 10);
  ASSERT_TRUE(todo.ok());
  ASSERT_EQ(todo->size(), 1u);
  EXPECT_EQ((*todo)[0].raw, "MSH|B");

  // Text search still reads the raw bytes.
  MessageQuery text;
  text.text = "MSH|B";
  Result<std::vector<MessageRecord>> found = store->List(text);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].id, 2);
  ASSERT_TRUE(store->Close().ok());
  EXPECT_EQ(SqlText(o.sqlite_path, "PRAGMA integrity_check"), "ok");
}

TEST(DeliverySecondStore, AnotherStoreOnTheSameFileReadsAndWrites) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  StoreOptions o;
  o.sqlite_path = dir.File("shared.db");
  o.durable = false;
  auto server = MustOpen(o);
  ASSERT_TRUE(server);
  auto cli = MustOpen(o);  // e.g. `junction messages resend` while serving
  ASSERT_TRUE(cli);

  Result<AppendResult> a = server->AppendAndWait(SampleMessage("M1"));
  ASSERT_TRUE(a.ok());
  ProcessingOutcome p;
  p.id = a->id;
  p.deliveries = {Queued("lab")};
  Result<std::vector<DeliveryId>> ids = server->RecordProcessingAndWait(p);
  ASSERT_TRUE(ids.ok());

  Result<std::vector<DeliveryRecord>> rows = cli->ListDeliveries(a->id);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  Result<StatusReport> report = cli->Report();
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->destinations.size(), 1u);
  EXPECT_EQ(report->destinations[0].queued, 1u);

  // Writes from the second store are seen by the first.
  ASSERT_TRUE(cli->UpdateDeliveryAndWait(Attempt((*ids)[0], DeliveryState::kSent, 1)).ok());
  Result<MessageRecord> row = server->Get(a->id);
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(row->state, MessageState::kSent);
  Result<DeliveryId> resend = cli->AddDeliveryAndWait(a->id, Queued("lab"));
  ASSERT_TRUE(resend.ok());
  QueueQuery q;
  q.channel = "adt-in";
  q.destination = "lab";
  Result<std::vector<DeliveryRecord>> head = server->ListQueued(q);
  ASSERT_TRUE(head.ok());
  ASSERT_EQ(head->size(), 1u);
  EXPECT_EQ((*head)[0].id, *resend);

  // And a read-only store reads the new tables too.
  StoreOptions ro = o;
  ro.read_only = true;
  auto reader = MustOpen(ro);
  ASSERT_TRUE(reader);
  report = reader->Report();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->destinations[0].queued, 1u);
  EXPECT_EQ(reader->UpdateDeliveryAndWait(Attempt(*resend, DeliveryState::kSent, 1)).code(),
            StatusCode::kIoError);
  EXPECT_EQ(reader->PruneAndWait(PruneRequest{}).status().code(), StatusCode::kIoError);
  EXPECT_GT(reader->SizeBytes(), 0);
}

TEST(DeliveryClose, EveryCallbackRunsExactlyOnceWhenClosingWithPendingWork) {
  StoreOptions o;
  o.sqlite_path = ":memory:";
  o.durable = false;
  o.max_batch = 8;  // many batches still pending at Close
  auto store = MustOpen(o);
  ASSERT_TRUE(store);
  std::vector<MessageId> ids;
  for (int i = 0; i < 20; ++i) {
    Result<AppendResult> r = store->AppendAndWait(SampleMessage("C" + std::to_string(i)));
    ASSERT_TRUE(r.ok());
    ids.push_back(r->id);
  }
  constexpr int kOps = 5;
  std::vector<std::atomic<int>> calls(ids.size() * kOps);
  std::atomic<int> ok{0};
  for (std::size_t i = 0; i < ids.size(); ++i) {
    auto count = [&, i](int op, bool success) {
      calls[i * kOps + static_cast<std::size_t>(op)]++;
      if (success) ok++;
    };
    ProcessingOutcome p;
    p.id = ids[i];
    p.deliveries = {Queued("lab")};
    ASSERT_TRUE(
        store->RecordProcessing(p, [count](Result<std::vector<DeliveryId>> r) { count(0, r.ok()); })
            .ok());
    // Delivery ids are 1.. in order of insertion here: one per message.
    auto delivery = static_cast<DeliveryId>(i + 1);
    ASSERT_TRUE(store
                    ->UpdateDelivery(Attempt(delivery, DeliveryState::kSent, 1),
                                     [count](Status s) { count(1, s.ok()); })
                    .ok());
    ASSERT_TRUE(store
                    ->AddDelivery(ids[i], Queued("ris"),
                                  [count](Result<DeliveryId> r) { count(2, r.ok()); })
                    .ok());
    ASSERT_TRUE(store->ResetForReprocess(ids[i], [count](Status s) { count(3, s.ok()); }).ok());
    PruneRequest pr;
    pr.before_us = 1;
    ASSERT_TRUE(store->Prune(pr, [count](Result<std::size_t> r) { count(4, r.ok()); }).ok());
  }
  ASSERT_TRUE(store->Close().ok());
  for (std::size_t i = 0; i < calls.size(); ++i) EXPECT_EQ(calls[i].load(), 1) << "op " << i;
  EXPECT_EQ(ok.load(), static_cast<int>(calls.size()));  // drained, not failed
  // After Close every call is refused at once (and never calls back).
  bool called = false;
  EXPECT_EQ(store->ResetForReprocess(ids[0], [&](Status) { called = true; }).code(),
            StatusCode::kIoError);
  EXPECT_FALSE(called);
}

TEST(DeliveryCallbacks, WaitingHelpersFailInsideACallback) {
  StoreOptions o;
  o.sqlite_path = ":memory:";
  auto store = MustOpen(o);
  ASSERT_TRUE(store);
  Result<AppendResult> a = store->AppendAndWait(SampleMessage("M1"));
  ASSERT_TRUE(a.ok());
  std::promise<Status> inner;
  ASSERT_TRUE(
      store
          ->ResetForReprocess(
              a->id, [&](Status) { inner.set_value(store->ResetForReprocessAndWait(a->id)); })
          .ok());
  EXPECT_EQ(inner.get_future().get().code(), StatusCode::kInvalidArgument);
}

// --------------------------------------------------------------- plans

// EXPLAIN QUERY PLAN of `sql` on `path`, one detail line per step.
std::vector<std::string> QueryPlan(const std::string& path, const std::string& sql) {
  std::vector<std::string> plan;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    std::string explain = "EXPLAIN QUERY PLAN " + sql;
    if (sqlite3_prepare_v2(db, explain.c_str(), -1, &stmt, nullptr) == SQLITE_OK) {
      while (sqlite3_step(stmt) == SQLITE_ROW) {
        plan.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3)));
      }
    } else {
      plan.push_back(std::string("prepare failed: ") + sqlite3_errmsg(db));
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close_v2(db);
  return plan;
}

std::string Joined(const std::vector<std::string>& plan) {
  std::string out;
  for (const std::string& line : plan) out += line + "; ";
  return out;
}

TEST_F(DeliveryTest, HotQueriesUseIndexesNotScans) {
  // Some rows so the planner has statistics-free but realistic tables.
  for (int i = 0; i < 20; ++i) Process(AppendOne("Q" + std::to_string(i)), {"lab", "ris"});
  ASSERT_TRUE(store_->Flush().ok());
  namespace sql = internal::sql;
  struct Case {
    std::string sql;
    const char* index;
  } cases[] = {
      {sql::ListQueuedSql(), "deliveries_by_queue"},
      {sql::kQueueHeadSql, "deliveries_by_queue"},
      {sql::ListDeliveriesSql(), "deliveries_by_message"},
      {sql::kRowsOfMessageSql, "deliveries_by_message"},
      {sql::ListForProcessingSql(), "messages_by_channel_status"},
      {sql::kListIdsForProcessingSql, "COVERING INDEX messages_by_channel_status"},
      {sql::kPruneCandidatesSql, "messages_by_channel_status"},
      {sql::kNextChannelSql, "messages_by_channel"},  // either channel index covers it
      {sql::kChannelCountsSql, "messages_by_channel_status"},
      {sql::kDestinationCountsSql, "deliveries_by_queue"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> plan = QueryPlan(Path(), c.sql);
    std::string text = Joined(plan);
    EXPECT_NE(text.find(c.index), std::string::npos) << c.sql << "\n  plan: " << text;
    for (const std::string& line : plan) {
      // A full scan of a table (not of a covering index) is what must not happen.
      bool table_scan = line.rfind("SCAN ", 0) == 0 && line.find("INDEX") == std::string::npos;
      EXPECT_FALSE(table_scan) << c.sql << "\n  plan: " << text;
      EXPECT_EQ(line.find("TEMP B-TREE"), std::string::npos) << c.sql << "\n  plan: " << text;
    }
  }
}

}  // namespace
}  // namespace junction::store
