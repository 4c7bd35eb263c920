// HTTP server tests over real loopback sockets, with a Beast client.
#include "junction/http/server.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <zlib.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <random>
#include <thread>

namespace junction::http {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;
using Res = bhttp::response<bhttp::string_body>;

// --- test-side gzip (plain zlib, independent of the server's code) ---------

std::string TestGzip(std::string_view data) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, data.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string TestGunzip(std::string_view data) {
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buf[4096];
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof(buf) - zs.avail_out);
  }
  EXPECT_EQ(rc, Z_STREAM_END);
  inflateEnd(&zs);
  return out;
}

// --- client -----------------------------------------------------------------

// A blocking-style client whose every operation has a deadline (async ops run
// with run_for), over plain TCP or TLS.
class TestClient {
 public:
  explicit TestClient(std::uint16_t port, ssl::context* tls = nullptr) {
    tcp::socket socket(ioc_);
    socket.connect({net::ip::make_address("127.0.0.1"), port}, ec_);
    if (tls) {
      tls_.emplace(std::move(socket), *tls);
      tls_->set_verify_mode(ssl::verify_peer);
      tls_->set_verify_callback(ssl::host_name_verification("127.0.0.1"));
      if (!ec_) {
        Run([&](auto done) { tls_->async_handshake(ssl::stream_base::client, done); }, 5s);
      }
    } else {
      plain_.emplace(std::move(socket));
    }
  }

  bool ok() const { return !ec_; }
  beast::error_code error() const { return ec_; }

  bool WriteRaw(std::string_view bytes) {
    return Run([&](auto done) {
      WithStream([&](auto& s) {
        net::async_write(s, net::buffer(bytes),
                         [done](beast::error_code ec, std::size_t) { done(ec); });
      });
    });
  }

  std::optional<Res> Read(std::chrono::milliseconds timeout = 5s) {
    Res res;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64u << 20);
    const bool ok = Run(
        [&](auto done) {
          WithStream([&](auto& s) {
            bhttp::async_read(s, buffer_, parser,
                              [done](beast::error_code ec, std::size_t) { done(ec); });
          });
        },
        timeout);
    if (!ok) return std::nullopt;
    return parser.release();
  }

  std::optional<Res> Send(bhttp::verb method, std::string target,
                          std::vector<std::pair<std::string, std::string>> headers = {},
                          std::string body = {}) {
    bhttp::request<bhttp::string_body> req(method, target, 11);
    req.set(bhttp::field::host, "127.0.0.1");
    for (auto& [k, v] : headers) req.set(k, v);
    if (!body.empty() || method == bhttp::verb::post) {
      req.body() = std::move(body);
      req.prepare_payload();
    }
    bool ok = Run([&](auto done) {
      WithStream([&](auto& s) {
        bhttp::async_write(s, req, [done](beast::error_code ec, std::size_t) { done(ec); });
      });
    });
    if (!ok) return std::nullopt;
    return Read();
  }

  std::optional<Res> Get(std::string target,
                         std::vector<std::pair<std::string, std::string>> headers = {}) {
    return Send(bhttp::verb::get, std::move(target), std::move(headers));
  }

  // True when the server closes the connection (EOF or reset) within `timeout`
  // without sending anything more than `allowed` says.
  bool WaitClosed(std::chrono::milliseconds timeout, std::string* received = nullptr) {
    if (buffer_.size() > 0 && received) {
      *received += beast::buffers_to_string(buffer_.data());
      buffer_.consume(buffer_.size());
    }
    for (;;) {
      char buf[1024];
      std::size_t n = 0;
      const bool ok = Run(
          [&](auto done) {
            WithStream([&](auto& s) {
              s.async_read_some(net::buffer(buf), [done, &n](beast::error_code ec, std::size_t k) {
                n = k;
                done(ec);
              });
            });
          },
          timeout);
      if (received) received->append(buf, n);
      if (!ok) return ec_ != net::error::operation_aborted;  // aborted = our timeout
    }
  }

 private:
  template <typename Fn>
  void WithStream(Fn fn) {
    if (tls_) {
      fn(*tls_);
    } else {
      fn(*plain_);
    }
  }

  // Starts `op(done)` and runs until done or `timeout`; on timeout cancels
  // (ec_ = operation_aborted). Returns whether it succeeded.
  template <typename Op>
  bool Run(Op op, std::chrono::milliseconds timeout = 5s) {
    bool finished = false;
    ec_ = {};
    op([this, &finished](beast::error_code ec) {
      ec_ = ec;
      finished = true;
    });
    ioc_.restart();
    ioc_.run_for(timeout);
    if (!finished) {
      beast::error_code ignored;
      if (tls_) {
        tls_->next_layer().cancel(ignored);
      } else {
        plain_->cancel(ignored);
      }
      ioc_.restart();
      ioc_.run();
    }
    return !ec_;
  }

  net::io_context ioc_;
  std::optional<tcp::socket> plain_;
  std::optional<ssl::stream<tcp::socket>> tls_;
  beast::flat_buffer buffer_;
  beast::error_code ec_;
};

