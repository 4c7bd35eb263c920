// Destinations: MLLP, HTTP(S), file and channel delivery, and the v2 -> FHIR
// conversion in front of http/file. The sent/retry/failed table is in
// junction/engine/destination.h; docs/destinations.md is the user's view.
// Logs carry destination names, message ids and reasons, never content.
#include "junction/engine/destination.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "engine/internal/destination_names.h"
#include "engine/internal/http_client.h"
#include "junction/fhir/convert.h"
#include "junction/fhir/rest.h"
#include "junction/hl7/json.h"
#include "junction/hl7/message.h"
#include "junction/mllp/client.h"
#include "junction/mllp/tls.h"

namespace junction::engine {
namespace {

using Kind = DeliveryOutcome::Kind;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxAckBytes = 4096;           // of the ACK kept as the response
constexpr std::size_t kMaxRememberedIds = 1024;      // sent on one MLLP connection
constexpr std::size_t kMaxStaleAcks = 1024;          // skipped per delivery
constexpr std::size_t kDefaultBestEffortWindow = 8;  // mllp `window` under best-effort

std::atomic<std::uint64_t> temp_counter{0};  // unique temp names across destinations

DeliveryOutcome Outcome(Kind kind, std::string error, std::string response = {}) {
  DeliveryOutcome o;
  o.kind = kind;
  o.error = std::move(error);
  o.response = std::move(response);
  return o;
}

std::string Label(const std::string& channel, const std::string& name) {
  return "channel " + channel + " destination " + name;
}

std::int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

mllp::TlsOptions ToTlsOptions(const TlsClientConfig& c) {
  mllp::TlsOptions t;
  t.ca = c.ca;
  t.cert = c.cert;
  t.key = c.key;
  t.server_name = c.server_name;
  t.verify_peer = c.verify;
  return t;
}

std::string_view FirstRepetition(std::string_view raw, char rep) {
  return raw.substr(0, raw.find(rep));
}

// --- MLLP ---------------------------------------------------------------

class MllpDestination : public Destination {
 public:
  MllpDestination(const DestinationConfig& config, std::string label)
      : config_(config.mllp), label_(std::move(label)) {
    options_.host = config_.host;
    options_.port = config_.port;
    options_.connect_timeout = config_.connect_timeout;
    if (config_.tls) options_.tls = ToTlsOptions(*config_.tls);
    // Strict ordering pipelines only when asked to: a receiver that fails
    // message k without a word (timeout) may already have taken k+1.
    window_ = config_.window != 0                        ? config_.window
              : config.ordering == Ordering::kBestEffort ? kDefaultBestEffortWindow
                                                         : 1;
  }

  std::size_t max_batch() const override { return window_; }

  DeliveryOutcome Deliver(std::string_view payload, const DeliveryContext& context) override {
    if (Status st = EnsureConnected(); !st.ok()) return Outcome(Kind::kRetry, st.message());
    Status st = client_->Send(payload, config_.response_timeout);
    if (!st.ok()) return Drop(Outcome(Kind::kRetry, st.message()));
    return AwaitAck(context.control_id);
  }

  // Pipelined: every frame goes out in one write, then the ACKs are read in
  // order. ACKs on one connection come in the order the frames went out, so
  // the k-th ACK answers the k-th message (MSA-2 is still checked).
  std::vector<DeliveryOutcome> DeliverBatch(std::span<const DeliveryItem> items) override {
    std::vector<DeliveryOutcome> outcomes;
    if (items.empty()) return outcomes;
    if (items.size() == 1) {
      outcomes.push_back(Deliver(items[0].payload, items[0].context));
      return outcomes;
    }
    if (Status st = EnsureConnected(); !st.ok()) {
      outcomes.push_back(Outcome(Kind::kRetry, st.message()));
      return outcomes;
    }
    frames_.clear();
    for (const DeliveryItem& item : items) mllp::EncodeTo(item.payload, &frames_);
    Status st = client_->SendRaw(frames_, config_.response_timeout);
    if (!st.ok()) {
      outcomes.push_back(Drop(Outcome(Kind::kRetry, st.message())));
      return outcomes;
    }
    outcomes.reserve(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
      outcomes.push_back(AwaitAck(items[i].context.control_id));
      // Dropped (no answer, timeout, an ACK out of step, not an ACK): the ACKs
      // of the messages after it are not read, and those messages count as
      // not attempted (sent again later: at-least-once). An AE/CE to retry
      // leaves the connection in step, so the next ACKs are still read.
      if (!client_) break;
    }
    return outcomes;
  }

