#include "http/internal/app_state.h"

#include "junction/engine/messages.h"

namespace junction::http::internal {

Result<store::StatusReport> ReportCache::Get() {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  if (report_ && now - taken_ < ttl_) return *report_;
  auto report = store_->Report();
  if (!report.ok()) return report.status();
  report_ = std::move(report).value();
  taken_ = now;
  return *report_;
}

RateSampler::RateSampler(engine::Engine* engine) : engine_(engine) {
  last_ = Read();
  last_sample_us_ = engine::NowMicros();
  thread_ = std::thread([this] { Run(); });
}

RateSampler::~RateSampler() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

// Counters since start: messages received by every source, deliveries sent,
// and errors (channel errors and deliveries in error). Runtimes rebuilt by a
// reload start again from 0; a negative step is then taken as 0.
RateSampler::Totals RateSampler::Read() const {
  Totals t;
  t.received = engine_->ingest_stats().messages;
  for (const engine::ChannelStats& c : engine_->channel_stats()) {
    t.errored += c.errored;
    for (const engine::DestinationStats& d : c.destinations) {
      t.sent += d.sent;
      t.errored += d.failed;
    }
  }
  return t;
}

void RateSampler::Run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!cv_.wait_for(lock, std::chrono::seconds(kBucketSeconds), [&] { return stop_; })) {
    lock.unlock();
    const Totals now = Read();
    lock.lock();
    auto step = [](std::uint64_t a, std::uint64_t b) { return a >= b ? a - b : a; };
    buckets_.push_back({step(now.received, last_.received), step(now.sent, last_.sent),
                        step(now.errored, last_.errored)});
    if (buckets_.size() > kBuckets) buckets_.pop_front();
    last_ = now;
    last_sample_us_ = engine::NowMicros();
  }
}

RateSeries RateSampler::Series() const {
  std::lock_guard<std::mutex> lock(mutex_);
  // Always the whole hour: buckets before the engine started are zeros.
  RateSeries s;
  s.bucket_seconds = kBucketSeconds;
  s.start_us = last_sample_us_ - static_cast<std::int64_t>(kBuckets) * kBucketSeconds * 1'000'000;
  for (std::size_t i = buckets_.size(); i < kBuckets; ++i) {
    s.received.push_back(0);
    s.sent.push_back(0);
    s.errored.push_back(0);
  }
  for (const Totals& t : buckets_) {
    s.received.push_back(t.received);
    s.sent.push_back(t.sent);
    s.errored.push_back(t.errored);
  }
  return s;
}

}  // namespace junction::http::internal
