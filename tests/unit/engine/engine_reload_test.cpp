// The Engine (junction/engine/serve.h) end to end in-process: MLLP in through a
// real mllp::Client, ack: after-processing, restart recovery from an existing
// store file, reprocess and resend while running, chained channels, Reload
// (new rules for later messages, a failing reload changes nothing, listener
// rebuild, hand-over without duplicates) and PruneOnce.
#include <gtest/gtest.h>

#include "junction/engine/messages.h"
#include "junction/engine/serve.h"
#include "runtime_test_util.h"

namespace junction::engine {
namespace {

using namespace std::chrono_literals;
using testing::AckField;
using testing::Eventually;
using testing::MustParse;
using testing::Replace;
using testing::WithControlId;
using MState = store::MessageState;
using DState = store::DeliveryState;

std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

class EngineReloadTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (engine_) {
      EXPECT_TRUE(engine_->Stop(1s).ok());
    }
    engine_.reset();
  }

  // `yaml` with {DIR} (the temp dir) and {DB} (the store file) filled in.
  Config Make(const std::string& yaml) {
    return MustParse(ReplaceAll(ReplaceAll(yaml, "{DB}", db()), "{DIR}", dir_.str()));
  }
  std::string db() const { return dir_.Sub("junction.db"); }

  Engine* Start(const Config& config) {
    auto engine = Engine::Start(config);
    EXPECT_TRUE(engine.ok()) << engine.status().ToString();
    if (!engine.ok()) return nullptr;
    engine_ = std::move(engine).value();
    return engine_.get();
  }
  std::uint16_t Port(const std::string& channel = "in") const {
    for (const ListenerInfo& l : engine_->listeners()) {
      if (l.channel == channel) return l.port;
    }
    ADD_FAILURE() << "no listener for " << channel;
    return 0;
  }
  store::Store* store() { return engine_->store(); }

  // The newest message of `channel` with control id `control_id` (0 if none).
  store::MessageId Find(const std::string& channel, const std::string& control_id) {
    store::MessageQuery q;
    q.channel = channel;
    q.control_id = control_id;
    auto rows = store()->List(q);
    return rows.ok() && !rows->empty() ? (*rows)[0].id : 0;
  }
  store::MessageId WaitFor(const std::string& channel, const std::string& control_id) {
    store::MessageId id = 0;
    EXPECT_TRUE(Eventually([&] { return (id = Find(channel, control_id)) != 0; }))
        << channel << " " << control_id;
    return id;
  }

  testing::RtTempDir dir_;
  std::unique_ptr<Engine> engine_;
};

constexpr const char* kAfterProcessing = R"(store: { sqlite: "{DB}" }
channels:
  - name: in
    source:
      mllp: { listen: "127.0.0.1:0", ack: after-processing }
    transform:
      - set: { path: MSH-5, value: EHR }
      - lua: |
          if msg:get("MSH-10") == "BOOM" then error("boom") end
    destinations:
      - name: out
        file: { dir: "{DIR}/out", name: "{MSH-10}.hl7" }
)";

TEST_F(EngineReloadTest, AckAfterProcessingWaitsForTheChannel) {
  ASSERT_TRUE(Start(Make(kAfterProcessing)));
  const std::string ack = testing::SendAndReceive(Port(), WithControlId("OK1"));
  EXPECT_EQ(AckField(ack, "MSA-1"), "AA") << ack;
  EXPECT_EQ(AckField(ack, "MSA-2"), "OK1") << ack;
  // When the AA arrived the channel had run and its outcome was committed.
  const store::MessageId id = Find("in", "OK1");
  ASSERT_NE(id, 0);
  const std::string state = testing::StateOf(store(), id);
  EXPECT_TRUE(state == "queued" || state == "sent") << state;
  ASSERT_TRUE(testing::WaitForState(store(), id, MState::kSent));
  EXPECT_NE(testing::ReadFile(dir_.Sub("out/OK1.hl7")).find("|EHR|"), std::string::npos);

  // A transform error: stored, in error, and answered with AE carrying the reason.
  const std::string nak = testing::SendAndReceive(Port(), WithControlId("BOOM"));
  EXPECT_EQ(AckField(nak, "MSA-1"), "AE") << nak;
  EXPECT_EQ(AckField(nak, "MSA-2"), "BOOM") << nak;
  EXPECT_NE(nak.find("boom"), std::string::npos) << nak;
  EXPECT_NE(nak.find("207"), std::string::npos) << nak;
  const store::MessageId bad = Find("in", "BOOM");
  ASSERT_NE(bad, 0);
  EXPECT_EQ(testing::StateOf(store(), bad), "error");
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("out/BOOM.hl7")));
}

