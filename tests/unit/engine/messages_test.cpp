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
