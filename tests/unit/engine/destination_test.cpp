// Destinations against in-test receivers on 127.0.0.1: an MLLP server with a
// scripted handler, a small Beast HTTP server, temp dirs for files.
#include "junction/engine/destination.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "engine_test_util.h"
#include "junction/hl7/ack.h"
#include "junction/hl7/json.h"
#include "junction/mllp/server.h"
#include "junction/mllp/tls.h"

namespace junction::engine {
namespace {

namespace fs = std::filesystem;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;
using testing::kAdt;
using testing::Replace;
using testing::WithControlId;
using Kind = DeliveryOutcome::Kind;

std::string KindName(Kind k) {
  return k == Kind::kSent ? "sent" : k == Kind::kRetry ? "retry" : "failed";
}

std::string Describe(const DeliveryOutcome& o) {
  return KindName(o.kind) + " error='" + o.error + "' response='" + o.response + "'";
}

DeliveryContext Ctx(std::string control_id, std::int64_t id = 1) {
  DeliveryContext c;
  c.message_id = id;
  c.control_id = std::move(control_id);
  return c;
}

// --- MLLP receiver ----------------------------------------------------------

std::string AckFor(std::string_view message, const std::string& code,
                   const std::string& acked_override = {}) {
  auto m = hl7::Message::Parse(message);
  hl7::AckOptions o;
  o.code = code;
  o.text = code == "AA" ? "" : "receiver says no";
  std::string ack = *hl7::MakeAckText(*m, o);
  if (!acked_override.empty()) {
    ack = Replace(ack, "MSA|" + code + "|" + std::string(m->ControlId()),
                  "MSA|" + code + "|" + acked_override);
  }
  return ack;
}

// Answers by control id prefix: AE*, AR*, CE*; WRONG* names another message;
// LATE* first repeats the previous message's ACK; HANG* never answers;
// NOMSA* gets a reply without MSA; anything else AA.
class Receiver : public mllp::Handler {
 public:
  void OnMessage(const mllp::PeerInfo& peer, std::string payload, Reply reply) override {
    auto m = hl7::Message::Parse(std::string_view(payload));
    const std::string id = m.ok() ? std::string(m->ControlId()) : std::string();
    std::string previous;
    {
      std::lock_guard lock(mu_);
      previous = std::move(last_);
      last_ = payload;
      received_.push_back(id);
      connections_.insert(peer.connection_id);
    }
    auto starts = [&](const char* p) { return id.rfind(p, 0) == 0; };
    if (starts("AE")) return reply(AckFor(payload, "AE"));
    if (starts("CE")) return reply(AckFor(payload, "CE"));
    if (starts("AR")) return reply(AckFor(payload, "AR"));
    if (starts("WRONG")) return reply(AckFor(payload, "AA", "SOMEONE-ELSE"));
    if (starts("NOMSA")) return reply("MSH|^~\\&|A|B|C|D|||ACK|1|P|2.5\r");
    if (starts("LATE")) return reply(AckFor(previous, "AA") + "\x1c\r\x0b" + AckFor(payload, "AA"));
    if (starts("HANG")) {
      std::lock_guard lock(mu_);
      hanging_.push_back(std::move(reply));
      return;
    }
    reply(AckFor(payload, "AA"));
  }
  std::string OnFrameError(const mllp::PeerInfo&, const Status&, std::string_view) override {
    return {};
  }
  std::vector<std::string> received() {
    std::lock_guard lock(mu_);
    return received_;
  }
  std::size_t connections() {
    std::lock_guard lock(mu_);
    return connections_.size();
  }
  void ReleaseHanging() {
    std::vector<Reply> hanging;
    {
      std::lock_guard lock(mu_);
      hanging.swap(hanging_);
    }
    for (auto& r : hanging) r("");
  }

