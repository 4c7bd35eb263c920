// StartHttpApp: builds the Server from config `http:`, the Authenticator from
// `auth:` and the REST API over the engine's FHIR store, mounts the routes.
#include "junction/http/app.h"

#include <spdlog/spdlog.h>

#include <ctime>
#include <string>
#include <vector>

#include "http/internal/app_routes.h"
#include "http/internal/app_state.h"

namespace junction::http {
namespace {

class HttpAttachment : public engine::Attachment {
 public:
  HttpAttachment(std::unique_ptr<Server> server, std::shared_ptr<internal::AppContext> app,
                 std::string address)
      : server_(std::move(server)), app_(std::move(app)), address_(std::move(address)) {}

  std::vector<std::string> listening() const override { return {"http " + address_}; }
  void Stop(std::chrono::milliseconds drain) override { server_->Stop(drain); }

 private:
  std::unique_ptr<Server> server_;
  std::shared_ptr<internal::AppContext> app_;
  std::string address_;
};

ServerOptions OptionsFrom(const engine::HttpConfig& c) {
  ServerOptions o;
  o.host = c.host;
  o.port = c.port;
  o.max_body_bytes = c.max_body_bytes;
  o.max_header_bytes = c.max_header_bytes;
  o.read_timeout = c.read_timeout;
  o.idle_timeout = c.idle_timeout;
  o.max_connections = c.max_connections;
  o.cors_origins = c.cors_origins;
  if (c.tls) o.tls = TlsServerOptions{c.tls->cert, c.tls->key, c.tls->client_ca};
  return o;
}

}  // namespace

namespace internal {

AppContext::AppContext() = default;
AppContext::~AppContext() = default;

Result<Principal> Authenticate(const AppContext& app, const Request& request) {
  if (!app.auth) return Status::Invalid("no token issuer is configured (auth:)");
  return app.auth->Verify(request.Header("authorization"),
                          static_cast<std::int64_t>(std::time(nullptr)));
}

}  // namespace internal

Result<std::unique_ptr<engine::Attachment>> StartHttpApp(engine::Engine& engine) {
  const engine::Config& config = engine.config();
  if (!config.http.enabled) return Status::Invalid("http: is not configured");
  if (engine.resource_store() == nullptr) return Status::Invalid("the FHIR store is not open");

  auto app = std::make_shared<internal::AppContext>();
  app->engine = &engine;
  const bool have_key = !config.auth.hs256_secret.empty() || !config.auth.jwks.empty() ||
                        !config.auth.rs256_private_key.empty() ||
                        !config.auth.es256_private_key.empty();
  if (have_key) {
    auto auth = Authenticator::Create(config.auth);
    if (!auth.ok()) return auth.status();
    app->auth = std::move(auth).value();
  } else {
    spdlog::warn("http: auth: has no key: every /fhir and /hl7 request will be refused (401)");
  }
  app->rest = std::make_unique<fhir::RestApi>(*engine.resource_store(), fhir::RestOptions{});
  app->tls = config.http.tls.has_value();

  auto server = std::make_unique<Server>(OptionsFrom(config.http));
  app->server = server.get();
  app->reports = std::make_unique<internal::ReportCache>(engine.store(), std::chrono::seconds(2));
  app->rates = std::make_unique<internal::RateSampler>(&engine);
  server->Route("/fhir", internal::FhirRoute(app));
  server->Route("/hl7", internal::Hl7Route(app));
  server->Route("/auth/token", internal::TokenRoute(app));
  server->Route("/api", internal::ApiRoute(app));
  server->Route("/metrics", internal::MetricsRoute(app));
  server->Route("/readyz", internal::ReadyRoute(app));
  server->Route("/healthz", [](Request, Responder respond) {
    respond(Response::Json(200, R"({"status":"ok"})"));
  });
  if (!config.http.ui_dir.empty()) server->Route("/", internal::StaticRoute(config.http.ui_dir));
  auto port = server->Start();
  if (!port.ok()) {
    return Status(port.status().code(), "http " +
                                            engine::HostPort(config.http.host, config.http.port) +
                                            ": " + port.status().message());
  }
  const std::string address = engine::HostPort(config.http.host, *port);
  spdlog::info("http on {} (tls {}, auth {})", address, app->tls ? "on" : "off",
               app->auth ? "on" : "closed");
  return std::unique_ptr<engine::Attachment>(
      std::make_unique<HttpAttachment>(std::move(server), std::move(app), address));
}

}  // namespace junction::http
