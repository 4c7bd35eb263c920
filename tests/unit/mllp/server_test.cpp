#include "junction/mllp/server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>

#include "junction/mllp/cidr.h"
#include "junction/mllp/client.h"

namespace junction::mllp {
namespace {

using namespace std::chrono_literals;

// Answers "ACK:<payload>". Payloads starting with "slow" are answered later from
// another thread, so replies complete out of order.
class EchoHandler : public Handler {
 public:
  std::atomic<int> received{0};

  void OnMessage(const PeerInfo&, std::string payload, Reply reply) override {
    ++received;
    if (payload.rfind("slow", 0) == 0) {
      std::thread([payload, reply] {
        std::this_thread::sleep_for(50ms);
        reply("ACK:" + payload);
      }).detach();
      return;
    }
    reply("ACK:" + payload);
  }
  std::string OnFrameError(const PeerInfo&, const Status& error, std::string_view head) override {
    return "NAK:" + error.message() + ":" + std::string(head.substr(0, 4));
  }
};

struct Fixture {
  explicit Fixture(ListenerOptions options = {}) {
    options.port = 0;
    auto bound = server.AddListener(options, handler);
    EXPECT_TRUE(bound.ok()) << bound.status().ToString();
    port = bound.ok() ? *bound : 0;
    server.Start();
  }
  ~Fixture() { server.Stop(2s); }
  std::unique_ptr<Client> Connect(std::optional<TlsOptions> tls = std::nullopt) {
    auto c = Client::Connect({.host = "127.0.0.1", .port = port, .tls = tls});
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(c).value() : nullptr;
  }
  // Waits (bounded) until the handler has seen `n` messages.
  bool WaitReceived(int n) {
    for (int i = 0; i < 500 && handler->received < n; ++i) std::this_thread::sleep_for(10ms);
    return handler->received >= n;
  }
  std::shared_ptr<EchoHandler> handler = std::make_shared<EchoHandler>();
  Server server{2};
  std::uint16_t port = 0;
};

TEST(MllpServerTest, AnswersEachFrameInOrderEvenWhenRepliesCompleteOutOfOrder) {
  Fixture f;
  auto client = f.Connect();
  ASSERT_TRUE(client);
  std::string wire;
  for (std::string p : {"slow-1", "fast-2", "slow-3", "fast-4"}) wire += Encode(p);
  ASSERT_TRUE(client->SendRaw(wire).ok());
  for (std::string p : {"slow-1", "fast-2", "slow-3", "fast-4"}) {
    auto ack = client->Receive(5s);
    ASSERT_TRUE(ack.ok()) << ack.status().ToString();
    EXPECT_EQ(*ack, "ACK:" + p);
  }
}

TEST(MllpServerTest, FragmentedFramesAndGarbageBeforeThem) {
  Fixture f;
  auto client = f.Connect();
  ASSERT_TRUE(client);
  std::string wire = "junk" + Encode("hello");
  for (char c : wire) {
    ASSERT_TRUE(client->SendRaw(std::string_view(&c, 1)).ok());
  }
  auto ack = client->Receive(5s);
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(*ack, "ACK:hello");
  EXPECT_EQ(f.server.stats().bytes_skipped, 4u);
}

TEST(MllpServerTest, OversizeFrameGetsANakAndTheConnectionCloses) {
  ListenerOptions options;
  options.decoder.max_frame_bytes = 100;
  Fixture f(options);
  auto client = f.Connect();
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->SendRaw(Encode("ok") + Encode("MSH|" + std::string(200, 'x'))).ok());
  EXPECT_EQ(*client->Receive(5s), "ACK:ok");
  auto nak = client->Receive(5s);
  ASSERT_TRUE(nak.ok());
  EXPECT_EQ(nak->rfind("NAK:", 0), 0u);
  EXPECT_NE(nak->find(":MSH|"), std::string::npos);  // the head of the frame reached the handler
  EXPECT_FALSE(client->Receive(2s).ok());            // closed
  // The server keeps serving.
  auto again = f.Connect();
  ASSERT_TRUE(again->Send("next").ok());
  EXPECT_EQ(*again->Receive(5s), "ACK:next");
}

TEST(MllpServerTest, LimitsConnections) {
  ListenerOptions options;
  options.max_connections = 2;
  Fixture f(options);
  auto a = f.Connect();
  auto b = f.Connect();
  ASSERT_TRUE(a->Send("a").ok());
  ASSERT_TRUE(b->Send("b").ok());
  EXPECT_TRUE(a->Receive(5s).ok());
  EXPECT_TRUE(b->Receive(5s).ok());
  auto c = f.Connect();  // TCP connects, then the server closes it
  ASSERT_TRUE(c);
  (void)c->Send("c");
  EXPECT_FALSE(c->Receive(2s).ok());
  a.reset();
  // Once a slot frees up, new connections are served again (the server notices
  // the close asynchronously, so allow it a few tries).
  bool served = false;
  for (int attempt = 0; attempt < 50 && !served; ++attempt) {
    auto d = f.Connect();
    served = d && d->Send("d").ok() && d->Receive(2s).ok();
    if (!served) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(served);
  EXPECT_GE(f.server.stats().connections_refused, 1u);
}

TEST(MllpServerTest, AllowListRefusesOtherAddresses) {
  ListenerOptions options;
  options.allow = {"10.0.0.0/8"};
  Fixture f(options);
  auto c = f.Connect();
  ASSERT_TRUE(c);
  (void)c->Send("x");
  EXPECT_FALSE(c->Receive(2s).ok());
  ListenerOptions open;
  open.allow = {"127.0.0.0/8", "::1/128"};
  Fixture g(open);
  auto d = g.Connect();
  ASSERT_TRUE(d->Send("y").ok());
  EXPECT_EQ(*d->Receive(5s), "ACK:y");
}

TEST(MllpServerTest, IdleAndReadTimeoutsClose) {
  ListenerOptions options;
  options.idle_timeout = 300ms;
  options.read_timeout = 300ms;
  Fixture f(options);
  auto idle = f.Connect();
  std::this_thread::sleep_for(800ms);
  EXPECT_FALSE(idle->Receive(1s).ok());
  auto partial = f.Connect();
  ASSERT_TRUE(partial->SendRaw("\x0bMSH|never finished").ok());
  EXPECT_FALSE(partial->Receive(3s).ok());
  EXPECT_GE(f.server.stats().timeouts, 2u);
}

TEST(MllpServerTest, StopAnswersWhatWasReceived) {
  auto f = std::make_unique<Fixture>();
  auto client = f->Connect();
  ASSERT_TRUE(client->Send("slow-last").ok());
  ASSERT_TRUE(f->WaitReceived(1));  // in flight: received, not yet answered
  std::thread stopper([&] { f->server.Stop(5s); });
  auto ack = client->Receive(5s);
  stopper.join();
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  EXPECT_EQ(*ack, "ACK:slow-last");
}

// A handler that keeps the reply and answers only when told to.
class HoldingHandler : public Handler {
 public:
  void OnMessage(const PeerInfo&, std::string, Reply reply) override {
    std::lock_guard lock(mu);
    held = std::move(reply);
  }
  std::string OnFrameError(const PeerInfo&, const Status&, std::string_view) override { return {}; }
  std::mutex mu;
  Reply held;
};

TEST(MllpServerTest, AReplyThatOutlivesTheServerIsDropped) {
  auto handler = std::make_shared<HoldingHandler>();
  Handler::Reply late;
  {
    Server server(1);
    auto port = server.AddListener({.port = 0}, handler);
    ASSERT_TRUE(port.ok());
    server.Start();
    auto client = Client::Connect({.host = "127.0.0.1", .port = *port});
    ASSERT_TRUE(client.ok());
    ASSERT_TRUE((*client)->Send("held").ok());
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard lock(handler->mu);
        if (handler->held) break;
      }
      std::this_thread::sleep_for(10ms);
    }
    std::lock_guard lock(handler->mu);
    ASSERT_TRUE(handler->held);
    late = std::move(handler->held);
    server.Stop(100ms);
  }
  late("ACK after the server is gone");  // must neither crash nor touch freed memory
  late = nullptr;
}