 private:
  std::mutex mu_;
  std::string last_;
  std::vector<std::string> received_;
  std::set<std::uint64_t> connections_;
  std::vector<Reply> hanging_;
};

struct MllpReceiver {
  explicit MllpReceiver(std::shared_ptr<Receiver> h, std::uint16_t want_port = 0)
      : handler(std::move(h)) {
    mllp::ListenerOptions o;
    o.name = "receiver";
    o.port = want_port;
    auto bound = server.AddListener(o, handler);
    EXPECT_TRUE(bound.ok()) << bound.status().ToString();
    port = bound.ok() ? *bound : 0;
    server.Start();
  }
  ~MllpReceiver() {
    handler->ReleaseHanging();
    server.Stop(1s);
  }
  std::shared_ptr<Receiver> handler;
  mllp::Server server{1};
  std::uint16_t port = 0;
};

DestinationConfig MllpConfig(std::uint16_t port, AeAction on_ae = AeAction::kError) {
  DestinationConfig c;
  c.name = "ehr";
  c.kind = DestinationKind::kMllp;
  c.mllp.host = "127.0.0.1";
  c.mllp.port = port;
  c.mllp.connect_timeout = 1s;
  c.mllp.response_timeout = 2s;
  c.mllp.on_ae = on_ae;
  return c;
}

std::unique_ptr<Destination> Make(const DestinationConfig& c, const DestinationEnv& env = {}) {
  auto d = MakeDestination(c, "ch", env);
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? std::move(d).value() : nullptr;
}

DeliveryOutcome Send(Destination& d, const std::string& control_id, std::int64_t id = 1) {
  return d.Deliver(WithControlId(control_id), Ctx(control_id, id));
}

TEST(MllpDestinationTest, AckCodesDecideTheOutcome) {
  MllpReceiver r(std::make_shared<Receiver>());
  auto d = Make(MllpConfig(r.port));
  ASSERT_TRUE(d);

  DeliveryOutcome ok = Send(*d, "M1");
  EXPECT_EQ(ok.kind, Kind::kSent) << Describe(ok);
  EXPECT_EQ(ok.error, "");
  EXPECT_EQ(testing::AckField(ok.response, "MSA-2"), "M1");
  EXPECT_EQ(testing::AckField(ok.response, "MSA-1"), "AA");

  DeliveryOutcome ae = Send(*d, "AE1");
  EXPECT_EQ(ae.kind, Kind::kFailed) << Describe(ae);
  EXPECT_NE(ae.error.find("AE"), std::string::npos) << ae.error;
  EXPECT_NE(ae.error.find("receiver says no"), std::string::npos) << ae.error;
  EXPECT_EQ(testing::AckField(ae.response, "MSA-1"), "AE");

  DeliveryOutcome ar = Send(*d, "AR1");
  EXPECT_EQ(ar.kind, Kind::kFailed) << Describe(ar);
  EXPECT_NE(ar.error.find("rejected"), std::string::npos) << ar.error;

  DeliveryOutcome nomsa = Send(*d, "NOMSA1");
  EXPECT_EQ(nomsa.kind, Kind::kFailed) << Describe(nomsa);
  EXPECT_NE(nomsa.error.find("not an ACK"), std::string::npos);

  EXPECT_EQ(Send(*d, "M2").kind, Kind::kSent);
  EXPECT_EQ(r.handler->received(), (std::vector<std::string>{"M1", "AE1", "AR1", "NOMSA1", "M2"}));
}

TEST(MllpDestinationTest, ApplicationErrorsRetryWhenConfigured) {
  MllpReceiver r(std::make_shared<Receiver>());
  auto d = Make(MllpConfig(r.port, AeAction::kRetry));
  ASSERT_TRUE(d);
  DeliveryOutcome ae = Send(*d, "AE1");
  EXPECT_EQ(ae.kind, Kind::kRetry) << Describe(ae);
  DeliveryOutcome ce = Send(*d, "CE1");
  EXPECT_EQ(ce.kind, Kind::kRetry) << Describe(ce);
  // AR stays permanent whatever on_ae says.
  EXPECT_EQ(Send(*d, "AR1").kind, Kind::kFailed);
}

TEST(MllpDestinationTest, WrongControlIdRetriesAndStaleAcksAreSkipped) {
  MllpReceiver r(std::make_shared<Receiver>());
  auto d = Make(MllpConfig(r.port));
  ASSERT_TRUE(d);
  ASSERT_EQ(Send(*d, "A1").kind, Kind::kSent);
  // The receiver repeats A1's ACK before LATE2's own: skipped.
  DeliveryOutcome late = Send(*d, "LATE2");
  EXPECT_EQ(late.kind, Kind::kSent) << Describe(late);
  EXPECT_EQ(testing::AckField(late.response, "MSA-2"), "LATE2");

  DeliveryOutcome wrong = Send(*d, "WRONG3");
  EXPECT_EQ(wrong.kind, Kind::kRetry) << Describe(wrong);
  EXPECT_NE(wrong.error.find("SOMEONE-ELSE"), std::string::npos) << wrong.error;
  EXPECT_NE(wrong.error.find("WRONG3"), std::string::npos) << wrong.error;
  // A fresh connection follows; delivery works again.
  EXPECT_EQ(Send(*d, "A4").kind, Kind::kSent);
  EXPECT_EQ(r.handler->connections(), 2u);
}

TEST(MllpDestinationTest, OneConnectionForManyMessages) {
  MllpReceiver r(std::make_shared<Receiver>());
  auto d = Make(MllpConfig(r.port));
  ASSERT_TRUE(d);
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(Send(*d, "K" + std::to_string(i)).kind, Kind::kSent);
  }
  EXPECT_EQ(r.handler->connections(), 1u);
  d->Close();
  EXPECT_EQ(Send(*d, "K5").kind, Kind::kSent);
  EXPECT_EQ(r.handler->connections(), 2u);
}

// DeliverBatch: frames go out together, ACKs are matched in order.
std::vector<DeliveryOutcome> SendBatch(Destination& d, const std::vector<std::string>& ids) {
  std::vector<std::string> payloads;
  for (const std::string& id : ids) payloads.push_back(WithControlId(id));
  std::vector<DeliveryItem> items;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    items.push_back({payloads[i], Ctx(ids[i], static_cast<std::int64_t>(i + 1))});
  }
  return d.DeliverBatch(items);
}