  void Close() override {
    if (client_) client_->Close();
    client_.reset();
    sent_ids_.clear();
  }

 private:
  Status EnsureConnected() {
    if (client_) return Status::Ok();
    sent_ids_.clear();
    auto client = mllp::Client::Connect(options_);
    if (!client.ok()) return client.status();
    client_ = std::move(client).value();
    spdlog::debug("{}: connected to {}:{}", label_, config_.host, config_.port);
    return Status::Ok();
  }

  // Reads the ACK of the message whose MSH-10 is `control_id` (skipping late
  // ACKs of earlier messages) and judges it.
  DeliveryOutcome AwaitAck(const std::string& control_id) {
    const Clock::time_point deadline = Clock::now() + config_.response_timeout;
    std::size_t stale = 0;
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) left = std::chrono::milliseconds(1);
      auto frame = client_->Receive(left);
      if (!frame.ok())
        return Drop(Outcome(Kind::kRetry, "waiting for the ACK: " + frame.status().message()));
      std::string response = frame->substr(0, kMaxAckBytes);
      auto ack = hl7::Message::Parse(std::string_view(*frame));
      const int msa = ack.ok() ? ack->FindSegment("MSA") : -1;
      if (msa < 0) {
        // Not an ACK: the receiver speaks something else; resending will not help.
        return Drop(Outcome(Kind::kFailed,
                            ack.ok() ? "the reply is not an ACK (no MSA segment)"
                                     : "the reply is not an ACK: " + ack.status().ToString(),
                            std::move(response)));
      }
      const char rep = ack->delimiters().repetition;
      const auto index = static_cast<std::size_t>(msa);
      const std::string_view code =
          FirstRepetition(ack->FieldRaw(index, 1).value_or(std::string_view()), rep);
      const std::string_view acked =
          FirstRepetition(ack->FieldRaw(index, 2).value_or(std::string_view()), rep);
      if (acked != control_id) {
        const bool known = std::find(sent_ids_.begin(), sent_ids_.end(), acked) != sent_ids_.end();
        if (known && ++stale <= kMaxStaleAcks) continue;  // a late ACK of an earlier message
        // Out of step: a fresh connection resynchronises.
        return Drop(Outcome(
            Kind::kRetry,
            "the ACK names control id '" + std::string(acked) + "', expected '" + control_id + "'",
            std::move(response)));
      }
      Remember(control_id);
      if (code == "AA" || code == "CA") return Outcome(Kind::kSent, "", std::move(response));
      std::string text = ack->Get("MSA-3");
      if (text.empty()) text = ack->Get("ERR-8");
      if (text.empty()) text = ack->Get("ERR-1.4.2");
      const std::string detail = text.empty() ? std::string() : ": " + text;
      const std::string code_text(code);
      if (code == "AE" || code == "CE") {
        return Outcome(config_.on_ae == AeAction::kRetry ? Kind::kRetry : Kind::kFailed,
                       "negative ACK " + code_text + detail, std::move(response));
      }
      if (code == "AR" || code == "CR") {
        return Outcome(Kind::kFailed, "rejected: ACK " + code_text + detail, std::move(response));
      }
      return Outcome(Kind::kFailed,
                     "the ACK has an unknown MSA-1 code '" + code_text.substr(0, 8) + "'",
                     std::move(response));
    }
  }

  DeliveryOutcome Drop(DeliveryOutcome o) {
    Close();
    spdlog::debug("{}: connection closed: {}", label_, o.error);
    return o;
  }
  void Remember(const std::string& id) {
    sent_ids_.push_back(id);
    if (sent_ids_.size() > kMaxRememberedIds) sent_ids_.pop_front();
  }

  MllpDestinationConfig config_;
  std::string label_;
  mllp::ClientOptions options_;
  std::unique_ptr<mllp::Client> client_;
  std::deque<std::string> sent_ids_;  // answered on this connection
  std::size_t window_ = 1;            // messages per DeliverBatch
  std::string frames_;                // DeliverBatch's write buffer, reused
};

// --- HTTP and file ("sinks": also the targets of fhir-convert) -----------

// A destination whose body may differ from the HL7 message it came from
// (fhir-convert hands over the Bundle and keeps the message for file names).
class Sink : public Destination {
 public:
  DeliveryOutcome Deliver(std::string_view payload, const DeliveryContext& context) override {
    return Write(payload, payload, context);
  }
  virtual DeliveryOutcome Write(std::string_view body, std::string_view message,
                                const DeliveryContext& context) = 0;
};

