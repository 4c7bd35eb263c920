#include "junction/store/store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "unit/store/store_test_util.h"

namespace junction::store {
namespace {

using testing::MustOpen;
using testing::SampleMessage;
using testing::SqlInt;
using testing::SqlText;
using testing::TempDir;

StoreOptions MemoryOptions() {
  StoreOptions o;
  o.sqlite_path = ":memory:";
  return o;
}

TEST(StoreStateNames, RoundTrip) {
  for (MessageState s : {MessageState::kReceived, MessageState::kFiltered,
                         MessageState::kTransformed, MessageState::kQueued, MessageState::kSent,
                         MessageState::kError, MessageState::kProcessed}) {
    std::optional<MessageState> back = ParseMessageState(MessageStateName(s));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(MessageStateName(MessageState::kQueued), "queued");
  EXPECT_FALSE(ParseMessageState("bogus").has_value());
}

TEST(StoreAppend, AppendThenGetReturnsEveryField) {
  auto store = MustOpen(MemoryOptions());
  ASSERT_TRUE(store);
  IncomingMessage in = SampleMessage("MSG001", "P777");
  IncomingMessage copy = in;
  auto before = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  Result<AppendResult> r = store->AppendAndWait(std::move(in));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->duplicate);
  EXPECT_GT(r->id, 0);

  Result<MessageRecord> got = store->Get(r->id);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->id, r->id);
  EXPECT_EQ(got->raw, copy.raw);
  EXPECT_EQ(got->size, static_cast<std::int64_t>(copy.raw.size()));
  EXPECT_EQ(got->channel, "adt-in");
  EXPECT_EQ(got->peer, "127.0.0.1:40001");
  EXPECT_EQ(got->control_id, "MSG001");
  EXPECT_EQ(got->message_type, "ADT");
  EXPECT_EQ(got->trigger_event, "A01");
  EXPECT_EQ(got->message_structure, "ADT_A01");
  EXPECT_EQ(got->version, "2.5.1");
  EXPECT_EQ(got->sending_application, "EPIC");
  EXPECT_EQ(got->sending_facility, "HOSP");
  EXPECT_EQ(got->receiving_application, "JUNCTION");
  EXPECT_EQ(got->receiving_facility, "LAB");
  EXPECT_EQ(got->patient_id, "P777");
  EXPECT_EQ(got->state, MessageState::kReceived);
  EXPECT_EQ(got->error, "");
  EXPECT_GE(got->received_at_us, before);
  EXPECT_EQ(got->updated_at_us, got->received_at_us);

  Result<MessageRecord> missing = store->Get(r->id + 1000);
  EXPECT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store->Close().ok());
}