TEST(MllpDestinationTest, WindowIsOneUnderStrictAndEightUnderBestEffortUnlessSet) {
  DestinationConfig c = MllpConfig(1);
  c.ordering = Ordering::kStrict;
  EXPECT_EQ(Make(c)->max_batch(), 1u);
  c.ordering = Ordering::kBestEffort;
  EXPECT_EQ(Make(c)->max_batch(), 8u);
  c.mllp.window = 32;
  EXPECT_EQ(Make(c)->max_batch(), 32u);
  c.ordering = Ordering::kStrict;  // asked for explicitly: honoured
  EXPECT_EQ(Make(c)->max_batch(), 32u);
}

DestinationConfig Pipelined(std::uint16_t port, AeAction on_ae = AeAction::kError) {
  DestinationConfig c = MllpConfig(port, on_ae);
  c.mllp.window = 8;
  return c;
}

TEST(MllpDestinationTest, PipelinedBatchSendsInOrderOnOneConnection) {
  MllpReceiver r(std::make_shared<Receiver>());
  auto d = Make(Pipelined(r.port));
  ASSERT_TRUE(d);
  const std::vector<std::string> ids = {"P1", "P2", "P3", "P4", "P5"};
  std::vector<DeliveryOutcome> out = SendBatch(*d, ids);
  ASSERT_EQ(out.size(), ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(out[i].kind, Kind::kSent) << i << ": " << Describe(out[i]);
    EXPECT_EQ(testing::AckField(out[i].response, "MSA-2"), ids[i]);
  }
  EXPECT_EQ(r.handler->received(), ids);
  EXPECT_EQ(r.handler->connections(), 1u);
  // The connection stays usable for single deliveries and further batches.
  EXPECT_EQ(Send(*d, "P6").kind, Kind::kSent);
  EXPECT_EQ(SendBatch(*d, {"P7", "P8"}).size(), 2u);
  EXPECT_EQ(r.handler->connections(), 1u);
}

TEST(MllpDestinationTest, BatchGoesOnAfterAPermanentFailure) {
  MllpReceiver r(std::make_shared<Receiver>());
  auto d = Make(Pipelined(r.port));
  ASSERT_TRUE(d);
  std::vector<DeliveryOutcome> out = SendBatch(*d, {"Q1", "AR2", "Q3"});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].kind, Kind::kSent) << Describe(out[0]);
  EXPECT_EQ(out[1].kind, Kind::kFailed) << Describe(out[1]);
  EXPECT_EQ(out[2].kind, Kind::kSent) << Describe(out[2]);
  EXPECT_EQ(r.handler->connections(), 1u);
}

TEST(MllpDestinationTest, BatchStopsAtTheFirstRetryAndResynchronises) {
  MllpReceiver r(std::make_shared<Receiver>());
  auto d = Make(Pipelined(r.port));
  ASSERT_TRUE(d);
  // WRONG2's ACK names another message: retry; R3 and R4 get no outcome
  // (they reached the receiver but their ACKs are not read).
  std::vector<DeliveryOutcome> out = SendBatch(*d, {"R1", "WRONG2", "R3", "R4"});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].kind, Kind::kSent) << Describe(out[0]);
  EXPECT_EQ(out[1].kind, Kind::kRetry) << Describe(out[1]);
  EXPECT_EQ(r.handler->received(), (std::vector<std::string>{"R1", "WRONG2", "R3", "R4"}));
  // Sending the rest again goes over a fresh connection, ACKs in step.
  out = SendBatch(*d, {"R3", "R4"});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].kind, Kind::kSent) << Describe(out[0]);
  EXPECT_EQ(out[1].kind, Kind::kSent) << Describe(out[1]);
  EXPECT_EQ(testing::AckField(out[1].response, "MSA-2"), "R4");
  EXPECT_EQ(r.handler->connections(), 2u);
}

// Best-effort with on_ae: retry pipelines: an AE leaves the connection in
// step, so the ACKs after it are still read (nothing is sent twice).
TEST(MllpDestinationTest, BatchReadsOnPastAnAeToRetry) {
  MllpReceiver r(std::make_shared<Receiver>());
  DestinationConfig c = MllpConfig(r.port, AeAction::kRetry);
  c.ordering = Ordering::kBestEffort;  // window 8 by default
  auto d = Make(c);
  ASSERT_TRUE(d);
  std::vector<DeliveryOutcome> out = SendBatch(*d, {"AE1", "T2", "T3"});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].kind, Kind::kRetry) << Describe(out[0]);
  EXPECT_EQ(out[1].kind, Kind::kSent) << Describe(out[1]);
  EXPECT_EQ(out[2].kind, Kind::kSent) << Describe(out[2]);
  EXPECT_EQ(r.handler->connections(), 1u);
}

