// The channel worker: parse, filter, transform, route into the delivery queues.
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "engine/internal/dispatcher.h"
#include "junction/engine/channel.h"
#include "junction/engine/messages.h"
#include "junction/hl7/message.h"

namespace junction::engine {
namespace {

constexpr std::size_t kMaxRemembered = 10'000;  // ids handled by polling, see Worker
// Outcomes handed to the store as one operation (see Impl::outbox).
constexpr std::size_t kMaxOutbox = 64;

// The outcome of a message the poll took: its live copy (with the ACK
// callback) may arrive before or after the outcome is committed.
struct PollOutcome {
  std::mutex mutex;
  bool committed = false;
  ProcessedResult result;
  std::vector<ProcessedCallback> waiting;

  void Committed(const ProcessedResult& r) {
    std::vector<ProcessedCallback> callbacks;
    {
      std::lock_guard<std::mutex> lock(mutex);
      committed = true;
      result = r;
      callbacks.swap(waiting);
    }
    for (auto& cb : callbacks) cb(r);
  }

  // Answers `done` now if the outcome is committed, else at the commit.
  void Answer(ProcessedCallback done) {
    if (!done) return;
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (!committed) {
        waiting.push_back(std::move(done));
        return;
      }
    }
    done(result);
  }
};

// State the store's commit callbacks touch; shared so callbacks that run after
// the runtime stopped stay safe.
struct Shared {
  std::mutex mutex;
  std::set<store::MessageId> in_flight;  // outcome queued, not yet committed
  std::atomic<std::uint64_t> processed{0}, filtered{0}, errored{0}, queued{0};
};

}  // namespace

struct ChannelRuntime::Impl {
  store::Store* store = nullptr;
  ChannelConfig config;
  std::shared_ptr<const Tables> tables;
  ChannelRuntimeOptions options;
  std::unique_ptr<Pipeline> pipeline;
  struct Dest {
    std::string name;
    std::unique_ptr<Pipeline> pipeline;
    std::unique_ptr<internal::Dispatcher> dispatcher;
  };
  std::vector<Dest> dests;
  std::shared_ptr<Shared> shared = std::make_shared<Shared>();

  // Live queue, fed by Submit.
  std::mutex mutex;
  std::condition_variable cv;
  std::deque<PendingMessage> live;
  bool stopping = false;
  bool paused = false;
  bool poke = false;
  bool overflowed = false;  // Submit dropped messages: poll the whole backlog
  std::thread worker;
  bool started = false;

  // Worker thread only: outcomes of messages the poll took before their live
  // copy arrived (the live copy's callback is then answered from here).
  std::map<store::MessageId, std::shared_ptr<PollOutcome>> handled_by_poll;
  bool flushed = false;  // Stop: our outcomes are committed

  // Worker thread only: outcomes run but not yet handed to the store. The
  // worker runs every message waiting in the live queue (up to kMaxOutbox)
  // and records their outcomes in ONE store operation: one hand-off to the
  // writer and one commit callback per run instead of one per message. The
  // messages are in `in_flight` meanwhile, so a poll does not run them again.
  std::vector<store::ProcessingOutcome> outbox;
  std::vector<store::Store::ProcessingCallback> outbox_done;
  void FlushOutbox();

  void Run() {
    RunLoop();
    FlushOutbox();  // on every way out: nothing run stays unrecorded
  }
  void RunLoop();
  // Reads the ids of `received` rows and processes them merged with the live
  // queue, in id order. `full`: every page, else the first one. False when
  // stopping.
  bool Poll(bool full);
  // Pops and runs the live messages with an id below `id`; the live copy of
  // `id` itself, if it is the head, goes to *same. False when stopping.
  bool DrainLiveBelow(store::MessageId id, std::optional<PendingMessage>* same);
  // A live message: run it, or answer it from the poll that already ran it.
  void TakeLive(PendingMessage m);
  ProcessedResult Process(store::MessageId id, std::string raw, const MessageContext& context,
                          ProcessedCallback done);
  void Remember(store::MessageId id, std::shared_ptr<PollOutcome> outcome) {
    handled_by_poll[id] = std::move(outcome);
    while (handled_by_poll.size() > kMaxRemembered) {
      // Forgotten entries still answer anyone waiting, at their commit.
      handled_by_poll.erase(handled_by_poll.begin());
    }
  }
};

