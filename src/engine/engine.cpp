// Engine: wires the store, sources, channel runtimes, retention and reload.
#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "engine/internal/router.h"
#include "junction/engine/messages.h"
#include "junction/engine/serve.h"
#include "junction/hl7/message.h"

namespace junction::engine {
namespace {

constexpr auto kPruneInterval = std::chrono::seconds(60);
constexpr auto kPruneFirst = std::chrono::seconds(10);
constexpr auto kPrunePause = std::chrono::milliseconds(20);  // between chunks: ingest goes first

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

bool SameTls(const std::optional<TlsConfig>& a, const std::optional<TlsConfig>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || (a->cert == b->cert && a->key == b->key && a->client_ca == b->client_ca);
}

bool SameMllpSource(const MllpSourceConfig& a, const MllpSourceConfig& b) {
  return a.host == b.host && a.port == b.port && a.ack == b.ack && a.validate == b.validate &&
         a.strict_framing == b.strict_framing && a.max_frame_bytes == b.max_frame_bytes &&
         a.max_connections == b.max_connections && a.idle_timeout == b.idle_timeout &&
         a.read_timeout == b.read_timeout && a.allow == b.allow && SameTls(a.tls, b.tls);
}

// True when the MLLP listeners of `a` and `b` are the same.
bool SameListeners(const Config& a, const Config& b) {
  if (a.server.io_threads != b.server.io_threads) return false;
  std::map<std::string, const MllpSourceConfig*> left;
  for (const auto& c : a.channels) {
    if (c.source == SourceKind::kMllp) left[c.name] = &c.mllp;
  }
  std::size_t matched = 0;
  for (const auto& c : b.channels) {
    if (c.source != SourceKind::kMllp) continue;
    auto it = left.find(c.name);
    if (it == left.end() || !SameMllpSource(*it->second, c.mllp)) return false;
    ++matched;
  }
  return matched == left.size();
}

// Opened when something uses it: the HTTP API (/fhir) or a fhir-store destination.
bool NeedsResourceStore(const Config& config) {
  if (config.http.enabled) return true;
  for (const ChannelConfig& c : config.channels) {
    for (const DestinationConfig& d : c.destinations) {
      if (d.kind == DestinationKind::kFhirStore) return true;
    }
  }
  return false;
}

}  // namespace

struct Engine::Impl {
  store::Store* store = nullptr;
  fhir::ResourceStore* resource_store = nullptr;
  std::shared_ptr<internal::Router> router = std::make_shared<internal::Router>();
  std::unique_ptr<mllp::Server> server;
  std::vector<std::shared_ptr<IngestHandler>> handlers;
  IngestStats retired;  // counts of handlers dropped by reloads
  std::vector<ListenerInfo> listeners;
  std::vector<std::unique_ptr<FileSource>> file_sources;
  // http sources by path ("/hl7/lab"); "/hl7/v2" also names the first one.
  std::map<std::string, std::shared_ptr<IngestHandler>, std::less<>> http_handlers;
  mutable std::mutex mutex;  // listeners, handlers, http_handlers, retired

  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::atomic<std::int64_t> last_prune_us{0};
  std::atomic<std::size_t> last_pruned{0};
  std::thread pruner;
  std::mutex prune_mutex;
  std::condition_variable prune_cv;
  bool prune_stop = false;
  std::vector<std::pair<std::string, RetentionConfig>> retention;  // under prune_mutex

  DestinationEnv Env(const Config& config) {
    DestinationEnv env;
    env.fhir = config.fhir;
    env.resource_store = resource_store;
    store::Store* s = store;
    auto r = router;
    env.submit_to_channel = [s, r](const std::string& channel, std::string raw,
                                   std::int64_t source_id) -> Status {
      store::IncomingMessage in;
      auto parsed = hl7::Message::Parse(std::string_view(raw));
      if (parsed.ok()) ExtractMetadata(*parsed, &in);
      in.channel = channel;
      in.peer = "message:" + std::to_string(source_id);
      in.raw = raw;
      auto stored = s->AppendAndWait(std::move(in));
      if (!stored.ok()) return stored.status();
      if (!stored->duplicate) r->Submit(channel, stored->id, std::move(raw), nullptr);
      return Status::Ok();
    };
    return env;
  }