TEST(MllpDestinationTest, BatchToADownReceiverRetriesTheFirst) {
  std::uint16_t port = 0;
  {
    MllpReceiver r(std::make_shared<Receiver>());
    port = r.port;
  }
  auto d = Make(Pipelined(port));
  ASSERT_TRUE(d);
  std::vector<DeliveryOutcome> out = SendBatch(*d, {"D1", "D2"});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kRetry) << Describe(out[0]);
}

TEST(MllpDestinationTest, ResponseTimeoutRetries) {
  MllpReceiver r(std::make_shared<Receiver>());
  DestinationConfig c = MllpConfig(r.port);
  c.mllp.response_timeout = 200ms;
  auto d = Make(c);
  ASSERT_TRUE(d);
  const auto start = std::chrono::steady_clock::now();
  DeliveryOutcome hang = Send(*d, "HANG1");
  EXPECT_EQ(hang.kind, Kind::kRetry) << Describe(hang);
  EXPECT_NE(hang.error.find("timed out"), std::string::npos) << hang.error;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  r.handler->ReleaseHanging();
  EXPECT_EQ(Send(*d, "M2").kind, Kind::kSent);
}

TEST(MllpDestinationTest, ReceiverDownRetriesAndReconnectsAfterRestart) {
  auto handler = std::make_shared<Receiver>();
  auto receiver = std::make_unique<MllpReceiver>(handler);
  const std::uint16_t port = receiver->port;
  auto d = Make(MllpConfig(port));
  ASSERT_TRUE(d);
  ASSERT_EQ(Send(*d, "UP1").kind, Kind::kSent);

  receiver.reset();  // the receiver goes away
  DeliveryOutcome down = Send(*d, "DOWN1");
  EXPECT_EQ(down.kind, Kind::kRetry) << Describe(down);
  DeliveryOutcome still_down = Send(*d, "DOWN1");
  EXPECT_EQ(still_down.kind, Kind::kRetry) << Describe(still_down);
  EXPECT_NE(still_down.error.find("connect"), std::string::npos) << still_down.error;

  auto handler2 = std::make_shared<Receiver>();
  receiver = std::make_unique<MllpReceiver>(handler2, port);  // back on the same port
  ASSERT_EQ(receiver->port, port);
  DeliveryOutcome back = Send(*d, "DOWN1");
  EXPECT_EQ(back.kind, Kind::kSent) << Describe(back);
  EXPECT_EQ(handler2->received(), std::vector<std::string>{"DOWN1"});
}

TEST(MllpDestinationTest, BadTlsFilesAreRejectedAtMake) {
  DestinationConfig c = MllpConfig(1);
  c.mllp.tls = TlsClientConfig{};
  c.mllp.tls->ca = "/nonexistent/ca.pem";
  auto d = MakeDestination(c, "ch", {});
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(d.status().message().find("channel ch destination ehr"), std::string::npos)
      << d.status().message();
}

// --- HTTP receiver ----------------------------------------------------------

struct SeenRequest {
  std::string method, target, content_type, body;
  std::map<std::string, std::string> headers;
  int connection = 0;
};

