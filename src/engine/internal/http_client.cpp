#include "engine/internal/http_client.h"

#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace junction::engine::internal {
namespace {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
}  // namespace

struct HttpClient::Impl {
  explicit Impl(HttpClientOptions o) : options(std::move(o)) {}

  HttpClientOptions options;
  net::io_context io;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  bool connected = false;

  beast::tcp_stream& Lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

  // Starts an asynchronous operation and runs the I/O context until it is done
  // (tcp_stream's expiry turns a timeout into beast::error::timeout).
  template <typename Start>
  error_code Run(Start start) {
    error_code result = net::error::would_block;
    start([&result](error_code ec, auto&&...) { result = ec; });
    io.restart();
    io.run();
    return result;
  }

  void Close() {
    if (plain || tls) {
      error_code ignored;
      Lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
      Lowest().close();
    }
    tls.reset();
    plain.reset();
    buffer.consume(buffer.size());
    connected = false;
  }

  std::string Where() const { return options.host + ":" + std::to_string(options.port); }

  Status Connect() {
    Close();
    error_code ec;
    tcp::resolver resolver(io);
    auto endpoints = resolver.resolve(options.host, std::to_string(options.port), ec);
    if (ec) return Status::Io("resolve " + options.host + ": " + ec.message());
    if (options.tls) {
      tls.emplace(io, *options.tls);
    } else {
      plain.emplace(io);
    }
    Lowest().expires_after(options.timeout);
    ec = Run([&](auto handler) { Lowest().async_connect(endpoints, handler); });
    if (ec == beast::error::timeout) return Status::Io("connect to " + Where() + ": timed out");
    if (ec) return Status::Io("connect to " + Where() + ": " + ec.message());
    Lowest().socket().set_option(tcp::no_delay(true), ec);
    if (tls) {
      const std::string name = options.server_name.empty() ? options.host : options.server_name;
      SSL_set_tlsext_host_name(tls->native_handle(), name.c_str());
      if (options.verify) tls->set_verify_callback(ssl::host_name_verification(name));
      ec = Run([&](auto handler) { tls->async_handshake(ssl::stream_base::client, handler); });
      if (ec == beast::error::timeout) {
        return Status::Io("TLS handshake with " + Where() + ": timed out");
      }
      if (ec) return Status::Io("TLS handshake with " + Where() + ": " + ec.message());
    }
    connected = true;
    return Status::Ok();
  }

  template <typename Fn>
  error_code WithStream(Fn fn) {
    if (tls) return fn(*tls);
    return fn(*plain);
  }

  // One exchange on the current connection. *nothing_back: the connection
  // ended before a byte of the response arrived (safe to send again).
  Result<HttpResponse> Exchange(const http::request<http::string_body>& request,
                                bool* nothing_back) {
    *nothing_back = false;
    Lowest().expires_after(options.timeout);
    error_code ec = WithStream([&](auto& stream) {
      return Run([&](auto handler) { http::async_write(stream, request, handler); });
    });
    if (ec) {
      *nothing_back = ec != beast::error::timeout;
      Close();
      return Status::Io(ec == beast::error::timeout ? "write: timed out"
                                                    : "write: " + ec.message());
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxResponseBodyBytes);
    const std::size_t buffered_before = buffer.size();
    ec = WithStream([&](auto& stream) {
      return Run([&](auto handler) { http::async_read(stream, buffer, parser, handler); });
    });
    const bool too_big = ec == http::error::body_limit && parser.is_header_done();
    if (ec && !too_big) {
      *nothing_back = !parser.got_some() && buffered_before == 0 &&
                      (ec == http::error::end_of_stream || ec == net::error::connection_reset ||
                       ec == net::error::eof || ec == net::ssl::error::stream_truncated);
      Close();
      if (ec == beast::error::timeout) return Status::Io("waiting for the response: timed out");
      return Status::Io("reading the response: " + ec.message());
    }
    HttpResponse r;
    const auto& msg = parser.get();
    r.status = static_cast<int>(msg.result_int());
    r.reason = std::string(msg.reason());
    r.body_head = msg.body().substr(0, kResponseHeadBytes);
    if (too_big || !msg.keep_alive()) Close();
    return r;
  }
};

HttpClient::HttpClient(HttpClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
HttpClient::~HttpClient() { Close(); }

void HttpClient::Close() { impl_->Close(); }

Result<HttpResponse> HttpClient::Post(
    const std::string& target, std::string_view content_type, std::string_view body,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  http::request<http::string_body> request{http::verb::post, target, 11};
  const bool default_port = impl_->options.port == (impl_->options.tls ? 443 : 80);
  std::string host = impl_->options.host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  if (!default_port) host += ":" + std::to_string(impl_->options.port);
  request.set(http::field::host, host);
  request.set(http::field::user_agent, "junction");
  request.set(http::field::content_type, content_type);
  for (const auto& [name, value] : headers) request.set(name, value);
  request.keep_alive(true);
  request.body() = std::string(body);
  request.prepare_payload();

  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool reused = impl_->connected;
    if (!reused) {
      JUNCTION_RETURN_IF_ERROR(impl_->Connect());
      ++connections_;
    }
    bool nothing_back = false;
    auto r = impl_->Exchange(request, &nothing_back);
    if (r.ok()) {
      r->reused = reused;
      return r;
    }
    // A kept-alive connection the server had closed: it never saw the request.
    if (!(reused && nothing_back)) return r.status();
  }
  return Status::Io("the server closed the connection twice");  // not reached
}

}  // namespace junction::engine::internal