Result<std::unique_ptr<ChannelRuntime>> ChannelRuntime::Create(store::Store* store,
                                                               const ChannelConfig& config,
                                                               std::shared_ptr<const Tables> tables,
                                                               const DestinationEnv& env,
                                                               ChannelRuntimeOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->store = store;
  impl->config = config;
  impl->tables = tables;
  impl->options = options;
  auto pipeline = Pipeline::Compile(config.pipeline, tables, options.lua);
  if (!pipeline.ok()) {
    return Status::Invalid("channel " + config.name + ": " + pipeline.status().message());
  }
  impl->pipeline = std::move(pipeline).value();
  for (const DestinationConfig& d : config.destinations) {
    Impl::Dest dest;
    dest.name = d.name;
    auto p = Pipeline::Compile(d.pipeline, tables, options.lua);
    if (!p.ok()) {
      return Status::Invalid("channel " + config.name + ": destination " + d.name + ": " +
                             p.status().message());
    }
    dest.pipeline = std::move(p).value();
    auto made = MakeDestination(d, config.name, env);
    if (!made.ok()) return made.status();
    dest.dispatcher = std::make_unique<internal::Dispatcher>(store, config.name, d,
                                                             std::move(made).value(), options.page);
    impl->dests.push_back(std::move(dest));
  }
  return std::unique_ptr<ChannelRuntime>(new ChannelRuntime(std::move(impl)));
}

ChannelRuntime::ChannelRuntime(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ChannelRuntime::~ChannelRuntime() {
  std::vector<PendingMessage> left = Stop();
  // Nobody takes them over: answer so no sender waits forever. They stay
  // `received` in the store and are processed at the next start.
  for (PendingMessage& m : left) {
    if (m.done) m.done({ProcessedResult::Kind::kAccepted, ""});
  }
}

void ChannelRuntime::Start() {
  if (impl_->started) return;
  impl_->started = true;
  for (auto& d : impl_->dests) d.dispatcher->Start();
  impl_->worker = std::thread([impl = impl_.get()] { impl->Run(); });
}

std::vector<PendingMessage> ChannelRuntime::Stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->worker.joinable()) impl_->worker.join();
  for (auto& d : impl_->dests) d.dispatcher->Stop();
  if (impl_->started && !impl_->flushed) {
    // A successor (reload) reads the store next: it must not find our
    // outcomes still uncommitted (it would run those messages again) nor our
    // last attempts unrecorded (it would resend them). Fails at once, without
    // harm, on the store's writer thread.
    impl_->flushed = true;
    Status flushed = impl_->store->Flush();
    if (!flushed.ok()) {
      spdlog::debug("channel {}: flush at stop: {}", impl_->config.name, flushed.message());
    }
  }
  std::deque<PendingMessage> live;
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    live.swap(impl_->live);
  }
  std::vector<PendingMessage> left;
  for (PendingMessage& m : live) {
    // The poll already ran it: answer at its commit, do not hand it over to
    // be run again (its second outcome would be refused and answered AE).
    auto known = impl_->handled_by_poll.find(m.id);
    if (known != impl_->handled_by_poll.end()) {
      known->second->Answer(std::move(m.done));
      impl_->handled_by_poll.erase(known);
      continue;
    }
    left.push_back(std::move(m));
  }
  return left;
}

void ChannelRuntime::Adopt(std::vector<PendingMessage> messages) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  // They were submitted before anything queued since: they go first.
  for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
    impl_->live.push_front(std::move(*it));
  }
}