TEST(StoreAppend, KeepsBinaryBytesAndCallerTimestamp) {
  auto store = MustOpen(MemoryOptions());
  ASSERT_TRUE(store);
  IncomingMessage in = SampleMessage("BIN");
  in.raw = std::string("MSH|\0\xff\xfe|x\r", 11);
  in.received_at_us = 1'700'000'000'123'456;
  in.state = MessageState::kQueued;
  Result<AppendResult> r = store->AppendAndWait(in);
  ASSERT_TRUE(r.ok());
  Result<MessageRecord> got = store->Get(r->id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->raw, in.raw);
  EXPECT_EQ(got->received_at_us, 1'700'000'000'123'456);
  EXPECT_EQ(got->state, MessageState::kQueued);
}

TEST(StoreAppend, RefusesBadInputWithoutCallingBack) {
  StoreOptions o = MemoryOptions();
  o.max_message_bytes = 100;
  auto store = MustOpen(o);
  ASSERT_TRUE(store);
  std::atomic<int> calls{0};
  auto count = [&](Result<AppendResult>) { calls++; };

  IncomingMessage empty = SampleMessage("E");
  empty.raw.clear();
  EXPECT_EQ(store->Append(empty, count).code(), StatusCode::kInvalidArgument);

  IncomingMessage big = SampleMessage("B");
  big.raw.assign(101, 'x');
  EXPECT_EQ(store->Append(big, count).code(), StatusCode::kOutOfRange);

  IncomingMessage exact = SampleMessage("X");
  exact.raw.assign(100, 'x');
  EXPECT_TRUE(store->AppendAndWait(exact).ok());

  IncomingMessage long_meta = SampleMessage("L");
  long_meta.patient_id.assign(kMaxMetadataFieldBytes + 1, '9');
  EXPECT_EQ(store->Append(long_meta, count).code(), StatusCode::kInvalidArgument);

  EXPECT_TRUE(store->Flush().ok());
  EXPECT_EQ(calls.load(), 0);
  EXPECT_EQ(store->Stats().appended, 1u);
}

TEST(StoreGroupCommit, ManyThreadsAllCallbacksFireWithDistinctIds) {
  auto store = MustOpen(MemoryOptions());
  ASSERT_TRUE(store);
  constexpr int kThreads = 16, kPerThread = 150;
  std::mutex mu;
  std::set<MessageId> ids;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Half wait for each ack (like an MLLP sender), half pipeline.
        std::string id = "T" + std::to_string(t) + "-" + std::to_string(i);
        if (t % 2 == 0) {
          Result<AppendResult> r = store->AppendAndWait(SampleMessage(id));
          if (!r.ok()) {
            failures++;
            continue;
          }
          std::lock_guard lock(mu);
          ids.insert(r->id);
        } else {
          Status s = store->Append(SampleMessage(id), [&](Result<AppendResult> r) {
            if (!r.ok()) {
              failures++;
              return;
            }
            std::lock_guard lock(mu);
            ids.insert(r->id);
          });
          if (!s.ok()) failures++;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(store->Flush().ok());
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kThreads * kPerThread));
  StoreStats stats = store->Stats();
  EXPECT_EQ(stats.appended, static_cast<std::uint64_t>(kThreads * kPerThread));
  EXPECT_GE(stats.commits, 1u);
  EXPECT_LE(stats.commits, stats.appended + 1);  // + the Flush barrier's batch
  EXPECT_EQ(stats.failed_ops, 0u);
}

TEST(StoreGroupCommit, BatchesUpToMaxBatchInOneTransaction) {
  StoreOptions o = MemoryOptions();
  o.max_batch = 50;
  o.max_delay_us = 1'000'000;  // the writer waits for a full batch
  auto store = MustOpen(o);
  ASSERT_TRUE(store);
  std::atomic<int> acked{0};
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(store
                    ->Append(SampleMessage("M" + std::to_string(i)),
                             [&](Result<AppendResult> r) {
                               if (r.ok()) acked++;
                             })
                    .ok());
  }
  ASSERT_TRUE(store->Close().ok());  // Close, unlike Flush, does not wait out the delay
  EXPECT_EQ(acked.load(), 200);
  StoreStats stats = store->Stats();
  EXPECT_EQ(stats.max_batch, 50u);
  EXPECT_EQ(stats.commits, 4u);
}

TEST(StoreGroupCommit, CallbacksComeInQueueOrderWithGrowingIds) {
  auto store = MustOpen(MemoryOptions());
  ASSERT_TRUE(store);
  std::vector<MessageId> order;
  std::mutex mu;
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(store
                    ->Append(SampleMessage("O" + std::to_string(i)),
                             [&](Result<AppendResult> r) {
                               std::lock_guard lock(mu);
                               order.push_back(r.ok() ? r->id : -1);
                             })
                    .ok());
  }
  ASSERT_TRUE(store->Flush().ok());
  ASSERT_EQ(order.size(), 300u);
  for (std::size_t i = 1; i < order.size(); ++i) EXPECT_EQ(order[i], order[i - 1] + 1);
}

