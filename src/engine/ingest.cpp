// MLLP ingest: parse the header, store, ACK from the commit callback.
//
// The ACK for the expected outcome is built on the I/O thread before Append, so
// the store's writer thread (which runs the callbacks, one after another) only
// hands over ready bytes. Only the rare failure paths build a NAK there.
#include "junction/engine/ingest.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "junction/hl7/ack.h"
#include "junction/hl7/validate.h"

namespace junction::engine {
namespace {

// Cuts `s` to at most `max` bytes without splitting a UTF-8 sequence.
void CutUtf8(std::string* s, std::size_t max) {
  if (s->size() <= max) return;
  std::size_t end = max;
  while (end > 0 && (static_cast<unsigned char>((*s)[end]) & 0xC0) == 0x80) --end;
  s->resize(end);
}

std::string Meta(std::string_view value) {
  std::string out(value);
  CutUtf8(&out, store::kMaxMetadataFieldBytes);
  return out;
}

// First repetition of MSH field `field`, raw ("" when absent).
std::string_view HeaderField(const hl7::Message& m, int field, char repetition) {
  const std::string_view raw = m.FieldRaw(0, field).value_or(std::string_view());
  return raw.substr(0, raw.find(repetition));
}

// The NAK for a message that was not stored: AR/CR with ERR 207, built from the
// MSH line alone so it needs no parsed message.
std::string NotStoredNak(std::string_view msh_line, std::string_view reason,
                         const std::string& application) {
  hl7::AckOptions o;
  o.application = application;
  o.errors.push_back({"", hl7::error_code::kApplicationInternalError, hl7::ErrorSeverity::kError,
                      std::string(reason)});
  return hl7::MakeNakForUnparseable(msh_line, reason, o);
}

// Calls `reply` and drops it (and the connection it holds) at once: a store
// callback object lives on in the writer's batch after it ran, and must not
// keep a connection alive until then.
void SendAndRelease(mllp::Handler::Reply& reply, std::string payload) {
  mllp::Handler::Reply r = std::move(reply);
  reply = nullptr;
  if (r) r(std::move(payload));
}

bool IsStoreBusy(const Status& s) { return s.code() == StatusCode::kOutOfRange; }

// The AE/CE for a stored message the channel could not process, built from
// its MSH line (the reply needs no more than the header).
std::string ProcessingNak(std::string_view msh_line, const std::string& reason,
                          const std::string& application) {
  hl7::AckOptions o;
  o.application = application;
  o.outcome = hl7::AckOutcome::kError;
  o.text = "message stored but not processed";
  o.errors.push_back({"", hl7::error_code::kApplicationInternalError, hl7::ErrorSeverity::kError,
                      reason.substr(0, 200)});
  auto header = hl7::Message::Parse(msh_line);
  if (header.ok()) {
    auto made = hl7::MakeAckText(*header, o);
    if (made.ok()) return std::move(made).value();
  }
  return hl7::MakeNakForUnparseable(msh_line, reason, o);
}

}  // namespace

std::string PeerAddress(const mllp::PeerInfo& peer) {
  if (peer.address.find(':') != std::string::npos) {
    return "[" + peer.address + "]:" + std::to_string(peer.port);
  }
  return peer.address + ":" + std::to_string(peer.port);
}

void ExtractMetadata(const hl7::Message& m, store::IncomingMessage* out) {
  const char rep = m.delimiters().repetition;
  out->control_id = Meta(m.ControlId());
  out->message_type = Meta(m.MessageCode());
  out->trigger_event = Meta(m.TriggerEvent());
  out->message_structure = Meta(m.StructureId());
  out->version = Meta(m.Version());
  out->sending_application = Meta(HeaderField(m, 3, rep));
  out->sending_facility = Meta(HeaderField(m, 4, rep));
  out->receiving_application = Meta(HeaderField(m, 5, rep));
  out->receiving_facility = Meta(HeaderField(m, 6, rep));
  static const hl7::Path kPatientId = *hl7::Path::Parse("PID-3.1");
  out->patient_id = Meta(m.GetDecoded(kPatientId).value_or(std::string()));
}

IngestHandler::IngestHandler(store::Store* store, IngestOptions options)
    : store_(store), options_(std::move(options)) {}

void IngestHandler::Counters::RecordLatency(std::chrono::steady_clock::duration d) {
  const double seconds = std::chrono::duration<double>(d).count();
  std::size_t bucket = 0;
  while (bucket < std::size(kAckLatencyBounds) && seconds > kAckLatencyBounds[bucket]) ++bucket;
  latency_buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  latency_count.fetch_add(1, std::memory_order_relaxed);
  latency_sum_ns.fetch_add(static_cast<std::uint64_t>(std::chrono::nanoseconds(d).count()),
                           std::memory_order_relaxed);
}

IngestStats IngestHandler::stats() const {
  IngestStats s;
  s.messages = counters_->messages.load();
  s.stored = counters_->stored.load();
  s.duplicates = counters_->duplicates.load();
  s.invalid = counters_->invalid.load();
  s.rejected = counters_->rejected.load();
  for (std::size_t i = 0; i < kAckLatencyBucketCount; ++i) {
    s.ack_latency_buckets[i] = counters_->latency_buckets[i].load(std::memory_order_relaxed);
  }
  s.ack_latency_count = counters_->latency_count.load(std::memory_order_relaxed);
  s.ack_latency_sum_s =
      static_cast<double>(counters_->latency_sum_ns.load(std::memory_order_relaxed)) / 1e9;
  return s;
}

void IngestHandler::OnMessage(const mllp::PeerInfo& peer, std::string payload, Reply reply) {
  counters_->messages.fetch_add(1, std::memory_order_relaxed);
  // Every answer is timed (the ACK latency histogram).
  reply = [counters = counters_, start = std::chrono::steady_clock::now(),
           inner = std::move(reply)](std::string answer) {
    counters->RecordLatency(std::chrono::steady_clock::now() - start);
    inner(std::move(answer));
  };
  auto parsed = hl7::Message::Parse(std::string_view(payload));
  if (!parsed.ok()) {
    HandleUnparseable(peer, std::move(payload), parsed.status(), std::move(reply));
    return;
  }
  const hl7::Message& msg = *parsed;
  // With ack: never a refusal could not be heard: the message is stored (and waits).
  if (counters_->refusing.load(std::memory_order_relaxed) && options_.ack != AckPolicy::kNever) {
    counters_->rejected.fetch_add(1, std::memory_order_relaxed);
    hl7::AckOptions refuse;
    refuse.application = options_.application;
    refuse.outcome = hl7::AckOutcome::kReject;
    refuse.text =
        "channel " + options_.channel + " is stopped: message not stored, send it again later";
    refuse.errors.push_back(
        {"", hl7::error_code::kApplicationInternalError, hl7::ErrorSeverity::kError, refuse.text});
    auto made = hl7::MakeAckText(msg, refuse);
    reply(made.ok() ? std::move(made).value() : hl7::MakeNakForUnparseable(payload, refuse.text));
    return;
  }

  store::IncomingMessage in;
  ExtractMetadata(msg, &in);
  in.channel = options_.channel;
  in.peer = PeerAddress(peer);

  hl7::AckOptions ack_options;
  ack_options.application = options_.application;
  std::string error_text;  // stored with status error
  int error_count = 0;
  if (options_.validate) {
    const hl7::ValidationReport report = hl7::Validate(msg);
    if (!report.ok()) {
      error_count = report.errors();
      ack_options.outcome = hl7::AckOutcome::kError;
      ack_options.text = "message failed validation: " + std::to_string(error_count) +
                         (error_count == 1 ? " error" : " errors");
      error_text = "validation failed:";
      for (const hl7::Finding& f : report.findings) {
        if (f.severity != hl7::Severity::kError) continue;
        if (ack_options.errors.size() < options_.max_ack_errors) {
          ack_options.errors.push_back({f.path, f.code, hl7::ErrorSeverity::kError, f.message});
        }
        if (error_text.size() < store::kMaxErrorTextBytes) {
          error_text += " " + (f.path.empty() ? std::string("(message)") : f.path) + " " +
                        std::to_string(f.code) + " " + f.message + ";";
        }
      }
      if (report.truncated) error_text += " (more findings not shown)";
      in.state = store::MessageState::kError;
    }
  }

  std::string ack;
  if (options_.ack != AckPolicy::kNever && (hl7::ModeFor(msg) == hl7::AckMode::kOriginal ||
                                            hl7::ShouldSendAcceptAck(msg, ack_options.outcome))) {
    auto made = hl7::MakeAckText(msg, ack_options);
    ack = made.ok() ? std::move(made).value()
                    : hl7::MakeNakForUnparseable(payload, made.status().message());
  }
  const bool send_nak = options_.ack != AckPolicy::kNever;
  std::string msh_line(msg.SegmentText(0));
  msh_line.push_back('\r');
  in.raw = std::move(payload);
  const bool invalid = in.state == store::MessageState::kError;
  const std::uint64_t connection = peer.connection_id;

  auto counters = counters_;
  store::Store* store = store_;
  const std::string& channel = options_.channel;
  MessageSink* sink = invalid ? nullptr : options_.sink;
  const bool after_processing = options_.ack == AckPolicy::kAfterProcessing && sink != nullptr;
  std::string raw_copy = sink != nullptr ? in.raw : std::string();
  Status queued = store_->Append(
      std::move(in), [counters, store, reply, ack = std::move(ack), msh_line,
                      error_text = std::move(error_text), invalid, error_count, send_nak, channel,
                      connection, sink, after_processing, raw_copy = std::move(raw_copy),
                      application = options_.application](Result<store::AppendResult> r) mutable {
        if (!r.ok()) {
          counters->rejected.fetch_add(1, std::memory_order_relaxed);
          spdlog::error("channel {}: connection {}: message not stored: {}", channel, connection,
                        r.status().message());
          SendAndRelease(reply, send_nak ? NotStoredNak(msh_line, "message not stored: store error",
                                                        application)
                                         : std::string());
          return;
        }
        if (r->duplicate) {
          counters->duplicates.fetch_add(1, std::memory_order_relaxed);
          spdlog::debug("channel {}: connection {}: duplicate of message {}, ACKed again", channel,
                        connection, r->id);
          SendAndRelease(reply, std::move(ack));
          return;
        }
        counters->stored.fetch_add(1, std::memory_order_relaxed);
        if (!invalid && after_processing) {
          auto shared_reply = std::make_shared<Reply>(std::move(reply));
          reply = nullptr;
          sink->Submit(channel, r->id, std::move(raw_copy),
                       [shared_reply, ack = std::move(ack), msh_line, send_nak,
                        application](const ProcessedResult& result) mutable {
                         if (result.kind != ProcessedResult::Kind::kError) {
                           SendAndRelease(*shared_reply, std::move(ack));
                         } else {
                           SendAndRelease(*shared_reply,
                                          send_nak
                                              ? ProcessingNak(msh_line, result.reason, application)
                                              : std::string());
                         }
                       });
          return;
        }
        if (!invalid) {
          SendAndRelease(reply, std::move(ack));
          if (sink != nullptr) sink->Submit(channel, r->id, std::move(raw_copy), nullptr);
          return;
        }
        counters->invalid.fetch_add(1, std::memory_order_relaxed);
        spdlog::info("channel {}: message {} stored with status error: {} validation error(s)",
                     channel, r->id, error_count);
        // The row is already durable with status error; the reason follows in
        // the next commit, and the AE waits for it so readers see both.
        auto shared_reply = std::make_shared<Reply>(std::move(reply));
        auto shared_ack = std::make_shared<std::string>(std::move(ack));
        Status s = store->UpdateStatus(r->id, store::MessageState::kError, std::move(error_text),
                                       [shared_reply, shared_ack](Status) {
                                         SendAndRelease(*shared_reply, std::move(*shared_ack));
                                       });
        if (!s.ok()) SendAndRelease(*shared_reply, std::move(*shared_ack));
      });
  if (!queued.ok()) {
    counters_->rejected.fetch_add(1, std::memory_order_relaxed);
    const std::uint64_t n = counters_->rejected.load(std::memory_order_relaxed);
    const std::string reason =
        IsStoreBusy(queued) ? "store busy, retry later" : "message not stored: " + queued.message();
    if (n == 1 || n % 1000 == 0) {
      spdlog::warn("channel {}: connection {}: message refused by the store ({} so far): {}",
                   options_.channel, connection, n, queued.message());
    }
    reply(send_nak ? NotStoredNak(msh_line, reason, options_.application) : std::string());
  }
}

void IngestHandler::HandleUnparseable(const mllp::PeerInfo& peer, std::string payload,
                                      const Status& error, Reply reply) {
  const std::string reason = "unparseable message: " + error.ToString();
  std::string nak;
  if (options_.ack != AckPolicy::kNever) {
    hl7::AckOptions o;
    o.application = options_.application;
    nak = hl7::MakeNakForUnparseable(payload, reason, o);
  }
  spdlog::info("channel {}: connection {} from {}: {}", options_.channel, peer.connection_id,
               PeerAddress(peer), error.ToString());
  store::IncomingMessage in;
  in.raw = std::move(payload);
  in.channel = options_.channel;
  in.peer = PeerAddress(peer);
  in.state = store::MessageState::kError;
  auto counters = counters_;
  store::Store* store = store_;
  auto shared_reply = std::make_shared<Reply>(std::move(reply));
  auto shared_nak = std::make_shared<std::string>(std::move(nak));
  // Kept (never lost) with status error and the reason; the NAK follows the commit.
  Status queued = store_->Append(std::move(in), [counters, store, shared_reply, shared_nak,
                                                 reason](Result<store::AppendResult> r) {
    if (!r.ok()) {
      counters->rejected.fetch_add(1, std::memory_order_relaxed);
      SendAndRelease(*shared_reply, std::move(*shared_nak));
      return;
    }
    counters->stored.fetch_add(1, std::memory_order_relaxed);
    counters->invalid.fetch_add(1, std::memory_order_relaxed);
    Status s = store->UpdateStatus(r->id, store::MessageState::kError, reason,
                                   [shared_reply, shared_nak](Status) {
                                     SendAndRelease(*shared_reply, std::move(*shared_nak));
                                   });
    if (!s.ok()) SendAndRelease(*shared_reply, std::move(*shared_nak));
  });
  if (!queued.ok()) {
    counters_->rejected.fetch_add(1, std::memory_order_relaxed);
    SendAndRelease(*shared_reply, std::move(*shared_nak));
  }
}

std::string IngestHandler::OnFrameError(const mllp::PeerInfo& peer, const Status& error,
                                        std::string_view frame_head) {
  counters_->rejected.fetch_add(1, std::memory_order_relaxed);
  spdlog::warn("channel {}: connection {} from {}: frame rejected: {}", options_.channel,
               peer.connection_id, PeerAddress(peer), error.message());
  if (options_.ack == AckPolicy::kNever) return {};
  hl7::AckOptions o;
  o.application = options_.application;
  return hl7::MakeNakForUnparseable(frame_head, "frame rejected: " + error.message(), o);
}

}  // namespace junction::engine