TEST_F(EngineReloadTest, AckAfterProcessingAcceptsFilteredMessages) {
  ASSERT_TRUE(Start(Make(R"(store: { sqlite: "{DB}" }
channels:
  - name: in
    source:
      mllp: { listen: "127.0.0.1:0", ack: after-processing }
    filter: { path: MSH-9.1, equals: ORU }
)")));
  const std::string ack = testing::SendAndReceive(Port(), WithControlId("F1"));
  EXPECT_EQ(AckField(ack, "MSA-1"), "AA") << ack;
  const store::MessageId id = Find("in", "F1");
  ASSERT_NE(id, 0);
  EXPECT_EQ(testing::StateOf(store(), id), "filtered");
}

constexpr const char* kFileOut = R"(store: { sqlite: "{DB}" }
channels:
  - name: in
    source:
      mllp: { listen: "127.0.0.1:0" }
    destinations:
      - name: out
        file: { dir: "{DIR}/out", name: "{MSH-10}.hl7" }
)";

TEST_F(EngineReloadTest, MessagesStoredBeforeStartAreProcessedAtStart) {
  std::vector<store::MessageId> ids;
  {
    store::StoreOptions o;
    o.sqlite_path = db();
    o.durable = false;
    auto s = store::Store::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    for (const char* c : {"R1", "R2", "R3"}) {
      ids.push_back(testing::StoreMessage(s->get(), "in", WithControlId(c)));
    }
    ASSERT_TRUE((*s)->Close().ok());
  }
  ASSERT_TRUE(Start(Make(kFileOut)));
  for (auto id : ids) {
    ASSERT_TRUE(testing::WaitForState(store(), id, MState::kSent))
        << id << " " << testing::StateOf(store(), id);
  }
  EXPECT_EQ(dir_.Files("out"), (std::vector<std::string>{"R1.hl7", "R2.hl7", "R3.hl7"}));
}

TEST_F(EngineReloadTest, QueuedDeliveriesSurviveARestart) {
  // First run: the receiver is down, the message stays queued with attempts.
  const std::uint16_t port = testing::ReservePort();
  const std::string yaml = ReplaceAll(R"(store: { sqlite: "{DB}" }
channels:
  - name: in
    source:
      mllp: { listen: "127.0.0.1:0" }
    destinations:
      - name: ehr
        mllp: { connect: "127.0.0.1:PORT", connect_timeout: 1s }
        retry: { backoff: 10ms..50ms }
)",
                                      "PORT", std::to_string(port));
  ASSERT_TRUE(Start(Make(yaml)));
  EXPECT_EQ(AckField(testing::SendAndReceive(Port(), WithControlId("Q1")), "MSA-1"), "AA");
  const store::MessageId id = WaitFor("in", "Q1");
  ASSERT_TRUE(Eventually([&] {
    auto d = testing::Deliveries(store(), id);
    return !d.empty() && d[0].attempts >= 2;
  }));
  ASSERT_TRUE(engine_->Stop(1s).ok());
  engine_.reset();

  // Second run with the receiver up: the queued delivery goes, exactly once more.
  testing::ReceiverServer rx(port);
  ASSERT_TRUE(Start(Make(yaml)));
  ASSERT_TRUE(testing::WaitForState(store(), id, MState::kSent));
  EXPECT_EQ(rx.handler->received(), std::vector<std::string>{"Q1"});
  const auto d = testing::Deliveries(store(), id);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_GE(d[0].attempts, 3);
  ASSERT_TRUE(engine_->Stop(1s).ok());
  engine_.reset();
}

TEST_F(EngineReloadTest, ReprocessRunsTheChannelAgain) {
  ASSERT_TRUE(Start(Make(kFileOut)));
  EXPECT_EQ(AckField(testing::SendAndReceive(Port(), WithControlId("RP1")), "MSA-1"), "AA");
  const store::MessageId id = WaitFor("in", "RP1");
  ASSERT_TRUE(testing::WaitForState(store(), id, MState::kSent));
  std::filesystem::remove(dir_.Sub("out/RP1.hl7"));

  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(store()->ResetForReprocessAndWait(id).ok());
  ASSERT_TRUE(Eventually([&] { return testing::Deliveries(store(), id).size() == 2; }, 5s))
      << "the worker polls every second";
  ASSERT_TRUE(testing::WaitForState(store(), id, MState::kSent));
  ASSERT_TRUE(Eventually([&] { return dir_.Files("out").size() == 1; }));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
  const auto d = testing::Deliveries(store(), id);
  EXPECT_EQ(d[0].state, DState::kSent);
  EXPECT_EQ(d[1].state, DState::kSent);
  EXPECT_GT(d[1].id, d[0].id);
}

