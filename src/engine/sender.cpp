#include "junction/engine/sender.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

#include "junction/hl7/batch.h"
#include "junction/hl7/message.h"

namespace junction::engine {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxInputFileBytes = std::size_t{1} << 30;
constexpr std::size_t kMaxRememberedIds = 1024;

double MillisSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::string_view FirstRepetition(std::string_view raw, char rep) {
  return raw.substr(0, raw.find(rep));
}

Result<std::string> ReadAll(const std::string& path) {
  std::string text;
  std::array<char, 65536> buffer;
  auto pump = [&](std::istream& in) -> Status {
    while (in.read(buffer.data(), buffer.size()) || in.gcount() > 0) {
      text.append(buffer.data(), static_cast<std::size_t>(in.gcount()));
      if (text.size() > kMaxInputFileBytes) return Status::Io(path + ": larger than 1 GiB");
    }
    if (in.bad()) return Status::Io(path + ": read error");
    return Status::Ok();
  };
  if (path == "-") {
    JUNCTION_RETURN_IF_ERROR(pump(std::cin));
    return text;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Io(path + ": cannot open");
  JUNCTION_RETURN_IF_ERROR(pump(in));
  return text;
}

std::string Fixed2(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

}  // namespace

std::string NormalizeSegments(std::string_view message) {
  std::string out;
  out.reserve(message.size());
  for (std::size_t i = 0; i < message.size(); ++i) {
    const char c = message[i];
    if (c == '\r' && i + 1 < message.size() && message[i + 1] == '\n') {
      out.push_back('\r');
      ++i;
    } else if (c == '\n') {
      out.push_back('\r');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Result<std::vector<std::string>> LoadMessages(const std::vector<std::string>& files) {
  std::vector<std::string> messages;
  for (const std::string& file : files) {
    auto text = ReadAll(file);
    if (!text.ok()) return text.status();
    const std::string name = file == "-" ? "<stdin>" : file;
    hl7::MessageSplitter splitter(*text);
    hl7::MessageSpan span;
    std::size_t found = 0;
    while (splitter.Next(&span)) {
      messages.push_back(
          NormalizeSegments(std::string_view(*text).substr(span.offset, span.length)));
      ++found;
    }
    if (!splitter.status().ok()) {
      return Status::Invalid(name + ": " + splitter.status().ToString());
    }
    if (found == 0) return Status::Invalid(name + ": no HL7 message (MSH) found");
  }
  return messages;
}

Sender::Sender(SenderOptions options) : options_(std::move(options)) {}
Sender::~Sender() { Close(); }

void Sender::Close() {
  if (client_) client_->Close();
  client_.reset();
  sent_ids_.clear();
}

Status Sender::EnsureConnected() {
  if (client_) return Status::Ok();
  sent_ids_.clear();
  auto client = mllp::Client::Connect(options_.client);
  if (!client.ok()) return client.status();
  client_ = std::move(client).value();
  return Status::Ok();
}

SendOutcome Sender::Attempt(std::string_view message, const std::string& control_id,
                            bool check_id) {
  SendOutcome o;
  o.control_id = control_id;
  Status st = EnsureConnected();
  if (!st.ok()) {
    o.error = "connect: " + st.message();
    return o;
  }
  st = client_->Send(message, options_.timeout);
  if (!st.ok()) {
    o.error = "send: " + st.message();
    Close();
    return o;
  }
  const Clock::time_point deadline = Clock::now() + options_.timeout;
  while (true) {
    auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (remaining.count() <= 0) remaining = std::chrono::milliseconds(1);
    auto frame = client_->Receive(remaining);
    if (!frame.ok()) {
      o.error = "waiting for the ACK: " + frame.status().message();
      Close();
      return o;
    }
    auto ack = hl7::Message::Parse(std::string_view(*frame));
    const int msa = ack.ok() ? ack->FindSegment("MSA") : -1;
    if (msa < 0) {
      o.kind = SendOutcome::Kind::kBadAck;
      o.error = ack.ok() ? "the reply has no MSA segment"
                         : "the reply does not parse: " + ack.status().ToString();
      break;
    }
    const char rep = ack->delimiters().repetition;
    const auto msa_id = static_cast<std::size_t>(msa);
    const std::string code(
        FirstRepetition(ack->FieldRaw(msa_id, 1).value_or(std::string_view()), rep));
    const std::string acked(
        FirstRepetition(ack->FieldRaw(msa_id, 2).value_or(std::string_view()), rep));
    if (check_id && acked != control_id) {
      const bool stale = std::find(sent_ids_.begin(), sent_ids_.end(), acked) != sent_ids_.end();
      if (stale && o.stale_skipped < options_.max_stale) {
        ++o.stale_skipped;
        continue;
      }
      o.kind = SendOutcome::Kind::kMismatch;
      o.ack_code = code;
      o.error = "the ACK names control id '" + acked + "', expected '" + control_id + "'";
      break;
    }
    o.ack_code = code;
    o.ack_text = ack->Get("MSA-3");
    if (o.ack_text.empty()) {
      // 2.5+: ERR-8 (user message); earlier: ERR-1.4.2 text. Either is a hint.
      o.ack_text = ack->Get("ERR-8");
      if (o.ack_text.empty()) o.ack_text = ack->Get("ERR-1.4.2");
    }
    o.kind = (code == "AA" || code == "CA") ? SendOutcome::Kind::kAccepted
                                            : SendOutcome::Kind::kNegative;
    if (code.empty()) {
      o.kind = SendOutcome::Kind::kBadAck;
      o.error = "the ACK has no MSA-1 code";
    }
    break;
  }
  return o;
}

SendOutcome Sender::Send(std::string_view message) {
  std::string control_id;
  bool check_id = false;
  if (auto parsed = hl7::Message::Parse(message); parsed.ok()) {
    control_id = std::string(parsed->ControlId());
    check_id = true;  // unparseable input is sent as is; any ACK answers it
  }
  const Clock::time_point start = Clock::now();
  const int attempts = 1 + std::max(0, options_.retries);
  SendOutcome o;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    if (attempt > 1) std::this_thread::sleep_for(options_.retry_delay);
    o = Attempt(message, control_id, check_id);
    o.attempts = attempt;
    if (o.kind != SendOutcome::Kind::kIoError) break;
  }
  o.millis = MillisSince(start);
  if (client_) {
    sent_ids_.push_back(control_id);
    if (sent_ids_.size() > kMaxRememberedIds) sent_ids_.pop_front();
  }
  return o;
}

void SendSummary::Add(const SendOutcome& o) {
  ++total;
  switch (o.kind) {
    case SendOutcome::Kind::kAccepted:
      ++accepted;
      break;
    case SendOutcome::Kind::kNegative:
      ++negative;
      break;
    case SendOutcome::Kind::kMismatch:
    case SendOutcome::Kind::kBadAck:
      ++errors;
      break;
    case SendOutcome::Kind::kIoError:
      ++io_failures;
      break;
  }
}

int SendSummary::ExitCode() const {
  if (io_failures > 0) return 3;
  if (accepted != total) return 1;
  return 0;
}

std::string FormatOutcomeLine(const SendOutcome& o) {
  std::string line = o.control_id.empty() ? "-" : o.control_id;
  line += " ";
  line += o.ack_code.empty() ? "-" : o.ack_code;
  line += " " + Fixed2(o.millis) + " ms";
  if (o.kind == SendOutcome::Kind::kNegative && !o.ack_text.empty()) line += " " + o.ack_text;
  if (!o.error.empty()) line += " error: " + o.error;
  if (o.attempts > 1) line += " (" + std::to_string(o.attempts) + " attempts)";
  if (o.stale_skipped > 0) line += " (" + std::to_string(o.stale_skipped) + " stale ACKs skipped)";
  return line;
}

Status ParseTarget(std::string_view text, std::string* host, std::uint16_t* port) {
  std::string_view h;
  std::string_view p;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Status::Invalid("'" + std::string(text) + "' must be HOST:PORT or [IPV6]:PORT");
    }
    h = text.substr(1, close - 1);
    p = text.substr(close + 2);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) {
      return Status::Invalid("'" + std::string(text) + "' must be HOST:PORT or [IPV6]:PORT");
    }
    h = text.substr(0, colon);
    p = text.substr(colon + 1);
  }
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (h.empty() || p.empty() || ec != std::errc() || ptr != p.data() + p.size() || value == 0 ||
      value > 65535) {
    return Status::Invalid("'" + std::string(text) + "': needs a host and a port from 1 to 65535");
  }
  *host = std::string(h);
  *port = static_cast<std::uint16_t>(value);
  return Status::Ok();
}

double Percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const double rank = std::ceil(q * static_cast<double>(sorted.size()));
  std::size_t index = rank <= 1 ? 0 : static_cast<std::size_t>(rank) - 1;
  if (index >= sorted.size()) index = sorted.size() - 1;
  return sorted[index];
}