TEST(CidrTest, MatchesPrefixes) {
  namespace ip = boost::asio::ip;
  auto list = AllowList::Parse({"192.168.1.0/24", "::1", "10.0.0.0/8"});
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->Allows(ip::make_address("192.168.1.77")));
  EXPECT_FALSE(list->Allows(ip::make_address("192.168.2.1")));
  EXPECT_TRUE(list->Allows(ip::make_address("::ffff:10.1.2.3")));
  EXPECT_TRUE(list->Allows(ip::make_address("::1")));
  EXPECT_FALSE(list->Allows(ip::make_address("::2")));
  EXPECT_FALSE(AllowList::Parse({"10.0.0.0/33"}).ok());
  EXPECT_FALSE(AllowList::Parse({"nonsense"}).ok());
  EXPECT_TRUE(AllowList::Parse({})->Allows(ip::make_address("1.2.3.4")));
}

// TLS with certificates made by the openssl CLI, as a real deployment would.
class MllpTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::filesystem::temp_directory_path() /
           ("junction-tls-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir_);
    const std::string d = dir_.string();
    const std::string script =
        "cd " + d + " && "
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca -keyout ca.key -out ca.pem && "
        "openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key -out server.csr && "
        "printf 'subjectAltName=IP:127.0.0.1' > san.ext && "
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out server.pem && "
        "openssl req -newkey rsa:2048 -nodes -subj /CN=client -keyout client.key -out client.csr && "
        "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out client.pem";
    ok_ = std::system((script + " >/dev/null 2>&1").c_str()) == 0;
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir_); }
  static std::string F(const char* name) { return (dir_ / name).string(); }
  static inline std::filesystem::path dir_;
  static inline bool ok_ = false;
};

