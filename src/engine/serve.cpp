#include "junction/engine/serve.h"

#include <pthread.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>

namespace junction::engine {
std::string HostPort(const std::string& host, std::uint16_t port) {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

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

namespace {

// The pid file lets `junction reload` find us. Failure to write it is logged,
// not fatal: SIGHUP still works.
bool WritePidFile(const std::string& path) {
  if (path.empty()) return false;
  std::error_code ec;
  const std::filesystem::path p(path);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) {
    spdlog::warn("cannot write pid file {}: `junction reload` will not find this process", path);
    return false;
  }
  std::fprintf(f, "%ld\n", static_cast<long>(getpid()));
  std::fclose(f);
  return true;
}

void ReloadFromFile(Engine* engine, const std::string& file) {
  spdlog::info("SIGHUP received: reloading {}", file);
  auto next = LoadConfig(file);
  if (!next.ok()) {
    spdlog::error("reload refused, the running configuration stays: {}", next.status().message());
    return;
  }
  Status s = engine->Reload(*next);
  if (!s.ok()) {
    spdlog::error("reload refused, the running configuration stays: {}", s.message());
    return;
  }
  spdlog::info("reload done: {} channel(s)", next->channels.size());
}

}  // namespace

int RunServe(const Config& config, const ServeOptions& options) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
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
  std::unique_ptr<Attachment> attached;
  if (options.attach) {
    auto a = options.attach(**engine);
    if (!a.ok()) {
      spdlog::error("startup failed: {}", a.status().message());
      std::fprintf(stderr, "junction: %s\n", a.status().message().c_str());
      (*engine)->Stop(std::chrono::milliseconds(0));
      return a.status().code() == StatusCode::kInvalidArgument ? 2 : 3;
    }
    attached = std::move(a).value();
  }
  for (const ListenerInfo& l : (*engine)->listeners()) {
    std::fprintf(options.out, "junction: listening mllp %s %s\n", l.channel.c_str(),
                 HostPort(l.host, l.port).c_str());
  }
  if (attached) {
    for (const std::string& line : attached->listening()) {
      std::fprintf(options.out, "junction: listening %s\n", line.c_str());
    }
  }
  std::fprintf(options.out, "junction: ready\n");
  std::fflush(options.out);
  spdlog::info("ready: {} channel(s)", config.channels.size());
  const bool have_pid_file = WritePidFile(config.server.pid_file);

  int signal_number = 0;
  while (true) {
    sigwait(&signals, &signal_number);
    if (signal_number != SIGHUP) break;
    ReloadFromFile(engine->get(), config.file);
  }
  if (have_pid_file) std::remove(config.server.pid_file.c_str());
  spdlog::info("{} received: stopping (drain up to {} ms)",
               signal_number == SIGTERM ? "SIGTERM" : "SIGINT", options.drain.count());
  if (attached) attached->Stop(options.drain);
  Status closed = (*engine)->Stop(options.drain);
  attached.reset();
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