int LoadReport::ExitCode() const {
  if (io_failures > 0) return 3;
  if (accepted != sent || sent == 0) return 1;
  return 0;
}

LoadReport RunLoad(const std::vector<std::string>& messages, const LoadOptions& options) {
  LoadReport report;
  const std::size_t concurrency = std::max<std::size_t>(1, options.concurrency);
  const std::size_t total = messages.size() * options.repeat;
  report.connections = concurrency;
  if (total == 0) return report;

  // Parse each template once; workers copy it and set MSH-10.
  std::vector<std::optional<hl7::Message>> templates;
  for (const std::string& m : messages) {
    auto parsed = hl7::Message::Parse(std::string_view(m));
    templates.push_back(parsed.ok() ? std::optional<hl7::Message>(std::move(parsed).value())
                                    : std::nullopt);
  }
  static const hl7::Path kControlId = *hl7::Path::Parse("MSH-10");

  std::atomic<std::size_t> next{0};
  std::mutex mu;
  std::vector<double> latencies;
  latencies.reserve(total);
  const Clock::time_point start = Clock::now();

  auto worker = [&] {
    Sender sender(options.sender);
    std::vector<double> mine;
    SendSummary tally;
    std::string first_error;
    while (true) {
      const std::size_t i = next.fetch_add(1);
      if (i >= total) break;
      const std::size_t k = i % messages.size();
      std::string bytes;
      if (templates[k]) {
        hl7::Message copy = *templates[k];
        const std::string original(copy.ControlId());
        const std::string id =
            (original.empty() ? std::string("load") : original) + "-" + std::to_string(i + 1);
        if (copy.Set(kControlId, id).ok()) bytes = copy.Encode();
      }
      if (bytes.empty()) bytes = messages[k];
      SendOutcome o = sender.Send(bytes);
      tally.Add(o);
      if (o.kind == SendOutcome::Kind::kAccepted || o.kind == SendOutcome::Kind::kNegative) {
        mine.push_back(o.millis);
      }
      if (!o.accepted() && first_error.empty()) first_error = FormatOutcomeLine(o);
      if (o.kind == SendOutcome::Kind::kIoError) break;  // this connection gives up
    }
    std::lock_guard lock(mu);
    latencies.insert(latencies.end(), mine.begin(), mine.end());
    report.sent += tally.total;
    report.accepted += tally.accepted;
    report.negative += tally.negative;
    report.errors += tally.errors;
    report.io_failures += tally.io_failures;
    if (report.first_error.empty()) report.first_error = first_error;
  };
  std::vector<std::thread> threads;
  for (std::size_t c = 0; c < concurrency; ++c) threads.emplace_back(worker);
  for (std::thread& t : threads) t.join();

  report.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  report.per_second =
      report.seconds > 0 ? static_cast<double>(report.accepted) / report.seconds : 0;
  std::sort(latencies.begin(), latencies.end());
  report.p50_ms = Percentile(latencies, 0.50);
  report.p90_ms = Percentile(latencies, 0.90);
  report.p99_ms = Percentile(latencies, 0.99);
  report.max_ms = latencies.empty() ? 0 : latencies.back();
  return report;
}

std::string FormatLoadReport(const LoadReport& r) {
  std::string out;
  out += "messages: " + std::to_string(r.sent) + " sent, " + std::to_string(r.accepted) +
         " accepted, " + std::to_string(r.negative) + " negative, " + std::to_string(r.errors) +
         " errors, " + std::to_string(r.io_failures) + " I/O failures\n";
  out += "connections: " + std::to_string(r.connections) + "\n";
  out += "elapsed: " + Fixed2(r.seconds) + " s\n";
  out += "throughput: " + Fixed2(r.per_second) + " msg/s\n";
  out += "latency ms: p50 " + Fixed2(r.p50_ms) + " p90 " + Fixed2(r.p90_ms) + " p99 " +
         Fixed2(r.p99_ms) + " max " + Fixed2(r.max_ms) + "\n";
  if (!r.first_error.empty()) out += "first failure: " + r.first_error + "\n";
  return out;
}

}  // namespace junction::engine
