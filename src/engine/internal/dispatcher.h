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
  std::map<store::DeliveryId, Pending> retries_;  // best-effort: set aside, by id

  std::atomic<std::uint64_t> sent_{0}, failed_{0}, retried_{0};
  std::atomic<bool> blocked_{false};
  std::atomic<bool> paused_{false};
  mutable std::mutex error_mutex_;
  std::string last_error_;
};

}  // namespace junction::engine::internal
