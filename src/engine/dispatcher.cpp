// Destination dispatchers: the delivery half of the channel runtime.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "engine/internal/dispatcher.h"
#include "junction/engine/messages.h"
#include "junction/hl7/message.h"

namespace junction::engine {

std::chrono::milliseconds RetryDelay(const RetryConfig& retry, int attempt, double unit_random) {
  const double initial = static_cast<double>(retry.initial_backoff.count());
  const double cap = static_cast<double>(retry.max_backoff.count());
  const double exponent = std::min(attempt - 1, 62);
  const double base = std::min(cap, initial * std::pow(2.0, std::max(0.0, exponent)));
  const double jitter = 0.5 + 0.5 * std::clamp(unit_random, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<std::int64_t>(base * jitter));
}

namespace internal {
namespace {

constexpr std::size_t kMaxSetAside = 4096;  // best-effort retries held in memory
constexpr std::size_t kMaxUnrecorded = 64;  // strict: sent, not yet handed to the store
constexpr auto kIdlePoll = std::chrono::seconds(1);

double UnitRandom() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

// MSH-10 of what is sent (a transform may have changed it), else the stored one.
// Only the MSH segment is parsed: the whole message would cost a full parse
// per delivery.
std::string ControlIdOf(std::string_view payload, const std::string& fallback) {
  const std::size_t end = payload.find_first_of("\r\n");
  auto parsed = hl7::Message::Parse(payload.substr(0, end));
  if (!parsed.ok()) return fallback;
  return std::string(parsed->ControlId());
}

}  // namespace

void Waker::Wake() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    woken_ = true;
  }
  cv_.notify_all();
}

void Waker::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
}

bool Waker::stopping() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stopping_;
}

bool Waker::SleepUntil(std::chrono::steady_clock::time_point deadline, bool only_stop) {
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait_until(lock, deadline, [&] { return stopping_ || (!only_stop && woken_); });
  if (!only_stop) woken_ = false;
  return stopping_;
}

Dispatcher::Dispatcher(store::Store* store, std::string channel, DestinationConfig config,
                       std::unique_ptr<Destination> destination, std::size_t page)
    : store_(store),
      channel_(std::move(channel)),
      config_(std::move(config)),
      destination_(std::move(destination)),
      page_(page) {}

Dispatcher::~Dispatcher() { Stop(); }

void Dispatcher::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Dispatcher::Stop() {
  waker_->Stop();
  if (thread_.joinable()) thread_.join();
  if (destination_) destination_->Close();
}

DestinationStats Dispatcher::stats() const {
  DestinationStats s;
  s.name = config_.name;
  s.sent = sent_.load();
  s.failed = failed_.load();
  s.retries = retried_.load();
  s.blocked = blocked_.load();
  s.paused = paused_.load();
  std::lock_guard<std::mutex> lock(error_mutex_);
  s.last_error = last_error_;
  return s;
}

bool Dispatcher::StillQueued(const store::DeliveryRecord& record) {
  auto rows = store_->ListDeliveries(record.message_id);
  if (!rows.ok()) return true;  // cannot tell: keep trying, the row decides later
  for (const store::DeliveryRecord& row : *rows) {
    if (row.id == record.id) return row.state == store::DeliveryState::kQueued;
  }
  return false;  // pruned or gone
}

DeliveryContext Dispatcher::ContextOf(const store::DeliveryRecord& record) const {
  DeliveryContext context;
  context.message_id = record.message_id;
  context.control_id = ControlIdOf(record.payload, record.control_id);
  context.received_at_us = record.received_at_us;
  return context;
}

bool Dispatcher::Judge(store::DeliveryRecord* record, DeliveryOutcome outcome,
                       store::DeliveryUpdate* update,
                       std::chrono::steady_clock::time_point* retry_at) {
  record->attempts += 1;
  update->id = record->id;
  update->attempts = record->attempts;
  update->response = std::move(outcome.response);
  update->error = outcome.error;
  bool finished = true;
  switch (outcome.kind) {
    case DeliveryOutcome::Kind::kSent:
      update->state = store::DeliveryState::kSent;
      sent_.fetch_add(1, std::memory_order_relaxed);
      break;
    case DeliveryOutcome::Kind::kFailed:
      update->state = store::DeliveryState::kError;
      failed_.fetch_add(1, std::memory_order_relaxed);
      break;
    case DeliveryOutcome::Kind::kRetry:
      if (config_.ordering == Ordering::kBestEffort &&
          record->attempts >= config_.retry.max_attempts) {
        update->state = store::DeliveryState::kError;
        update->error =
            "gave up after " + std::to_string(record->attempts) + " attempts: " + outcome.error;
        failed_.fetch_add(1, std::memory_order_relaxed);
        break;
      }
      finished = false;
      retried_.fetch_add(1, std::memory_order_relaxed);
      {
        const auto delay = RetryDelay(config_.retry, record->attempts, UnitRandom());
        *retry_at = std::chrono::steady_clock::now() + delay;
        update->state = store::DeliveryState::kQueued;
        update->next_attempt_at_us = NowMicros() + delay.count() * 1000;
        record->next_attempt_at_us = update->next_attempt_at_us;
      }
      break;
  }
  if (!outcome.error.empty()) {
    std::lock_guard<std::mutex> lock(error_mutex_);
    last_error_ = outcome.error;
  }
  if (update->state == store::DeliveryState::kError) {
    spdlog::warn("channel {}: destination {}: message {} delivery {} failed: {}", channel_,
                 config_.name, record->message_id, record->id, update->error);
  } else if (!finished && (record->attempts == 1 || record->attempts % 10 == 0)) {
    spdlog::info("channel {}: destination {}: message {} attempt {} failed, retrying: {}", channel_,
                 config_.name, record->message_id, record->attempts, outcome.error);
  }
  return finished;
}