// Routes: /status/NNN answers NNN; /slow waits 1 s; /close answers 200 and
// closes; anything else 200 "accepted".
class HttpReceiver {
 public:
  // With `tls`: HTTPS with that server context.
  explicit HttpReceiver(std::shared_ptr<net::ssl::context> tls = nullptr)
      : tls_(std::move(tls)), acceptor_(io_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }
  ~HttpReceiver() {
    stopping_ = true;
    {
      // Wake the blocking accept.
      net::io_context io;
      tcp::socket s(io);
      boost::system::error_code ec;
      s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_), ec);
    }
    accept_thread_.join();
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mu_);
      for (auto& s : sockets_) {
        boost::system::error_code ec;
        s->shutdown(tcp::socket::shutdown_both, ec);
      }
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
  }
  std::uint16_t port() const { return port_; }
  std::vector<SeenRequest> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }
  int connections() const { return connections_; }

 private:
  void AcceptLoop() {
    while (true) {
      auto socket = std::make_shared<tcp::socket>(io_);
      boost::system::error_code ec;
      acceptor_.accept(*socket, ec);
      if (ec || stopping_) return;
      const int id = ++connections_;
      std::lock_guard lock(mu_);
      sockets_.push_back(socket);
      threads_.emplace_back([this, socket, id] {
        if (!tls_) return Serve(*socket, id);
        net::ssl::stream<tcp::socket&> stream(*socket, *tls_);
        boost::system::error_code hs;
        stream.handshake(net::ssl::stream_base::server, hs);
        if (!hs) Serve(stream, id);
      });
    }
  }
  template <typename Stream>
  void Serve(Stream& socket, int connection) {
    beast::flat_buffer buffer;
    while (true) {
      http::request<http::string_body> req;
      boost::system::error_code ec;
      http::read(socket, buffer, req, ec);
      if (ec) return;
      SeenRequest seen;
      seen.method = std::string(req.method_string());
      seen.target = std::string(req.target());
      seen.content_type = std::string(req[http::field::content_type]);
      seen.body = req.body();
      for (const auto& f : req) seen.headers[std::string(f.name_string())] = std::string(f.value());
      seen.connection = connection;
      {
        std::lock_guard lock(mu_);
        requests_.push_back(seen);
      }
      int status = 200;
      bool close = false;
      if (seen.target.rfind("/status/", 0) == 0) status = std::stoi(seen.target.substr(8));
      if (seen.target == "/slow") std::this_thread::sleep_for(1s);
      if (seen.target == "/close") close = true;
      http::response<http::string_body> res{static_cast<http::status>(status), req.version()};
      if (status != 204) res.body() = status == 200 ? "accepted" : "nope " + std::to_string(status);
      res.keep_alive(!close && req.keep_alive());
      res.prepare_payload();
      http::write(socket, res, ec);
      if (ec || close) {
        beast::get_lowest_layer(socket).shutdown(tcp::socket::shutdown_both, ec);
        return;
      }
    }
  }

  std::shared_ptr<net::ssl::context> tls_;
  net::io_context io_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::thread accept_thread_;
  std::mutex mu_;
  std::vector<std::shared_ptr<tcp::socket>> sockets_;
  std::vector<std::thread> threads_;
  std::vector<SeenRequest> requests_;
};

DestinationConfig HttpConfig(std::uint16_t port, const std::string& target = "/hl7") {
  DestinationConfig c;
  c.name = "registry";
  c.kind = DestinationKind::kHttp;
  c.http.url = "http://127.0.0.1:" + std::to_string(port) + target;
  c.http.host = "127.0.0.1";
  c.http.port = port;
  c.http.target = target;
  c.http.timeout = 2s;
  return c;
}

TEST(HttpDestinationTest, PostsEr7WithHeadersAndReusesTheConnection) {
  HttpReceiver server;
  DestinationConfig c = HttpConfig(server.port());
  c.http.headers = {{"X-Api-Key", "abc"}, {"X-Other", "1 2"}};
  auto d = Make(c);
  ASSERT_TRUE(d);
  DeliveryOutcome o = Send(*d, "H1");
  EXPECT_EQ(o.kind, Kind::kSent) << Describe(o);
  EXPECT_EQ(o.response, "HTTP 200 OK\naccepted");
  EXPECT_EQ(Send(*d, "H2").kind, Kind::kSent);
  EXPECT_EQ(Send(*d, "H3").kind, Kind::kSent);

  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].target, "/hl7");
  EXPECT_EQ(seen[0].content_type, "x-application/hl7-v2+er7");
  EXPECT_EQ(seen[0].body, WithControlId("H1"));
  EXPECT_EQ(seen[0].headers["X-Api-Key"], "abc");
  EXPECT_EQ(seen[0].headers["X-Other"], "1 2");
  EXPECT_EQ(seen[0].headers["Host"], "127.0.0.1:" + std::to_string(server.port()));
  // Keep-alive: all three on the first connection.
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(seen[2].connection, 1);
}

TEST(HttpDestinationTest, StatusCodesDecideTheOutcome) {
  HttpReceiver server;
  struct Case {
    int status;
    Kind kind;
  };
  for (Case k : {Case{200, Kind::kSent}, Case{201, Kind::kSent}, Case{204, Kind::kSent},
                 Case{500, Kind::kRetry}, Case{503, Kind::kRetry}, Case{408, Kind::kRetry},
                 Case{429, Kind::kRetry}, Case{400, Kind::kFailed}, Case{404, Kind::kFailed},
                 Case{301, Kind::kFailed}}) {
    auto d = Make(HttpConfig(server.port(), "/status/" + std::to_string(k.status)));
    ASSERT_TRUE(d);
    DeliveryOutcome o = Send(*d, "S" + std::to_string(k.status));
    EXPECT_EQ(o.kind, k.kind) << k.status << ": " << Describe(o);
    EXPECT_EQ(o.response.rfind("HTTP " + std::to_string(k.status) + " ", 0), 0u) << o.response;
    if (k.kind != Kind::kSent) {
      EXPECT_EQ(o.error.rfind("HTTP " + std::to_string(k.status), 0), 0u) << o.error;
      EXPECT_NE(o.response.find("nope " + std::to_string(k.status)), std::string::npos);
    }
  }
}