  // Builds (does not start) a runtime per channel.
  Result<internal::Router::Map> BuildRuntimes(const Config& config) {
    internal::Router::Map map;
    const DestinationEnv env = Env(config);
    for (const ChannelConfig& c : config.channels) {
      auto runtime = ChannelRuntime::Create(store, c, config.tables, env);
      if (!runtime.ok()) return runtime.status();
      map[c.name] = std::move(runtime).value();
    }
    return map;
  }

  Status StartListeners(const Config& config) {
    auto server = std::make_unique<mllp::Server>(config.server.io_threads);
    std::vector<std::shared_ptr<IngestHandler>> handlers;
    std::vector<ListenerInfo> listeners;
    for (const ChannelConfig& c : config.channels) {
      if (c.source != SourceKind::kMllp) continue;
      IngestOptions io;
      io.channel = c.name;
      io.ack = c.mllp.ack;
      io.validate = c.mllp.validate;
      io.sink = router.get();
      auto handler = std::make_shared<IngestHandler>(store, io);
      auto port = server->AddListener(ListenerFor(c), handler);
      if (!port.ok()) {
        server->Stop(std::chrono::milliseconds(0));
        return Status(port.status().code(), "channel " + c.name + ": " + port.status().message());
      }
      handlers.push_back(handler);
      listeners.push_back({c.name, c.mllp.host, *port});
      spdlog::info("channel {}: mllp on {} (ack {}, validate {}, tls {}, allow-list {})", c.name,
                   HostPort(c.mllp.host, *port), AckPolicyName(c.mllp.ack),
                   c.mllp.validate ? "on" : "off",
                   !c.mllp.tls                     ? "off"
                   : c.mllp.tls->client_ca.empty() ? "on"
                                                   : "mutual",
                   c.mllp.allow.empty() ? std::string("none")
                                        : std::to_string(c.mllp.allow.size()) + " entries");
    }
    server->Start();
    std::lock_guard<std::mutex> lock(mutex);
    this->server = std::move(server);
    handlers.swap(this->handlers);
    for (const auto& h : handlers) Add(&retired, h->stats());
    listeners.swap(this->listeners);
    return Status::Ok();
  }

  // Ingest handlers for http sources (nothing to bind: the HTTP server, wired
  // by the app, hands requests to Engine::SubmitHttp).
  void BuildHttpHandlers(const Config& config) {
    std::map<std::string, std::shared_ptr<IngestHandler>, std::less<>> built;
    for (const ChannelConfig& c : config.channels) {
      if (c.source != SourceKind::kHttp) continue;
      IngestOptions io;
      io.channel = c.name;
      io.ack = c.http.ack;
      io.validate = c.http.validate;
      io.sink = router.get();
      auto handler = std::make_shared<IngestHandler>(store, io);
      if (built.empty()) built[std::string(kDefaultHttpPath)] = handler;
      built[c.http.path] = handler;
      spdlog::info("channel {}: http on {} (ack {}, validate {})", c.name, c.http.path,
                   AckPolicyName(c.http.ack), c.http.validate ? "on" : "off");
    }
    std::lock_guard<std::mutex> lock(mutex);
    for (const auto& [path, h] : http_handlers) {
      if (path != kDefaultHttpPath) Add(&retired, h->stats());
    }
    http_handlers.swap(built);
  }

  static void Add(IngestStats* total, const IngestStats& s) {
    total->messages += s.messages;
    total->stored += s.stored;
    total->duplicates += s.duplicates;
    total->invalid += s.invalid;
    total->rejected += s.rejected;
    for (std::size_t i = 0; i < kAckLatencyBucketCount; ++i) {
      total->ack_latency_buckets[i] += s.ack_latency_buckets[i];
    }
    total->ack_latency_count += s.ack_latency_count;
    total->ack_latency_sum_s += s.ack_latency_sum_s;
  }

  Status StartFileSources(const Config& config) {
    for (const ChannelConfig& c : config.channels) {
      if (c.source != SourceKind::kFile) continue;
      auto r = router;
      const std::string name = c.name;
      auto source = std::make_unique<FileSource>(store, c.name, c.file,
                                                 [r, name](store::MessageId id, std::string raw) {
                                                   r->Submit(name, id, std::move(raw), nullptr);
                                                 });
      Status s = source->Start();
      if (!s.ok()) return Status(s.code(), "channel " + c.name + ": " + s.message());
      spdlog::info("channel {}: polling {} for {}", c.name, c.file.dir, c.file.pattern);
      file_sources.push_back(std::move(source));
    }
    return Status::Ok();
  }

