#include "junction/engine/serve.h"

#include <pthread.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>

namespace junction::engine {
namespace {

std::string HostPort(const std::string& host, std::uint16_t port) {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

mllp::ListenerOptions ListenerFor(const ChannelConfig& c) {
  mllp::ListenerOptions o;
  o.name = c.name;
  o.host = c.mllp.host;
  o.port = c.mllp.port;
  o.max_connections = c.mllp.max_connections;
  o.idle_timeout = c.mllp.idle_timeout;
  o.read_timeout = c.mllp.read_timeout;
  o.decoder.max_frame_bytes = c.mllp.max_frame_bytes;
  o.decoder.strict = c.mllp.strict_framing;
  o.allow = c.mllp.allow;
  if (c.mllp.tls) {
    mllp::TlsOptions tls;
    tls.cert = c.mllp.tls->cert;
    tls.key = c.mllp.tls->key;
    tls.client_ca = c.mllp.tls->client_ca;
    o.tls = tls;
  }
  return o;
}

}  // namespace

Status SetUpLogging(const std::string& level) {
  spdlog::level::level_enum parsed;
  if (level == "trace")
    parsed = spdlog::level::trace;
  else if (level == "debug")
    parsed = spdlog::level::debug;
  else if (level == "info")
    parsed = spdlog::level::info;
  else if (level == "warn")
    parsed = spdlog::level::warn;
  else if (level == "error")
    parsed = spdlog::level::err;
  else
    return Status::Invalid("log level '" + level +
                           "' must be one of trace, debug, info, warn, error");
  auto logger = std::make_shared<spdlog::logger>(
      "junction", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  logger->set_level(parsed);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
  return Status::Ok();
}

Result<std::unique_ptr<Engine>> Engine::Start(const Config& config) {
  std::unique_ptr<Engine> engine(new Engine());
  store::StoreOptions so;
  so.sqlite_path = config.store.sqlite;
  so.max_batch = config.store.max_batch;
  so.max_delay_us = config.store.max_delay_us;
  so.detect_duplicates = config.store.detect_duplicates;
  auto store = store::Store::Open(so);
  if (!store.ok()) {
    return Status::Io("store " + config.store.sqlite + ": " + store.status().message());
  }
  engine->store_ = std::move(store).value();
  spdlog::info("store {} open (max_batch {}, max_delay_us {}, duplicate detection {})",
               config.store.sqlite, config.store.max_batch, config.store.max_delay_us,
               config.store.detect_duplicates ? "on" : "off");

  engine->server_ = std::make_unique<mllp::Server>(config.server.io_threads);
  for (const ChannelConfig& c : config.channels) {
    IngestOptions io;
    io.channel = c.name;
    io.ack = c.mllp.ack;
    io.validate = c.mllp.validate;
    auto handler = std::make_shared<IngestHandler>(engine->store_.get(), io);
    auto port = engine->server_->AddListener(ListenerFor(c), handler);
    if (!port.ok()) {
      const std::string what = "channel " + c.name + ": " + port.status().message();
      engine->Stop(std::chrono::milliseconds(0));
      return Status(port.status().code(), what);
    }
    engine->handlers_.push_back(handler);
    engine->listeners_.push_back({c.name, c.mllp.host, *port});
    if (c.mllp.ack == AckPolicy::kAfterProcessing) {
      spdlog::warn(
          "channel {}: ack: after-processing acknowledges after the store commit "
          "(as after-store) until channel processing exists",
          c.name);
    }
    spdlog::info("channel {}: mllp on {} (ack {}, validate {}, tls {}, allow-list {})", c.name,
                 HostPort(c.mllp.host, *port), AckPolicyName(c.mllp.ack),
                 c.mllp.validate ? "on" : "off",
                 !c.mllp.tls                     ? "off"
                 : c.mllp.tls->client_ca.empty() ? "on"
                                                 : "mutual",
                 c.mllp.allow.empty() ? std::string("none")
                                      : std::to_string(c.mllp.allow.size()) + " entries");
  }
  engine->server_->Start();
  return engine;
}

Engine::~Engine() { Stop(std::chrono::milliseconds(0)); }

IngestStats Engine::ingest_stats() const {
  IngestStats total;
  for (const auto& h : handlers_) {
    const IngestStats s = h->stats();
    total.messages += s.messages;
    total.stored += s.stored;
    total.duplicates += s.duplicates;
    total.invalid += s.invalid;
    total.rejected += s.rejected;
  }
  return total;
}

Status Engine::Stop(std::chrono::milliseconds drain) {
  if (stopped_) return Status::Ok();
  stopped_ = true;
  // The server first: no new frames, in-flight ones get their ACKs (their
  // commits are still running). Then the store commits what is queued and runs
  // the last callbacks, whose replies go nowhere harmful: the server object
  // stays alive until both are closed.
  if (server_) server_->Stop(drain);
  Status closed = store_ ? store_->Close() : Status::Ok();
  server_.reset();
  return closed;
}

int RunServe(const Config& config, const ServeOptions& options) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  const std::string level = options.log_level.empty() ? config.log.level : options.log_level;
  if (Status s = SetUpLogging(level); !s.ok()) {
    std::fprintf(stderr, "junction: %s\n", s.message().c_str());
    return 2;
  }
  auto engine = Engine::Start(config);
  if (!engine.ok()) {
    spdlog::error("startup failed: {}", engine.status().message());
    std::fprintf(stderr, "junction: %s\n", engine.status().message().c_str());
    return engine.status().code() == StatusCode::kInvalidArgument ? 2 : 3;
  }
  for (const ListenerInfo& l : (*engine)->listeners()) {
    std::fprintf(options.out, "junction: listening mllp %s %s\n", l.channel.c_str(),
                 HostPort(l.host, l.port).c_str());
  }
  std::fprintf(options.out, "junction: ready\n");
  std::fflush(options.out);
  spdlog::info("ready: {} channel(s)", (*engine)->listeners().size());

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  spdlog::info("{} received: stopping (drain up to {} ms)",
               signal_number == SIGTERM ? "SIGTERM" : "SIGINT", options.drain.count());
  Status closed = (*engine)->Stop(options.drain);
  const IngestStats before = (*engine)->ingest_stats();
  spdlog::info("stopped: {} messages, {} stored, {} duplicates, {} stored as error, {} rejected",
               before.messages, before.stored, before.duplicates, before.invalid, before.rejected);
  if (!closed.ok()) {
    spdlog::error("store close: {}", closed.message());
    return 3;
  }
  spdlog::default_logger()->flush();
  return 0;
}

}  // namespace junction::engine