TEST_F(EngineReloadTest, ResendDeliversAgain) {
  testing::ReceiverServer rx;
  ASSERT_TRUE(Start(Make(ReplaceAll(R"(store: { sqlite: "{DB}" }
channels:
  - name: in
    source:
      mllp: { listen: "127.0.0.1:0" }
    destinations:
      - name: ehr
        mllp: { connect: "127.0.0.1:PORT" }
)",
                                    "PORT", std::to_string(rx.port())))));
  EXPECT_EQ(AckField(testing::SendAndReceive(Port(), WithControlId("RS1")), "MSA-1"), "AA");
  const store::MessageId id = WaitFor("in", "RS1");
  ASSERT_TRUE(testing::WaitForState(store(), id, MState::kSent));
  ASSERT_EQ(rx.handler->count("RS1"), 1u);

  store::NewDelivery again;
  again.destination = "ehr";
  auto added = store()->AddDeliveryAndWait(id, again);
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  ASSERT_TRUE(Eventually([&] { return rx.handler->count("RS1") == 2; }, 5s));
  ASSERT_TRUE(testing::WaitForState(store(), id, MState::kSent));
  const auto d = testing::Deliveries(store(), id);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[1].id, *added);
  EXPECT_EQ(d[1].state, DState::kSent);
  ASSERT_TRUE(engine_->Stop(1s).ok());  // before the receiver goes
  engine_.reset();
}

TEST_F(EngineReloadTest, ChainedChannelStoresAndDeliversTheMessage) {
  ASSERT_TRUE(Start(Make(R"(store: { sqlite: "{DB}" }
channels:
  - name: in
    source:
      mllp: { listen: "127.0.0.1:0" }
    transform:
      - set: { path: MSH-5, value: HUB }
    destinations:
      - name: next
        channel: second
  - name: second
    source: none
    transform:
      - set: { path: MSH-6, value: WARD }
    destinations:
      - name: out
        file: { dir: "{DIR}/out", name: "{MSH-10}.hl7" }
)")));
  EXPECT_EQ(AckField(testing::SendAndReceive(Port(), WithControlId("CH1")), "MSA-1"), "AA");
  const store::MessageId first = WaitFor("in", "CH1");
  const store::MessageId second = WaitFor("second", "CH1");
  ASSERT_NE(first, 0);
  ASSERT_NE(second, 0);
  EXPECT_NE(first, second);
  ASSERT_TRUE(testing::WaitForState(store(), first, MState::kSent));
  ASSERT_TRUE(testing::WaitForState(store(), second, MState::kSent));
  auto m = store()->Get(second);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->peer, "message:" + std::to_string(first));
  EXPECT_EQ(m->raw, Replace(WithControlId("CH1"), "|RECVAPP|", "|HUB|"))
      << "the second channel gets the first one's output";
  const std::string written = testing::ReadFile(dir_.Sub("out/CH1.hl7"));
  EXPECT_EQ(written,
            Replace(Replace(WithControlId("CH1"), "|RECVAPP|", "|HUB|"), "|RECVFAC|", "|WARD|"));
}

// --- Reload -------------------------------------------------------------------------

std::string WithValue(const std::string& value) {
  return ReplaceAll(R"(store: { sqlite: "{DB}" }
channels:
  - name: in
    source:
      mllp: { listen: "127.0.0.1:0" }
    transform:
      - set: { path: MSH-5, value: VALUE }
    destinations:
      - name: out
        file: { dir: "{DIR}/out", name: "{MSH-10}.hl7" }
)",
                    "VALUE", value);
}