TEST(HttpDestinationTest, JsonBodyIsTheLosslessForm) {
  HttpReceiver server;
  DestinationConfig c = HttpConfig(server.port());
  c.http.body = HttpBody::kJson;
  auto d = Make(c);
  ASSERT_TRUE(d);
  ASSERT_EQ(Send(*d, "J1").kind, Kind::kSent);
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].content_type, "application/json");
  auto back = hl7::JsonToEr7(seen[0].body);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, WithControlId("J1"));
  // Not HL7: the JSON form cannot be written, which will not change on retry.
  DeliveryOutcome bad = d->Deliver("not hl7", Ctx("x"));
  EXPECT_EQ(bad.kind, Kind::kFailed) << Describe(bad);
}

TEST(HttpDestinationTest, ServerClosingTheConnectionIsHandled) {
  HttpReceiver server;
  auto d = Make(HttpConfig(server.port(), "/close"));
  ASSERT_TRUE(d);
  EXPECT_EQ(Send(*d, "C1").kind, Kind::kSent);
  EXPECT_EQ(Send(*d, "C2").kind, Kind::kSent);
  EXPECT_EQ(server.connections(), 2);
}

TEST(HttpDestinationTest, TimeoutAndDownServerRetry) {
  std::uint16_t port = 0;
  {
    HttpReceiver server;
    port = server.port();
    DestinationConfig c = HttpConfig(port, "/slow");
    c.http.timeout = 200ms;
    auto d = Make(c);
    ASSERT_TRUE(d);
    DeliveryOutcome o = Send(*d, "T1");
    EXPECT_EQ(o.kind, Kind::kRetry) << Describe(o);
    EXPECT_NE(o.error.find("timed out"), std::string::npos) << o.error;
  }
  auto d = Make(HttpConfig(port));
  ASSERT_TRUE(d);
  DeliveryOutcome o = Send(*d, "T2");
  EXPECT_EQ(o.kind, Kind::kRetry) << Describe(o);
  EXPECT_NE(o.error.find("connect"), std::string::npos) << o.error;
}

// --- file ---------------------------------------------------------------------

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("junction_dest_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string str() const { return path_.string(); }
  std::vector<std::string> Files(const std::string& sub = "") const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(path_ / sub)) names.push_back(e.path().filename());
    std::sort(names.begin(), names.end());
    return names;
  }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

DestinationConfig FileConfig(const std::string& dir, const std::string& name) {
  DestinationConfig c;
  c.name = "archive";
  c.kind = DestinationKind::kFile;
  c.file.dir = dir;
  c.file.name = name;
  return c;
}

TEST(FileDestinationTest, WritesTheMessageUnderItsTemplateName) {
  TempDir dir;
  auto d = Make(FileConfig(dir.str() + "/out", "{channel}-{destination}-{MSH-10}-{id}.hl7"));
  ASSERT_TRUE(d);
  DeliveryOutcome o = Send(*d, "F1", 42);
  EXPECT_EQ(o.kind, Kind::kSent) << Describe(o);
  EXPECT_EQ(dir.Files("out"), std::vector<std::string>{"ch-archive-F1-42.hl7"});
  EXPECT_EQ(ReadAll(dir.str() + "/out/ch-archive-F1-42.hl7"), WithControlId("F1"));
  // Writing the same name again replaces the file whole.
  const std::string changed = Replace(WithControlId("F1"), "DOE", "ROE");
  EXPECT_EQ(d->Deliver(changed, Ctx("F1", 42)).kind, Kind::kSent);
  EXPECT_EQ(ReadAll(dir.str() + "/out/ch-archive-F1-42.hl7"), changed);
  EXPECT_EQ(dir.Files("out").size(), 1u);  // no temp file left behind
}

TEST(FileDestinationTest, TraversalAttemptsStayInTheDirectory) {
  TempDir dir;
  auto d = Make(FileConfig(dir.str() + "/out", "{MSH-10}.hl7"));
  ASSERT_TRUE(d);
  for (const char* evil : {"../../escape", "a/../../b", "/etc/passwd"}) {
    DeliveryOutcome o = Send(*d, evil);
    EXPECT_EQ(o.kind, Kind::kSent) << evil << ": " << Describe(o);
  }
  EXPECT_EQ(dir.Files(""), std::vector<std::string>{"out"});
  EXPECT_EQ(dir.Files("out"),
            (std::vector<std::string>{".._.._escape.hl7", "_etc_passwd.hl7", "a_.._.._b.hl7"}));
  // A name that would be ".." is refused for good.
  auto bare = Make(FileConfig(dir.str() + "/out", "{MSH-10}"));
  DeliveryOutcome o = Send(*bare, "..");
  EXPECT_EQ(o.kind, Kind::kFailed) << Describe(o);
}