class HttpDestination : public Sink {
 public:
  HttpDestination(const HttpDestinationConfig& config, bool fhir,
                  std::shared_ptr<boost::asio::ssl::context> tls)
      : config_(config), fhir_(fhir), client_(ClientOptions(config, std::move(tls))) {
    content_type_ = config_.content_type;
    if (content_type_.empty()) {
      content_type_ = fhir_                             ? "application/fhir+json"
                      : config_.body == HttpBody::kJson ? "application/json"
                                                        : "x-application/hl7-v2+er7";
    }
  }

  DeliveryOutcome Write(std::string_view body, std::string_view, const DeliveryContext&) override {
    std::string json;
    if (!fhir_ && config_.body == HttpBody::kJson) {
      auto parsed = hl7::Message::Parse(body);
      if (!parsed.ok()) {
        return Outcome(Kind::kFailed, "cannot write the JSON form: the message does not parse: " +
                                          parsed.status().ToString());
      }
      auto converted = hl7::MessageToJson(*parsed, {.pretty = false});
      if (!converted.ok()) {
        return Outcome(Kind::kFailed,
                       "cannot write the JSON form: " + converted.status().ToString());
      }
      json = std::move(converted).value();
      body = json;
    }
    auto r = client_.Post(config_.target, content_type_, body, config_.headers);
    if (!r.ok()) return Outcome(Kind::kRetry, r.status().message());
    std::string response = "HTTP " + std::to_string(r->status) + " " + r->reason;
    if (!r->body_head.empty()) response += "\n" + r->body_head;
    const int s = r->status;
    if (s >= 200 && s < 300) return Outcome(Kind::kSent, "", std::move(response));
    const std::string error = "HTTP " + std::to_string(s) + " " + r->reason;
    if (s == 408 || s == 429 || s >= 500) return Outcome(Kind::kRetry, error, std::move(response));
    return Outcome(Kind::kFailed, error, std::move(response));
  }

  void Close() override { client_.Close(); }

 private:
  static internal::HttpClientOptions ClientOptions(const HttpDestinationConfig& c,
                                                   std::shared_ptr<boost::asio::ssl::context> tls) {
    internal::HttpClientOptions o;
    o.host = c.host;
    o.port = c.port;
    o.timeout = c.timeout;
    o.tls = std::move(tls);
    if (c.tls) {
      o.server_name = c.tls->server_name;
      o.verify = c.tls->verify;
    }
    return o;
  }

  HttpDestinationConfig config_;
  bool fhir_;
  std::string content_type_;
  internal::HttpClient client_;
};

// Writes all of `data` to `fd`; errno text on failure.
Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Io(std::strerror(errno));
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return Status::Ok();
}

Status FsyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::Io("open " + dir + ": " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return Status::Io("fsync " + dir + ": " + std::strerror(err));
  return Status::Ok();
}

class FileDestination : public Sink {
 public:
  FileDestination(const FileDestinationConfig& config, std::string channel, std::string name)
      : config_(config), channel_(std::move(channel)), name_(std::move(name)) {}

  DeliveryOutcome Write(std::string_view body, std::string_view message,
                        const DeliveryContext& context) override {
    auto file = ExpandFileName(config_.name, message, channel_, name_, context.message_id, NowUs());
    if (!file.ok()) return Outcome(Kind::kFailed, file.status().message());
    std::error_code ec;
    std::filesystem::create_directories(config_.dir, ec);
    if (ec) return Outcome(Kind::kRetry, "create " + config_.dir + ": " + ec.message());
    const std::string final_path = config_.dir + "/" + *file;
    // The temp name starts with '.' so file pollers with "*.x" patterns skip it.
    const std::string temp_path = config_.dir + "/.junction-" + std::to_string(::getpid()) + "-" +
                                  std::to_string(temp_counter.fetch_add(1) + 1) + ".tmp";
    const int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0) return Outcome(Kind::kRetry, "create " + temp_path + ": " + std::strerror(errno));
    Status st = WriteAll(fd, body);
    if (st.ok() && ::fsync(fd) != 0) st = Status::Io(std::string("fsync: ") + std::strerror(errno));
    if (::close(fd) != 0 && st.ok()) st = Status::Io(std::string("close: ") + std::strerror(errno));
    if (st.ok() && ::rename(temp_path.c_str(), final_path.c_str()) != 0) {
      st = Status::Io("rename to " + final_path + ": " + std::strerror(errno));
    }
    if (!st.ok()) {
      ::unlink(temp_path.c_str());
      return Outcome(Kind::kRetry, "write " + final_path + ": " + st.message());
    }
    st = FsyncDir(config_.dir);
    if (!st.ok()) return Outcome(Kind::kRetry, st.message());
    return Outcome(Kind::kSent, "",
                   "written " + *file + " (" + std::to_string(body.size()) + " bytes)");
  }

 private:
  FileDestinationConfig config_;
  std::string channel_;
  std::string name_;
};

