// The running engine behind `junction serve`: the store, the sources (one MLLP
// listener or file poller per channel, each storing before it acknowledges),
// the channel runtimes (channel.h) with their delivery queues, retention
// (pruning), hot reload, logging, startup lines and graceful shutdown.
//
//   auto config = LoadConfig("conf/junction.yaml");
//   return RunServe(*config, {.log_level = "debug"});   // blocks until SIGTERM/SIGINT
//
//   // In tests: start, talk to it, stop.
//   auto engine = Engine::Start(*config);
//   std::uint16_t port = (*engine)->listeners()[0].port;
//   (*engine)->Stop();
//
// Startup prints, on `out`, one line per listener once every listener is bound,
//   junction: listening mllp <channel> <host>:<port>
// (the bound port, so port 0 works; IPv6 hosts in brackets), then
//   junction: ready
// and flushes. Shutdown (SIGTERM/SIGINT): stop accepting, answer in-flight
// frames (up to the drain time), then close the store, which commits
// everything queued.
//
// Ownership: Engine owns the store and the server. Thread safety: Start/Stop
// from one thread; listeners() and the stats from any.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "junction/engine/channel.h"
#include "junction/engine/config.h"
#include "junction/engine/file_source.h"
#include "junction/engine/ingest.h"
#include "junction/fhir/resource_store.h"
#include "junction/hl7/status.h"
#include "junction/mllp/server.h"
#include "junction/store/store.h"

namespace junction::engine {

inline constexpr std::string_view kDefaultHttpPath = "/hl7/v2";

// A channel's run state (admin API). kPaused: messages are received and
// stored but wait unprocessed; kStopped: as paused, and new messages are
// refused with AR/CR (the sender keeps them).
enum class RunState { kRunning, kPaused, kStopped };
std::string_view RunStateName(RunState state);  // "running", "paused", "stopped"

struct ListenerInfo {
  std::string channel;
  std::string host;
  std::uint16_t port = 0;
};

class Engine {
 public:
  // Opens the store, binds every listener and starts the I/O threads.
  // kIoError when the store cannot be opened or an address cannot be bound,
  // kInvalidArgument for settings the config parser could not check (TLS files
  // that do not load). Messages name the channel.
  static Result<std::unique_ptr<Engine>> Start(const Config& config);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Bound listeners (copy: a reload may rebuild them).
  std::vector<ListenerInfo> listeners() const;
  store::Store* store() { return store_.get(); }
  // The FHIR resource store (config fhir_store:), open when http: is
  // configured or a channel has a fhir-store destination; else nullptr.
  fhir::ResourceStore* resource_store() { return resource_store_.get(); }

  // HL7 v2 over HTTP: hands `body` to the ingest of the channel whose
  // `source: { http: { path } }` is `path` (kDefaultHttpPath = the first such
  // channel); `reply` gets the ACK exactly as over MLLP (after the commit).
  // false when no channel serves `path` (reply is not called).
  bool SubmitHttp(std::string_view path, const mllp::PeerInfo& peer, std::string body,
                  mllp::Handler::Reply reply);
  IngestStats ingest_stats() const;      // summed over channels (and reloads)
  mllp::ServerStats mllp_stats() const;  // the current listeners' connections and frames
  // Seconds since Start; the last retention run (0 = none yet) and what it deleted.
  std::int64_t uptime_seconds() const;
  struct PruneInfo {
    std::int64_t last_run_us = 0;
    std::size_t last_deleted = 0;
  };
  PruneInfo last_prune() const;
  std::vector<ChannelStats> channel_stats() const;
  // The running configuration. config() is for the thread that calls
  // Start/Reload/Stop; other threads (HTTP handlers) take a snapshot, which a
  // reload does not change under them.
  const Config& config() const { return config_; }
  std::shared_ptr<const Config> config_snapshot() const;

  // Run states, not persisted: a reload or restart runs everything again.
  // kNotFound for an unknown channel or destination.
  Status SetChannelState(const std::string& channel, RunState state);
  Result<RunState> channel_state(const std::string& channel) const;
  Status SetDestinationPaused(const std::string& channel, const std::string& destination,
                              bool paused);

  // Applies a new configuration without a restart. Every channel runtime is
  // rebuilt from `next` (compiled and checked first: on any error nothing
  // changes and the error is returned). Listeners are rebuilt only when a
  // source or server.io_threads changed (connections then drop and senders
  // reconnect). Messages in hand are handed to the new runtimes; nothing
  // stored is lost. store and log settings need a restart (warned).
  Status Reload(const Config& next);

  // Prunes every channel with retention once (the engine also does this every
  // minute); returns the number of messages deleted.
  Result<std::size_t> PruneOnce();

  // Server::Stop(drain), channels, then Store::Close. Returns the store's
  // close status. Later calls return Ok.
  Status Stop(std::chrono::milliseconds drain = std::chrono::seconds(10));

 private:
  struct Impl;
  Engine();
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<fhir::ResourceStore> resource_store_;
  std::unique_ptr<Impl> impl_;
  Config config_;
  mutable std::mutex config_mutex_;  // shared_config_
  std::shared_ptr<const Config> shared_config_;
  std::mutex reload_mutex_;  // one Reload at a time (SIGHUP and the admin API)
  bool stopped_ = false;
};

// "127.0.0.1:2575" or "[::1]:2575".
std::string HostPort(const std::string& host, std::uint16_t port);

// Sends spdlog output to stderr with UTC timestamps at `level` (trace, debug,
// info, warn, error). kInvalidArgument for an unknown level.
Status SetUpLogging(const std::string& level);

// Something that runs beside the engine and needs it, started after it and
// stopped before it: the HTTP server (the http module sits above the engine,
// so the app wires it in through ServeOptions::attach).
class Attachment {
 public:
  virtual ~Attachment() = default;
  // "listening" lines to print before "junction: ready" (e.g. "http 127.0.0.1:8080").
  virtual std::vector<std::string> listening() const = 0;
  virtual void Stop(std::chrono::milliseconds drain) = 0;
};
using AttachFunction = std::function<Result<std::unique_ptr<Attachment>>(Engine& engine)>;

struct ServeOptions {
  std::string log_level;    // overrides config.log.level when not empty
  std::FILE* out = stdout;  // the "listening" and "ready" lines
  std::chrono::milliseconds drain{std::chrono::seconds(10)};
  AttachFunction attach;  // optional; a failure stops startup (exit 2 or 3 as for the engine)
};

// Runs until SIGTERM or SIGINT. Blocks those signals in the calling thread
// first (call it before starting other threads, so every thread inherits the
// mask). Returns the process exit code: 0 after a clean shutdown, 2 for a bad
// setting, 3 for an I/O failure (store, bind); problems go to the log/stderr.
int RunServe(const Config& config, const ServeOptions& options = {});

}  // namespace junction::engine
