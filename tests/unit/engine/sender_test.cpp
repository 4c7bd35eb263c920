#include "junction/engine/sender.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>

#include "engine_test_util.h"
#include "junction/engine/ingest.h"
#include "junction/hl7/ack.h"
#include "junction/mllp/server.h"

namespace junction::engine {
namespace {

using namespace std::chrono_literals;
using testing::kAdt;
using testing::OpenTempStore;
using testing::Replace;
using testing::WithControlId;

std::string AckFor(std::string_view message, std::string code = "AA",
                   std::string control_id_override = {}) {
  auto m = hl7::Message::Parse(message);
  if (!m.ok()) return "MSH|^~\\&|X||||||ACK|1|P|2.5\rMSA|AR|\r";
  hl7::AckOptions o;
  o.code = code;
  std::string ack = *hl7::MakeAckText(*m, o);
  if (!control_id_override.empty()) {
    ack = Replace(ack, "MSA|" + code + "|" + std::string(m->ControlId()),
                  "MSA|" + code + "|" + control_id_override);
  }
  return ack;
}

// Answers according to the control id:
//   NEG*   -> AE
//   WRONG* -> an ACK naming "SOMEONE-ELSE"
//   LATE*  -> first the ACK of the previous message again (stale), then its own
//   HANG*  -> no answer until the test ends
//   NOMSA* -> a reply without MSA
//   else   -> AA
class ScriptedHandler : public mllp::Handler {
 public:
  void OnMessage(const mllp::PeerInfo&, std::string payload, Reply reply) override {
    auto m = hl7::Message::Parse(std::string_view(payload));
    const std::string id = m.ok() ? std::string(m->ControlId()) : std::string();
    std::string previous;
    {
      std::lock_guard lock(mu_);
      previous = std::move(last_);
      last_ = payload;
      received_.push_back(id);
    }
    if (id.rfind("NEG", 0) == 0) return reply(AckFor(payload, "AE"));
    if (id.rfind("WRONG", 0) == 0) return reply(AckFor(payload, "AA", "SOMEONE-ELSE"));
    if (id.rfind("NOMSA", 0) == 0) return reply("MSH|^~\\&|A|B|C|D|||ACK|1|P|2.5\r");
    if (id.rfind("LATE", 0) == 0) {
      // Two frames in one reply: the server frames the payload, so an end
      // block + start block inside it splits it on the wire.
      return reply(AckFor(previous) + "\x1c\r\x0b" + AckFor(payload));
    }
    if (id.rfind("HANG", 0) == 0) {
      std::lock_guard lock(mu_);
      hanging_.push_back(std::move(reply));
      return;
    }
    reply(AckFor(payload));
  }
  std::string OnFrameError(const mllp::PeerInfo&, const Status&, std::string_view) override {
    return {};
  }
  void ReleaseHanging() {
    std::vector<Reply> hanging;
    {
      std::lock_guard lock(mu_);
      hanging.swap(hanging_);
    }
    for (auto& r : hanging) r("");
  }
  std::vector<std::string> received() {
    std::lock_guard lock(mu_);
    return received_;
  }