// --- fixture ----------------------------------------------------------------

// Answers "<name> <path> ?<query>" so tests see which route ran and what the
// Request carried.
Handler Echo(std::string name) {
  return [name](Request req, Responder respond) {
    respond(Response::Text(200, name + " " + req.path + " ?" + req.query));
  };
}

struct TestServer {
  explicit TestServer(ServerOptions options = {}, std::function<void(Server&)> routes = nullptr) {
    options.host = "127.0.0.1";
    options.port = 0;
    server = std::make_unique<Server>(options);
    if (routes) routes(*server);
    auto bound = server->Start();
    EXPECT_TRUE(bound.ok()) << bound.status().ToString();
    port = bound.ok() ? *bound : 0;
  }
  std::unique_ptr<Server> server;
  std::uint16_t port = 0;
};

boost::json::object ParseJson(const std::string& body) {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  EXPECT_FALSE(ec) << body;
  return ec || !v.is_object() ? boost::json::object{} : v.as_object();
}

std::string Field(const Res& res, bhttp::field f) { return std::string(res[f]); }
std::string Field(const Res& res, std::string_view f) { return std::string(res[f]); }

// --- routing ----------------------------------------------------------------

TEST(HttpServerTest, RoutesByLongestPrefixOnSegmentBoundary) {
  TestServer t({}, [](Server& s) {
    s.Route("/fhir", Echo("fhir"));
    s.Route("/fhir/Patient", Echo("patient"));
    s.Route("/api/", Echo("api"));
  });
  TestClient c(t.port);
  ASSERT_TRUE(c.ok());
  auto r = c.Get("/fhir/Patient/1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 200);
  EXPECT_EQ(r->body(), "patient /fhir/Patient/1 ?");
  EXPECT_EQ(Field(*r, bhttp::field::content_type), "text/plain; charset=utf-8");
  EXPECT_EQ(Field(*r, bhttp::field::server), "junction");
  EXPECT_EQ(c.Get("/fhir/Patient")->body(), "patient /fhir/Patient ?");
  EXPECT_EQ(c.Get("/fhir/PatientX")->body(), "fhir /fhir/PatientX ?");
  EXPECT_EQ(c.Get("/fhir")->body(), "fhir /fhir ?");
  // Path decoded, query raw.
  EXPECT_EQ(c.Get("/api/a%20b/c?name=Doe%2C+J&x=1")->body(), "api /api/a b/c ?name=Doe%2C+J&x=1");
  EXPECT_EQ(c.Get("/api")->body(), "api /api ?");

  auto miss = c.Get("/fhirx");
  ASSERT_TRUE(miss);
  EXPECT_EQ(miss->result_int(), 404);
  EXPECT_EQ(Field(*miss, bhttp::field::content_type), "application/json");
  EXPECT_TRUE(ParseJson(miss->body()).contains("error"));
  EXPECT_EQ(c.Get("/")->result_int(), 404);

  auto stats = t.server->stats();
  EXPECT_EQ(stats.routes["/fhir/Patient"].by_status[200], 2u);
  EXPECT_EQ(stats.routes["/fhir"].by_status[200], 2u);
  EXPECT_EQ(stats.routes["/api"].by_status[200], 2u);
  EXPECT_EQ(stats.routes[""].by_status[404], 2u);
  EXPECT_EQ(stats.accepted, 1u);
  EXPECT_EQ(stats.open_connections, 1u);
}

TEST(HttpServerTest, FhirErrorsAreOperationOutcomes) {
  ServerOptions options;
  options.max_body_bytes = 100;
  TestServer t(options, [](Server& s) {
    s.Route("/api", Echo("api"));
    s.Route("/fhir/boom", [](Request, Responder) { throw std::runtime_error("secret PHI"); });
  });
  TestClient c(t.port);
  auto r = c.Get("/fhir/Patient/1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 404);
  EXPECT_EQ(Field(*r, bhttp::field::content_type), "application/fhir+json");
  auto outcome = ParseJson(r->body());
  EXPECT_EQ(outcome["resourceType"], "OperationOutcome");
  auto issue = outcome["issue"].as_array().at(0).as_object();
  EXPECT_EQ(issue["severity"], "error");
  EXPECT_EQ(issue["code"], "not-found");
  EXPECT_FALSE(issue["diagnostics"].as_string().empty());

  // A throwing handler: 500 "exception", without the exception's text.
  auto boom = c.Get("/fhir/boom");
  ASSERT_TRUE(boom);
  EXPECT_EQ(boom->result_int(), 500);
  EXPECT_EQ(ParseJson(boom->body())["issue"].as_array().at(0).as_object()["code"], "exception");
  EXPECT_EQ(boom->body().find("secret"), std::string::npos);

  // 413 under /fhir: too-long.
  auto big = c.Send(bhttp::verb::post, "/fhir/Patient", {}, std::string(101, 'x'));
  ASSERT_TRUE(big);
  EXPECT_EQ(big->result_int(), 413);
  EXPECT_EQ(ParseJson(big->body())["issue"].as_array().at(0).as_object()["code"], "too-long");
}

// --- keep-alive, pipelining, async responders --------------------------------

TEST(HttpServerTest, KeepAliveReusesOneConnection) {
  TestServer t({}, [](Server& s) { s.Route("/", Echo("root")); });
  TestClient c(t.port);
  for (int i = 0; i < 3; ++i) {
    auto r = c.Get("/n/" + std::to_string(i));
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->body(), "root /n/" + std::to_string(i) + " ?");
    EXPECT_TRUE(r->keep_alive());
  }
  EXPECT_EQ(t.server->stats().accepted, 1u);

  // Two pipelined requests: answered in order on the same connection.
  ASSERT_TRUE(
      c.WriteRaw("GET /p/1 HTTP/1.1\r\nHost: x\r\n\r\nGET /p/2 HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(c.Read()->body(), "root /p/1 ?");
  EXPECT_EQ(c.Read()->body(), "root /p/2 ?");

  // Connection: close is honoured, and the server closes.
  auto last = c.Get("/bye", {{"Connection", "close"}});
  ASSERT_TRUE(last);
  EXPECT_FALSE(last->keep_alive());
  EXPECT_TRUE(c.WaitClosed(2s));
  EXPECT_EQ(t.server->stats().accepted, 1u);
}

TEST(HttpServerTest, ResponderMayAnswerLaterFromAnotherThread) {
  std::atomic<int> dropped_calls{0};
  TestServer t({}, [&](Server& s) {
    s.Route("/later", [](Request req, Responder respond) {
      std::thread([req = std::move(req), respond] {
        std::this_thread::sleep_for(50ms);
        respond(Response::Json(201, R"({"id":")" + req.request_id + "\"}"));
        respond(Response::Text(200, "second call is ignored"));
      }).detach();
    });
    s.Route("/dropped", [&](Request, Responder) { ++dropped_calls; });
  });
  TestClient c(t.port);
  for (int i = 0; i < 3; ++i) {
    auto r = c.Get("/later", {{"X-Request-Id", "abc-" + std::to_string(i)}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->result_int(), 201);
    EXPECT_EQ(r->body(), R"({"id":"abc-)" + std::to_string(i) + "\"}");
    EXPECT_EQ(Field(*r, bhttp::field::content_type), "application/json");
  }
  // A handler that drops its responder without calling it: the client still
  // gets an answer (500) instead of hanging.
  auto r = c.Get("/dropped");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 500);
  EXPECT_EQ(dropped_calls, 1);
  // The late second call did not disturb the connection.
  EXPECT_EQ(c.Get("/later")->result_int(), 201);
}

TEST(HttpServerTest, RequestIdIsEchoedOrGenerated) {
  std::string seen;
  TestServer t({}, [&](Server& s) {
    s.Route("/", [&](Request req, Responder respond) {
      seen = req.request_id;
      respond(Response::Text(200, "ok"));
    });
  });
  TestClient c(t.port);
  auto r = c.Get("/", {{"X-Request-Id", "client-id-42"}});
  EXPECT_EQ(Field(*r, "X-Request-Id"), "client-id-42");
  EXPECT_EQ(seen, "client-id-42");
  auto g1 = c.Get("/");
  auto g2 = c.Get("/");
  const std::string id1 = Field(*g1, "X-Request-Id"), id2 = Field(*g2, "X-Request-Id");
  EXPECT_EQ(id1.size(), 16u);
  EXPECT_EQ(id1.find_first_not_of("0123456789abcdef"), std::string::npos) << id1;
  EXPECT_NE(id1, id2);
  EXPECT_EQ(seen, id2);
  // Error answers carry one too.
  auto bad = c.Get("/x", {{"X-Request-Id", "err-1"}});
  EXPECT_EQ(Field(*bad, "X-Request-Id"), "err-1");
}

TEST(HttpServerTest, RequestFieldsAreFilled) {
  std::optional<Request> got;
  TestServer t({}, [&](Server& s) {
    s.Route("/hl7", [&](Request req, Responder respond) {
      got = req;
      respond(Response::Text(200, "ok"));
    });
  });
  TestClient c(t.port);
  ASSERT_TRUE(c.WriteRaw(
      "POST /hl7/v2?a=1 HTTP/1.1\r\nHost: x\r\nX-Multi: one\r\nContent-Type: text/plain\r\n"
      "x-multi: two\r\nContent-Length: 5\r\n\r\nhello"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->method, "POST");
  EXPECT_EQ(got->target, "/hl7/v2?a=1");
  EXPECT_EQ(got->path, "/hl7/v2");
  EXPECT_EQ(got->query, "a=1");
  EXPECT_EQ(got->body, "hello");
  EXPECT_EQ(got->Header("content-type"), "text/plain");
  EXPECT_EQ(got->Header("x-multi"), "one");
  int multi = 0;
  for (auto& [k, v] : got->headers) {
    EXPECT_EQ(k.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), std::string::npos) << k;
    if (k == "x-multi") {
      EXPECT_EQ(v, multi++ == 0 ? "one" : "two");
    }
  }
  EXPECT_EQ(multi, 2);
  EXPECT_EQ(got->peer.rfind("127.0.0.1:", 0), 0u) << got->peer;
  EXPECT_FALSE(got->tls);
}

// --- limits -----------------------------------------------------------------

TEST(HttpServerTest, BodyOverLimitByContentLengthIs413BeforeTheBody) {
  std::atomic<int> calls{0};
  ServerOptions options;
  options.max_body_bytes = 1000;
  TestServer t(options, [&](Server& s) {
    s.Route("/", [&](Request, Responder respond) {
      ++calls;
      respond(Response::Text(200, "ok"));
    });
  });
  TestClient c(t.port);
  // Only the header is sent: the answer must come without waiting for the body.
  ASSERT_TRUE(c.WriteRaw("POST /hl7 HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n"));
  auto r = c.Read(2s);
  ASSERT_TRUE(r) << c.error().message();
  EXPECT_EQ(r->result_int(), 413);
  EXPECT_FALSE(r->keep_alive());
  EXPECT_TRUE(ParseJson(r->body()).contains("error"));
  EXPECT_TRUE(c.WaitClosed(2s));
  // Exactly at the limit is fine.
  TestClient ok(t.port);
  EXPECT_EQ(ok.Send(bhttp::verb::post, "/", {}, std::string(1000, 'a'))->result_int(), 200);
  EXPECT_EQ(calls, 1);
}

TEST(HttpServerTest, ChunkedBodyOverLimitIs413) {
  ServerOptions options;
  options.max_body_bytes = 1000;
  TestServer t(options, [](Server& s) { s.Route("/", Echo("root")); });
  TestClient c(t.port);
  std::string req = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) req += "190\r\n" + std::string(400, 'x') + "\r\n";  // 1200 bytes
  req += "0\r\n\r\n";
  ASSERT_TRUE(c.WriteRaw(req));
  auto r = c.Read(2s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 413);
  // A chunked body within the limit is served.
  TestClient c2(t.port);
  ASSERT_TRUE(
      c2.WriteRaw("POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "3\r\nabc\r\n0\r\n\r\n"));
  EXPECT_EQ(c2.Read()->result_int(), 200);
}

TEST(HttpServerTest, HeaderBlockOverLimitIs431) {
  ServerOptions options;
  options.max_header_bytes = 1024;
  TestServer t(options, [](Server& s) { s.Route("/", Echo("root")); });
  TestClient c(t.port);
  auto r = c.Get("/fhir/Patient", {{"X-Big", std::string(4000, 'h')}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 431);
  EXPECT_EQ(Field(*r, bhttp::field::content_type), "application/fhir+json");
  EXPECT_EQ(ParseJson(r->body())["issue"].as_array().at(0).as_object()["code"], "too-long");
  EXPECT_TRUE(c.WaitClosed(2s));
  TestClient small(t.port);
  EXPECT_EQ(small.Get("/", {{"X-Small", std::string(100, 'h')}})->result_int(), 200);
}

TEST(HttpServerTest, SlowRequestGets408AndClose) {
  ServerOptions options;
  options.read_timeout = 300ms;
  TestServer t(options, [](Server& s) { s.Route("/", Echo("root")); });
  TestClient c(t.port);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.WriteRaw("GET / HTTP/1.1\r\nHost: x\r\n"));  // never finished
  auto r = c.Read(3s);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 408);
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 2s);
  EXPECT_TRUE(c.WaitClosed(2s));

  // A body that trickles in too slowly: the same.
  TestClient b(t.port);
  ASSERT_TRUE(b.WriteRaw("POST /fhir/x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab"));
  auto rb = b.Read(3s);
  ASSERT_TRUE(rb);
  EXPECT_EQ(rb->result_int(), 408);
  EXPECT_EQ(ParseJson(rb->body())["issue"].as_array().at(0).as_object()["code"], "timeout");
}