TEST(StoreDuplicates, DetectedAcrossBatches) {
  StoreOptions o = MemoryOptions();
  o.detect_duplicates = true;
  auto store = MustOpen(o);
  ASSERT_TRUE(store);
  Result<AppendResult> first = store->AppendAndWait(SampleMessage("DUP1"));
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->duplicate);
  Result<AppendResult> again = store->AppendAndWait(SampleMessage("DUP1", "other patient"));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->id, first->id);

  // Same control id from another facility or application is a new message.
  IncomingMessage other_facility = SampleMessage("DUP1");
  other_facility.sending_facility = "CLINIC";
  Result<AppendResult> r3 = store->AppendAndWait(other_facility);
  ASSERT_TRUE(r3.ok());
  EXPECT_FALSE(r3->duplicate);
  IncomingMessage other_app = SampleMessage("DUP1");
  other_app.sending_application = "CERNER";
  Result<AppendResult> r4 = store->AppendAndWait(other_app);
  ASSERT_TRUE(r4.ok());
  EXPECT_FALSE(r4->duplicate);

  // No control id: never a duplicate.
  EXPECT_FALSE(store->AppendAndWait(SampleMessage(""))->duplicate);
  EXPECT_FALSE(store->AppendAndWait(SampleMessage(""))->duplicate);

  MessageQuery q;
  q.control_id = "DUP1";
  Result<std::vector<MessageRecord>> rows = store->List(q);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 3u);
  StoreStats stats = store->Stats();
  EXPECT_EQ(stats.duplicates, 1u);
  EXPECT_EQ(stats.appended, 5u);
}

TEST(StoreDuplicates, DetectedWithinOneBatch) {
  StoreOptions o = MemoryOptions();
  o.detect_duplicates = true;
  o.max_batch = 10;
  o.max_delay_us = 1'000'000;  // all ten land in one transaction
  auto store = MustOpen(o);
  ASSERT_TRUE(store);
  std::mutex mu;
  std::vector<AppendResult> results(10);
  std::atomic<int> done{0};
  for (int i = 0; i < 10; ++i) {
    // Control ids K0 K0 K1 K1 ... : every second message repeats the one before.
    ASSERT_TRUE(store
                    ->Append(SampleMessage("K" + std::to_string(i / 2)),
                             [&, i](Result<AppendResult> r) {
                               ASSERT_TRUE(r.ok());
                               std::lock_guard lock(mu);
                               results[static_cast<std::size_t>(i)] = *r;
                               done++;
                             })
                    .ok());
  }
  ASSERT_TRUE(store->Close().ok());
  ASSERT_EQ(done.load(), 10);
  for (int i = 0; i < 10; i += 2) {
    EXPECT_FALSE(results[static_cast<std::size_t>(i)].duplicate);
    EXPECT_TRUE(results[static_cast<std::size_t>(i + 1)].duplicate);
    EXPECT_EQ(results[static_cast<std::size_t>(i + 1)].id, results[static_cast<std::size_t>(i)].id);
  }
  EXPECT_EQ(store->Stats().max_batch, 10u);
  EXPECT_EQ(store->Stats().appended, 5u);
  EXPECT_EQ(store->Stats().duplicates, 5u);
}

TEST(StoreDuplicates, OffByDefaultAndWindowed) {
  {
    auto store = MustOpen(MemoryOptions());
    ASSERT_TRUE(store);
    Result<AppendResult> a = store->AppendAndWait(SampleMessage("SAME"));
    Result<AppendResult> b = store->AppendAndWait(SampleMessage("SAME"));
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_FALSE(b->duplicate);
    EXPECT_NE(a->id, b->id);
  }
  StoreOptions o = MemoryOptions();
  o.detect_duplicates = true;
  o.duplicate_window_us = 60'000'000;  // one minute
  auto store = MustOpen(o);
  ASSERT_TRUE(store);
  IncomingMessage old = SampleMessage("W1");
  old.received_at_us = 1'000'000;  // 1970: far outside the window
  ASSERT_TRUE(store->AppendAndWait(old).ok());
  Result<AppendResult> fresh = store->AppendAndWait(SampleMessage("W1"));
  ASSERT_TRUE(fresh.ok());
  EXPECT_FALSE(fresh->duplicate);
  Result<AppendResult> repeat = store->AppendAndWait(SampleMessage("W1"));
  ASSERT_TRUE(repeat.ok());
  EXPECT_TRUE(repeat->duplicate);
  EXPECT_EQ(repeat->id, fresh->id);
}

class StoreQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = MustOpen(MemoryOptions());
    ASSERT_TRUE(store_);
    auto add = [&](IncomingMessage m, std::int64_t at) {
      m.received_at_us = at;
      Result<AppendResult> r = store_->AppendAndWait(std::move(m));
      ASSERT_TRUE(r.ok());
      ids_.push_back(r->id);
    };
    add(SampleMessage("C1", "P1", "ADT", "A01"), 1000);
    add(SampleMessage("C2", "P2", "ADT", "A08"), 2000);
    add(SampleMessage("C3", "P1", "ORU", "R01"), 3000);
    IncomingMessage lab = SampleMessage("C4", "P3", "ADT", "A01");
    lab.channel = "lab-in";
    add(lab, 4000);
    add(SampleMessage("C5", "P1", "ADT", "A01"), 5000);
  }

  std::vector<std::string> ControlIds(const MessageQuery& q) {
    Result<std::vector<MessageRecord>> rows = store_->List(q);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    std::vector<std::string> out;
    if (rows.ok()) {
      for (const MessageRecord& r : *rows) out.push_back(r.control_id);
    }
    return out;
  }

  std::unique_ptr<Store> store_;
  std::vector<MessageId> ids_;
};

using Ids = std::vector<std::string>;

TEST_F(StoreQueryTest, NoFilterListsNewestFirstWithoutRaw) {
  Result<std::vector<MessageRecord>> rows = store_->List({});
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 5u);
  EXPECT_EQ((*rows)[0].control_id, "C5");
  EXPECT_EQ((*rows)[4].control_id, "C1");
  EXPECT_TRUE((*rows)[0].raw.empty());
  EXPECT_GT((*rows)[0].size, 0);
  MessageQuery with_raw;
  with_raw.include_raw = true;
  with_raw.limit = 1;
  rows = store_->List(with_raw);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(static_cast<std::int64_t>((*rows)[0].raw.size()), (*rows)[0].size);
}

TEST_F(StoreQueryTest, FiltersCombine) {
  MessageQuery q;
  q.type = "ADT";
  EXPECT_EQ(ControlIds(q), (Ids{"C5", "C4", "C2", "C1"}));
  q.type = "ADT^A01";
  EXPECT_EQ(ControlIds(q), (Ids{"C5", "C4", "C1"}));
  q.type = "ADT^A01^ADT_A01";
  EXPECT_EQ(ControlIds(q), (Ids{"C5", "C4", "C1"}));
  q.type = "^R01";
  EXPECT_EQ(ControlIds(q), (Ids{"C3"}));
  q.type = "ADT^A01";
  q.patient_id = "P1";
  EXPECT_EQ(ControlIds(q), (Ids{"C5", "C1"}));

  MessageQuery channel;
  channel.channel = "lab-in";
  EXPECT_EQ(ControlIds(channel), (Ids{"C4"}));

  MessageQuery control;
  control.control_id = "C2";
  EXPECT_EQ(ControlIds(control), (Ids{"C2"}));

  MessageQuery time;
  time.since_us = 2000;
  time.until_us = 4000;
  EXPECT_EQ(ControlIds(time), (Ids{"C3", "C2"}));

  MessageQuery page;
  page.limit = 2;
  EXPECT_EQ(ControlIds(page), (Ids{"C5", "C4"}));
  page.before_id = ids_[3];  // C4's id: the next page
  EXPECT_EQ(ControlIds(page), (Ids{"C3", "C2"}));
  page.after_id = ids_[1];  // an id window: (C2, C4)
  EXPECT_EQ(ControlIds(page), (Ids{"C3"}));

  MessageQuery none;
  none.patient_id = "nobody";
  EXPECT_TRUE(ControlIds(none).empty());

  // Text in the raw message, alone and with another condition.
  MessageQuery text;
  text.text = "|C3|";
  EXPECT_EQ(ControlIds(text), (Ids{"C3"}));
  text.text = "MSH|";
  text.type = "ADT^A01";
  text.limit = 2;
  EXPECT_EQ(ControlIds(text), (Ids{"C5", "C4"}));
  text.text = "no such text";
  EXPECT_TRUE(ControlIds(text).empty());
}