  void StopFileSources() {
    for (auto& f : file_sources) f->Stop();
    file_sources.clear();
  }

  void SetRetention(const Config& config) {
    std::lock_guard<std::mutex> lock(prune_mutex);
    retention.clear();
    for (const ChannelConfig& c : config.channels) {
      if (c.retention.max_age.count() > 0 || c.retention.error_max_age.count() > 0) {
        retention.emplace_back(c.name, c.retention);
      }
    }
  }

  Result<std::size_t> PruneAll() {
    std::vector<std::pair<std::string, RetentionConfig>> todo;
    {
      std::lock_guard<std::mutex> lock(prune_mutex);
      todo = retention;
    }
    std::size_t total = 0;
    const std::int64_t now = NowMicros();
    for (const auto& [channel, r] : todo) {
      store::PruneRequest req;
      req.channel = channel;
      req.before_us = r.max_age.count() > 0 ? now - r.max_age.count() * 1'000'000 : 0;
      req.errors_before_us =
          r.error_max_age.count() > 0 ? now - r.error_max_age.count() * 1'000'000 : 0;
      while (true) {
        auto n = store->PruneAndWait(req);
        if (!n.ok()) return n.status();
        total += *n;
        if (*n < req.max_rows) break;
        std::unique_lock<std::mutex> lock(prune_mutex);
        if (prune_cv.wait_for(lock, kPrunePause, [&] { return prune_stop; })) return total;
      }
    }
    return total;
  }

  void RunPruner() {
    auto next = std::chrono::steady_clock::now() + kPruneFirst;
    while (true) {
      {
        std::unique_lock<std::mutex> lock(prune_mutex);
        if (prune_cv.wait_until(lock, next, [&] { return prune_stop; })) return;
      }
      auto n = PruneAll();
      last_prune_us.store(NowMicros());
      last_pruned.store(n.ok() ? *n : 0);
      if (!n.ok()) {
        spdlog::warn("retention: pruning failed: {}", n.status().message());
      } else if (*n > 0) {
        spdlog::info("retention: pruned {} message(s)", *n);
      }
      next = std::chrono::steady_clock::now() + kPruneInterval;
    }
  }

  void StopPruner() {
    {
      std::lock_guard<std::mutex> lock(prune_mutex);
      prune_stop = true;
    }
    prune_cv.notify_all();
    if (pruner.joinable()) pruner.join();
  }

  void StopRuntimes() {
    internal::Router::Map old = router->Swap({});
    for (auto& [name, runtime] : old) {
      for (PendingMessage& m : runtime->Stop()) {
        if (m.done) m.done({ProcessedResult::Kind::kAccepted, ""});
      }
    }
  }
};

Engine::Engine() : impl_(std::make_unique<Impl>()) {}

Result<std::unique_ptr<Engine>> Engine::Start(const Config& config) {
  std::unique_ptr<Engine> engine(new Engine());
  engine->config_ = config;
  engine->shared_config_ = std::make_shared<const Config>(config);
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
  Impl& impl = *engine->impl_;
  impl.store = engine->store_.get();
  if (NeedsResourceStore(config)) {
    fhir::ResourceStoreOptions fo;
    fo.sqlite_path = FhirStorePath(config.store, config.fhir_store);
    fo.durable = config.fhir_store.durable;
    auto resources = fhir::ResourceStore::Open(fo);
    if (!resources.ok()) {
      engine->Stop(std::chrono::milliseconds(0));
      return Status::Io("fhir_store " + fo.sqlite_path + ": " + resources.status().message());
    }
    engine->resource_store_ = std::move(resources).value();
    impl.resource_store = engine->resource_store_.get();
    spdlog::info("fhir store {} open", fo.sqlite_path);
  }
  spdlog::info("store {} open (max_batch {}, max_delay_us {}, duplicate detection {})",
               config.store.sqlite, config.store.max_batch, config.store.max_delay_us,
               config.store.detect_duplicates ? "on" : "off");

  auto runtimes = impl.BuildRuntimes(config);
  if (!runtimes.ok()) {
    engine->Stop(std::chrono::milliseconds(0));
    return runtimes.status();
  }
  impl.router->Swap(*runtimes);
  for (auto& [name, runtime] : *runtimes) runtime->Start();
  for (const ChannelConfig& c : config.channels) {
    spdlog::info("channel {}: {} destination(s), filter/transform {}", c.name,
                 c.destinations.size(), c.pipeline.empty() ? "none" : "on");
  }

  impl.BuildHttpHandlers(config);
  Status s = impl.StartListeners(config);
  if (s.ok()) s = impl.StartFileSources(config);
  if (!s.ok()) {
    engine->Stop(std::chrono::milliseconds(0));
    return s;
  }
  impl.SetRetention(config);
  impl.pruner = std::thread([&impl] { impl.RunPruner(); });
  return engine;
}

Engine::~Engine() { Stop(std::chrono::milliseconds(0)); }

std::vector<ListenerInfo> Engine::listeners() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->listeners;
}