TEST(FileDestinationTest, UnwritableDirectoryRetries) {
  TempDir dir;
  std::ofstream(dir.str() + "/blocker") << "a file, not a directory";
  auto d = Make(FileConfig(dir.str() + "/blocker/out", "{MSH-10}.hl7"));
  ASSERT_TRUE(d);
  DeliveryOutcome o = Send(*d, "F1");
  EXPECT_EQ(o.kind, Kind::kRetry) << Describe(o);
}

TEST(FileDestinationTest, ExpandFileName) {
  const std::int64_t now_us = 1767225600LL * 1'000'000 + 3723LL * 1'000'000;  // 2026-01-01 01:02:03
  auto n = ExpandFileName("{date}_{time}_{id}_{PID-5.1}_{PID-3.4}.x", kAdt, "c", "d", 7, now_us);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, "20260101_010203_7_DOE_HOSP.x");
  n = ExpandFileName("{MSH-10}", Replace(kAdt, "|CTRL1|", "|a b/*#:|"), "c", "d", 1, 0);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, "a_b____");
  n = ExpandFileName("{channel}{destination}", "", "my chan", "d/x", 1, 0);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, "my_chand_x");
  EXPECT_FALSE(ExpandFileName("{MSH-10}", "not hl7", "c", "d", 1, 0).ok());
  EXPECT_FALSE(ExpandFileName("{ZZZ-1}", kAdt, "c", "d", 1, 0).ok());  // empty result
  EXPECT_FALSE(ExpandFileName("a/{id}", kAdt, "c", "d", 1, 0).ok());
  EXPECT_FALSE(ExpandFileName("{bogus}", kAdt, "c", "d", 1, 0).ok());
  EXPECT_FALSE(ExpandFileName(std::string(300, 'a'), kAdt, "c", "d", 1, 0).ok());
  // Long values are cut, so the name stays usable.
  n = ExpandFileName("{MSH-10}.hl7", Replace(kAdt, "|CTRL1|", "|" + std::string(500, 'x') + "|"),
                     "c", "d", 1, 0);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, std::string(100, 'x') + ".hl7");
}

// --- fhir-convert and channel ------------------------------------------------------

TEST(FhirConvertDestinationTest, WritesABundleFile) {
  TempDir dir;
  DestinationConfig c = FileConfig(dir.str(), "{MSH-10}.json");
  c.fhir_convert = FhirConvertConfig{.bundle = "collection"};
  DestinationEnv env;
  env.fhir.identifier_systems["HOSP"] = "http://hosp.example/mrn";
  auto d = Make(c, env);
  ASSERT_TRUE(d);
  DeliveryOutcome o = Send(*d, "FH1");
  ASSERT_EQ(o.kind, Kind::kSent) << Describe(o);
  const std::string text = ReadAll(dir.str() + "/FH1.json");
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  ASSERT_FALSE(ec) << text;
  EXPECT_EQ(v.at("resourceType"), "Bundle");
  EXPECT_EQ(v.at("type"), "collection");
  bool patient = false;
  for (const auto& e : v.at("entry").as_array()) {
    const auto& r = e.at("resource");
    if (r.at("resourceType") == "Patient") {
      patient = true;
      EXPECT_NE(boost::json::serialize(r).find("http://hosp.example/mrn"), std::string::npos);
    }
  }
  EXPECT_TRUE(patient) << text;

  DeliveryOutcome bad = d->Deliver("this is not HL7", Ctx("x"));
  EXPECT_EQ(bad.kind, Kind::kFailed) << Describe(bad);
  EXPECT_NE(bad.error.find("FHIR conversion"), std::string::npos);
}

TEST(FhirConvertDestinationTest, PostsTheBundleAsFhirJson) {
  HttpReceiver server;
  DestinationConfig c = HttpConfig(server.port(), "/fhir");
  c.http.body = HttpBody::kJson;
  c.fhir_convert = FhirConvertConfig{};
  auto d = Make(c);
  ASSERT_TRUE(d);
  ASSERT_EQ(Send(*d, "FH2").kind, Kind::kSent);
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].content_type, "application/fhir+json");
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(seen[0].body, ec);
  ASSERT_FALSE(ec);
  EXPECT_EQ(v.at("type"), "transaction");
}