TEST_F(StoreQueryTest, BatchSizeHistogramCountsEveryCommit) {
  StoreStats stats = store_->Stats();
  ASSERT_EQ(stats.batch_size_buckets.size(), kBatchSizeBucketCount);
  std::uint64_t batches = 0;
  for (std::uint64_t b : stats.batch_size_buckets) batches += b;
  EXPECT_EQ(batches, stats.commits);
  EXPECT_GE(stats.batch_ops, stats.appended);
}

TEST_F(StoreQueryTest, StatusFilterAndUpdates) {
  ASSERT_TRUE(store_->UpdateStatusAndWait(ids_[1], MessageState::kError, "no route").ok());
  ASSERT_TRUE(store_->UpdateStatusAndWait(ids_[2], MessageState::kSent).ok());
  MessageQuery q;
  q.state = MessageState::kError;
  EXPECT_EQ(ControlIds(q), (Ids{"C2"}));
  q.state = MessageState::kReceived;
  EXPECT_EQ(ControlIds(q), (Ids{"C5", "C4", "C1"}));

  Result<MessageRecord> row = store_->Get(ids_[1]);
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(row->state, MessageState::kError);
  EXPECT_EQ(row->error, "no route");
  EXPECT_GT(row->updated_at_us, row->received_at_us);
}

TEST_F(StoreQueryTest, RejectsTypeFilterWithTooManyParts) {
  MessageQuery q;
  q.type = "ADT^A01^ADT_A01^X";
  EXPECT_EQ(store_->List(q).status().code(), StatusCode::kInvalidArgument);
}

TEST(StoreStatus, UnknownIdIsNotFoundAndLongErrorsAreCut) {
  auto store = MustOpen(MemoryOptions());
  ASSERT_TRUE(store);
  Status missing = store->UpdateStatusAndWait(424242, MessageState::kSent);
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);

  Result<AppendResult> r = store->AppendAndWait(SampleMessage("S1"));
  ASSERT_TRUE(r.ok());
  // 'é' is two bytes: a cut at an odd limit must not split it.
  std::string long_error;
  while (long_error.size() < kMaxErrorTextBytes + 10) long_error += "\xc3\xa9";
  ASSERT_TRUE(store->UpdateStatusAndWait(r->id, MessageState::kError, long_error).ok());
  Result<MessageRecord> row = store->Get(r->id);
  ASSERT_TRUE(row.ok());
  EXPECT_LE(row->error.size(), kMaxErrorTextBytes);
  EXPECT_GE(row->error.size(), kMaxErrorTextBytes - 1);
  EXPECT_EQ(row->error.size() % 2, 0u);
  EXPECT_EQ(store->Stats().status_updates, 1u);
  EXPECT_EQ(store->Stats().failed_ops, 1u);
}