TEST_F(EngineReloadTest, ReloadAppliesNewRulesToLaterMessages) {
  ASSERT_TRUE(Start(Make(WithValue("FIRST"))));
  const std::uint16_t port = Port();
  EXPECT_EQ(AckField(testing::SendAndReceive(port, WithControlId("B1")), "MSA-1"), "AA");
  ASSERT_TRUE(testing::WaitForState(store(), WaitFor("in", "B1"), MState::kSent));

  ASSERT_TRUE(engine_->Reload(Make(WithValue("SECOND"))).ok());
  EXPECT_EQ(Port(), port) << "the source did not change: the listener stays";
  EXPECT_EQ(AckField(testing::SendAndReceive(port, WithControlId("B2")), "MSA-1"), "AA");
  ASSERT_TRUE(testing::WaitForState(store(), WaitFor("in", "B2"), MState::kSent));

  EXPECT_NE(testing::ReadFile(dir_.Sub("out/B1.hl7")).find("|FIRST|"), std::string::npos);
  EXPECT_NE(testing::ReadFile(dir_.Sub("out/B2.hl7")).find("|SECOND|"), std::string::npos);
  EXPECT_EQ(engine_->config().channels[0].destinations.size(), 1u);

  // Reloading the same config again keeps everything working.
  ASSERT_TRUE(engine_->Reload(Make(WithValue("SECOND"))).ok());
  EXPECT_EQ(AckField(testing::SendAndReceive(port, WithControlId("B3")), "MSA-1"), "AA");
  ASSERT_TRUE(testing::WaitForState(store(), WaitFor("in", "B3"), MState::kSent));
  EXPECT_NE(testing::ReadFile(dir_.Sub("out/B3.hl7")).find("|SECOND|"), std::string::npos);
}

TEST_F(EngineReloadTest, FailedReloadKeepsTheRunningConfig) {
  ASSERT_TRUE(Start(Make(WithValue("KEPT"))));
  const std::uint16_t port = Port();

  // A destination whose TLS CA no longer loads: parsing passed, building fails.
  const std::string ca = dir_.Sub("ca.pem");
  {
    std::ofstream f(ca);
    f << "not a certificate\n";
  }
  Config broken = Make(WithValue("LOST") + R"(      - name: secure
        mllp:
          connect: "127.0.0.1:1"
          tls: { ca: "{DIR}/ca.pem" }
)");
  ASSERT_EQ(broken.channels.size(), 1u);
  std::filesystem::remove(ca);
  Status s = engine_->Reload(broken);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("secure"), std::string::npos) << s.ToString();

  // Nothing changed: same listener, old rules, old destinations.
  EXPECT_EQ(Port(), port);
  EXPECT_EQ(engine_->config().channels[0].destinations.size(), 1u);
  EXPECT_EQ(AckField(testing::SendAndReceive(port, WithControlId("K1")), "MSA-1"), "AA");
  ASSERT_TRUE(testing::WaitForState(store(), WaitFor("in", "K1"), MState::kSent));
  EXPECT_NE(testing::ReadFile(dir_.Sub("out/K1.hl7")).find("|KEPT|"), std::string::npos);
}

TEST_F(EngineReloadTest, ReloadWithAChangedSourceRebuildsTheListener) {
  ASSERT_TRUE(Start(Make(kAfterProcessing)));
  EXPECT_EQ(AckField(testing::SendAndReceive(Port(), WithControlId("L1")), "MSA-1"), "AA");
  // ack policy changed: the listener is rebuilt (maybe on another port: 0).
  ASSERT_TRUE(
      engine_->Reload(Make(ReplaceAll(kAfterProcessing, "after-processing", "after-store"))).ok());
  const std::string ack = testing::SendAndReceive(Port(), WithControlId("L2"));
  EXPECT_EQ(AckField(ack, "MSA-1"), "AA") << ack;
  ASSERT_TRUE(testing::WaitForState(store(), WaitFor("in", "L2"), MState::kSent));
  // BOOM is now ACKed AA at once (after-store), though the channel errors.
  EXPECT_EQ(AckField(testing::SendAndReceive(Port(), WithControlId("BOOM")), "MSA-1"), "AA");
  ASSERT_TRUE(testing::WaitForState(store(), WaitFor("in", "BOOM"), MState::kError));
  EXPECT_GE(engine_->ingest_stats().stored, 3u) << "counts survive the rebuild";
}

TEST_F(EngineReloadTest, ReloadThatCannotBindKeepsTheOldListener) {
  ASSERT_TRUE(Start(Make(kFileOut)));
  const std::uint16_t port = Port();
  EXPECT_EQ(AckField(testing::SendAndReceive(port, WithControlId("O1")), "MSA-1"), "AA");
  // The new source's port is taken by someone else: the bind fails.
  testing::ReceiverServer squatter;
  Status s = engine_->Reload(
      Make(ReplaceAll(kFileOut, "127.0.0.1:0", "127.0.0.1:" + std::to_string(squatter.port()))));
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("in"), std::string::npos) << s.ToString();
  // "On any error nothing changes": the old listener still takes messages.
  EXPECT_EQ(Port(), port);
  EXPECT_EQ(engine_->config().channels[0].mllp.port, 0)
      << "BUG: the failed config became the engine's config";
  mllp::ClientOptions o;
  o.port = port;
  auto client = mllp::Client::Connect(o);
  // BUG: (engine.cpp Reload): the old server is stopped before the new
  // listeners are bound; when the bind fails nothing listens any more.
  ASSERT_TRUE(client.ok()) << "BUG: after a failed reload nothing listens on " << port << ": "
                           << client.status().ToString();
  ASSERT_TRUE((*client)->Send(WithControlId("O2")).ok());
  auto ack = (*client)->Receive(testing::kWait);
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  EXPECT_EQ(AckField(*ack, "MSA-1"), "AA");
}

