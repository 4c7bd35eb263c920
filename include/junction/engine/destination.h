// Destinations: where a channel delivers messages (MLLP, HTTP(S) POST, file,
// another channel), optionally converting to a FHIR Bundle first.
//
//   DestinationEnv env;
//   env.fhir = config.fhir;
//   env.submit_to_channel = [&](const std::string& channel, std::string raw) { ... };
//   auto dest = MakeDestination(channel.destinations[0], channel.name, env);
//   DeliveryOutcome o = (*dest)->Deliver(payload, {.message_id = 42, .control_id = "MSG1"});
//   if (o.kind == DeliveryOutcome::Kind::kRetry) ... back off and call again
//
// Deliver blocks until the destination answered, failed, or timed out; it never
// throws. DeliverBatch does the same for a run of queued messages (MLLP
// pipelines them on its connection, `window` in the config). It keeps connections open between
// calls (MLLP: one persistent connection, reconnected after failures; HTTP: keep-alive).
//
//   kind     sent when                          retry (transient)                 failed
//   (permanent) mllp     ACK with MSA-2 == MSH-10, AA/CA    I/O, timeout, wrong MSA-2, AE/CE AR/CR,
//   AE/CE with on_ae: error,
//                                               with on_ae: retry                 not an ACK
//   http     2xx                                I/O, timeout, 408, 429, 5xx       other 4xx, 3xx
//   file     written (temp file, fsync, rename) I/O errors (disk full, perms)     bad template
//   result channel  committed to the store             store busy                        unknown
//   channel fhir-convert (+http/file): conversion failure is permanent; then as http/file.
//   fhir-store  the transaction committed       store busy/closed, I/O            conversion
//   failure, a
//               (new versions or unchanged)                                       rejected
//               transaction (4xx)
//
// Ownership: the Destination owns its connection. Thread safety: one thread
// at a time (each destination has one dispatcher thread).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "junction/engine/config.h"
#include "junction/fhir/resource_store.h"
#include "junction/hl7/status.h"

namespace junction::engine {

struct DeliveryContext {
  std::int64_t message_id = 0;
  std::string control_id;  // MSH-10 of the payload (also checked against MSA-2)
  std::int64_t received_at_us = 0;
};

struct DeliveryOutcome {
  enum class Kind { kSent, kRetry, kFailed };
  Kind kind = Kind::kRetry;
  std::string response;  // what came back (ACK ER7, HTTP status line + body head), bounded
  std::string error;     // why it was not sent ("" when sent)
};

struct DestinationEnv {
  FhirSettings fhir;
  // For fhir-store destinations: the engine's FHIR resource store (borrowed;
  // outlives every destination).
  fhir::ResourceStore* resource_store = nullptr;
  // For channel destinations: stores `raw` as a new message of `channel`
  // (durably) and hands it to that channel's worker. Returns the store's error.
  std::function<Status(const std::string& channel, std::string raw, std::int64_t source_id)>
      submit_to_channel;
};

// One message of a DeliverBatch call (the payload is borrowed for the call).
struct DeliveryItem {
  std::string_view payload;
  DeliveryContext context;
};

class Destination {
 public:
  virtual ~Destination() = default;
  virtual DeliveryOutcome Deliver(std::string_view payload, const DeliveryContext& context) = 0;
  // Delivers items[0..] in order and returns the outcomes of a prefix of
  // them (at least one for a non-empty span). Items past the prefix count as
  // not attempted (they may have reached the receiver: the caller sends them
  // again, at-least-once). A kRetry may be followed by more outcomes (MLLP:
  // an AE/CE to retry, with the connection still in step); a caller that
  // keeps strict order ignores the outcomes after the first kRetry. The
  // default calls Deliver for each and stops after a kRetry; MLLP pipelines
  // up to max_batch() messages on its connection.
  virtual std::vector<DeliveryOutcome> DeliverBatch(std::span<const DeliveryItem> items);
  // The most items a DeliverBatch call is worth (1: no gain from batching).
  virtual std::size_t max_batch() const { return 1; }
  // Closes connections (the next Deliver reconnects). Called on shutdown.
  virtual void Close() {}
};

// kInvalidArgument for settings that cannot work (e.g. TLS files that do not
// load), naming the destination.
Result<std::unique_ptr<Destination>> MakeDestination(const DestinationConfig& config,
                                                     const std::string& channel,
                                                     const DestinationEnv& env);

// Expands a file-name template (see FileDestinationConfig::name) for `payload`.
// Every character outside [A-Za-z0-9._-] in substituted values becomes '_';
// an empty result or one that is "." / ".." is an error.
Result<std::string> ExpandFileName(std::string_view name_template, std::string_view payload,
                                   const std::string& channel, const std::string& destination,
                                   std::int64_t message_id, std::int64_t now_us);

}  // namespace junction::engine