TEST(HttpServerTest, IdleKeepAliveConnectionClosesSilently) {
  ServerOptions options;
  options.idle_timeout = 200ms;
  options.read_timeout = 5s;
  TestServer t(options, [](Server& s) { s.Route("/", Echo("root")); });
  TestClient c(t.port);
  ASSERT_EQ(c.Get("/")->result_int(), 200);
  const auto start = std::chrono::steady_clock::now();
  std::string extra;
  EXPECT_TRUE(c.WaitClosed(3s, &extra));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_EQ(extra, "");  // no 408 for an idle connection
  // A connection that never sends anything is idle too.
  TestClient silent(t.port);
  EXPECT_TRUE(silent.WaitClosed(3s, &extra));
  EXPECT_EQ(extra, "");
  for (int i = 0; i < 100 && t.server->stats().open_connections > 0; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(t.server->stats().open_connections, 0u);
}

TEST(HttpServerTest, ConnectionsOverTheLimitAreClosedAtOnce) {
  ServerOptions options;
  options.max_connections = 2;
  TestServer t(options, [](Server& s) { s.Route("/", Echo("root")); });
  TestClient a(t.port), b(t.port);
  ASSERT_EQ(a.Get("/")->result_int(), 200);
  ASSERT_EQ(b.Get("/")->result_int(), 200);
  TestClient over(t.port);
  EXPECT_TRUE(over.WaitClosed(2s));
  auto stats = t.server->stats();
  EXPECT_EQ(stats.rejected_connections, 1u);
  EXPECT_EQ(stats.accepted, 2u);
  EXPECT_EQ(stats.open_connections, 2u);
  // Once one closes, a new connection is served again.
  ASSERT_TRUE(a.Get("/", {{"Connection", "close"}}));
  EXPECT_TRUE(a.WaitClosed(2s));
  for (int i = 0; i < 100 && t.server->stats().open_connections > 1; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  TestClient again(t.port);
  auto r = again.Get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 200);
}

// --- gzip -------------------------------------------------------------------

TEST(HttpServerTest, GzipsLargeResponsesForClientsThatAccept) {
  std::string big;
  for (int i = 0; i < 500; ++i) big += "{\"n\":" + std::to_string(i) + "},";
  ServerOptions options;
  options.gzip_min_bytes = 1024;
  TestServer t(options, [&](Server& s) {
    s.Route("/big", [&](Request, Responder respond) { respond(Response::Json(200, big)); });
    s.Route("/small", [](Request, Responder respond) { respond(Response::Json(200, "{}")); });
  });
  TestClient c(t.port);
  auto r = c.Get("/big", {{"Accept-Encoding", "deflate, gzip;q=0.8"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(Field(*r, bhttp::field::content_encoding), "gzip");
  EXPECT_NE(Field(*r, bhttp::field::vary).find("Accept-Encoding"), std::string::npos);
  EXPECT_LT(r->body().size(), big.size());
  EXPECT_EQ(Field(*r, bhttp::field::content_length), std::to_string(r->body().size()));
  EXPECT_EQ(TestGunzip(r->body()), big);

  auto plain = c.Get("/big");
  EXPECT_EQ(Field(*plain, bhttp::field::content_encoding), "");
  EXPECT_EQ(plain->body(), big);
  auto refused = c.Get("/big", {{"Accept-Encoding", "gzip;q=0"}});
  EXPECT_EQ(refused->body(), big);
  auto small = c.Get("/small", {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(Field(*small, bhttp::field::content_encoding), "");
  EXPECT_EQ(small->body(), "{}");
}

TEST(HttpServerTest, GunzipsRequestBodiesWithinTheLimit) {
  ServerOptions options;
  options.max_body_bytes = 10'000;
  TestServer t(options, [](Server& s) {
    s.Route("/", [](Request req, Responder respond) {
      respond(Response::Text(200, std::to_string(req.body.size()) + ":" + req.body.substr(0, 8)));
    });
  });
  TestClient c(t.port);
  const std::string text = "MSH|^~\\&|" + std::string(5000, 'A');
  auto r = c.Send(bhttp::verb::post, "/hl7", {{"Content-Encoding", "gzip"}}, TestGzip(text));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 200);
  EXPECT_EQ(r->body(), "5009:MSH|^~\\&");

  // Small on the wire, too big once inflated: 413.
  auto bomb = c.Send(bhttp::verb::post, "/hl7", {{"Content-Encoding", "gzip"}},
                     TestGzip(std::string(50'000, 'z')));
  ASSERT_TRUE(bomb);
  EXPECT_EQ(bomb->result_int(), 413);

  EXPECT_TRUE(bomb->keep_alive());  // the body was read whole: the connection stays
  auto broken = c.Send(bhttp::verb::post, "/hl7", {{"Content-Encoding", "gzip"}}, "not gzip");
  ASSERT_TRUE(broken);
  EXPECT_EQ(broken->result_int(), 400);
  // The 400 above may close its connection (the body could not be read): a new one.
  TestClient c3(t.port);
  auto br = c3.Send(bhttp::verb::post, "/hl7", {{"Content-Encoding", "br"}}, "x");
  ASSERT_TRUE(br);
  EXPECT_EQ(br->result_int(), 415);
}

// --- CORS -------------------------------------------------------------------

TEST(HttpServerTest, CorsHeadersOnlyForAllowedOrigins) {
  std::atomic<int> options_calls{0};
  ServerOptions options;
  options.cors_origins = {"https://app.example.org"};
  TestServer t(options, [&](Server& s) {
    s.Route("/fhir", [&](Request req, Responder respond) {
      if (req.method == "OPTIONS") ++options_calls;
      respond(Response::Json(200, "{}"));
    });
  });
  TestClient c(t.port);
  auto allowed = c.Get("/fhir/Patient", {{"Origin", "https://app.example.org"}});
  EXPECT_EQ(Field(*allowed, "Access-Control-Allow-Origin"), "https://app.example.org");
  EXPECT_NE(Field(*allowed, bhttp::field::vary).find("Origin"), std::string::npos);
  const std::string expose = Field(*allowed, "Access-Control-Expose-Headers");
  for (const char* h : {"Location", "ETag", "Content-Location", "X-Request-Id"}) {
    EXPECT_NE(expose.find(h), std::string::npos) << h;
  }

  auto denied = c.Get("/fhir/Patient", {{"Origin", "https://evil.example.org"}});
  EXPECT_EQ(denied->result_int(), 200);
  EXPECT_EQ(Field(*denied, "Access-Control-Allow-Origin"), "");

  auto preflight = c.Send(bhttp::verb::options, "/fhir/Patient",
                          {{"Origin", "https://app.example.org"},
                           {"Access-Control-Request-Method", "PUT"},
                           {"Access-Control-Request-Headers", "authorization, if-match"}});
  ASSERT_TRUE(preflight);
  EXPECT_EQ(preflight->result_int(), 204);
  EXPECT_EQ(Field(*preflight, "Access-Control-Allow-Origin"), "https://app.example.org");
  EXPECT_NE(Field(*preflight, "Access-Control-Allow-Methods").find("PATCH"), std::string::npos);
  EXPECT_NE(Field(*preflight, "Access-Control-Allow-Headers").find("If-None-Exist"),
            std::string::npos);
  EXPECT_EQ(Field(*preflight, "Access-Control-Max-Age"), "600");
  EXPECT_EQ(preflight->body(), "");

  auto bad_preflight =
      c.Send(bhttp::verb::options, "/fhir/Patient",
             {{"Origin", "https://evil.example.org"}, {"Access-Control-Request-Method", "DELETE"}});
  ASSERT_TRUE(bad_preflight);
  EXPECT_EQ(Field(*bad_preflight, "Access-Control-Allow-Origin"), "");
  EXPECT_EQ(Field(*bad_preflight, "Access-Control-Allow-Methods"), "");
  EXPECT_EQ(options_calls, 0);
}

TEST(HttpServerTest, NoCorsHeadersByDefault) {
  std::atomic<int> options_calls{0};
  TestServer t({}, [&](Server& s) {
    s.Route("/", [&](Request req, Responder respond) {
      if (req.method == "OPTIONS") ++options_calls;
      respond(Response::Text(200, "ok"));
    });
  });
  TestClient c(t.port);
  auto r = c.Get("/", {{"Origin", "https://app.example.org"}});
  EXPECT_EQ(Field(*r, "Access-Control-Allow-Origin"), "");
  auto pre =
      c.Send(bhttp::verb::options, "/",
             {{"Origin", "https://app.example.org"}, {"Access-Control-Request-Method", "GET"}});
  EXPECT_EQ(pre->result_int(), 200);
  EXPECT_EQ(Field(*pre, "Access-Control-Allow-Origin"), "");
  EXPECT_EQ(options_calls, 1);
}

TEST(HttpServerTest, StarAllowsAnyOrigin) {
  ServerOptions options;
  options.cors_origins = {"*"};
  TestServer t(options, [](Server& s) { s.Route("/", Echo("root")); });
  TestClient c(t.port);
  auto r = c.Get("/", {{"Origin", "http://localhost:3000"}});
  EXPECT_EQ(Field(*r, "Access-Control-Allow-Origin"), "http://localhost:3000");
  EXPECT_EQ(Field(*c.Get("/"), "Access-Control-Allow-Origin"), "");  // no Origin, no CORS
}

// --- stop -------------------------------------------------------------------

TEST(HttpServerTest, StopLetsRequestsInProgressFinish) {
  std::atomic<bool> entered{false};
  std::atomic<bool> stopping{false};
  Responder late;
  std::mutex late_mu;
  TestServer t({}, [&](Server& s) {
    s.Route("/slow", [&](Request, Responder respond) {
      std::thread([respond] {
        std::this_thread::sleep_for(200ms);
        respond(Response::Text(200, "finished"));
      }).detach();
    });
    // Answers only once Stop has begun, however slow the machine: the
    // request is in progress when the server starts draining.
    s.Route("/until-stop", [&](Request, Responder respond) {
      entered = true;
      std::thread([respond, &stopping] {
        for (int i = 0; i < 600 && !stopping; ++i) std::this_thread::sleep_for(5ms);
        std::this_thread::sleep_for(100ms);
        respond(Response::Text(200, "finished"));
      }).detach();
    });
    s.Route("/never", [&](Request, Responder respond) {
      std::lock_guard lock(late_mu);
      late = respond;  // answered only after Stop
    });
  });
  TestClient idle(t.port);
  ASSERT_EQ(idle.Get("/slow")->body(), "finished");
  TestClient busy(t.port);
  ASSERT_TRUE(busy.WriteRaw("GET /until-stop HTTP/1.1\r\nHost: x\r\n\r\n"));
  for (int i = 0; i < 200 && !entered; ++i) std::this_thread::sleep_for(5ms);
  TestClient hung(t.port);
  ASSERT_TRUE(hung.WriteRaw("GET /never HTTP/1.1\r\nHost: x\r\n\r\n"));
  for (int i = 0; i < 200; ++i) {
    std::lock_guard lock(late_mu);
    if (late) break;
    std::this_thread::sleep_for(5ms);
  }
  entered = false;
  std::thread stopper([&] {
    stopping = true;
    t.server->Stop(1s);
  });
  auto r = busy.Read(3s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body(), "finished");
  EXPECT_FALSE(r->keep_alive());  // closing after the drain
  stopper.join();
  EXPECT_TRUE(idle.WaitClosed(1s));
  EXPECT_TRUE(hung.WaitClosed(1s));
  t.server->Stop();  // idempotent
  {
    std::lock_guard lock(late_mu);
    ASSERT_TRUE(late);
    late(Response::Text(200, "too late"));  // dropped, no crash
  }
  // No longer accepting.
  TestClient after(t.port);
  EXPECT_FALSE(after.ok() && after.Get("/slow"));
}

// --- TLS --------------------------------------------------------------------

// A self-signed certificate for 127.0.0.1 (EC P-256), written as PEM files.
struct SelfSigned {
  std::filesystem::path dir;
  std::string cert, key;

  SelfSigned() {
    dir = std::filesystem::temp_directory_path() /
          ("junction-http-tls-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir);
    cert = (dir / "cert.pem").string();
    key = (dir / "key.pem").string();
    EVP_PKEY* pkey = EVP_EC_gen("P-256");
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x),
                     static_cast<long>(std::random_device{}() & 0x7fffffff));
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
    X509_set_pubkey(x, pkey);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
    for (auto [nid, value] : {std::pair{NID_subject_alt_name, "IP:127.0.0.1"},
                              std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
      X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
      X509_add_ext(x, ext, -1);
      X509_EXTENSION_free(ext);
    }
    X509_sign(x, pkey, EVP_sha256());
    FILE* f = std::fopen(cert.c_str(), "w");
    PEM_write_X509(f, x);
    std::fclose(f);
    f = std::fopen(key.c_str(), "w");
    PEM_write_PrivateKey(f, pkey, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
    X509_free(x);
    EVP_PKEY_free(pkey);
  }
  ~SelfSigned() { std::filesystem::remove_all(dir); }
};

TEST(HttpServerTest, ServesHttpsWithOptionalClientCertificates) {
  SelfSigned id;
  ServerOptions options;
  options.tls = TlsServerOptions{.cert = id.cert, .key = id.key};
  TestServer t(options, [](Server& s) {
    s.Route("/", [](Request req, Responder respond) {
      respond(Response::Text(200, std::string(req.tls ? "tls " : "plain ") + req.path));
    });
  });
  ssl::context client_ctx(ssl::context::tls_client);
  client_ctx.load_verify_file(id.cert);
  TestClient c(t.port, &client_ctx);
  ASSERT_TRUE(c.ok()) << c.error().message();
  for (int i = 0; i < 2; ++i) {
    auto r = c.Get("/secure");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body(), "tls /secure");
  }
  // Plain HTTP to the TLS listener gets no HTTP answer.
  TestClient plain(t.port);
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain.Get("/secure"));

  // With client_ca: a client certificate is required.
  ServerOptions mtls_options;
  mtls_options.tls = TlsServerOptions{.cert = id.cert, .key = id.key, .client_ca = id.cert};
  TestServer mtls(mtls_options, [](Server& s) { s.Route("/", Echo("root")); });
  TestClient anonymous(mtls.port, &client_ctx);
  EXPECT_FALSE(anonymous.ok() && anonymous.Get("/"));
  ssl::context with_cert(ssl::context::tls_client);
  with_cert.load_verify_file(id.cert);
  with_cert.use_certificate_chain_file(id.cert);
  with_cert.use_private_key_file(id.key, ssl::context::pem);
  TestClient known(mtls.port, &with_cert);
  ASSERT_TRUE(known.ok()) << known.error().message();
  auto r = known.Get("/x");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body(), "root /x ?");
}

TEST(HttpServerTest, StartReportsBadTlsFilesAndBusyPorts) {
  ServerOptions options;
  options.port = 0;
  options.tls = TlsServerOptions{.cert = "/nonexistent/cert.pem", .key = "/nonexistent/key.pem"};
  Server bad(options);
  auto r = bad.Start();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);

  TestServer first({}, [](Server& s) { s.Route("/", Echo("root")); });
  ServerOptions same;
  same.port = first.port;
  Server second(same);
  auto busy = second.Start();
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.status().code(), StatusCode::kIoError);
}

// Not a timed test: a quick keep-alive GET loop for the report, run by hand
// with --gtest_also_run_disabled_tests (figures to stderr).
TEST(HttpServerTest, DISABLED_KeepAliveGetLoop) {
  ServerOptions options;
  options.io_threads = 2;
  TestServer t(options, [](Server& s) {
    s.Route("/healthz", [](Request, Responder respond) { respond(Response::Text(200, "ok\n")); });
  });
  for (int connections : {1, 4}) {
    constexpr int kPerConnection = 5000;
    std::atomic<int> failures{0};
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (int i = 0; i < connections; ++i) {
      threads.emplace_back([&] {
        TestClient c(t.port);
        for (int n = 0; n < kPerConnection; ++n) {
          auto r = c.Get("/healthz");
          if (!r || r->result_int() != 200) ++failures;
        }
      });
    }
    for (auto& th : threads) th.join();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "keep-alive GET, %d connection(s): %d requests in %.2f s = %.0f req/s\n",
                 connections, connections * kPerConnection, seconds,
                 connections * kPerConnection / seconds);
    EXPECT_EQ(failures, 0);
  }
}

}  // namespace
}  // namespace junction::http