TEST_F(EngineReloadTest, ReloadUnderLoadProcessesEveryMessageOnce) {
  ASSERT_TRUE(Start(Make(WithValue("V"))));
  // A backlog found by polling (stored without a sink): the worker is busy
  // with it while the reload happens.
  std::vector<store::MessageId> ids;
  for (int i = 0; i < 100; ++i) {
    ids.push_back(testing::StoreMessage(store(), "in", WithControlId("U" + std::to_string(i))));
  }
  ASSERT_TRUE(Eventually([&] { return testing::StateOf(store(), ids[0]) != "received"; }, 5s));
  ASSERT_TRUE(engine_->Reload(Make(WithValue("W"))).ok());
  ASSERT_TRUE(engine_->Reload(Make(WithValue("X"))).ok());
  for (auto id : ids) {
    ASSERT_TRUE(testing::WaitForState(store(), id, MState::kSent))
        << id << " " << testing::StateOf(store(), id);
  }
  int duplicated = 0;
  for (auto id : ids) {
    const auto d = testing::Deliveries(store(), id);
    if (d.size() != 1u) {
      ++duplicated;
      ADD_FAILURE() << "message " << id << " has " << d.size() << " deliveries";
    }
  }
  EXPECT_EQ(duplicated, 0);
  EXPECT_EQ(dir_.Files("out").size(), ids.size());
}

// --- retention -------------------------------------------------------------------------

TEST_F(EngineReloadTest, PruneOnceDeletesOnlyOldFinishedMessages) {
  const std::uint16_t down = testing::ReservePort();
  ASSERT_TRUE(Start(Make(ReplaceAll(R"(store: { sqlite: "{DB}" }
channels:
  - name: quick
    source: none
    retention: { max_age: 1h }
    transform:
      - lua: |
          if string.sub(msg:get("MSH-10"), 1, 3) == "ERR" then error("bad") end
  - name: stuck
    source: none
    retention: { max_age: 1h, error_max_age: 1h }
    destinations:
      - name: ehr
        mllp: { connect: "127.0.0.1:PORT", connect_timeout: 1s }
        retry: { backoff: 1s..1s }
  - name: forever
    source: none
)",
                                    "PORT", std::to_string(down)))));
  const std::int64_t old_us = NowMicros() - 2LL * 3600 * 1'000'000;
  // Old ones first: ids grow with time in real life.
  const auto old_done = testing::StoreMessage(store(), "quick", WithControlId("OLD1"), old_us);
  const auto old_error = testing::StoreMessage(store(), "quick", WithControlId("ERR1"), old_us);
  const auto old_stuck = testing::StoreMessage(store(), "stuck", WithControlId("OLD2"), old_us);
  const auto old_forever = testing::StoreMessage(store(), "forever", WithControlId("OLD3"), old_us);
  const auto young = testing::StoreMessage(store(), "quick", WithControlId("NEW1"));
  // Let the workers run them (the first poll is at startup, then every second).
  ASSERT_TRUE(testing::WaitForState(store(), old_done, MState::kProcessed));
  ASSERT_TRUE(testing::WaitForState(store(), old_error, MState::kError));
  ASSERT_TRUE(testing::WaitForState(store(), old_stuck, MState::kQueued));
  ASSERT_TRUE(testing::WaitForState(store(), old_forever, MState::kProcessed));
  ASSERT_TRUE(testing::WaitForState(store(), young, MState::kProcessed));

  auto pruned = engine_->PruneOnce();
  ASSERT_TRUE(pruned.ok()) << pruned.status().ToString();
  EXPECT_EQ(*pruned, 1u);
  EXPECT_EQ(store()->Get(old_done).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store()->Get(old_error).ok()) << "quick keeps errors (no error_max_age)";
  EXPECT_TRUE(store()->Get(old_stuck).ok()) << "a queued delivery is never pruned";
  EXPECT_TRUE(store()->Get(old_forever).ok()) << "no retention: kept";
  EXPECT_TRUE(store()->Get(young).ok());
  // A second run finds nothing more.
  auto again = engine_->PruneOnce();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0u);
}

}  // namespace
}  // namespace junction::engine