TEST(ChannelDestinationTest, SubmitsToTheOtherChannel) {
  std::vector<std::tuple<std::string, std::string, std::int64_t>> submitted;
  Status next = Status::Ok();
  DestinationEnv env;
  env.submit_to_channel = [&](const std::string& channel, std::string raw, std::int64_t source) {
    if (next.ok()) submitted.emplace_back(channel, std::move(raw), source);
    return next;
  };
  DestinationConfig c;
  c.name = "next";
  c.kind = DestinationKind::kChannel;
  c.channel.channel = "other";
  auto d = Make(c, env);
  ASSERT_TRUE(d);
  EXPECT_EQ(Send(*d, "CH1", 9).kind, Kind::kSent);
  ASSERT_EQ(submitted.size(), 1u);
  EXPECT_EQ(std::get<0>(submitted[0]), "other");
  EXPECT_EQ(std::get<1>(submitted[0]), WithControlId("CH1"));
  EXPECT_EQ(std::get<2>(submitted[0]), 9);

  next = Status::OutOfRange("store write queue is full");
  EXPECT_EQ(Send(*d, "CH2").kind, Kind::kRetry);
  next = Status::NotFound("no channel 'other'");
  DeliveryOutcome o = Send(*d, "CH3");
  EXPECT_EQ(o.kind, Kind::kFailed);
  EXPECT_NE(o.error.find("no channel"), std::string::npos);

  auto lonely = Make(c, DestinationEnv{});
  EXPECT_EQ(Send(*lonely, "CH4").kind, Kind::kFailed);
}

// --- TLS ------------------------------------------------------------------------

// Certificates made by the openssl CLI (as in the mllp TLS tests): a CA and a
// server certificate for 127.0.0.1.
class DestinationTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("junction-dest-tls-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    const std::string script =
        "cd " + dir_.string() +
        " && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca -keyout ca.key "
        "-out ca.pem && openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "
        "server.key -out server.csr && printf 'subjectAltName=IP:127.0.0.1' > san.ext && openssl "
        "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile "
        "san.ext -out server.pem";
    ok_ = std::system(("(" + script + ") >/dev/null 2>&1").c_str()) == 0;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static std::string F(const char* name) { return (dir_ / name).string(); }
  static inline fs::path dir_;
  static inline bool ok_ = false;
};

TEST_F(DestinationTlsTest, MllpOverTlsVerifiesTheServer) {
  ASSERT_TRUE(ok_) << "openssl could not make test certificates";
  auto handler = std::make_shared<Receiver>();
  mllp::Server server(1);
  mllp::ListenerOptions o;
  o.port = 0;
  o.tls = mllp::TlsOptions{.cert = F("server.pem"), .key = F("server.key")};
  auto port = server.AddListener(o, handler);
  ASSERT_TRUE(port.ok()) << port.status().ToString();
  server.Start();

  DestinationConfig c = MllpConfig(*port);
  c.mllp.tls = TlsClientConfig{.ca = F("ca.pem")};
  auto d = Make(c);
  ASSERT_TRUE(d);
  DeliveryOutcome o1 = Send(*d, "TLS1");
  EXPECT_EQ(o1.kind, Kind::kSent) << Describe(o1);

  // A name the certificate does not carry: the handshake fails, a transient error.
  c.mllp.tls->server_name = "someone-else.example";
  auto wrong = Make(c);
  DeliveryOutcome o2 = Send(*wrong, "TLS2");
  EXPECT_EQ(o2.kind, Kind::kRetry) << Describe(o2);
  EXPECT_NE(o2.error.find("TLS handshake"), std::string::npos) << o2.error;
  server.Stop(1s);
  EXPECT_EQ(handler->received(), std::vector<std::string>{"TLS1"});
}

TEST_F(DestinationTlsTest, HttpsPostsOverTls) {
  ASSERT_TRUE(ok_) << "openssl could not make test certificates";
  auto ctx = mllp::MakeServerContext({.cert = F("server.pem"), .key = F("server.key")});
  ASSERT_TRUE(ctx.ok()) << ctx.status().ToString();
  HttpReceiver server(*ctx);
  DestinationConfig c = HttpConfig(server.port());
  c.http.https = true;
  c.http.tls = TlsClientConfig{.ca = F("ca.pem")};
  auto d = Make(c);
  ASSERT_TRUE(d);
  DeliveryOutcome o = Send(*d, "S1");
  EXPECT_EQ(o.kind, Kind::kSent) << Describe(o);
  EXPECT_EQ(Send(*d, "S2").kind, Kind::kSent);
  EXPECT_EQ(server.connections(), 1);  // keep-alive over TLS too
  ASSERT_EQ(server.requests().size(), 2u);
  EXPECT_EQ(server.requests()[1].body, WithControlId("S2"));

  // Without the CA the server is not trusted.
  DestinationConfig untrusted = HttpConfig(server.port());
  untrusted.http.https = true;
  auto u = Make(untrusted);
  ASSERT_TRUE(u);
  DeliveryOutcome bad = Send(*u, "S3");
  EXPECT_EQ(bad.kind, Kind::kRetry) << Describe(bad);
  EXPECT_NE(bad.error.find("TLS handshake"), std::string::npos) << bad.error;
}

}  // namespace
}  // namespace junction::engine