IngestStats Engine::ingest_stats() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  IngestStats total = impl_->retired;
  for (const auto& h : impl_->handlers) Impl::Add(&total, h->stats());
  for (const auto& [path, h] : impl_->http_handlers) {
    if (path != kDefaultHttpPath) Impl::Add(&total, h->stats());
  }
  return total;
}

mllp::ServerStats Engine::mllp_stats() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->server ? impl_->server->stats() : mllp::ServerStats{};
}

std::int64_t Engine::uptime_seconds() const {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                          impl_->started)
      .count();
}

Engine::PruneInfo Engine::last_prune() const {
  return {impl_->last_prune_us.load(), impl_->last_pruned.load()};
}

bool Engine::SubmitHttp(std::string_view path, const mllp::PeerInfo& peer, std::string body,
                        mllp::Handler::Reply reply) {
  std::shared_ptr<IngestHandler> handler;
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    auto it = impl_->http_handlers.find(path);
    if (it == impl_->http_handlers.end()) return false;
    handler = it->second;
  }
  handler->OnMessage(peer, std::move(body), std::move(reply));
  return true;
}

std::vector<ChannelStats> Engine::channel_stats() const {
  std::vector<ChannelStats> out;
  for (const auto& [name, runtime] : impl_->router->Snapshot()) out.push_back(runtime->stats());
  return out;
}

Result<std::size_t> Engine::PruneOnce() { return impl_->PruneAll(); }

std::string_view RunStateName(RunState state) {
  switch (state) {
    case RunState::kRunning:
      return "running";
    case RunState::kPaused:
      return "paused";
    case RunState::kStopped:
      return "stopped";
  }
  return "running";
}

Status Engine::SetChannelState(const std::string& channel, RunState state) {
  auto runtimes = impl_->router->Snapshot();
  auto it = runtimes.find(channel);
  if (it == runtimes.end()) return Status::NotFound("no channel " + channel);
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    for (const auto& h : impl_->handlers) {
      if (h->channel() == channel) h->SetRefusing(state == RunState::kStopped);
    }
    for (const auto& [path, h] : impl_->http_handlers) {
      if (h->channel() == channel) h->SetRefusing(state == RunState::kStopped);
    }
  }
  it->second->SetPaused(state != RunState::kRunning);
  spdlog::info("channel {}: {}", channel, RunStateName(state));
  return Status::Ok();
}

Result<RunState> Engine::channel_state(const std::string& channel) const {
  auto runtimes = impl_->router->Snapshot();
  auto it = runtimes.find(channel);
  if (it == runtimes.end()) return Status::NotFound("no channel " + channel);
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    for (const auto& h : impl_->handlers) {
      if (h->channel() == channel && h->refusing()) return RunState::kStopped;
    }
    for (const auto& [path, h] : impl_->http_handlers) {
      if (h->channel() == channel && h->refusing()) return RunState::kStopped;
    }
  }
  return it->second->stats().paused ? RunState::kPaused : RunState::kRunning;
}

Status Engine::SetDestinationPaused(const std::string& channel, const std::string& destination,
                                    bool paused) {
  auto runtimes = impl_->router->Snapshot();
  auto it = runtimes.find(channel);
  if (it == runtimes.end()) return Status::NotFound("no channel " + channel);
  Status s = it->second->SetDestinationPaused(destination, paused);
  if (s.ok())
    spdlog::info("channel {}: destination {}: {}", channel, destination,
                 paused ? "paused" : "running");
  return s;
}

std::shared_ptr<const Config> Engine::config_snapshot() const {
  std::lock_guard<std::mutex> lock(config_mutex_);
  return shared_config_;
}