// --- channel ------------------------------------------------------------

class ChannelDestination : public Destination {
 public:
  ChannelDestination(std::string target, DestinationEnv env)
      : target_(std::move(target)), env_(std::move(env)) {}

  DeliveryOutcome Deliver(std::string_view payload, const DeliveryContext& context) override {
    if (!env_.submit_to_channel) return Outcome(Kind::kFailed, "no channel router is set up");
    Status st = env_.submit_to_channel(target_, std::string(payload), context.message_id);
    if (st.ok()) return Outcome(Kind::kSent, "", "stored in channel " + target_);
    const bool permanent =
        st.code() == StatusCode::kNotFound || st.code() == StatusCode::kInvalidArgument;
    return Outcome(permanent ? Kind::kFailed : Kind::kRetry,
                   "channel " + target_ + ": " + st.message());
  }

 private:
  std::string target_;
  DestinationEnv env_;
};

// --- fhir-convert ---------------------------------------------------------

class FhirConvertDestination : public Destination {
 public:
  FhirConvertDestination(fhir::ConvertOptions options, std::unique_ptr<Sink> sink)
      : options_(std::move(options)), sink_(std::move(sink)) {}

  DeliveryOutcome Deliver(std::string_view payload, const DeliveryContext& context) override {
    auto message = hl7::Message::Parse(payload);
    if (!message.ok()) {
      return Outcome(Kind::kFailed,
                     "FHIR conversion: the message does not parse: " + message.status().ToString());
    }
    auto converted = fhir::Convert(*message, options_);
    if (!converted.ok()) {
      return Outcome(Kind::kFailed, "FHIR conversion: " + converted.status().ToString());
    }
    const std::string bundle = fhir::Serialize(converted->bundle, false);
    return sink_->Write(bundle, payload, context);
  }

  void Close() override { sink_->Close(); }

 private:
  fhir::ConvertOptions options_;
  std::unique_ptr<Sink> sink_;
};

// --- fhir-store -------------------------------------------------------------

// Applies the message's transaction Bundle to the FHIR resource store. The
// converter's ids and conditional requests make a re-sent message a no-op.
class FhirStoreDestination : public Destination {
 public:
  FhirStoreDestination(fhir::ConvertOptions options, fhir::ResourceStore* store)
      : options_(std::move(options)), store_(store) {}

  DeliveryOutcome Deliver(std::string_view payload, const DeliveryContext&) override {
    auto message = hl7::Message::Parse(payload);
    if (!message.ok()) {
      return Outcome(Kind::kFailed,
                     "FHIR conversion: the message does not parse: " + message.status().ToString());
    }
    auto converted = fhir::Convert(*message, options_);
    if (!converted.ok()) {
      return Outcome(Kind::kFailed, "FHIR conversion: " + converted.status().ToString());
    }
    auto batch = fhir::BundleToWriteBatch(converted->bundle);
    if (!batch.ok()) return Outcome(Kind::kFailed, "FHIR bundle: " + batch.status().message());
    auto outcome = store_->ApplyAndWait(std::move(batch).value(), fhir::Access{});
    if (!outcome.ok()) return Outcome(Kind::kRetry, "FHIR store: " + outcome.status().message());
    if (!outcome->committed) {
      return Outcome(Kind::kFailed, "FHIR store: entry " + std::to_string(outcome->failed_entry) +
                                        " (" + std::to_string(outcome->status) +
                                        "): " + outcome->error);
    }
    return Outcome(Kind::kSent, "", Summary(*outcome));
  }

 private:
  static std::string Summary(const fhir::WriteOutcome& outcome) {
    std::size_t created = 0, updated = 0, unchanged = 0;
    for (const fhir::WriteResult& r : outcome.entries) {
      if (r.unchanged) {
        ++unchanged;
      } else if (r.created) {
        ++created;
      } else {
        ++updated;
      }
    }
    return std::to_string(outcome.entries.size()) + " entries: " + std::to_string(created) +
           " created, " + std::to_string(updated) + " updated, " + std::to_string(unchanged) +
           " unchanged";
  }

  fhir::ConvertOptions options_;
  fhir::ResourceStore* store_;
};

