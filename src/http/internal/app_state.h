// Shared state of the HTTP app's admin routes: a short-lived cache of the
// store's status report (counting a large store takes time; the dashboard
// asks every few seconds) and the per-10-second message rates of the last
// hour (sampled from the engine's counters by a thread).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "junction/engine/serve.h"
#include "junction/store/types.h"

namespace junction::http::internal {

class ReportCache {
 public:
  ReportCache(store::Store* store, std::chrono::milliseconds ttl) : store_(store), ttl_(ttl) {}
  Result<store::StatusReport> Get();

 private:
  store::Store* store_;
  std::chrono::milliseconds ttl_;
  std::mutex mutex_;
  std::chrono::steady_clock::time_point taken_{};
  std::optional<store::StatusReport> report_;
};

struct RateSeries {
  int bucket_seconds = 10;
  std::int64_t start_us = 0;  // start of the first bucket
  std::vector<std::uint64_t> received, sent, errored;
};

class RateSampler {
 public:
  static constexpr int kBucketSeconds = 10;
  static constexpr std::size_t kBuckets = 360;  // one hour

  explicit RateSampler(engine::Engine* engine);
  ~RateSampler();
  RateSeries Series() const;

 private:
  struct Totals {
    std::uint64_t received = 0, sent = 0, errored = 0;
  };
  Totals Read() const;
  void Run();

  engine::Engine* engine_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  Totals last_;
  std::deque<Totals> buckets_;  // deltas, oldest first
  std::int64_t last_sample_us_ = 0;
  std::thread thread_;
};

}  // namespace junction::http::internal