void ChannelRuntime::Submit(store::MessageId id, std::string raw, ProcessedCallback done) {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    if (impl_->live.size() >= impl_->options.max_live_queue && !done) {
      impl_->overflowed = true;  // stored as received: the poll finds it
    } else {
      impl_->live.push_back({id, std::move(raw), std::move(done)});
    }
  }
  impl_->cv.notify_one();
}

void ChannelRuntime::Poke() {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->poke = true;
  }
  impl_->cv.notify_one();
}

const std::string& ChannelRuntime::name() const { return impl_->config.name; }
const ChannelConfig& ChannelRuntime::config() const { return impl_->config; }

ChannelStats ChannelRuntime::stats() const {
  ChannelStats s;
  s.name = impl_->config.name;
  s.processed = impl_->shared->processed.load();
  s.filtered = impl_->shared->filtered.load();
  s.errored = impl_->shared->errored.load();
  s.queued = impl_->shared->queued.load();
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    s.paused = impl_->paused;
  }
  for (const auto& d : impl_->dests) s.destinations.push_back(d.dispatcher->stats());
  return s;
}

void ChannelRuntime::SetPaused(bool paused) {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->paused = paused;
    if (!paused) impl_->poke = true;
  }
  impl_->cv.notify_all();
}

Status ChannelRuntime::SetDestinationPaused(const std::string& destination, bool paused) {
  for (auto& d : impl_->dests) {
    if (d.name == destination) {
      d.dispatcher->SetPaused(paused);
      return Status::Ok();
    }
  }
  return Status::NotFound("channel " + impl_->config.name + " has no destination " + destination);
}

// Order: messages are run in id order (= commit order = arrival order). The
// live queue is in that order; rows the poll finds (a restart's backlog, a
// live-queue overflow, messages handed over by a reload, or rows whose live
// copy is still on its way) are merged into it by id, never run ahead of a
// lower id still waiting in the live queue. Reprocessed messages (old ids)
// are run when the poll finds them.
void ChannelRuntime::Impl::RunLoop() {
  auto next_poll = std::chrono::steady_clock::now();
  // At start (restart recovery) and after a reload's handover, stored rows
  // may precede what waits in the live queue: a full poll comes first.
  bool catch_up = true;
  while (true) {
    bool poll = false;
    bool full = false;
    {
      std::unique_lock<std::mutex> lock(mutex);
      cv.wait_until(lock, next_poll,
                    [&] { return stopping || (!paused && (!live.empty() || poke)); });
      if (stopping) return;
      if (paused) {
        next_poll = std::chrono::steady_clock::now() + options.poll_interval;
        continue;
      }
      const auto now = std::chrono::steady_clock::now();
      if (catch_up || poke || overflowed || now >= next_poll) {
        poll = true;
        // A full scan when idle, after an overflow, on a poke or at start;
        // under load one page, to find reprocessed messages without reading
        // the live backlog every second.
        full = catch_up || poke || overflowed || live.empty();
        poke = false;
        overflowed = false;
        next_poll = now + options.poll_interval;
      }
    }
    if (poll) {
      const bool go_on = Poll(full);
      FlushOutbox();
      if (!go_on) return;
      catch_up = false;
    }
    // The live queue, in order, until it is empty or a poll is due. After an
    // overflow the dropped messages precede what is queued now: poll first.
    while (true) {
      PendingMessage m;
      {
        std::lock_guard<std::mutex> lock(mutex);
        if (stopping) return;
        if (live.empty() || paused || poke || overflowed) break;
        m = std::move(live.front());
        live.pop_front();
      }
      TakeLive(std::move(m));
      if (std::chrono::steady_clock::now() >= next_poll) break;
    }
    FlushOutbox();
  }
}