 private:
  std::mutex mu_;
  std::string last_;
  std::vector<std::string> received_;
  std::vector<Reply> hanging_;
};

struct ServerFixture {
  explicit ServerFixture(std::shared_ptr<mllp::Handler> h) : handler(std::move(h)) {
    mllp::ListenerOptions o;
    o.name = "test";
    o.port = 0;
    auto bound = server.AddListener(o, handler);
    EXPECT_TRUE(bound.ok()) << bound.status().ToString();
    port = bound.ok() ? *bound : 0;
    server.Start();
  }
  ~ServerFixture() { server.Stop(2s); }
  SenderOptions Options() const {
    SenderOptions s;
    s.client.host = "127.0.0.1";
    s.client.port = port;
    s.timeout = 5s;
    return s;
  }
  std::shared_ptr<mllp::Handler> handler;
  mllp::Server server{2};
  std::uint16_t port = 0;
};

TEST(SenderTest, AcceptedNegativeAndMismatchedAcks) {
  auto handler = std::make_shared<ScriptedHandler>();
  ServerFixture f(handler);
  Sender sender(f.Options());
  SendSummary summary;

  SendOutcome ok = sender.Send(WithControlId("M1"));
  EXPECT_EQ(ok.kind, SendOutcome::Kind::kAccepted) << FormatOutcomeLine(ok);
  EXPECT_EQ(ok.control_id, "M1");
  EXPECT_EQ(ok.ack_code, "AA");
  EXPECT_EQ(ok.attempts, 1);
  EXPECT_GT(ok.millis, 0);
  summary.Add(ok);
  EXPECT_EQ(summary.ExitCode(), 0);

  SendOutcome neg = sender.Send(WithControlId("NEG1"));
  EXPECT_EQ(neg.kind, SendOutcome::Kind::kNegative);
  EXPECT_EQ(neg.ack_code, "AE");
  summary.Add(neg);
  EXPECT_EQ(summary.ExitCode(), 1);

  SendOutcome wrong = sender.Send(WithControlId("WRONG1"));
  EXPECT_EQ(wrong.kind, SendOutcome::Kind::kMismatch) << FormatOutcomeLine(wrong);
  EXPECT_NE(wrong.error.find("SOMEONE-ELSE"), std::string::npos);
  EXPECT_NE(FormatOutcomeLine(wrong).find("error:"), std::string::npos);

  SendOutcome nomsa = sender.Send(WithControlId("NOMSA1"));
  EXPECT_EQ(nomsa.kind, SendOutcome::Kind::kBadAck);

  // Still usable afterwards.
  EXPECT_TRUE(sender.Send(WithControlId("M2")).accepted());
  EXPECT_EQ(handler->received(),
            (std::vector<std::string>{"M1", "NEG1", "WRONG1", "NOMSA1", "M2"}));
}

TEST(SenderTest, StaleAcksForEarlierMessagesAreSkipped) {
  auto handler = std::make_shared<ScriptedHandler>();
  ServerFixture f(handler);
  Sender sender(f.Options());
  ASSERT_TRUE(sender.Send(WithControlId("A1")).accepted());
  SendOutcome late = sender.Send(WithControlId("LATE2"));
  EXPECT_EQ(late.kind, SendOutcome::Kind::kAccepted) << FormatOutcomeLine(late);
  EXPECT_EQ(late.stale_skipped, 1u);
  EXPECT_NE(FormatOutcomeLine(late).find("1 stale ACKs skipped"), std::string::npos);
  // The connection is in step again.
  SendOutcome next = sender.Send(WithControlId("A3"));
  EXPECT_EQ(next.kind, SendOutcome::Kind::kAccepted);
  EXPECT_EQ(next.stale_skipped, 0u);
}

TEST(SenderTest, TimeoutIsAnIoFailureAndRetriesReconnect) {
  auto handler = std::make_shared<ScriptedHandler>();
  ServerFixture f(handler);
  SenderOptions o = f.Options();
  o.timeout = 200ms;
  o.retries = 1;
  o.retry_delay = 10ms;
  Sender sender(o);
  SendOutcome hang = sender.Send(WithControlId("HANG1"));
  EXPECT_EQ(hang.kind, SendOutcome::Kind::kIoError);
  EXPECT_EQ(hang.attempts, 2);
  EXPECT_NE(hang.error.find("waiting for the ACK"), std::string::npos) << hang.error;
  // Both attempts reached the server: the retry resent the message.
  EXPECT_EQ(handler->received(), (std::vector<std::string>{"HANG1", "HANG1"}));
  SendSummary s;
  s.Add(hang);
  EXPECT_EQ(s.ExitCode(), 3);
  handler->ReleaseHanging();
  // A new connection works.
  EXPECT_TRUE(sender.Send(WithControlId("OK")).accepted());
}

TEST(SenderTest, ConnectFailureAfterRetries) {
  std::uint16_t port = 0;
  {
    // A port that was free a moment ago.
    ServerFixture f(std::make_shared<ScriptedHandler>());
    port = f.port;
  }
  SenderOptions o;
  o.client.port = port;
  o.client.connect_timeout = 500ms;
  o.retries = 2;
  o.retry_delay = 1ms;
  Sender sender(o);
  SendOutcome r = sender.Send(kAdt);
  EXPECT_EQ(r.kind, SendOutcome::Kind::kIoError);
  EXPECT_EQ(r.attempts, 3);
  EXPECT_NE(r.error.find("connect"), std::string::npos);
}

TEST(SenderTest, LoadModeMakesControlIdsUniqueAndReportsLatency) {
  auto store = OpenTempStore(/*detect_duplicates=*/true);
  ASSERT_TRUE(store);
  auto ingest = std::make_shared<IngestHandler>(store.get(), IngestOptions{.channel = "load"});
  {
    ServerFixture f(ingest);
    LoadOptions o;
    o.repeat = 40;
    o.concurrency = 4;
    o.sender = f.Options();
    const std::vector<std::string> messages = {kAdt, WithControlId("SECOND")};
    LoadReport r = RunLoad(messages, o);
    EXPECT_EQ(r.sent, 80u);
    EXPECT_EQ(r.accepted, 80u) << r.first_error;
    EXPECT_EQ(r.io_failures, 0u);
    EXPECT_EQ(r.connections, 4u);
    EXPECT_EQ(r.ExitCode(), 0);
    EXPECT_GT(r.per_second, 0);
    EXPECT_GT(r.p50_ms, 0);
    EXPECT_LE(r.p50_ms, r.p90_ms);
    EXPECT_LE(r.p90_ms, r.p99_ms);
    EXPECT_LE(r.p99_ms, r.max_ms);
    const std::string text = FormatLoadReport(r);
    EXPECT_NE(text.find("throughput:"), std::string::npos);
    EXPECT_NE(text.find("p99"), std::string::npos);
    // Every store callback has run (and dropped its connection) before the
    // server goes away.
    ASSERT_TRUE(store->Flush().ok());
  }
  // Duplicate detection is on, so 80 rows prove the 80 control ids differ.
  store::MessageQuery q;
  q.limit = 1000;
  auto rows = store->List(q);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 80u);
  std::set<std::string> ids;
  for (const auto& row : *rows) ids.insert(row.control_id);
  EXPECT_EQ(ids.size(), 80u);
  EXPECT_EQ(ids.count("CTRL1-1"), 1u);
  EXPECT_EQ(ids.count("SECOND-2"), 1u);
}

TEST(SenderTest, LoadModeCountsNegativeAcks) {
  auto handler = std::make_shared<ScriptedHandler>();
  ServerFixture f(handler);
  LoadOptions o;
  o.repeat = 5;
  o.concurrency = 2;
  o.sender = f.Options();
  LoadReport r = RunLoad({WithControlId("NEG")}, o);
  EXPECT_EQ(r.sent, 5u);
  EXPECT_EQ(r.negative, 5u);
  EXPECT_EQ(r.accepted, 0u);
  EXPECT_EQ(r.ExitCode(), 1);
  EXPECT_FALSE(r.first_error.empty());
}

TEST(SenderTest, LoadMessagesSplitsBatchesAndNormalizesLineEndings) {
  const auto dir = std::filesystem::temp_directory_path() / "junction_sender_test";
  std::filesystem::create_directories(dir);
  const auto batch = dir / "batch.hl7";
  std::ofstream(batch, std::ios::binary) << "FHS|^~\\&|A\nBHS|^~\\&|A\n"
                                         << "MSH|^~\\&|A|B|C|D|||ADT^A01|X1|P|2.5\nPID|1||P1\n"
                                         << "MSH|^~\\&|A|B|C|D|||ADT^A01|X2|P|2.5\r\nPID|1||P2\r\n"
                                         << "BTS|2\nFTS|1\n";
  const auto framed = dir / "framed.hl7";
  std::ofstream(framed, std::ios::binary) << "\x0bMSH|^~\\&|A|B|C|D|||ADT^A01|X3|P|2.5\r\x1c\r";
  auto messages = LoadMessages({batch.string(), framed.string()});
  ASSERT_TRUE(messages.ok()) << messages.status().ToString();
  ASSERT_EQ(messages->size(), 3u);
  EXPECT_EQ((*messages)[0], "MSH|^~\\&|A|B|C|D|||ADT^A01|X1|P|2.5\rPID|1||P1\r");
  EXPECT_EQ((*messages)[1], "MSH|^~\\&|A|B|C|D|||ADT^A01|X2|P|2.5\rPID|1||P2\r");
  EXPECT_EQ((*messages)[2], "MSH|^~\\&|A|B|C|D|||ADT^A01|X3|P|2.5\r");

  const auto empty = dir / "empty.hl7";
  std::ofstream(empty) << "nothing here\n";
  auto none = LoadMessages({empty.string()});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kInvalidArgument);
  auto missing = LoadMessages({(dir / "missing.hl7").string()});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kIoError);
  std::filesystem::remove_all(dir);
}

TEST(SenderTest, PercentileIsNearestRank) {
  std::vector<double> v;
  for (int i = 1; i <= 100; ++i) v.push_back(i);
  EXPECT_EQ(Percentile(v, 0.50), 50);
  EXPECT_EQ(Percentile(v, 0.90), 90);
  EXPECT_EQ(Percentile(v, 0.99), 99);
  EXPECT_EQ(Percentile(v, 1.0), 100);
  EXPECT_EQ(Percentile({}, 0.5), 0);
  EXPECT_EQ(Percentile({7}, 0.99), 7);
}

}  // namespace
}  // namespace junction::engine