void Dispatcher::Record(std::vector<store::DeliveryUpdate> updates) {
  if (updates.empty()) return;
  const store::DeliveryId first = updates.front().id;
  // Not waited for: a crash before this commits resends the messages
  // (at-least-once), and waiting would cost a commit per run.
  Status s = updates.size() == 1 ? store_->UpdateDelivery(std::move(updates.front()), nullptr)
                                 : store_->UpdateDeliveries(std::move(updates), nullptr);
  if (!s.ok()) {
    spdlog::error("channel {}: destination {}: recording delivery {} failed: {}", channel_,
                  config_.name, first, s.message());
  }
}

bool Dispatcher::Attempt(store::DeliveryRecord* record,
                         std::chrono::steady_clock::time_point* retry_at) {
  // A retry held in memory may have been superseded meanwhile (a reprocess
  // marks queued deliveries as error): then it is dropped, not resent.
  if (record->attempts > 0 && !StillQueued(*record)) {
    spdlog::info("channel {}: destination {}: delivery {} is no longer queued; not retried",
                 channel_, config_.name, record->id);
    return true;
  }
  const DeliveryContext context = ContextOf(*record);
  DeliveryOutcome outcome = destination_->Deliver(record->payload, context);
  store::DeliveryUpdate update;
  const bool finished = Judge(record, std::move(outcome), &update, retry_at);
  // Strict ordering sends one message per round trip; recording each success
  // on its own would cost a writer operation per message. They are handed
  // over together (a crash before that resends them: at-least-once); any
  // other outcome goes at once, after them.
  const bool sent = update.state == store::DeliveryState::kSent;
  unrecorded_.push_back(std::move(update));
  if (config_.ordering != Ordering::kStrict || !sent || unrecorded_.size() >= kMaxUnrecorded) {
    RecordUnrecorded();
  }
  return finished;
}

void Dispatcher::RecordUnrecorded() {
  std::vector<store::DeliveryUpdate> updates;
  updates.swap(unrecorded_);
  Record(std::move(updates));
}

std::size_t Dispatcher::BatchableRun(const std::vector<store::DeliveryRecord>& page,
                                     std::size_t begin) const {
  const std::size_t window = destination_->max_batch();
  if (window <= 1) return 0;
  const std::int64_t now_us = NowMicros();
  std::size_t n = 0;
  while (begin + n < page.size() && n < window) {
    const store::DeliveryRecord& r = page[begin + n];
    // First attempts only: a retry re-reads its row first (StillQueued).
    if (r.attempts > 0 || r.next_attempt_at_us > now_us || retries_.count(r.id) != 0) break;
    ++n;
  }
  return n;
}

std::size_t Dispatcher::AttemptBatch(std::vector<store::DeliveryRecord>& page, std::size_t begin,
                                     std::size_t n, std::vector<Kept>* kept) {
  std::vector<DeliveryItem> items;
  items.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    items.push_back({page[begin + i].payload, ContextOf(page[begin + i])});
  }
  std::vector<DeliveryOutcome> outcomes = destination_->DeliverBatch(items);
  if (outcomes.empty()) {  // a destination that broke its contract: retry the head
    outcomes.push_back({DeliveryOutcome::Kind::kRetry, "", "no outcome for the delivery"});
  }
  std::size_t m = std::min(outcomes.size(), n);
  if (config_.ordering == Ordering::kStrict) {
    // Nothing after a message to retry counts (it is sent again after it).
    for (std::size_t i = 0; i < m; ++i) {
      if (outcomes[i].kind == DeliveryOutcome::Kind::kRetry) {
        m = i + 1;
        break;
      }
    }
  }
  std::vector<store::DeliveryUpdate> updates(m);
  kept->clear();
  for (std::size_t i = 0; i < m; ++i) {
    std::chrono::steady_clock::time_point retry_at;
    if (!Judge(&page[begin + i], std::move(outcomes[i]), &updates[i], &retry_at)) {
      kept->push_back({begin + i, retry_at});
    }
  }
  Record(std::move(updates));
  return m;
}

