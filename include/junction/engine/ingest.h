// Durable MLLP ingest: the mllp::Handler that stores each message and only then
// acknowledges it.
//
//   auto store = *store::Store::Open(store_options);
//   auto ingest = std::make_shared<IngestHandler>(
//       store.get(), IngestOptions{.channel = "inbound", .validate = true});
//   mllp::Server server(2);
//   server.AddListener({.name = "inbound", .port = 2575}, ingest);
//
// For each frame: parse the header (Message::Parse only indexes), read the
// metadata (MSH-3..6, MSH-9, MSH-10, MSH-12, PID-3.1), optionally validate, and
// Append the raw bytes to the store. The ACK is sent from the store's commit
// callback, so AA/CA means "committed and fsync'd".
//
//   outcome                              ACK                stored as
//   stored (or a known duplicate)        AA / CA            received (duplicate: not again)
//   validate: true and errors found      AE / CE + ERR      error, with the reasons
//   MSH does not parse                   AR / CR + ERR      error, with the reason
//   store refused or commit failed       AR / CR, ERR 207   not stored: the sender keeps it
//   frame over max_frame_bytes           AR / CR + ERR      not stored; connection closes
//
// Enhanced mode (CA/CE/CR) applies when MSH-15 or MSH-16 is valued; then an
// MSH-15 of NE/ER/SU is honoured. ack: never stores and sends nothing.
// With a sink, each newly stored valid message is submitted to it after the
// commit. ack: after-processing then waits for the channel: AA/CA when the
// message was transformed and queued or filtered, AE/CE (ERR 207, with the
// reason) when a transform failed.
// ACKs get unique control ids (hl7::NewControlId). Logs carry ids, counts, peer
// addresses and reasons only, never message content.
//
// Ownership: the handler borrows the store, which must outlive it and every
// pending callback. A pending callback holds the connection's reply, which
// needs the server's I/O context: stop the server, then close (or Flush) the
// store, and only then destroy the server (Engine::Stop does this). Thread
// safety: called concurrently from I/O threads; stats() from anywhere.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <iterator>
#include <string>
#include <string_view>

#include "junction/engine/config.h"
#include "junction/hl7/message.h"
#include "junction/mllp/server.h"
#include "junction/store/store.h"

namespace junction::engine {

// What the channel did with a stored message (for `ack: after-processing`).
struct ProcessedResult {
  enum class Kind {
    kAccepted,  // filtered or transformed and queued: AA/CA
    kFiltered,  // dropped on purpose by the channel filter: AA/CA
    kError,     // parse, filter or transform failed: AE/CE with the reason
  };
  Kind kind = Kind::kAccepted;
  std::string reason;
};
using ProcessedCallback = std::function<void(const ProcessedResult&)>;

// Where stored messages go next: the channel runtime (channel.h). Submit is
// called on the store's writer thread after the commit and must not block.
// `done` (may be empty) is called exactly once, from any thread, when the
// channel has processed the message and recorded the outcome.
class MessageSink {
 public:
  virtual ~MessageSink() = default;
  virtual void Submit(const std::string& channel, store::MessageId id, std::string raw,
                      ProcessedCallback done) = 0;
};

struct IngestOptions {
  std::string channel;  // stored with each message
  AckPolicy ack = AckPolicy::kAfterStore;
  bool validate = false;
  std::size_t max_ack_errors = 50;       // ERR segments per ACK (findings beyond are counted)
  std::string application = "JUNCTION";  // MSH-3 of ACKs when the message has no MSH-5
  // Stored messages (not duplicates, not invalid ones) are handed to it; with
  // ack: after-processing the ACK waits for its `done`. Borrowed; may be null.
  MessageSink* sink = nullptr;
};

// ACK latency histogram bounds (seconds, Prometheus style: bucket i counts
// answers that took at most kAckLatencyBounds[i]; one more bucket for +Inf).
inline constexpr double kAckLatencyBounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                               0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
inline constexpr std::size_t kAckLatencyBucketCount = std::size(kAckLatencyBounds) + 1;

struct IngestStats {
  std::uint64_t messages = 0;    // frames handled
  std::uint64_t stored = 0;      // committed (new rows)
  std::uint64_t duplicates = 0;  // committed earlier, ACKed again
  std::uint64_t invalid = 0;     // stored with status error (validation or bad MSH)
  std::uint64_t rejected = 0;    // not stored (store busy/failed, oversize frames, channel stopped)
  // Time from a complete frame to its answer (ACK or NAK).
  std::array<std::uint64_t, kAckLatencyBucketCount> ack_latency_buckets{};
  std::uint64_t ack_latency_count = 0;
  double ack_latency_sum_s = 0;
};

// The metadata the store keeps, read from the header (each field cut to the
// store's kMaxMetadataFieldBytes at a UTF-8 boundary). Leaves raw, channel and
// peer alone.
void ExtractMetadata(const hl7::Message& message, store::IncomingMessage* out);

class IngestHandler : public mllp::Handler {
 public:
  IngestHandler(store::Store* store, IngestOptions options);

  void OnMessage(const mllp::PeerInfo& peer, std::string payload, Reply reply) override;
  std::string OnFrameError(const mllp::PeerInfo& peer, const Status& error,
                           std::string_view frame_head) override;

  IngestStats stats() const;
  const std::string& channel() const { return options_.channel; }
  // A stopped channel refuses new messages with AR/CR ("channel stopped"):
  // nothing is stored, the sender keeps the message.
  void SetRefusing(bool refusing) { counters_->refusing.store(refusing); }
  bool refusing() const { return counters_->refusing.load(); }

 private:
  struct Counters {
    std::atomic<std::uint64_t> messages{0};
    std::atomic<std::uint64_t> stored{0};
    std::atomic<std::uint64_t> duplicates{0};
    std::atomic<std::uint64_t> invalid{0};
    std::atomic<std::uint64_t> rejected{0};
    std::atomic<bool> refusing{false};
    std::array<std::atomic<std::uint64_t>, kAckLatencyBucketCount> latency_buckets{};
    std::atomic<std::uint64_t> latency_count{0};
    std::atomic<std::uint64_t> latency_sum_ns{0};
    void RecordLatency(std::chrono::steady_clock::duration d);
  };
  void HandleUnparseable(const mllp::PeerInfo& peer, std::string payload, const Status& error,
                         Reply reply);

  store::Store* store_;
  IngestOptions options_;
  std::shared_ptr<Counters> counters_ = std::make_shared<Counters>();
};

// "127.0.0.1:53122" or "[::1]:53122".
std::string PeerAddress(const mllp::PeerInfo& peer);

}  // namespace junction::engine
