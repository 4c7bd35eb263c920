// A small blocking HTTP/1.1 client (Boost.Beast) for HTTP destinations: one
// keep-alive connection to one origin, plain or TLS, with a deadline per request.
//
//   HttpClient client({.host = "127.0.0.1", .port = 8080, .timeout = 30s});
//   auto r = client.Post("/hl7", "x-application/hl7-v2+er7", body, headers);
//   if (r.ok() && r->status / 100 == 2) ...
//
// Post connects on first use and after failures, and reuses the connection
// while the server keeps it alive. When a reused connection turns out to be
// closed by the server before any response byte arrives, the request is sent
// once more on a fresh connection (the server never saw it). Response bodies
// are read up to kMaxResponseBodyBytes (larger ones end the connection) and
// returned cut to kResponseHeadBytes.
//
// Ownership: owns its socket and I/O context. Thread safety: one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/ssl/context.hpp>

#include "junction/hl7/status.h"

namespace junction::engine::internal {

inline constexpr std::size_t kResponseHeadBytes = 4096;
inline constexpr std::size_t kMaxResponseBodyBytes = 8u << 20;

struct HttpClientOptions {
  std::string host;
  std::uint16_t port = 80;
  // Set: HTTPS with this context (mllp::MakeClientContext).
  std::shared_ptr<boost::asio::ssl::context> tls;
  std::string server_name;  // SNI and certificate name ("" = host)
  bool verify = true;
  std::chrono::milliseconds timeout{30000};  // connect + handshake, and write + read
};

struct HttpResponse {
  int status = 0;
  std::string reason;     // "OK", "Not Found"
  std::string body_head;  // at most kResponseHeadBytes of the body
  bool reused = false;    // sent on a kept-alive connection
};

class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // kIoError for connect/TLS/write/read failures and timeouts (message says which).
  Result<HttpResponse> Post(const std::string& target, std::string_view content_type,
                            std::string_view body,
                            const std::vector<std::pair<std::string, std::string>>& headers);
  void Close();
  // Connections opened so far (tests check keep-alive reuse).
  std::uint64_t connections() const { return connections_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::uint64_t connections_ = 0;
};

}  // namespace junction::engine::internal
