// Server: owns the io_context, its threads, the listener and the shared state;
// Stop drains sessions and joins. Connections live in internal/session.cpp.
#include "junction/http/server.h"

#include <chrono>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "http/internal/listener.h"
#include "http/internal/server_state.h"

namespace junction::http {
namespace {

namespace net = boost::asio;

// After the drain time, force-closed sessions get this long to unwind before
// the threads are stopped regardless.
constexpr std::chrono::seconds kForceCloseWait{2};

}  // namespace

std::string_view Request::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return {};
}

Response Response::Text(int status, std::string body, std::string content_type) {
  Response response;
  response.status = status;
  response.content_type = std::move(content_type);
  response.body = std::move(body);
  return response;
}

Response Response::Json(int status, std::string body) {
  return Text(status, std::move(body), "application/json");
}

struct Server::Impl {
  std::shared_ptr<internal::ServerState> state = std::make_shared<internal::ServerState>();
  std::unique_ptr<net::io_context> ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::shared_ptr<internal::Listener> listener;
  std::vector<std::thread> threads;
  std::mutex lifecycle_mu;  // Start / Stop
  bool started = false;
  bool stopped = false;

  // Waits until no session is registered, or `deadline`.
  bool WaitForSessions(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(state->mu);
    return state->sessions_changed.wait_until(lock, deadline,
                                              [&] { return state->sessions.empty(); });
  }

  // Calls `fn` on every live session (outside the lock: it only posts).
  template <typename Fn>
  void ForEachSession(Fn fn) {
    std::vector<std::shared_ptr<internal::SessionBase>> live;
    {
      std::lock_guard lock(state->mu);
      for (auto& [raw, weak] : state->sessions) {
        if (auto s = weak.lock()) live.push_back(std::move(s));
      }
    }
    for (auto& s : live) fn(*s);
  }
};

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->state->options = std::move(options);
  if (impl_->state->options.io_threads == 0) impl_->state->options.io_threads = 1;
  impl_->state->cors = internal::CorsPolicy(impl_->state->options.cors_origins);
}

Server::~Server() { Stop(); }

void Server::Route(std::string prefix, Handler handler) {
  std::lock_guard lock(impl_->lifecycle_mu);
  if (impl_->started) {
    spdlog::error("http: Route('{}') after Start is ignored", prefix);
    return;
  }
  // "/fhir/" and "/fhir" name the same route; "/" stays the catch-all.
  while (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
  if (prefix.empty() || prefix.front() != '/') prefix.insert(prefix.begin(), '/');
  auto& routes = impl_->state->routes;
  for (auto& route : routes) {
    if (route.prefix == prefix) {
      route.handler = std::move(handler);
      return;
    }
  }
  routes.push_back({std::move(prefix), std::move(handler)});
}

Result<std::uint16_t> Server::Start() {
  std::lock_guard lock(impl_->lifecycle_mu);
  if (impl_->started) return Status::Invalid("http: server already started");
  auto& state = *impl_->state;
  if (state.options.tls) {
    auto tls = internal::MakeTlsContext(*state.options.tls);
    if (!tls.ok()) return tls.status();
    state.tls = std::move(*tls);
  }
  impl_->ioc = std::make_unique<net::io_context>(static_cast<int>(state.options.io_threads));
  impl_->listener = std::make_shared<internal::Listener>(*impl_->ioc, impl_->state);
  auto port = impl_->listener->Bind(state.options.host, state.options.port);
  if (!port.ok()) {
    impl_->listener.reset();
    impl_->ioc.reset();
    return port.status();
  }
  impl_->started = true;
  impl_->work.emplace(impl_->ioc->get_executor());
  impl_->listener->Start();
  for (std::size_t i = 0; i < state.options.io_threads; ++i) {
    impl_->threads.emplace_back([ioc = impl_->ioc.get()] { ioc->run(); });
  }
  spdlog::info("http: listening on {}:{}{} with {} I/O threads", state.options.host, *port,
               state.tls ? " (TLS)" : "", state.options.io_threads);
  return *port;
}

void Server::Stop(std::chrono::milliseconds drain) {
  std::lock_guard lock(impl_->lifecycle_mu);
  if (!impl_->started || impl_->stopped) return;
  impl_->stopped = true;
  const auto start = std::chrono::steady_clock::now();

  impl_->listener->Close();
  {
    std::lock_guard state_lock(impl_->state->mu);
    impl_->state->stopping = true;
  }
  // Idle connections close now; requests in progress finish, then close.
  impl_->ForEachSession([](internal::SessionBase& s) { s.RequestStop(); });
  if (!impl_->WaitForSessions(start + drain)) {
    impl_->ForEachSession([](internal::SessionBase& s) { s.ForceClose(); });
    if (!impl_->WaitForSessions(std::chrono::steady_clock::now() + kForceCloseWait)) {
      spdlog::warn("http: connections still open after force close; stopping anyway");
    }
  }
  {
    // From here on a late Responder finds nothing to post to.
    std::lock_guard life_lock(impl_->state->life_mu);
    impl_->state->alive = false;
  }
  impl_->work.reset();
  impl_->ioc->stop();
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
  impl_->threads.clear();
  spdlog::info("http: stopped");
}

ServerStats Server::stats() const {
  std::lock_guard lock(impl_->state->mu);
  return impl_->state->stats;
}

}  // namespace junction::http
