// Sending messages over MLLP and checking their ACKs (`junction send`), and a
// load generator (`junction send --repeat N --concurrency C`).
//
//   auto messages = LoadMessages({"adt.hl7", "batch.hl7"});   // split into messages
//   Sender sender({.client = {.host = "127.0.0.1", .port = 2575}});
//   for (const std::string& m : *messages) {
//     SendOutcome o = sender.Send(m);
//     std::cout << FormatOutcomeLine(o) << "\n";   // "MSG00001 AA 1.92 ms"
//   }
//
//   LoadReport r = RunLoad(*messages, {.repeat = 20000, .concurrency = 32, .sender = ...});
//   std::cout << FormatLoadReport(r);
//
// Send waits for the ACK of each message before the next one. The ACK must
// name the message (MSA-2 == MSH-10); ACKs that name a message sent earlier on
// the same connection (late replies after a timeout) are read and skipped; any
// other MSA-2 is a mismatch, an error. On an I/O failure (connect, write, ACK
// timeout, connection closed) the sender reconnects and sends the message
// again, up to `retries` more times.
//
// Load mode runs `concurrency` connections, each sending one message and
// waiting for its ACK before the next. Each copy gets a unique MSH-10: the
// original control id + "-" + a counter (Message::Set), so duplicate detection
// does not fold them together.
//
// Thread safety: a Sender is used by one thread at a time; RunLoad starts its
// own threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "junction/hl7/status.h"
#include "junction/mllp/client.h"

namespace junction::engine {

struct SenderOptions {
  mllp::ClientOptions client;
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};  // write, and wait for the ACK
  int retries = 0;  // extra attempts after an I/O failure
  std::chrono::milliseconds retry_delay{std::chrono::milliseconds(200)};
  std::size_t max_stale = 10'000;  // stale ACKs skipped per message before giving up
};

struct SendOutcome {
  enum class Kind {
    kAccepted,  // AA or CA naming this message
    kNegative,  // AE, AR, CE, CR naming this message
    kMismatch,  // the ACK names another, unknown message
    kBadAck,    // the reply is not an ACK (no MSA, does not parse)
    kIoError,   // no ACK after every attempt
  };
  Kind kind = Kind::kIoError;
  std::string control_id;  // MSH-10 as sent
  std::string ack_code;    // MSA-1 ("" when no ACK)
  std::string ack_text;    // MSA-3, or the first ERR text (may be "")
  std::string error;       // what went wrong (kMismatch, kBadAck, kIoError)
  double millis = 0;       // from the first write to the ACK (retries included)
  int attempts = 0;
  std::size_t stale_skipped = 0;

  bool accepted() const { return kind == Kind::kAccepted; }
};

class Sender {
 public:
  explicit Sender(SenderOptions options);
  ~Sender();
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;

  // Sends one message (segments should end in \r; see NormalizeSegments) and
  // waits for its ACK. Connects on first use and after failures.
  SendOutcome Send(std::string_view message);
  void Close();

 private:
  Status EnsureConnected();
  SendOutcome Attempt(std::string_view message, const std::string& control_id, bool check_id);

  SenderOptions options_;
  std::unique_ptr<mllp::Client> client_;
  // Control ids sent on the current connection, newest last (bounded).
  std::deque<std::string> sent_ids_;
};

// The tally of a run of Send calls, and the exit code it maps to:
// 0 when every ACK was AA/CA, 3 when any message failed on I/O, else 1.
struct SendSummary {
  std::size_t total = 0;
  std::size_t accepted = 0;
  std::size_t negative = 0;
  std::size_t errors = 0;  // mismatched or unusable ACKs
  std::size_t io_failures = 0;
  void Add(const SendOutcome& o);
  int ExitCode() const;
};

// "MSG00001 AA 1.92 ms", with the ACK text or the error appended when not accepted.
std::string FormatOutcomeLine(const SendOutcome& outcome);

// Reads each file ("-" = stdin) and splits it into messages (hl7 MessageSplitter:
// single messages, concatenated streams, FHS/BHS batches, MLLP-framed files).
// Line endings are normalized to \r. kIoError for an unreadable file,
// kInvalidArgument (naming the file) when a file holds no message.
Result<std::vector<std::string>> LoadMessages(const std::vector<std::string>& files);

// \r\n and \n segment terminators become \r.
std::string NormalizeSegments(std::string_view message);

struct LoadOptions {
  std::size_t repeat = 1;       // each input message is sent this many times
  std::size_t concurrency = 1;  // connections, each with one message in flight
  SenderOptions sender;
};

struct LoadReport {
  std::size_t connections = 0;
  std::size_t sent = 0;  // messages with an outcome
  std::size_t accepted = 0;
  std::size_t negative = 0;
  std::size_t errors = 0;
  std::size_t io_failures = 0;
  double seconds = 0;
  double per_second = 0;                                  // accepted messages per second
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;  // over answered messages
  std::string first_error;  // first non-accepted outcome, for the report
  int ExitCode() const;     // as SendSummary::ExitCode
};

// Sends messages.size() * repeat messages over `concurrency` connections. A
// connection that fails on I/O after its retries stops; the others go on.
LoadReport RunLoad(const std::vector<std::string>& messages, const LoadOptions& options);

// Multi-line human-readable summary (throughput, p50/p90/p99/max).
std::string FormatLoadReport(const LoadReport& report);

// "HOST:PORT" or "[V6]:PORT" for `junction send` (host names allowed, port 1-65535).
Status ParseTarget(std::string_view text, std::string* host, std::uint16_t* port);

// Value at quantile q (0..1) of sorted values (nearest rank); 0 when empty.
double Percentile(const std::vector<double>& sorted, double q);

}  // namespace junction::engine