Status Engine::Reload(const Config& next) {
  std::lock_guard<std::mutex> reload_lock(reload_mutex_);
  if (stopped_) return Status::Invalid("engine stopped");
  Impl& impl = *impl_;
  if (next.store.sqlite != config_.store.sqlite ||
      next.store.max_batch != config_.store.max_batch ||
      next.store.max_delay_us != config_.store.max_delay_us ||
      next.store.detect_duplicates != config_.store.detect_duplicates) {
    spdlog::warn("reload: store settings changed; they apply at the next restart");
  }
  auto runtimes = impl.BuildRuntimes(next);
  if (!runtimes.ok()) return runtimes.status();
  const bool rebuild_listeners = !SameListeners(config_, next);

  // Listeners go first when they change: their in-flight frames are answered
  // by the old runtimes (after-processing ACKs) before those stop. If the new
  // ones cannot bind, the old ones come back and nothing else changes.
  if (rebuild_listeners) {
    std::unique_ptr<mllp::Server> old;
    std::vector<ListenerInfo> bound_before;
    {
      std::lock_guard<std::mutex> lock(impl.mutex);
      old = std::move(impl.server);
      bound_before = impl.listeners;
    }
    if (old) old->Stop(std::chrono::seconds(10));
    old.reset();
    Status bound = impl.StartListeners(next);
    if (!bound.ok()) {
      // Back on the ports that were bound (port 0 in the config means "any",
      // but senders know the port that was given out).
      Config previous = config_;
      for (ChannelConfig& c : previous.channels) {
        for (const ListenerInfo& l : bound_before) {
          if (c.source == SourceKind::kMllp && l.channel == c.name) c.mllp.port = l.port;
        }
      }
      Status back = impl.StartListeners(previous);
      if (!back.ok()) {
        spdlog::error("reload: the previous listeners could not be restored either: {}",
                      back.message());
      }
      return bound;
    }
  }
  impl.StopFileSources();
  if (NeedsResourceStore(next) && impl.resource_store == nullptr) {
    spdlog::warn(
        "reload: fhir-store destinations need the FHIR store, which opens at the next restart");
  }
  // New runtimes take Submit at once (they queue until started); the old ones
  // stop outside the router's lock and hand over what they had not done.
  internal::Router::Map old = impl.router->Swap(*runtimes);
  for (auto& [name, runtime] : old) {
    std::vector<PendingMessage> left = runtime->Stop();
    auto it = runtimes->find(name);
    if (it != runtimes->end()) {
      it->second->Adopt(std::move(left));
    } else {
      for (PendingMessage& m : left) {
        if (m.done) m.done({ProcessedResult::Kind::kAccepted, ""});
      }
    }
  }
  for (auto& [name, runtime] : *runtimes) runtime->Start();
  {
    std::lock_guard<std::mutex> lock(impl.mutex);  // a reload runs every channel again
    for (const auto& h : impl.handlers) h->SetRefusing(false);
  }
  impl.BuildHttpHandlers(next);
  Status f = impl.StartFileSources(next);
  impl.SetRetention(next);
  config_ = next;
  {
    std::lock_guard<std::mutex> lock(config_mutex_);
    shared_config_ = std::make_shared<const Config>(next);
  }
  return f;
}

Status Engine::Stop(std::chrono::milliseconds drain) {
  if (stopped_) return Status::Ok();
  stopped_ = true;
  Impl& impl = *impl_;
  // The server first: no new frames, in-flight ones get their ACKs (their
  // commits and, for after-processing, their channel run are still going).
  // Then sources and channels stop; the store commits what is queued and runs
  // the last callbacks, whose replies go nowhere harmful: the server object
  // stays alive until the store is closed.
  std::unique_ptr<mllp::Server> server;
  {
    std::lock_guard<std::mutex> lock(impl.mutex);
    server = std::move(impl.server);
  }
  if (server) server->Stop(drain);
  impl.StopFileSources();
  impl.StopPruner();
  impl.StopRuntimes();
  {
    std::lock_guard<std::mutex> lock(impl.mutex);
    impl.http_handlers.clear();
  }
  Status closed = store_ ? store_->Close() : Status::Ok();
  if (resource_store_) {
    Status fhir_closed = resource_store_->Close();
    if (closed.ok()) closed = fhir_closed;
  }
  server.reset();
  return closed;
}

}  // namespace junction::engine
