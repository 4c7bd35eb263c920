// HTTP/1.1 server (Boost.Beast) for /fhir, /hl7, /auth, /api, /metrics and the
// web UI: keep-alive, optional TLS, bounded everything, gzip, CORS.
//
//   http::ServerOptions options;
//   options.host = "127.0.0.1"; options.port = 8080;
//   http::Server server(options);
//   server.Route("/healthz", [](http::Request req, http::Responder respond) {
//     respond(http::Response::Text(200, "ok\n"));
//   });
//   auto port = server.Start();            // bound port (0 picks one)
//   ...
//   server.Stop(std::chrono::seconds(5));
//
// Routing: the longest registered prefix that matches the path on a segment
// boundary wins ("/fhir" matches "/fhir" and "/fhir/Patient/1", not "/fhirx").
// No match: 404. Handlers run on an I/O thread and must not block for long:
// they may keep `respond` and call it later from any thread, exactly once.
//
// Limits (each answered, never crashed on): request body over max_body_bytes
// -> 413 before the body is read; header block over max_header_bytes -> 431;
// a request not complete within read_timeout -> 408 and close (slow clients);
// idle keep-alive connections close after idle_timeout; connections beyond
// max_connections are closed at once. Error bodies are FHIR OperationOutcome
// JSON when the path starts with /fhir, else short JSON {"error": ...}.
//
// Responses are gzip-compressed when the client sends Accept-Encoding: gzip
// and the body is at least gzip_min_bytes. CORS headers (and OPTIONS
// preflight answers) only for origins in cors_origins ("*" = any); none by
// default. Every response carries X-Request-Id. The access log has method,
// route prefix, status, bytes and time, never query values or bodies (PHI).
//
// Ownership: Server owns its threads and connections. Thread safety: Route
// before Start; Stop and stats from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "junction/hl7/status.h"

namespace junction::http {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as received: "/fhir/Patient?name=x"
  std::string path;    // percent-decoded path, no query: "/fhir/Patient"
  std::string query;   // raw query string after '?', not decoded ("" when none)
  // Header names lower-cased; repeated headers keep their order.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;        // decompressed if Content-Encoding: gzip was sent
  std::string peer;        // "127.0.0.1:53122"
  std::string request_id;  // also sent back as X-Request-Id
  bool tls = false;

  // First header with this (lower-case) name, "" when absent.
  std::string_view Header(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  std::string body;

  static Response Text(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
  static Response Json(int status, std::string body);
};

using Responder = std::function<void(Response)>;
using Handler = std::function<void(Request request, Responder respond)>;

struct TlsServerOptions {
  std::string cert;       // PEM chain
  std::string key;        // PEM key
  std::string client_ca;  // optional: require client certificates it signed
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0 = any free port
  std::size_t io_threads = 2;
  std::size_t max_body_bytes = 16u << 20;
  std::size_t max_header_bytes = 16u << 10;
  std::chrono::milliseconds read_timeout{30'000};   // whole request, once started
  std::chrono::milliseconds idle_timeout{60'000};   // keep-alive between requests
  std::size_t max_connections = 1024;
  std::optional<TlsServerOptions> tls;
  std::vector<std::string> cors_origins;  // empty = no CORS headers
  std::size_t gzip_min_bytes = 1024;
};

struct RouteStats {
  std::map<int, std::uint64_t> by_status;  // status code -> responses
};

struct ServerStats {
  std::uint64_t open_connections = 0;
  std::uint64_t accepted = 0;
  std::uint64_t rejected_connections = 0;  // over max_connections
  std::map<std::string, RouteStats> routes;  // by route prefix ("" = no route matched)
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  void Route(std::string prefix, Handler handler);
  // Binds and starts the I/O threads; returns the bound port. kIoError when
  // the address cannot be bound, kInvalidArgument when TLS files do not load.
  Result<std::uint16_t> Start();
  // Stops accepting, lets requests in progress finish (up to `drain`), closes.
  void Stop(std::chrono::milliseconds drain = std::chrono::seconds(5));
  ServerStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Percent-decodes `text` ('+' stays '+'; query values use DecodeQueryValue).
std::string PercentDecode(std::string_view text);
// Splits a query string into (name, value) pairs, both percent-decoded with
// '+' as space, in order.
std::vector<std::pair<std::string, std::string>> ParseQuery(std::string_view query);

}  // namespace junction::http