TEST_F(MllpTlsTest, ServesTlsAndRequiresClientCertificates) {
  ASSERT_TRUE(ok_) << "openssl could not make test certificates";
  ListenerOptions options;
  options.tls = TlsOptions{.cert = F("server.pem"), .key = F("server.key"), .client_ca = F("ca.pem")};
  Fixture f(options);
  // With a client certificate signed by the CA: served.
  auto good = Client::Connect({.host = "127.0.0.1", .port = f.port,
                               .tls = TlsOptions{.cert = F("client.pem"), .key = F("client.key"),
                                                 .ca = F("ca.pem")}});
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  ASSERT_TRUE((*good)->Send("secure").ok());
  EXPECT_EQ(*(*good)->Receive(5s), "ACK:secure");
  // Without a client certificate: the handshake (or the first read) fails.
  auto anonymous = Client::Connect({.host = "127.0.0.1", .port = f.port,
                                    .tls = TlsOptions{.ca = F("ca.pem")}});
  if (anonymous.ok()) {
    (void)(*anonymous)->Send("x");
    EXPECT_FALSE((*anonymous)->Receive(2s).ok());
  }
  // A client that does not trust the server's CA refuses it.
  auto untrusting = Client::Connect({.host = "127.0.0.1", .port = f.port,
                                     .tls = TlsOptions{.cert = F("client.pem"),
                                                       .key = F("client.key"),
                                                       .ca = F("client.pem")}});
  EXPECT_FALSE(untrusting.ok());
  // Plain TCP to a TLS listener gets no MLLP answer.
  auto plain = f.Connect();
  (void)plain->Send("plain");
  EXPECT_FALSE(plain->Receive(2s).ok());
}

}  // namespace
}  // namespace junction::mllp
