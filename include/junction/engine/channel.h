// The channel runtime: runs a channel's filter and transform on each stored
// message and delivers it through durable per-destination queues.
//
//   auto runtime = ChannelRuntime::Create(store, channel_config, config.tables, env);
//   (*runtime)->Start();
//   (*runtime)->Submit(id, raw, done);   // from the ingest commit callback
//   ...
//   std::vector<PendingMessage> left = (*runtime)->Stop();   // e.g. on reload
//
// One worker thread per channel takes stored messages (live from Submit, and
// by polling the store for messages in state `received`: after a restart, a
// reprocess, or when the live queue overflowed). For each it parses, runs the
// channel pipeline, then each destination's own pipeline, and records the
// outcome and the delivery rows in one store transaction (RecordProcessing).
// Only after that commit is `done` called and the destinations woken.
//
// One dispatcher thread per destination reads the head of its queue from the
// store (ListQueued, in id order) and delivers:
//   - strict ordering: the head is retried (exponential backoff with jitter,
//     up to retry.max_backoff) until it is sent or permanently rejected; the
//     queue waits behind it ("blocked"); max_attempts does not apply.
//   - best-effort: a failing message is set aside for its next attempt and
//     later messages go on; after max_attempts it ends in error.
// Every attempt is recorded (UpdateDelivery). A crash between a send and its
// record makes the message go again after restart: at-least-once delivery.
// Memory stays flat however long a destination is down: queues live on disk
// and only one page (<= 256 rows) is read at a time.
//
// Ownership: borrows the store (must outlive the runtime). Thread safety:
// Submit and the stats from any thread; Start/Stop from one thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "junction/engine/config.h"
#include "junction/engine/destination.h"
#include "junction/engine/ingest.h"
#include "junction/engine/rules.h"
#include "junction/store/store.h"

namespace junction::engine {

// A message handed to a runtime and not yet processed.
struct PendingMessage {
  store::MessageId id = 0;
  std::string raw;
  ProcessedCallback done;
};

struct ChannelRuntimeOptions {
  std::size_t max_live_queue = 10'000;            // beyond this, Submit leaves it to polling
  std::chrono::milliseconds poll_interval{1000};  // store poll for `received` messages
  std::size_t page = 256;                         // rows read per store query
  LuaLimits lua;
};

struct DestinationStats {
  std::string name;
  std::uint64_t sent = 0;
  std::uint64_t failed = 0;   // ended in error
  std::uint64_t retries = 0;  // failed attempts that will be retried
  bool blocked = false;       // strict queue waiting behind a failing head
  bool paused = false;        // SetDestinationPaused: the queue holds
  std::string last_error;
};

struct ChannelStats {
  std::string name;
  std::uint64_t processed = 0;  // outcomes recorded
  std::uint64_t filtered = 0;
  std::uint64_t errored = 0;  // parse/filter/transform errors
  std::uint64_t queued = 0;   // deliveries queued
  bool paused = false;        // SetPaused: messages wait as received
  std::vector<DestinationStats> destinations;
};

class ChannelRuntime {
 public:
  // Compiles the pipelines and builds the destinations. kInvalidArgument
  // naming the channel/destination when that fails.
  static Result<std::unique_ptr<ChannelRuntime>> Create(store::Store* store,
                                                        const ChannelConfig& config,
                                                        std::shared_ptr<const Tables> tables,
                                                        const DestinationEnv& env,
                                                        ChannelRuntimeOptions options = {});
  ~ChannelRuntime();
  ChannelRuntime(const ChannelRuntime&) = delete;
  ChannelRuntime& operator=(const ChannelRuntime&) = delete;

  void Start();
  // Stops the threads (the message and deliveries in hand finish first) and
  // returns the live messages not yet processed, with their callbacks, so a
  // replacement runtime can take them (Adopt). Their rows stay `received`.
  std::vector<PendingMessage> Stop();
  // Takes messages from a runtime that was stopped (before Start).
  void Adopt(std::vector<PendingMessage> messages);

  // Non-blocking; see the file comment.
  void Submit(store::MessageId id, std::string raw, ProcessedCallback done);
  // Wakes the worker to poll the store now (e.g. after a reprocess).
  void Poke();
  // Paused: the worker processes nothing (messages wait in state received;
  // after-processing ACKs wait too); resuming polls the store at once.
  void SetPaused(bool paused);
  // kNotFound for an unknown destination.
  Status SetDestinationPaused(const std::string& destination, bool paused);

  const std::string& name() const;
  const ChannelConfig& config() const;
  ChannelStats stats() const;

 private:
  struct Impl;
  explicit ChannelRuntime(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The delay before attempt `attempt` + 1 (attempt >= 1): initial * 2^(attempt-1),
// capped at max, then scaled by a random factor in [0.5, 1] (jitter).
std::chrono::milliseconds RetryDelay(const RetryConfig& retry, int attempt, double unit_random);

}  // namespace junction::engine