TEST(StoreStatus, UpdateQueuedRightAfterAppendAppliesInOrder) {
  auto store = MustOpen(MemoryOptions());
  ASSERT_TRUE(store);
  std::promise<void> done;
  std::atomic<bool> ok{false};
  // The update is queued from the append's callback, before anyone else
  // touches the row: it must land after the insert.
  ASSERT_TRUE(store
                  ->Append(SampleMessage("U1"),
                           [&](Result<AppendResult> r) {
                             ASSERT_TRUE(r.ok());
                             Status queued = store->UpdateStatus(r->id, MessageState::kProcessed,
                                                                 "", [&](Status s) {
                                                                   ok = s.ok();
                                                                   done.set_value();
                                                                 });
                             EXPECT_TRUE(queued.ok());
                           })
                  .ok());
  done.get_future().wait();
  EXPECT_TRUE(ok.load());
  MessageQuery q;
  q.state = MessageState::kProcessed;
  Result<std::vector<MessageRecord>> rows = store->List(q);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 1u);
}

TEST(StoreStatus, CallbacksMayQueueWorkButNeverWait) {
  StoreOptions o = MemoryOptions();
  o.max_pending_ops = 1;
  o.queue_full = QueueFullPolicy::kBlock;
  auto store = MustOpen(o);
  ASSERT_TRUE(store);
  std::promise<void> done;
  std::atomic<int> updates_ok{0};
  Status wait_in_callback, flush_in_callback;
  ASSERT_TRUE(store
                  ->Append(SampleMessage("CB"),
                           [&](Result<AppendResult> r) {
                             ASSERT_TRUE(r.ok());
                             wait_in_callback = store->AppendAndWait(SampleMessage("CB2")).status();
                             flush_in_callback = store->Flush();
                             // The first update fills the queue (max 1); the second must not wait
                             // for room only this thread can make.
                             for (int i = 0; i < 2; ++i) {
                               EXPECT_TRUE(store
                                               ->UpdateStatus(r->id, MessageState::kQueued, "",
                                                              [&](Status s) {
                                                                if (s.ok() && ++updates_ok == 2)
                                                                  done.set_value();
                                                              })
                                               .ok());
                             }
                           })
                  .ok());
  done.get_future().wait();
  EXPECT_EQ(wait_in_callback.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(flush_in_callback.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(updates_ok.load(), 2);
}

TEST(StoreLifecycle, ReopenKeepsMessagesAndCreatesParentDirs) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  StoreOptions o;
  o.sqlite_path = dir.File("var/nested/junction.db");
  MessageId first = 0;
  {
    auto store = MustOpen(o);
    ASSERT_TRUE(store);
    Result<AppendResult> r = store->AppendAndWait(SampleMessage("R1"));
    ASSERT_TRUE(r.ok());
    first = r->id;
    ASSERT_TRUE(store->Close().ok());
  }
  auto store = MustOpen(o);
  ASSERT_TRUE(store);
  Result<MessageRecord> row = store->Get(first);
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(row->control_id, "R1");
  Result<AppendResult> next = store->AppendAndWait(SampleMessage("R2"));
  ASSERT_TRUE(next.ok());
  EXPECT_GT(next->id, first);
  store.reset();  // the destructor closes
  EXPECT_EQ(SqlText(o.sqlite_path, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(SqlInt(o.sqlite_path, "PRAGMA user_version"), CurrentSchemaVersion());
  EXPECT_EQ(SqlInt(o.sqlite_path, "SELECT count(*) FROM messages"), 2);
  EXPECT_EQ(SqlInt(o.sqlite_path,
                   "SELECT count(*) FROM sqlite_schema WHERE type = 'index'"
                   " AND name LIKE 'messages_by_%'"),
            7);
  EXPECT_EQ(SqlInt(o.sqlite_path,
                   "SELECT count(*) FROM sqlite_schema WHERE type = 'index'"
                   " AND name LIKE 'deliveries_by_%'"),
            2);
}

TEST(StoreLifecycle, CloseFlushesPendingAndRefusesLaterWork) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  StoreOptions o;
  o.sqlite_path = dir.File("close.db");
  auto store = MustOpen(o);
  ASSERT_TRUE(store);
  std::atomic<int> ok{0}, failed{0};
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(store
                    ->Append(SampleMessage("F" + std::to_string(i)),
                             [&](Result<AppendResult> r) { (r.ok() ? ok : failed)++; })
                    .ok());
  }
  EXPECT_TRUE(store->Close().ok());
  EXPECT_EQ(ok.load(), 500);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(SqlInt(o.sqlite_path, "SELECT count(*) FROM messages"), 500);

  EXPECT_EQ(store->Append(SampleMessage("late"), [](Result<AppendResult>) { FAIL(); }).code(),
            StatusCode::kIoError);
  EXPECT_FALSE(store->UpdateStatus(1, MessageState::kSent, "", nullptr).ok());
  EXPECT_FALSE(store->Flush().ok());
  EXPECT_FALSE(store->Get(1).ok());
  EXPECT_TRUE(store->Close().ok());  // idempotent
}

TEST(StoreBackpressure, FailFastWhenQueueIsFull) {
  StoreOptions o = MemoryOptions();
  o.max_pending_ops = 4;
  o.max_batch = 100;
  o.max_delay_us = 1'000'000;  // the writer holds off, so the queue fills
  auto store = MustOpen(o);
  ASSERT_TRUE(store);
  std::atomic<int> acked{0};
  auto count = [&](Result<AppendResult> r) {
    if (r.ok()) acked++;
  };
  int accepted = 0;
  Status refused;
  for (int i = 0; i < 20 && refused.ok(); ++i) {
    Status s = store->Append(SampleMessage("Q" + std::to_string(i)), count);
    if (s.ok()) {
      ++accepted;
    } else {
      refused = s;
    }
  }
  EXPECT_EQ(refused.code(), StatusCode::kOutOfRange);
  EXPECT_NE(refused.message().find("queue is full"), std::string::npos);
  EXPECT_GE(accepted, 4);
  EXPECT_EQ(store->Stats().rejected_full, 1u);
  EXPECT_TRUE(store->Close().ok());
  EXPECT_EQ(acked.load(), accepted);
}

TEST(StoreBackpressure, BlockPolicyWaitsForRoom) {
  StoreOptions o = MemoryOptions();
  o.max_pending_ops = 2;
  o.queue_full = QueueFullPolicy::kBlock;
  o.durable = false;  // many tiny commits; the fsync adds nothing to this test
  auto store = MustOpen(o);
  ASSERT_TRUE(store);
  std::atomic<int> acked{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        Status s = store->Append(SampleMessage(std::to_string(t) + "-" + std::to_string(i)),
                                 [&](Result<AppendResult> r) {
                                   if (r.ok()) acked++;
                                 });
        if (!s.ok()) refused++;
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(store->Flush().ok());
  EXPECT_EQ(refused.load(), 0);
  EXPECT_EQ(acked.load(), 400);
}

// Callbacks of a durable store run on the syncer thread; like the writer's,
// their appends never wait for room nor get "queue full" (the writer may be
// waiting for the syncer, which would then wait for the writer).
TEST(StoreBackpressure, DurableCallbacksAppendIntoAFullQueue) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  for (QueueFullPolicy policy : {QueueFullPolicy::kFailFast, QueueFullPolicy::kBlock}) {
    StoreOptions o;
    o.sqlite_path = dir.File(policy == QueueFullPolicy::kBlock ? "block.db" : "fail.db");
    o.durable = true;
    o.max_pending_ops = 2;
    o.queue_full = policy;
    auto store = MustOpen(o);
    ASSERT_TRUE(store);
    std::atomic<int> followups{0}, refused{0}, acked{0};
    constexpr int kFirst = 200;
    for (int i = 0; i < kFirst; ++i) {
      const std::string id = "D" + std::to_string(i);
      Status s;
      do {  // fail-fast refuses the caller here while the queue is full; retry
        s = store->Append(SampleMessage(id), [&, id](Result<AppendResult> r) {
          if (!r.ok()) return;
          acked++;
          Status follow = store->Append(SampleMessage(id + "-F"), [&](Result<AppendResult> f) {
            if (f.ok()) followups++;
          });
          if (!follow.ok()) refused++;
        });
      } while (!s.ok() && s.code() == StatusCode::kOutOfRange);
      ASSERT_TRUE(s.ok()) << s.ToString();
    }
    ASSERT_TRUE(store->Flush().ok());
    ASSERT_TRUE(store->Flush().ok());  // the follow-ups were queued by the first flush's batches
    EXPECT_EQ(acked.load(), kFirst);
    EXPECT_EQ(refused.load(), 0);
    EXPECT_EQ(followups.load(), kFirst);
  }
}

TEST(StoreReaders, ConcurrentReadersSeeCommittedRowsWhileWriting) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  StoreOptions o;
  o.sqlite_path = dir.File("readers.db");
  auto store = MustOpen(o);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->AppendAndWait(SampleMessage("seed")).ok());

  // A second process's view: a read-only store on the same file.
  StoreOptions ro = o;
  ro.read_only = true;
  auto reader = MustOpen(ro);
  ASSERT_TRUE(reader);

  std::atomic<bool> stop{false};
  std::atomic<int> read_errors{0}, reads{0};
  auto read_loop = [&](Store* s) {
    std::size_t last = 0;
    while (!stop.load()) {
      MessageQuery q;
      q.limit = kMaxQueryLimit;
      Result<std::vector<MessageRecord>> rows = s->List(q);
      if (!rows.ok() || rows->size() < last) {
        read_errors++;
        continue;
      }
      last = rows->size();
      if (!rows->empty() && !s->Get(rows->front().id).ok()) read_errors++;
      reads++;
    }
  };
  std::thread r1(read_loop, store.get());
  std::thread r2(read_loop, reader.get());
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 250; ++i) {
        (void)store->AppendAndWait(
            SampleMessage("W" + std::to_string(t) + "-" + std::to_string(i)));
      }
    });
  }
  for (auto& w : writers) w.join();
  stop = true;
  r1.join();
  r2.join();
  EXPECT_EQ(read_errors.load(), 0);
  EXPECT_GT(reads.load(), 0);
  MessageQuery all;
  all.limit = kMaxQueryLimit;
  Result<std::vector<MessageRecord>> rows = reader->List(all);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 1001u);
  EXPECT_EQ(reader->Append(SampleMessage("x"), nullptr).code(), StatusCode::kIoError);
}