fhir::ConvertOptions ConvertOptionsFor(const DestinationEnv& env) {
  fhir::ConvertOptions options;
  options.default_timezone = env.fhir.default_timezone;
  options.local_system_base = env.fhir.local_system_base;
  options.identifier_systems = env.fhir.identifier_systems;
  return options;
}

Result<std::shared_ptr<boost::asio::ssl::context>> HttpTls(const HttpDestinationConfig& c,
                                                           const std::string& label) {
  if (!c.https) return std::shared_ptr<boost::asio::ssl::context>();
  auto ctx = mllp::MakeClientContext(c.tls ? ToTlsOptions(*c.tls) : mllp::TlsOptions{});
  if (!ctx.ok()) return Status::Invalid(label + ": TLS: " + ctx.status().message());
  return ctx;
}

}  // namespace

std::vector<DeliveryOutcome> Destination::DeliverBatch(std::span<const DeliveryItem> items) {
  std::vector<DeliveryOutcome> outcomes;
  outcomes.reserve(items.size());
  for (const DeliveryItem& item : items) {
    outcomes.push_back(Deliver(item.payload, item.context));
    if (outcomes.back().kind == Kind::kRetry) break;
  }
  return outcomes;
}

std::string_view DestinationKindName(DestinationKind kind) {
  switch (kind) {
    case DestinationKind::kMllp:
      return "mllp";
    case DestinationKind::kHttp:
      return "http";
    case DestinationKind::kFile:
      return "file";
    case DestinationKind::kChannel:
      return "channel";
    case DestinationKind::kFhirStore:
      return "fhir-store";
  }
  return "file";
}

Result<std::unique_ptr<Destination>> MakeDestination(const DestinationConfig& config,
                                                     const std::string& channel,
                                                     const DestinationEnv& env) {
  const std::string label = Label(channel, config.name);
  std::unique_ptr<Sink> sink;
  switch (config.kind) {
    case DestinationKind::kMllp: {
      if (config.fhir_convert) return Status::Invalid(label + ": fhir-convert needs http or file");
      if (config.mllp.host.empty() || config.mllp.port == 0) {
        return Status::Invalid(label + ": mllp needs a host and a port");
      }
      if (config.mllp.tls) {
        // Load the files now so a bad certificate shows at startup.
        auto ctx = mllp::MakeClientContext(ToTlsOptions(*config.mllp.tls));
        if (!ctx.ok()) return Status::Invalid(label + ": TLS: " + ctx.status().message());
      }
      return std::unique_ptr<Destination>(std::make_unique<MllpDestination>(config, label));
    }
    case DestinationKind::kChannel:
      if (config.fhir_convert) return Status::Invalid(label + ": fhir-convert needs http or file");
      if (config.channel.channel.empty()) return Status::Invalid(label + ": no target channel");
      return std::unique_ptr<Destination>(
          std::make_unique<ChannelDestination>(config.channel.channel, env));
    case DestinationKind::kFhirStore:
      if (config.fhir_convert) return Status::Invalid(label + ": fhir-convert needs http or file");
      if (env.resource_store == nullptr) return Status::Invalid(label + ": no FHIR store is open");
      return std::unique_ptr<Destination>(
          std::make_unique<FhirStoreDestination>(ConvertOptionsFor(env), env.resource_store));
    case DestinationKind::kHttp: {
      if (config.http.host.empty() || config.http.port == 0) {
        return Status::Invalid(label + ": http needs a url");
      }
      auto tls = HttpTls(config.http, label);
      if (!tls.ok()) return tls.status();
      sink = std::make_unique<HttpDestination>(config.http, config.fhir_convert.has_value(),
                                               std::move(tls).value());
      break;
    }
    case DestinationKind::kFile:
      if (config.file.dir.empty()) return Status::Invalid(label + ": file needs a dir");
      if (Status st = internal::CheckFileNameTemplate(config.file.name); !st.ok()) {
        return Status::Invalid(label + ": file name: " + st.message());
      }
      sink = std::make_unique<FileDestination>(config.file, channel, config.name);
      break;
  }
  if (!config.fhir_convert) return std::unique_ptr<Destination>(std::move(sink));
  fhir::ConvertOptions options = ConvertOptionsFor(env);
  auto bundle = fhir::ParseBundleType(config.fhir_convert->bundle);
  if (!bundle.ok()) return Status::Invalid(label + ": fhir-convert: " + bundle.status().message());
  options.bundle = *bundle;
  return std::unique_ptr<Destination>(
      std::make_unique<FhirConvertDestination>(std::move(options), std::move(sink)));
}

}  // namespace junction::engine