void ChannelRuntime::Impl::FlushOutbox() {
  if (outbox.empty()) return;
  std::vector<store::ProcessingOutcome> outcomes;
  std::vector<store::Store::ProcessingCallback> done;
  outcomes.swap(outbox);
  done.swap(outbox_done);
  outbox.reserve(kMaxOutbox);
  outbox_done.reserve(kMaxOutbox);
  if (outcomes.size() == 1) {
    Status queued = store->RecordProcessing(std::move(outcomes[0]), done[0]);
    if (!queued.ok()) done[0](queued);
    return;
  }
  // Every callback is called, also when the store refuses (see store.h).
  (void)store->RecordProcessingBatch(std::move(outcomes), std::move(done));
}

void ChannelRuntime::Impl::TakeLive(PendingMessage m) {
  auto known = handled_by_poll.find(m.id);
  if (known != handled_by_poll.end()) {
    known->second->Answer(std::move(m.done));
    handled_by_poll.erase(known);
    return;
  }
  MessageContext context;
  context.message_id = m.id;
  context.channel = config.name;
  Process(m.id, std::move(m.raw), context, std::move(m.done));
}

bool ChannelRuntime::Impl::DrainLiveBelow(store::MessageId id,
                                          std::optional<PendingMessage>* same) {
  while (true) {
    PendingMessage m;
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (stopping) return false;
      if (live.empty() || live.front().id > id) return true;
      m = std::move(live.front());
      live.pop_front();
    }
    if (m.id == id) {
      *same = std::move(m);
      return true;
    }
    TakeLive(std::move(m));
  }
}

bool ChannelRuntime::Impl::Poll(bool full) {
  store::MessageId after = 0;
  while (true) {
    // Taken before the read: a row read as `received` that we already ran is
    // in this set (its outcome is not committed yet), so it is not run twice.
    std::set<store::MessageId> in_flight;
    {
      std::lock_guard<std::mutex> lock(shared->mutex);
      in_flight = shared->in_flight;
    }
    auto ids = store->ListIdsForProcessing(config.name, after, options.page);
    if (!ids.ok()) {
      spdlog::error("channel {}: reading waiting messages failed: {}", config.name,
                    ids.status().message());
      return true;
    }
    for (store::MessageId id : *ids) {
      after = id;
      std::optional<PendingMessage> same;
      if (!DrainLiveBelow(id, &same)) return false;
      if (same) {
        TakeLive(std::move(*same));
        continue;
      }
      if (in_flight.count(id) != 0) continue;
      auto row = store->Get(id);
      if (!row.ok() || row->state != store::MessageState::kReceived) {
        if (!row.ok() && row.status().code() != StatusCode::kNotFound) {
          spdlog::error("channel {}: reading message {} failed: {}", config.name, id,
                        row.status().message());
        }
        continue;  // pruned or run meanwhile
      }
      MessageContext context;
      context.message_id = id;
      context.channel = config.name;
      context.peer = row->peer;
      context.received_at_us = row->received_at_us;
      auto outcome = std::make_shared<PollOutcome>();
      Remember(id, outcome);
      Process(id, std::move(row->raw), context,
              [outcome](const ProcessedResult& result) { outcome->Committed(result); });
    }
    if (!full || ids->size() < options.page) return true;
  }
}

