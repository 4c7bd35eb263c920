// One destination's delivery loop: reads the head of its store queue and
// delivers, recording every attempt (see channel.h for the rules).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "junction/engine/channel.h"
#include "junction/engine/destination.h"
#include "junction/store/store.h"

namespace junction::engine::internal {

// Wakes a sleeping dispatcher (new deliveries committed) or stops it. Shared
// with store callbacks, which may outlive the dispatcher.
class Waker {
 public:
  void Wake();
  void Stop();
  bool stopping() const;
  // Sleeps until `deadline`, a Wake (unless only_stop), or Stop. True when stopping.
  bool SleepUntil(std::chrono::steady_clock::time_point deadline, bool only_stop);

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool woken_ = false;
  bool stopping_ = false;
};

class Dispatcher {
 public:
  Dispatcher(store::Store* store, std::string channel, DestinationConfig config,
             std::unique_ptr<Destination> destination, std::size_t page);
  ~Dispatcher();

  void Start();
  void Stop();  // the attempt in hand finishes first
  const std::shared_ptr<Waker>& waker() const { return waker_; }
  // Paused: no new attempt starts (the one in hand finishes); the queue holds.
  void SetPaused(bool paused);
  bool paused() const { return paused_.load(); }
  DestinationStats stats() const;

 private:
  struct Pending {
    store::DeliveryRecord record;
    std::chrono::steady_clock::time_point due;
  };
  void Run();
  // One attempt; records it. Returns true when the delivery is finished (sent
  // or in error), false when it stays queued for a retry at *retry_at.
  bool Attempt(store::DeliveryRecord* record, std::chrono::steady_clock::time_point* retry_at);
  DeliveryContext ContextOf(const store::DeliveryRecord& record) const;
  // Counts and logs one outcome and fills its store update (attempts + 1).
  // Returns true when the delivery is finished; else it stays queued and
  // *retry_at (and record->next_attempt_at_us) say when to try again.
  bool Judge(store::DeliveryRecord* record, DeliveryOutcome outcome, store::DeliveryUpdate* update,
             std::chrono::steady_clock::time_point* retry_at);
  // Hands the updates to the store as one writer operation (not waited for).
  void Record(std::vector<store::DeliveryUpdate> updates);
  // Records unrecorded_ (strict successes held back by Attempt), if any.
  void RecordUnrecorded();
  // How many records from page[begin] may go out as one pipelined run: fresh
  // (never attempted), due, at most the destination's max_batch(). 0 or 1:
  // deliver one by one.
  std::size_t BatchableRun(const std::vector<store::DeliveryRecord>& page, std::size_t begin) const;
  // A message of a batch that stays queued for a retry (page index, when).
  struct Kept {
    std::size_t index;
    std::chrono::steady_clock::time_point retry_at;
  };
  // Delivers page[begin, begin + n) with DeliverBatch and records the
  // outcomes in one store operation. Returns how many got an outcome (>= 1);
  // *kept lists those left queued for a retry. Under strict ordering the
  // outcomes end at the first retry (which is then the last one).
  std::size_t AttemptBatch(std::vector<store::DeliveryRecord>& page, std::size_t begin,
                           std::size_t n, std::vector<Kept>* kept);
  void DeliverStrict(store::DeliveryRecord record);
  // Re-reads the row: false when it left state queued (superseded, resent).
  bool StillQueued(const store::DeliveryRecord& record);
  void RunDueRetries();

  store::Store* store_;
  std::string channel_;
  DestinationConfig config_;
  std::unique_ptr<Destination> destination_;
  std::size_t page_;
  std::shared_ptr<Waker> waker_ = std::make_shared<Waker>();
  std::thread thread_;
  std::map<store::DeliveryId, Pending> retries_;   // best-effort: set aside, by id
  std::vector<store::DeliveryUpdate> unrecorded_;  // strict: sent, recorded at page end

  std::atomic<std::uint64_t> sent_{0}, failed_{0}, retried_{0};
  std::atomic<bool> blocked_{false};
  std::atomic<bool> paused_{false};
  mutable std::mutex error_mutex_;
  std::string last_error_;
};

}  // namespace junction::engine::internal