void Dispatcher::DeliverStrict(store::DeliveryRecord record) {
  // A retry planned by an earlier run is honoured.
  const std::int64_t wait_us = record.next_attempt_at_us - NowMicros();
  if (wait_us > 0) {
    RecordUnrecorded();  // nothing waits unrecorded while the queue sleeps
    blocked_ = record.attempts > 0;
    if (waker_->SleepUntil(std::chrono::steady_clock::now() + std::chrono::microseconds(wait_us),
                           /*only_stop=*/true)) {
      return;
    }
  }
  while (!waker_->stopping()) {
    std::chrono::steady_clock::time_point retry_at;
    if (Attempt(&record, &retry_at)) break;
    blocked_ = true;
    if (waker_->SleepUntil(retry_at, /*only_stop=*/true)) return;
  }
  blocked_ = false;
}

void Dispatcher::RunDueRetries() {
  const auto now = std::chrono::steady_clock::now();
  for (auto it = retries_.begin(); it != retries_.end() && !waker_->stopping();) {
    if (it->second.due > now) {
      ++it;
      continue;
    }
    std::chrono::steady_clock::time_point retry_at;
    if (Attempt(&it->second.record, &retry_at)) {
      it = retries_.erase(it);
    } else {
      it->second.due = retry_at;
      ++it;
    }
  }
}

void Dispatcher::SetPaused(bool paused) {
  paused_.store(paused);
  waker_->Wake();
}

void Dispatcher::Run() {
  const bool strict = config_.ordering == Ordering::kStrict;
  store::DeliveryId cursor = 0;
  while (!waker_->stopping()) {
    if (paused_.load()) {
      waker_->SleepUntil(std::chrono::steady_clock::now() + kIdlePoll, /*only_stop=*/false);
      continue;
    }
    if (!strict) RunDueRetries();
    std::vector<store::DeliveryRecord> page;
    if (strict || retries_.size() < kMaxSetAside) {
      store::QueueQuery query;
      query.channel = channel_;
      query.destination = config_.name;
      query.after_id = cursor;
      query.limit = page_;
      auto rows = store_->ListQueued(query);
      if (!rows.ok()) {
        spdlog::error("channel {}: destination {}: reading the queue failed: {}", channel_,
                      config_.name, rows.status().message());
        waker_->SleepUntil(std::chrono::steady_clock::now() + kIdlePoll, true);
        continue;
      }
      page = std::move(rows).value();
    }
    if (page.empty()) {
      auto deadline = std::chrono::steady_clock::now() + kIdlePoll;
      for (const auto& [id, pending] : retries_) deadline = std::min(deadline, pending.due);
      waker_->SleepUntil(deadline, /*only_stop=*/false);
      continue;
    }
    for (std::size_t i = 0; i < page.size();) {
      if (waker_->stopping() || paused_.load()) break;
      // A run of fresh messages goes out pipelined, recorded in one store
      // operation. Outcomes come back for a prefix. Under strict ordering a
      // message kept for a retry ends the run and blocks what follows; under
      // best-effort those messages are set aside and the queue goes on.
      if (const std::size_t n = BatchableRun(page, i); n > 1) {
        std::vector<Kept> kept;
        const std::size_t done = AttemptBatch(page, i, n, &kept);
        const store::DeliveryId last = page[i + done - 1].id;
        i += done;
        if (strict && !kept.empty()) {  // the last one: it blocks what follows
          DeliverStrict(std::move(page[kept.back().index]));
          if (waker_->stopping()) break;  // the head stays queued for the next run
        }
        cursor = last;
        if (!strict) {
          for (const Kept& k : kept) {
            const store::DeliveryId id = page[k.index].id;
            retries_.emplace(id, Pending{std::move(page[k.index]), k.retry_at});
          }
          if (retries_.size() >= kMaxSetAside) break;
        }
        continue;
      }
      store::DeliveryRecord& record = page[i++];
      if (strict) {
        const store::DeliveryId id = record.id;
        DeliverStrict(std::move(record));
        if (waker_->stopping()) break;  // the head stays queued for the next run
        cursor = id;
        continue;
      }
      cursor = record.id;
      if (retries_.count(record.id) != 0) continue;
      const std::int64_t wait_us = record.next_attempt_at_us - NowMicros();
      std::chrono::steady_clock::time_point retry_at;
      if (wait_us > 0) {
        retry_at = std::chrono::steady_clock::now() + std::chrono::microseconds(wait_us);
      } else if (Attempt(&record, &retry_at)) {
        continue;
      }
      const store::DeliveryId id = record.id;
      retries_.emplace(id, Pending{std::move(record), retry_at});
      if (retries_.size() >= kMaxSetAside) break;
    }
    RecordUnrecorded();  // the page is done: before reading the queue again
  }
  RecordUnrecorded();
}

}  // namespace internal
}  // namespace junction::engine