ProcessedResult ChannelRuntime::Impl::Process(store::MessageId id, std::string raw,
                                              const MessageContext& context,
                                              ProcessedCallback done) {
  store::ProcessingOutcome out;
  out.id = id;
  ProcessedResult result;
  std::vector<std::size_t> woken;  // destinations with a queued delivery

  auto parsed = hl7::Message::Parse(std::string_view(raw));
  if (!parsed.ok()) {
    out.state = store::MessageState::kError;
    out.error = "parse: " + parsed.status().ToString();
    result = {ProcessedResult::Kind::kError, out.error};
  } else {
    hl7::Message& message = *parsed;
    const StageResult stage = pipeline->Run(&message, context);
    if (stage.kind == StageResult::Kind::kFiltered) {
      out.state = store::MessageState::kFiltered;
      out.error = stage.reason;
      result = {ProcessedResult::Kind::kFiltered, stage.reason};
    } else if (stage.kind == StageResult::Kind::kError) {
      out.state = store::MessageState::kError;
      out.error = stage.reason;
      result = {ProcessedResult::Kind::kError, stage.reason};
    } else {
      std::string transformed = message.modified() ? message.Encode() : std::string();
      bool any_queued = false;
      std::string first_error;
      for (std::size_t i = 0; i < dests.size(); ++i) {
        store::NewDelivery d;
        d.destination = dests[i].name;
        if (!dests[i].pipeline->empty()) {
          hl7::Message copy = message;
          MessageContext dest_context = context;
          dest_context.destination = dests[i].name;
          const StageResult r = dests[i].pipeline->Run(&copy, dest_context);
          if (r.kind == StageResult::Kind::kFiltered) {
            d.state = store::DeliveryState::kFiltered;
            d.error = r.reason;
          } else if (r.kind == StageResult::Kind::kError) {
            d.state = store::DeliveryState::kError;
            d.error = r.reason;
            if (first_error.empty()) first_error = "destination " + d.destination + ": " + r.reason;
          } else if (copy.modified()) {
            std::string payload = copy.Encode();
            const std::string_view base =
                transformed.empty() ? std::string_view(raw) : std::string_view(transformed);
            if (payload != base) {
              d.payload = std::move(payload);
              d.has_payload = true;
            }
          }
        }
        if (d.state == store::DeliveryState::kQueued) {
          any_queued = true;
          woken.push_back(i);
        }
        out.deliveries.push_back(std::move(d));
      }
      if (!transformed.empty() && transformed != raw) {
        out.transformed = std::move(transformed);
        out.has_transformed = true;
      }
      out.state = any_queued             ? store::MessageState::kQueued
                  : !first_error.empty() ? store::MessageState::kError
                                         : store::MessageState::kProcessed;
      if (!first_error.empty()) {
        out.error = first_error;
        result = {ProcessedResult::Kind::kError, first_error};
      }
    }
  }

  Shared& s = *shared;
  s.processed.fetch_add(1, std::memory_order_relaxed);
  if (out.state == store::MessageState::kFiltered)
    s.filtered.fetch_add(1, std::memory_order_relaxed);
  if (result.kind == ProcessedResult::Kind::kError) {
    s.errored.fetch_add(1, std::memory_order_relaxed);
    spdlog::info("channel {}: message {} in error: {}", config.name, id, out.error);
  }
  s.queued.fetch_add(woken.size(), std::memory_order_relaxed);

  std::vector<std::shared_ptr<internal::Waker>> wakers;
  for (std::size_t i : woken) wakers.push_back(dests[i].dispatcher->waker());
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    s.in_flight.insert(id);
  }
  auto shared_state = shared;
  auto on_commit = [shared_state, id, wakers = std::move(wakers), result, done,
                    channel = config.name](Result<std::vector<store::DeliveryId>> r) {
    {
      std::lock_guard<std::mutex> lock(shared_state->mutex);
      shared_state->in_flight.erase(id);
    }
    ProcessedResult answer = result;
    if (!r.ok()) {
      spdlog::error("channel {}: message {}: recording the outcome failed: {}", channel, id,
                    r.status().message());
      answer = {ProcessedResult::Kind::kError, "outcome not recorded: " + r.status().message()};
    } else {
      for (const auto& w : wakers) w->Wake();
    }
    if (done) done(answer);
  };
  outbox.push_back(std::move(out));
  outbox_done.push_back(std::move(on_commit));
  if (outbox.size() >= kMaxOutbox) FlushOutbox();
  return result;
}

}  // namespace junction::engine
