#include "junction/engine/messages.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "engine_test_util.h"
#include "junction/engine/sender.h"
#include "junction/engine/serve.h"
#include "junction/mllp/client.h"

namespace junction::engine {
namespace {

using testing::kAdt;
using testing::WithControlId;

TEST(MessagesTest, FormatTimestampIsIsoUtcWithMilliseconds) {
  EXPECT_EQ(FormatTimestamp(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatTimestamp(1'714'557'600'123'456), "2024-05-01T10:00:00.123Z");
}

TEST(MessagesTest, ParseSinceAcceptsIsoTimesAndDurations) {
  const std::int64_t now = 1'714'557'600'000'000;
  EXPECT_EQ(*ParseSince("2024-05-01T10:00:00Z", now), 1'714'557'600'000'000);
  EXPECT_EQ(*ParseSince("2024-05-01T10:00:00.5Z", now), 1'714'557'600'500'000);
  EXPECT_EQ(*ParseSince("2024-05-01T12:00:00+02:00", now), 1'714'557'600'000'000);
  EXPECT_EQ(*ParseSince("2024-05-01", now), 1'714'521'600'000'000);
  EXPECT_EQ(*ParseSince("2024-05-01 10:00", now), 1'714'557'600'000'000);
  EXPECT_EQ(*ParseSince("30s", now), now - 30'000'000);
  EXPECT_EQ(*ParseSince("15m", now), now - 900'000'000);
  EXPECT_EQ(*ParseSince("2h", now), now - 7'200'000'000);
  EXPECT_EQ(*ParseSince("1d", now), now - 86'400'000'000);
  EXPECT_FALSE(ParseSince("yesterday", now).ok());
  EXPECT_FALSE(ParseSince("2024-13-01", now).ok());
  EXPECT_FALSE(ParseSince("2024-05-01T10", now).ok());
  EXPECT_FALSE(ParseSince("", now).ok());
}

TEST(MessagesTest, MakeQueryChecksStatusAndLimit) {
  ListFilters f;
  f.type = "ADT^A01";
  f.status = "error";
  f.limit = 5;
  auto q = MakeQuery(f, 0);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->type, "ADT^A01");
  EXPECT_EQ(q->state, store::MessageState::kError);
  EXPECT_EQ(q->limit, 5u);
  f.status = "lost";
  EXPECT_NE(MakeQuery(f, 0).status().message().find("--status"), std::string::npos);
  f.status.clear();
  f.limit = 0;
  EXPECT_NE(MakeQuery(f, 0).status().message().find("--limit"), std::string::npos);
}

TEST(MessagesTest, JsonLinesEscapeAndRepairUtf8) {
  store::MessageRecord r;
  r.id = 42;
  r.control_id = "C\"1\\";
  r.message_type = "ADT";
  r.trigger_event = "A01";
  r.patient_id = "P\xE9";  // Latin-1 byte: not UTF-8
  r.error = "line\nbreak";
  r.state = store::MessageState::kError;
  const std::string json = FormatJsonLine(r);
  EXPECT_EQ(json.rfind("{\"id\":42,", 0), 0u) << json;
  EXPECT_NE(json.find("\"control_id\":\"C\\\"1\\\\\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"type\":\"ADT^A01\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"patient_id\":\"P\xEF\xBF\xBD\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"status\":\"error\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"error\":\"line\\nbreak\""), std::string::npos) << json;
  EXPECT_EQ(json.back(), '\n');
  EXPECT_EQ(json.find('\n'), json.size() - 1);
}

TEST(MessagesTest, DetailShowsSegmentsOnLines) {
  store::MessageRecord r;
  r.id = 1;
  r.raw = "MSH|a\rPID|b\r";
  r.control_id = "X";
  const std::string text = FormatDetail(r);
  EXPECT_NE(text.find("control_id: X\n"), std::string::npos);
  EXPECT_NE(text.find("\n\nMSH|a\nPID|b\n"), std::string::npos) << text;
  EXPECT_EQ(RawAsLines("A\r\nB"), "A\nB\n");
}

// End to end in-process: engine from a config, sender, read-only listing.
TEST(EngineTest, ServesStoresAndListsWhileRunning) {
  const auto dir = std::filesystem::temp_directory_path() / "junction_engine_test";
  std::filesystem::remove_all(dir);
  const std::string db = (dir / "sub" / "j.db").string();
  const std::string yaml = "store:\n  sqlite: " + db +
                           "\n  detect_duplicates: true\n"
                           "channels:\n"
                           "  - name: a\n    source:\n      mllp:\n        listen: 127.0.0.1:0\n"
                           "  - name: b\n    source:\n      mllp:\n        listen: 127.0.0.1:0\n"
                           "        validate: true\n";
  auto config = ParseConfig(yaml, "t.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  auto engine = Engine::Start(*config);
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  ASSERT_EQ((*engine)->listeners().size(), 2u);
  EXPECT_EQ((*engine)->listeners()[0].channel, "a");
  EXPECT_NE((*engine)->listeners()[0].port, 0);
  EXPECT_NE((*engine)->listeners()[0].port, (*engine)->listeners()[1].port);

  SenderOptions so;
  so.client.port = (*engine)->listeners()[0].port;
  Sender to_a(so);
  EXPECT_TRUE(to_a.Send(WithControlId("E1")).accepted());
  EXPECT_TRUE(to_a.Send(WithControlId("E1")).accepted());  // duplicate
  so.client.port = (*engine)->listeners()[1].port;
  Sender to_b(so);
  SendOutcome bad = to_b.Send(testing::Replace(WithControlId("E2"), "|19800101|", "|x|"));
  EXPECT_EQ(bad.ack_code, "AE");

  // A second, read-only opener sees the committed rows while the engine runs.
  auto reader = OpenStoreForReading(*config);
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  ListFilters f;
  auto q = MakeQuery(f, NowMicros());
  ASSERT_TRUE(q.ok());
  auto rows = (*reader)->List(*q);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].channel, "b");
  EXPECT_EQ((*rows)[0].state, store::MessageState::kError);
  EXPECT_EQ((*rows)[1].channel, "a");
  f.channel = "a";
  EXPECT_EQ((*reader)->List(*MakeQuery(f, NowMicros()))->size(), 1u);
  f.channel.clear();
  f.status = "error";
  EXPECT_EQ((*reader)->List(*MakeQuery(f, NowMicros()))->size(), 1u);
  EXPECT_TRUE((*reader)->Close().ok());

  EXPECT_EQ((*engine)->ingest_stats().duplicates, 1u);
  EXPECT_TRUE((*engine)->Stop().ok());
  EXPECT_TRUE((*engine)->Stop().ok());
  std::filesystem::remove_all(dir);
}

TEST(EngineTest, BindFailureNamesTheChannel) {
  const auto dir = std::filesystem::temp_directory_path() / "junction_engine_test_bind";
  std::filesystem::remove_all(dir);
  auto first = ParseConfig("store:\n  sqlite: " + (dir / "a.db").string() +
                               "\nchannels:\n  - name: a\n    source:\n      mllp:\n"
                               "        listen: 127.0.0.1:0\n",
                           "t");
  ASSERT_TRUE(first.ok());
  auto running = Engine::Start(*first);
  ASSERT_TRUE(running.ok());
  const std::uint16_t port = (*running)->listeners()[0].port;
  auto second = ParseConfig("store:\n  sqlite: " + (dir / "b.db").string() +
                                "\nchannels:\n  - name: busy\n    source:\n      mllp:\n"
                                "        listen: 127.0.0.1:" +
                                std::to_string(port) + "\n",
                            "t");
  ASSERT_TRUE(second.ok());
  auto clash = Engine::Start(*second);
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.status().code(), StatusCode::kIoError);
  EXPECT_NE(clash.status().message().find("channel busy"), std::string::npos)
      << clash.status().message();
  (*running)->Stop();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace junction::engine

namespace junction::engine {
namespace {

// Through the real server: a frame over max_frame_bytes gets a reject naming
// the message, and nothing is stored.
TEST(EngineTest, OversizeFrameGetsARejectAndIsNotStored) {
  const auto dir = std::filesystem::temp_directory_path() / "junction_engine_test_big";
  std::filesystem::remove_all(dir);
  auto config = ParseConfig("store:\n  sqlite: " + (dir / "j.db").string() +
                                "\nchannels:\n  - name: small\n    source:\n      mllp:\n"
                                "        listen: 127.0.0.1:0\n        max_frame_bytes: 512\n",
                            "t");
  ASSERT_TRUE(config.ok()) << config.status().message();
  auto engine = Engine::Start(*config);
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  auto client = mllp::Client::Connect({.port = (*engine)->listeners()[0].port});
  ASSERT_TRUE(client.ok());
  const std::string big = WithControlId("BIG1") + "NTE|1||" + std::string(1000, 'x') + "\r";
  ASSERT_TRUE((*client)->Send(big).ok());
  auto nak = (*client)->Receive(std::chrono::seconds(5));
  ASSERT_TRUE(nak.ok()) << nak.status().ToString();
  EXPECT_EQ(testing::AckField(*nak, "MSA-1"), "AR");
  EXPECT_EQ(testing::AckField(*nak, "MSA-2"), "BIG1");
  EXPECT_EQ((*engine)->ingest_stats().rejected, 1u);
  EXPECT_TRUE((*engine)->Stop().ok());
  auto reader = OpenStoreForReading(*config);
  ASSERT_TRUE(reader.ok());
  EXPECT_TRUE((*reader)->List({})->empty());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace junction::engine

namespace junction::engine {
namespace {

TEST(MessagesTest, LineDiffMarksChangedSegments) {
  EXPECT_EQ(LineDiff("MSH|a\rPID|b\rPV1|c\r", "MSH|a\rPID|B\rPV1|c\rZZZ|1\r"),
            "  MSH|a\n- PID|b\n+ PID|B\n  PV1|c\n+ ZZZ|1\n");
  EXPECT_EQ(LineDiff("A\rB\r", "A\r\nB"), "  A\n  B\n");
  EXPECT_EQ(LineDiff("A\rB\rC\r", "C\r"), "- A\n- B\n  C\n");
  EXPECT_EQ(LineDiff("", "X\r"), "+ X\n");
}

TEST(MessagesTest, LineDiffOfHugeInputsFallsBackToRemovedAndAdded) {
  std::string before, after;
  for (int i = 0; i < 2100; ++i) {
    before += "OBX|" + std::to_string(i) + "\r";
    after += "OBX|" + std::to_string(i) + "\r";
  }
  after += "NTE|1\r";
  const std::string diff = LineDiff(before, after);
  EXPECT_EQ(diff.rfind("- OBX|0\n", 0), 0u);
  EXPECT_NE(diff.find("+ OBX|0\n"), std::string::npos);
  EXPECT_EQ(diff.find("  OBX|"), std::string::npos);
}

store::DeliveryRecord SampleDelivery() {
  store::DeliveryRecord d;
  d.id = 5;
  d.message_id = 1;
  d.destination = "lab";
  d.state = store::DeliveryState::kError;
  d.attempts = 3;
  d.created_at_us = 1'714'557'600'000'000;
  d.updated_at_us = 1'714'557'660'000'000;
  d.error = "AE: unknown patient";
  d.response = "MSH|^~\\&|LAB\rMSA|AE|CTRL1\r";
  return d;
}

TEST(MessagesTest, DetailShowsTransformedDiffAndDeliveries) {
  store::MessageRecord r;
  r.id = 1;
  r.raw = "MSH|a\rPID|b\r";
  r.transformed = "MSH|a\rPID|c\r";
  r.has_transformed = true;
  store::DeliveryRecord queued;
  queued.id = 6;
  queued.destination = "archive";
  queued.state = store::DeliveryState::kQueued;
  queued.next_attempt_at_us = 1'714'557'700'000'000;
  queued.has_payload = true;
  queued.payload = "XYZ";
  const std::string text = FormatDetail(r, {SampleDelivery(), queued});
  EXPECT_NE(text.find("\n\nMSH|a\nPID|b\n\ntransformed (diff against received: - removed, + "
                      "added):\n  MSH|a\n- PID|b\n+ PID|c\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\ndelivery 5: lab\n  state: error\n  attempts: 3\n"
                      "  created_at: 2024-05-01T10:00:00.000Z\n"
                      "  updated_at: 2024-05-01T10:01:00.000Z\n"
                      "  error: AE: unknown patient\n"
                      "  response:\n    MSH|^~\\&|LAB\n    MSA|AE|CTRL1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("delivery 6: archive\n  state: queued\n  attempts: 0\n"), std::string::npos);
  EXPECT_NE(text.find("  next_attempt_at: 2024-05-01T10:01:40.000Z\n"), std::string::npos);
  EXPECT_NE(text.find("  payload: own (3 bytes)\n  response: -\n"), std::string::npos) << text;

  // Unchanged by the channel: no transformed section.
  r.has_transformed = false;
  EXPECT_EQ(FormatDetail(r, {}).find("transformed"), std::string::npos);
  EXPECT_EQ(FormatDetail(r, {}), FormatDetail(r));
}

TEST(MessagesTest, ShowJsonHasTransformedAndDeliveries) {
  store::MessageRecord r;
  r.id = 9;
  r.raw = "MSH|a\r";
  std::string json = FormatShowJson(r, {});
  EXPECT_NE(json.find(",\"raw\":\"MSH|a\\r\",\"transformed\":null,\"deliveries\":[]}\n"),
            std::string::npos)
      << json;
  r.transformed = "MSH|b\r";
  r.has_transformed = true;
  json = FormatShowJson(r, {SampleDelivery()});
  EXPECT_NE(json.find("\"transformed\":\"MSH|b\\r\",\"deliveries\":[{\"id\":5,\"destination\":"
                      "\"lab\",\"state\":\"error\",\"attempts\":3,\"created_at\":\"2024-05-01T10:"
                      "00:00.000Z\",\"updated_at\":\"2024-05-01T10:01:00.000Z\",\"next_attempt_"
                      "at\":null,\"error\":\"AE: unknown patient\",\"response\":\"MSH|^~\\\\&|"
                      "LAB\\rMSA|AE|CTRL1\\r\",\"has_payload\":false}]}\n"),
            std::string::npos)
      << json;
  EXPECT_EQ(json.find('\n'), json.size() - 1);
}

TEST(MessagesTest, ParseMessageIdAndSelection) {
  EXPECT_EQ(*ParseMessageId("12"), 12);
  for (const char* bad : {"", "0", "-1", "x", "12a", " 12", "99999999999999999999999"}) {
    EXPECT_EQ(ParseMessageId(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
  ListFilters f;
  f.limit = 5;
  EXPECT_FALSE(HasSelection(f));
  f.status = "error";
  EXPECT_TRUE(HasSelection(f));
  f = {};
  f.since = "1h";
  EXPECT_TRUE(HasSelection(f));
}

TEST(MessagesTest, OpenStoreForChangesCreatesNothing) {
  Config config;
  const auto dir = std::filesystem::temp_directory_path() / "junction_messages_no_store";
  std::filesystem::remove_all(dir);
  config.store.sqlite = (dir / "j.db").string();
  auto store = OpenStoreForChanges(config);
  EXPECT_EQ(store.status().code(), StatusCode::kIoError);
  EXPECT_FALSE(std::filesystem::exists(dir));
}

// The operator actions against a real store.
class MessageActionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = testing::OpenTempStore();
    ASSERT_NE(store_, nullptr);
    ChannelConfig adt;
    adt.name = "adt";
    DestinationConfig lab, archive;
    lab.name = "lab";
    archive.name = "archive";
    adt.destinations = {lab, archive};
    config_.file = "t.yaml";
    config_.channels = {adt};
  }
  void TearDown() override {
    if (store_) {
      EXPECT_TRUE(store_->Close().ok());
    }
  }

  store::MessageId Append(const std::string& channel, const std::string& control_id) {
    store::IncomingMessage in;
    in.raw = testing::WithControlId(control_id);
    in.channel = channel;
    in.control_id = control_id;
    auto r = store_->AppendAndWait(std::move(in));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->id : 0;
  }

  // Processes `id` into one queued delivery to lab (with its own payload).
  store::DeliveryId Process(store::MessageId id) {
    store::ProcessingOutcome o;
    o.id = id;
    o.state = store::MessageState::kQueued;
    o.transformed = "MSH|changed\r";
    o.has_transformed = true;
    o.deliveries.push_back({.destination = "lab", .payload = "LAB-BYTES", .has_payload = true});
    auto ids = store_->RecordProcessingAndWait(std::move(o));
    EXPECT_TRUE(ids.ok()) << ids.status().ToString();
    return ids.ok() && !ids->empty() ? ids->front() : 0;
  }

  Config config_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(MessageActionsTest, ReprocessPutsMessagesBackToReceived) {
  const store::MessageId m1 = Append("adt", "R1");
  const store::MessageId m2 = Append("adt", "R2");
  const store::DeliveryId d1 = Process(m1);
  ASSERT_NE(d1, 0);

  auto ids = SelectIds(*store_, *MakeQuery(ListFilters{.channel = "adt"}, NowMicros()));
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  EXPECT_EQ(*ids, (std::vector<store::MessageId>{m1, m2}));

  const auto results = Reprocess(*store_, {m1, 999, m1});
  ASSERT_EQ(results.size(), 2u);  // duplicates once, ascending
  EXPECT_EQ(results[0].id, m1);
  EXPECT_TRUE(results[0].status.ok()) << results[0].status.ToString();
  EXPECT_EQ(results[0].previous, store::MessageState::kQueued);
  EXPECT_EQ(FormatReprocessLine(results[0]), std::to_string(m1) + " adt: queued -> received\n");
  EXPECT_EQ(results[1].id, 999);
  EXPECT_EQ(results[1].status.code(), StatusCode::kNotFound);
  EXPECT_EQ(FormatReprocessLine(results[1]).rfind("999: ", 0), 0u);
  EXPECT_EQ(FormatReprocessSummary(results), "1 message back to received (1 failed)\n");

  auto record = store_->Get(m1);
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->state, store::MessageState::kReceived);
  EXPECT_FALSE(record->has_transformed);
  auto deliveries = store_->ListDeliveries(m1);
  ASSERT_TRUE(deliveries.ok()) << deliveries.status().ToString();
  ASSERT_EQ(deliveries->size(), 1u);
  EXPECT_EQ((*deliveries)[0].state, store::DeliveryState::kError);  // superseded
}

TEST_F(MessageActionsTest, ResendAddsADeliveryToAConfiguredDestination) {
  const store::MessageId m = Append("adt", "S1");
  const store::DeliveryId first = Process(m);
  ASSERT_NE(first, 0);
  store::DeliveryUpdate sent;
  sent.id = first;
  sent.state = store::DeliveryState::kSent;
  sent.attempts = 1;
  ASSERT_TRUE(store_->UpdateDeliveryAndWait(sent).ok());

  auto bad = Resend(config_, *store_, m, "billing");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("(it has lab, archive)"), std::string::npos)
      << bad.status().message();
  EXPECT_EQ(Resend(config_, *store_, 999, "lab").status().code(), StatusCode::kNotFound);

  auto again = Resend(config_, *store_, m, "lab");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_GT(*again, first);
  auto deliveries = store_->ListDeliveries(m);
  ASSERT_TRUE(deliveries.ok());
  ASSERT_EQ(deliveries->size(), 2u);
  EXPECT_EQ((*deliveries)[1].id, *again);
  EXPECT_EQ((*deliveries)[1].destination, "lab");
  EXPECT_EQ((*deliveries)[1].state, store::DeliveryState::kQueued);
  EXPECT_TRUE((*deliveries)[1].has_payload);  // the destination's own bytes again
  EXPECT_EQ((*deliveries)[1].payload, "LAB-BYTES");
  EXPECT_EQ(store_->Get(m)->state, store::MessageState::kQueued);

  // archive never had a delivery: the new one sends the channel's output.
  auto archive = Resend(config_, *store_, m, "archive");
  ASSERT_TRUE(archive.ok()) << archive.status().ToString();
  deliveries = store_->ListDeliveries(m);
  ASSERT_TRUE(deliveries.ok());
  ASSERT_EQ(deliveries->size(), 3u);
  EXPECT_FALSE((*deliveries)[2].has_payload);
}

TEST_F(MessageActionsTest, ResendRefusesWaitingAndUnconfiguredMessages) {
  const store::MessageId waiting = Append("adt", "W1");
  auto r = Resend(config_, *store_, waiting, "lab");
  EXPECT_EQ(r.status().code(), StatusCode::kOutOfRange) << r.status().ToString();
  const store::MessageId other = Append("elsewhere", "W2");
  r = Resend(config_, *store_, other, "lab");
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("'elsewhere' is not in t.yaml"), std::string::npos)
      << r.status().message();
  auto deliveries = store_->ListDeliveries(waiting);
  ASSERT_TRUE(deliveries.ok()) << deliveries.status().ToString();
  EXPECT_TRUE(deliveries->empty());
}

}  // namespace
}  // namespace junction::engine