TEST(StoreReaders, ReadOnlyOpenAfterTheWriterIsGone) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  StoreOptions o;
  o.sqlite_path = dir.File("offline.db");
  {
    auto store = MustOpen(o);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->AppendAndWait(SampleMessage("OFF1")).ok());
  }
  // The last connection removed the -wal and -shm files; a reader still works.
  o.read_only = true;
  auto reader = MustOpen(o);
  ASSERT_TRUE(reader);
  MessageQuery q;
  q.control_id = "OFF1";
  Result<std::vector<MessageRecord>> rows = reader->List(q);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(rows->size(), 1u);
}

TEST(StoreReaders, ReadOnlyOpenOfMissingFileIsNotFound) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  StoreOptions o;
  o.sqlite_path = dir.File("absent.db");
  o.read_only = true;
  Result<std::unique_ptr<Store>> store = Store::Open(o);
  EXPECT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(o.sqlite_path));
}

TEST(StoreOptionsCheck, RejectsNonsense) {
  StoreOptions o = MemoryOptions();
  o.max_batch = 0;
  EXPECT_FALSE(Store::Open(o).ok());
  o = MemoryOptions();
  o.sqlite_path = "";
  EXPECT_FALSE(Store::Open(o).ok());
  o = MemoryOptions();
  o.read_only = true;
  EXPECT_FALSE(Store::Open(o).ok());
}

}  // namespace
}  // namespace junction::store
