// RetryDelay and the destination dispatcher (engine/internal/dispatcher.h)
// against a temporary store and a scripted in-memory destination: queue order,
// strict blocking, best-effort set-aside, max_attempts, planned retries kept
// across a restart, paging, stop while blocked.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <mutex>
#include <set>

#include "engine/internal/dispatcher.h"
#include "junction/engine/channel.h"
#include "junction/engine/messages.h"
#include "runtime_test_util.h"

namespace junction::engine {
namespace {

using namespace std::chrono_literals;
using internal::Dispatcher;
using testing::Eventually;
using testing::WithControlId;
using Kind = DeliveryOutcome::Kind;
using Clock = std::chrono::steady_clock;

// --- RetryDelay ---------------------------------------------------------------

RetryConfig Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max) {
  RetryConfig r;
  r.initial_backoff = initial;
  r.max_backoff = max;
  return r;
}

TEST(RetryDelayTest, DoublesPerAttemptWithoutJitterAtOne) {
  const RetryConfig r = Backoff(1000ms, 300'000ms);
  EXPECT_EQ(RetryDelay(r, 1, 1.0), 1000ms);
  EXPECT_EQ(RetryDelay(r, 2, 1.0), 2000ms);
  EXPECT_EQ(RetryDelay(r, 3, 1.0), 4000ms);
  EXPECT_EQ(RetryDelay(r, 4, 1.0), 8000ms);
  EXPECT_EQ(RetryDelay(r, 8, 1.0), 128'000ms);
}

TEST(RetryDelayTest, CappedAtMaxBackoff) {
  const RetryConfig r = Backoff(1000ms, 300'000ms);
  EXPECT_EQ(RetryDelay(r, 9, 1.0), 256'000ms);
  EXPECT_EQ(RetryDelay(r, 10, 1.0), 300'000ms);  // 512 s capped
  EXPECT_EQ(RetryDelay(r, 40, 1.0), 300'000ms);
  // Huge attempt counts neither overflow nor go negative.
  EXPECT_EQ(RetryDelay(r, 1'000'000, 1.0), 300'000ms);
  EXPECT_EQ(RetryDelay(r, 2'147'483'647, 1.0), 300'000ms);
  // initial == max: constant.
  const RetryConfig flat = Backoff(50ms, 50ms);
  EXPECT_EQ(RetryDelay(flat, 1, 1.0), 50ms);
  EXPECT_EQ(RetryDelay(flat, 7, 1.0), 50ms);
}

TEST(RetryDelayTest, JitterScalesBetweenHalfAndWhole) {
  const RetryConfig r = Backoff(1000ms, 300'000ms);
  EXPECT_EQ(RetryDelay(r, 1, 0.0), 500ms);
  EXPECT_EQ(RetryDelay(r, 1, 0.5), 750ms);
  EXPECT_EQ(RetryDelay(r, 3, 0.0), 2000ms);
  EXPECT_EQ(RetryDelay(r, 20, 0.0), 150'000ms);  // the cap is jittered too
  // Out-of-range randoms are clamped into [0.5, 1].
  EXPECT_EQ(RetryDelay(r, 1, -3.0), 500ms);
  EXPECT_EQ(RetryDelay(r, 1, 7.0), 1000ms);
  // Every factor in [0, 1] lands in [base/2, base] and grows with the factor.
  std::chrono::milliseconds previous{0};
  for (int i = 0; i <= 100; ++i) {
    const double u = i / 100.0;
    const auto d = RetryDelay(r, 4, u);
    EXPECT_GE(d, 4000ms) << u;
    EXPECT_LE(d, 8000ms) << u;
    EXPECT_GE(d, previous) << u;
    previous = d;
  }
}

TEST(RetryDelayTest, FirstAttemptWaitsInitial) {
  // Attempt numbers below 1 are not meant to happen; they must still not
  // shrink the wait below the initial backoff's jittered range.
  const RetryConfig r = Backoff(200ms, 10'000ms);
  EXPECT_EQ(RetryDelay(r, 1, 1.0), 200ms);
  EXPECT_EQ(RetryDelay(r, 0, 1.0), 200ms);
}

// --- a scripted destination -------------------------------------------------------

// What a FakeDestination saw and what it answers; shared with the test because
// the dispatcher owns the destination.
struct FakeState {
  struct Call {
    std::string control_id;
    std::string payload;
    Clock::time_point at;
  };
  std::mutex mutex;
  std::vector<Call> calls;
  // Answer for (control id, how many times that id was delivered before).
  std::function<DeliveryOutcome(const std::string&, int)> script = [](const std::string&, int) {
    return DeliveryOutcome{Kind::kSent, "ACK", ""};
  };
  std::atomic<int> closed{0};
  std::size_t window = 1;            // max_batch(): > 1 lets the dispatcher batch
  std::vector<std::size_t> batches;  // the size of every DeliverBatch call

  std::vector<std::string> ids() {
    std::lock_guard<std::mutex> lock(mutex);
    std::vector<std::string> out;
    for (const auto& c : calls) out.push_back(c.control_id);
    return out;
  }
  std::size_t size() {
    std::lock_guard<std::mutex> lock(mutex);
    return calls.size();
  }
  int count(const std::string& id) {
    std::lock_guard<std::mutex> lock(mutex);
    int n = 0;
    for (const auto& c : calls) n += c.control_id == id;
    return n;
  }
  std::vector<Call> snapshot() {
    std::lock_guard<std::mutex> lock(mutex);
    return calls;
  }
};

class FakeDestination : public Destination {
 public:
  explicit FakeDestination(std::shared_ptr<FakeState> state) : state_(std::move(state)) {}
  DeliveryOutcome Deliver(std::string_view payload, const DeliveryContext& context) override {
    std::function<DeliveryOutcome(const std::string&, int)> script;
    int before = 0;
    {
      std::lock_guard<std::mutex> lock(state_->mutex);
      for (const auto& c : state_->calls) before += c.control_id == context.control_id;
      state_->calls.push_back({context.control_id, std::string(payload), Clock::now()});
      script = state_->script;
    }
    return script(context.control_id, before);
  }
  void Close() override { state_->closed.fetch_add(1); }
  std::size_t max_batch() const override { return state_->window; }
  std::vector<DeliveryOutcome> DeliverBatch(std::span<const DeliveryItem> items) override {
    {
      std::lock_guard<std::mutex> lock(state_->mutex);
      state_->batches.push_back(items.size());
    }
    return Destination::DeliverBatch(items);  // Deliver each, stop after a retry
  }

 private:
  std::shared_ptr<FakeState> state_;
};

DeliveryOutcome Sent() { return {Kind::kSent, "ACK", ""}; }
DeliveryOutcome Retry(const std::string& why = "connection refused") {
  return {Kind::kRetry, "", why};
}
DeliveryOutcome Failed(const std::string& why = "rejected (AR)") {
  return {Kind::kFailed, "", why};
}

class DispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = testing::OpenTempStore();
    ASSERT_NE(store_, nullptr);
    config_.name = "out";
    config_.kind = DestinationKind::kFile;  // unused: the destination is the fake
    config_.retry = Backoff(10ms, 40ms);
  }
  void TearDown() override {
    StopDispatcher();
    if (store_) {
      EXPECT_TRUE(store_->Close().ok());
    }
  }

  // Stores a message of channel "ch" and records it as processed with one
  // queued delivery to "out". Returns the message id and the delivery id.
  std::pair<store::MessageId, store::DeliveryId> Queue(const std::string& control_id) {
    const store::MessageId id =
        testing::StoreMessage(store_.get(), "ch", WithControlId(control_id));
    store::ProcessingOutcome out;
    out.id = id;
    out.state = store::MessageState::kQueued;
    store::NewDelivery d;
    d.destination = "out";
    out.deliveries.push_back(d);
    auto ids = store_->RecordProcessingAndWait(std::move(out));
    EXPECT_TRUE(ids.ok()) << ids.status().ToString();
    EXPECT_EQ(ids.ok() ? ids->size() : 0u, 1u);
    return {id, ids.ok() && !ids->empty() ? (*ids)[0] : 0};
  }

  void StartDispatcher(std::size_t page = 256) {
    dispatcher_ = std::make_unique<Dispatcher>(store_.get(), "ch", config_,
                                               std::make_unique<FakeDestination>(fake_), page);
    dispatcher_->Start();
  }
  void StopDispatcher() {
    if (dispatcher_) dispatcher_->Stop();
    dispatcher_.reset();
  }

  store::DeliveryRecord Delivery(store::MessageId id) {
    auto rows = testing::DeliveriesTo(store_.get(), id, "out");
    EXPECT_FALSE(rows.empty());
    return rows.empty() ? store::DeliveryRecord{} : rows.back();
  }
  bool WaitDelivery(store::MessageId id, store::DeliveryState state) {
    return Eventually([&] { return Delivery(id).state == state; });
  }

  std::unique_ptr<store::Store> store_;
  DestinationConfig config_;
  std::shared_ptr<FakeState> fake_ = std::make_shared<FakeState>();
  std::unique_ptr<Dispatcher> dispatcher_;
};

TEST_F(DispatcherTest, SendsTheQueueInIdOrderAndRecordsEachAttempt) {
  std::vector<store::MessageId> ids;
  for (const char* c : {"M1", "M2", "M3", "M4", "M5"}) ids.push_back(Queue(c).first);
  StartDispatcher();
  for (store::MessageId id : ids) {
    ASSERT_TRUE(testing::WaitForState(store_.get(), id, store::MessageState::kSent))
        << "message " << id << " is " << testing::StateOf(store_.get(), id);
  }
  EXPECT_EQ(fake_->ids(), (std::vector<std::string>{"M1", "M2", "M3", "M4", "M5"}));
  for (store::MessageId id : ids) {
    const store::DeliveryRecord d = Delivery(id);
    EXPECT_EQ(d.state, store::DeliveryState::kSent);
    EXPECT_EQ(d.attempts, 1);
    EXPECT_EQ(d.response, "ACK");
    EXPECT_EQ(d.error, "");
  }
  // The raw message is what gets sent when nobody transformed it.
  EXPECT_EQ(fake_->snapshot()[0].payload, WithControlId("M1"));
  const DestinationStats s = dispatcher_->stats();
  EXPECT_EQ(s.name, "out");
  EXPECT_EQ(s.sent, 5u);
  EXPECT_EQ(s.failed, 0u);
  EXPECT_EQ(s.retries, 0u);
  EXPECT_FALSE(s.blocked);
}

TEST_F(DispatcherTest, StrictRetriesTheHeadAndHoldsTheRestUntilItGoes) {
  config_.ordering = Ordering::kStrict;
  config_.retry.max_attempts = 2;  // not applied in strict mode
  std::atomic<bool> down{true};
  fake_->script = [&down](const std::string&, int) { return down ? Retry() : Sent(); };
  const auto [m1, d1] = Queue("M1");
  const auto m2 = Queue("M2").first;
  const auto m3 = Queue("M3").first;
  StartDispatcher();

  // The head is retried again and again; attempts and the planned retry are recorded.
  ASSERT_TRUE(Eventually([&] { return Delivery(m1).attempts >= 4; }))
      << "attempts " << Delivery(m1).attempts;
  const store::DeliveryRecord head = Delivery(m1);
  EXPECT_EQ(head.state, store::DeliveryState::kQueued) << "strict ignores max_attempts";
  EXPECT_EQ(head.error, "connection refused");
  EXPECT_GT(head.next_attempt_at_us, head.created_at_us);
  EXPECT_EQ(testing::StateOf(store_.get(), m1), "queued");
  // Nothing behind it was tried.
  for (const std::string& id : fake_->ids()) EXPECT_EQ(id, "M1");
  EXPECT_EQ(Delivery(m2).attempts, 0);
  EXPECT_EQ(Delivery(m3).attempts, 0);
  const DestinationStats blocked = dispatcher_->stats();
  EXPECT_TRUE(blocked.blocked);
  EXPECT_GE(blocked.retries, 3u);
  EXPECT_EQ(blocked.last_error, "connection refused");

  // Backoff grows: the gap before the 4th try is longer than before the 2nd.
  {
    const auto calls = fake_->snapshot();
    ASSERT_GE(calls.size(), 4u);
    EXPECT_GE(calls[1].at - calls[0].at, 5ms);   // >= 10 ms * 0.5
    EXPECT_GE(calls[3].at - calls[2].at, 20ms);  // >= 40 ms * 0.5
  }

  down = false;
  for (store::MessageId id : {m1, m2, m3}) {
    ASSERT_TRUE(testing::WaitForState(store_.get(), id, store::MessageState::kSent)) << id;
  }
  std::vector<std::string> ids = fake_->ids();
  // Every call before the recovery was M1; after it, M1, M2, M3 exactly once each, in order.
  while (!ids.empty() && ids.front() == "M1" && ids.size() > 3) ids.erase(ids.begin());
  EXPECT_EQ(ids, (std::vector<std::string>{"M1", "M2", "M3"}));
  EXPECT_EQ(fake_->count("M2"), 1);
  EXPECT_EQ(fake_->count("M3"), 1);
  EXPECT_FALSE(dispatcher_->stats().blocked);
  EXPECT_EQ(Delivery(m1).error, "");
  EXPECT_GE(Delivery(m1).attempts, 5);
  (void)d1;
}

TEST_F(DispatcherTest, StrictPermanentFailureEndsInErrorAndTheQueueMovesOn) {
  fake_->script = [](const std::string& id, int) {
    return id == "BAD" ? Failed("AR: unknown patient") : Sent();
  };
  const auto bad = Queue("BAD").first;
  const auto good = Queue("GOOD").first;
  StartDispatcher();
  ASSERT_TRUE(testing::WaitForState(store_.get(), good, store::MessageState::kSent));
  ASSERT_TRUE(testing::WaitForState(store_.get(), bad, store::MessageState::kError));
  EXPECT_EQ(fake_->ids(), (std::vector<std::string>{"BAD", "GOOD"}));
  const store::DeliveryRecord d = Delivery(bad);
  EXPECT_EQ(d.state, store::DeliveryState::kError);
  EXPECT_EQ(d.attempts, 1);
  EXPECT_EQ(d.error, "AR: unknown patient");
  auto m = store_->Get(bad);
  ASSERT_TRUE(m.ok());
  EXPECT_NE(m->error.find("AR: unknown patient"), std::string::npos) << m->error;
  EXPECT_EQ(dispatcher_->stats().failed, 1u);
  EXPECT_EQ(dispatcher_->stats().sent, 1u);
}

TEST_F(DispatcherTest, BestEffortSetsAFailingMessageAsideAndGivesUpAfterMaxAttempts) {
  config_.ordering = Ordering::kBestEffort;
  config_.retry = Backoff(20ms, 40ms);
  config_.retry.max_attempts = 3;
  fake_->script = [](const std::string& id, int) {
    return id == "SLOW" ? Retry("timeout") : Sent();
  };
  const auto slow = Queue("SLOW").first;
  const auto a = Queue("A").first;
  const auto b = Queue("B").first;
  StartDispatcher();
  ASSERT_TRUE(testing::WaitForState(store_.get(), a, store::MessageState::kSent));
  ASSERT_TRUE(testing::WaitForState(store_.get(), b, store::MessageState::kSent));
  ASSERT_TRUE(testing::WaitForState(store_.get(), slow, store::MessageState::kError));

  // A and B went right after SLOW's first failure, not after it gave up.
  const std::vector<std::string> ids = fake_->ids();
  ASSERT_GE(ids.size(), 3u);
  EXPECT_EQ(ids[0], "SLOW");
  EXPECT_EQ(ids[1], "A");
  EXPECT_EQ(ids[2], "B");
  EXPECT_EQ(fake_->count("SLOW"), 3);
  const store::DeliveryRecord d = Delivery(slow);
  EXPECT_EQ(d.state, store::DeliveryState::kError);
  EXPECT_EQ(d.attempts, 3);
  EXPECT_EQ(d.error, "gave up after 3 attempts: timeout");
  auto m = store_->Get(slow);
  ASSERT_TRUE(m.ok());
  EXPECT_NE(m->error.find("gave up after 3 attempts"), std::string::npos) << m->error;
  const DestinationStats s = dispatcher_->stats();
  EXPECT_EQ(s.sent, 2u);
  EXPECT_EQ(s.failed, 1u);
  EXPECT_EQ(s.retries, 2u);
  EXPECT_FALSE(s.blocked);
}

TEST_F(DispatcherTest, BestEffortRetryThatSucceedsEndsSent) {
  config_.ordering = Ordering::kBestEffort;
  config_.retry.max_attempts = 5;
  fake_->script = [](const std::string&, int before) { return before < 2 ? Retry() : Sent(); };
  const auto m = Queue("FLAKY").first;
  StartDispatcher();
  ASSERT_TRUE(testing::WaitForState(store_.get(), m, store::MessageState::kSent));
  const store::DeliveryRecord d = Delivery(m);
  EXPECT_EQ(d.attempts, 3);
  EXPECT_EQ(d.error, "");
  EXPECT_EQ(d.response, "ACK");
}

TEST_F(DispatcherTest, BestEffortWithOneAttemptGivesUpAtOnce) {
  config_.ordering = Ordering::kBestEffort;
  config_.retry.max_attempts = 1;
  fake_->script = [](const std::string&, int) { return Retry("down"); };
  const auto m = Queue("ONCE").first;
  StartDispatcher();
  ASSERT_TRUE(testing::WaitForState(store_.get(), m, store::MessageState::kError));
  EXPECT_EQ(Delivery(m).error, "gave up after 1 attempts: down");
  EXPECT_EQ(fake_->count("ONCE"), 1);
}

// --- batched delivery (max_batch() > 1) -------------------------------------------

TEST_F(DispatcherTest, BatchesRunsOfFreshMessagesAndRecordsEachAttempt) {
  fake_->window = 4;
  std::vector<store::MessageId> ids;
  std::vector<std::string> names;
  for (int i = 1; i <= 10; ++i) {
    names.push_back("B" + std::to_string(i));
    ids.push_back(Queue(names.back()).first);
  }
  StartDispatcher();
  for (store::MessageId id : ids) {
    ASSERT_TRUE(testing::WaitForState(store_.get(), id, store::MessageState::kSent)) << id;
  }
  EXPECT_EQ(fake_->ids(), names);
  {
    std::lock_guard<std::mutex> lock(fake_->mutex);
    EXPECT_EQ(fake_->batches, (std::vector<std::size_t>{4, 4, 2}));
  }
  for (store::MessageId id : ids) {
    const store::DeliveryRecord d = Delivery(id);
    EXPECT_EQ(d.attempts, 1);
    EXPECT_EQ(d.response, "ACK");
  }
  EXPECT_EQ(dispatcher_->stats().sent, 10u);
}

// Strict: a retry in the middle of a run stops it; nothing behind the failing
// message is recorded as sent before it is, and order holds.
TEST_F(DispatcherTest, StrictRetryInsideABatchBlocksWhatFollows) {
  fake_->window = 4;
  config_.ordering = Ordering::kStrict;
  std::atomic<bool> down{true};
  fake_->script = [&down](const std::string& id, int) {
    return id == "S3" && down ? Retry("timeout") : Sent();
  };
  std::vector<store::MessageId> ids;
  for (const char* c : {"S1", "S2", "S3", "S4", "S5", "S6"}) ids.push_back(Queue(c).first);
  StartDispatcher();
  ASSERT_TRUE(Eventually([&] { return Delivery(ids[2]).attempts >= 3; }));
  EXPECT_EQ(testing::StateOf(store_.get(), ids[0]), "sent");
  EXPECT_EQ(testing::StateOf(store_.get(), ids[1]), "sent");
  EXPECT_EQ(Delivery(ids[2]).state, store::DeliveryState::kQueued);
  for (std::size_t i = 3; i < ids.size(); ++i) {
    EXPECT_EQ(Delivery(ids[i]).attempts, 0) << i;
    EXPECT_EQ(testing::StateOf(store_.get(), ids[i]), "queued") << i;
  }
  EXPECT_TRUE(dispatcher_->stats().blocked);
  down = false;
  for (store::MessageId id : ids) {
    ASSERT_TRUE(testing::WaitForState(store_.get(), id, store::MessageState::kSent)) << id;
  }
  // Each message once, except S3's retries, and never S4.. before S3 got through.
  std::vector<std::string> seen = fake_->ids();
  seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"S1", "S2", "S3", "S4", "S5", "S6"}));
  EXPECT_EQ(fake_->count("S4"), 1);
  EXPECT_EQ(fake_->count("S6"), 1);
  EXPECT_GE(Delivery(ids[2]).attempts, 4);
  EXPECT_EQ(Delivery(ids[3]).attempts, 1);
}

TEST_F(DispatcherTest, BestEffortRetryInsideABatchIsSetAsideAndTheRestGoes) {
  fake_->window = 8;
  config_.ordering = Ordering::kBestEffort;
  config_.retry = Backoff(20ms, 40ms);
  config_.retry.max_attempts = 3;
  fake_->script = [](const std::string& id, int before) {
    return id == "E2" && before < 1 ? Retry("busy") : Sent();
  };
  std::vector<store::MessageId> ids;
  for (const char* c : {"E1", "E2", "E3", "E4"}) ids.push_back(Queue(c).first);
  StartDispatcher();
  for (store::MessageId id : ids) {
    ASSERT_TRUE(testing::WaitForState(store_.get(), id, store::MessageState::kSent)) << id;
  }
  EXPECT_EQ(fake_->ids(), (std::vector<std::string>{"E1", "E2", "E3", "E4", "E2"}));
  EXPECT_EQ(Delivery(ids[1]).attempts, 2);
  EXPECT_EQ(Delivery(ids[2]).attempts, 1);
}

// A retry planned before a restart (next_attempt_at in the future) is kept.
TEST_F(DispatcherTest, StrictHonoursAPlannedRetryFromAnEarlierRun) {
  const auto [m1, d1] = Queue("LATER");
  const auto m2 = Queue("NEXT").first;
  const std::int64_t due_us = NowMicros() + 700'000;
  store::DeliveryUpdate u;
  u.id = d1;
  u.state = store::DeliveryState::kQueued;
  u.attempts = 1;
  u.next_attempt_at_us = due_us;
  u.error = "earlier failure";
  ASSERT_TRUE(store_->UpdateDeliveryAndWait(u).ok());

  StartDispatcher();
  ASSERT_TRUE(testing::WaitForState(store_.get(), m2, store::MessageState::kSent));
  const std::int64_t sent_us = NowMicros();
  EXPECT_GE(sent_us, due_us) << "strict: NEXT waits behind LATER's planned retry";
  EXPECT_EQ(fake_->ids(), (std::vector<std::string>{"LATER", "NEXT"}));
  const store::DeliveryRecord d = Delivery(m1);
  EXPECT_EQ(d.state, store::DeliveryState::kSent);
  EXPECT_EQ(d.attempts, 2);  // counts the earlier run's attempt
  EXPECT_GE(d.updated_at_us, due_us);
}

TEST_F(DispatcherTest, BestEffortHonoursAPlannedRetryAndSendsTheRestMeanwhile) {
  config_.ordering = Ordering::kBestEffort;
  const auto [m1, d1] = Queue("LATER");
  const auto m2 = Queue("NOW").first;
  const std::int64_t due_us = NowMicros() + 600'000;
  store::DeliveryUpdate u;
  u.id = d1;
  u.state = store::DeliveryState::kQueued;
  u.attempts = 2;
  u.next_attempt_at_us = due_us;
  ASSERT_TRUE(store_->UpdateDeliveryAndWait(u).ok());

  StartDispatcher();
  ASSERT_TRUE(testing::WaitForState(store_.get(), m2, store::MessageState::kSent));
  EXPECT_LT(NowMicros(), due_us) << "NOW should not wait for LATER (slow machine?)";
  EXPECT_EQ(fake_->count("LATER"), 0);
  ASSERT_TRUE(testing::WaitForState(store_.get(), m1, store::MessageState::kSent));
  EXPECT_GE(NowMicros(), due_us);
  EXPECT_EQ(Delivery(m1).attempts, 3);
  EXPECT_EQ(fake_->ids(), (std::vector<std::string>{"NOW", "LATER"}));
}

// A reprocess supersedes the queued deliveries of the message (error
// "superseded by reprocess"); a dispatcher retrying one of them must stop.
TEST_F(DispatcherTest, StrictStopsRetryingADeliverySupersededByReprocess) {
  config_.ordering = Ordering::kStrict;
  fake_->script = [](const std::string&, int) { return Retry(); };
  const auto [m, d] = Queue("OLD");
  StartDispatcher();
  ASSERT_TRUE(Eventually([&] { return Delivery(m).attempts >= 2; }));
  ASSERT_TRUE(store_->ResetForReprocessAndWait(m).ok());
  const store::DeliveryRecord superseded = Delivery(m);
  ASSERT_EQ(superseded.state, store::DeliveryState::kError);
  // Let an attempt in hand finish, then watch: no more attempts of that row.
  std::this_thread::sleep_for(100ms);
  const int calls = fake_->count("OLD");
  std::this_thread::sleep_for(300ms);  // several backoffs (10..40 ms)
  // BUG: (dispatcher.cpp DeliverStrict): the head is retried from memory and
  // never re-read, so a superseded delivery keeps being sent, and each attempt
  // rewrites its row back to queued.
  EXPECT_EQ(fake_->count("OLD"), calls) << "BUG: superseded delivery still retried";
  EXPECT_EQ(Delivery(m).state, store::DeliveryState::kError)
      << "BUG: superseded delivery row rewritten to "
      << store::DeliveryStateName(Delivery(m).state);
  (void)d;
}

TEST_F(DispatcherTest, BestEffortStopsRetryingADeliverySupersededByReprocess) {
  config_.ordering = Ordering::kBestEffort;
  config_.retry.max_attempts = 1000;
  fake_->script = [](const std::string&, int) { return Retry(); };
  const auto m = Queue("OLD").first;
  StartDispatcher();
  ASSERT_TRUE(Eventually([&] { return Delivery(m).attempts >= 2; }));
  ASSERT_TRUE(store_->ResetForReprocessAndWait(m).ok());
  std::this_thread::sleep_for(100ms);
  const int calls = fake_->count("OLD");
  std::this_thread::sleep_for(300ms);
  // BUG: (dispatcher.cpp RunDueRetries): set-aside retries are kept in memory
  // and retried without checking that the row is still queued.
  EXPECT_EQ(fake_->count("OLD"), calls) << "BUG: superseded delivery still retried";
  EXPECT_EQ(Delivery(m).state, store::DeliveryState::kError)
      << "BUG: superseded delivery row rewritten to "
      << store::DeliveryStateName(Delivery(m).state);
}

TEST_F(DispatcherTest, ReadsTheQueuePageByPage) {
  std::vector<store::MessageId> ids;
  std::vector<std::string> want;
  for (int i = 0; i < 7; ++i) {
    want.push_back("P" + std::to_string(i));
    ids.push_back(Queue(want.back()).first);
  }
  StartDispatcher(/*page=*/2);
  for (store::MessageId id : ids) {
    ASSERT_TRUE(testing::WaitForState(store_.get(), id, store::MessageState::kSent)) << id;
  }
  EXPECT_EQ(fake_->ids(), want);
}

TEST_F(DispatcherTest, PicksUpNewDeliveriesAfterIdlingAndResends) {
  StartDispatcher();
  const auto [m1, d1] = Queue("FIRST");
  dispatcher_->waker()->Wake();
  ASSERT_TRUE(testing::WaitForState(store_.get(), m1, store::MessageState::kSent));
  // No wake: the idle poll (1 s) finds it.
  const auto m2 = Queue("SECOND").first;
  ASSERT_TRUE(testing::WaitForState(store_.get(), m2, store::MessageState::kSent));
  // Resend of the first message: a new delivery row at the tail.
  store::NewDelivery again;
  again.destination = "out";
  auto resend = store_->AddDeliveryAndWait(m1, again);
  ASSERT_TRUE(resend.ok()) << resend.status().ToString();
  EXPECT_GT(*resend, d1);
  dispatcher_->waker()->Wake();
  ASSERT_TRUE(Eventually([&] { return fake_->count("FIRST") == 2; }));
  ASSERT_TRUE(testing::WaitForState(store_.get(), m1, store::MessageState::kSent));
  const auto rows = testing::DeliveriesTo(store_.get(), m1, "out");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].state, store::DeliveryState::kSent);
  EXPECT_EQ(rows[1].state, store::DeliveryState::kSent);
  EXPECT_EQ(fake_->ids(), (std::vector<std::string>{"FIRST", "SECOND", "FIRST"}));
}

TEST_F(DispatcherTest, StopWhileBlockedReturnsPromptlyAndKeepsTheHeadQueued) {
  config_.retry = Backoff(5000ms, 5000ms);
  fake_->script = [](const std::string&, int) { return Retry(); };
  const auto m = Queue("STUCK").first;
  StartDispatcher();
  ASSERT_TRUE(Eventually([&] { return Delivery(m).attempts == 1; }));
  const auto start = Clock::now();
  StopDispatcher();
  EXPECT_LT(Clock::now() - start, 2000ms);
  EXPECT_EQ(fake_->count("STUCK"), 1);
  const store::DeliveryRecord d = Delivery(m);
  EXPECT_EQ(d.state, store::DeliveryState::kQueued);
  EXPECT_EQ(d.attempts, 1);
  EXPECT_GE(fake_->closed.load(), 1) << "Stop closes the destination";

  // A new dispatcher (restart) keeps the planned retry: nothing is sent at once.
  fake_->script = [](const std::string&, int) { return Sent(); };
  StartDispatcher();
  std::this_thread::sleep_for(200ms);  // a negative check: no early attempt
  EXPECT_EQ(fake_->count("STUCK"), 1);
}

TEST_F(DispatcherTest, SendsTheDestinationPayloadAndItsControlId) {
  // A destination transform stored its own payload with another MSH-10: that
  // is what gets sent, and the context names the payload's control id.
  const store::MessageId id = testing::StoreMessage(store_.get(), "ch", WithControlId("ORIG"));
  store::ProcessingOutcome out;
  out.id = id;
  out.state = store::MessageState::kQueued;
  store::NewDelivery d;
  d.destination = "out";
  d.payload = WithControlId("CHANGED");
  d.has_payload = true;
  out.deliveries.push_back(d);
  ASSERT_TRUE(store_->RecordProcessingAndWait(std::move(out)).ok());
  StartDispatcher();
  ASSERT_TRUE(testing::WaitForState(store_.get(), id, store::MessageState::kSent));
  const auto calls = fake_->snapshot();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].control_id, "CHANGED");
  EXPECT_EQ(calls[0].payload, WithControlId("CHANGED"));
}

}  // namespace
}  // namespace junction::engine
