#include "junction/engine/ingest.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <set>

#include "engine_test_util.h"

namespace junction::engine {
namespace {

using namespace std::chrono_literals;
using testing::AckField;
using testing::kAdt;
using testing::OpenTempStore;
using testing::Replace;
using testing::WithControlId;

mllp::PeerInfo Peer() {
  mllp::PeerInfo p;
  p.listener = "inbound";
  p.address = "127.0.0.1";
  p.port = 40000;
  p.connection_id = 7;
  return p;
}

// Feeds one payload to the handler and waits for its reply.
std::string Deliver(IngestHandler& handler, std::string payload,
                    std::function<void()> on_reply = {}) {
  auto promise = std::make_shared<std::promise<std::string>>();
  auto future = promise->get_future();
  handler.OnMessage(Peer(), std::move(payload), [promise, on_reply](std::string ack) {
    if (on_reply) on_reply();
    promise->set_value(std::move(ack));
  });
  if (future.wait_for(10s) != std::future_status::ready) {
    ADD_FAILURE() << "no reply within 10 s";
    return {};
  }
  return future.get();
}

std::vector<store::MessageRecord> All(store::Store& store) {
  store::MessageQuery q;
  q.limit = 1000;
  auto rows = store.List(q);
  EXPECT_TRUE(rows.ok()) << rows.status().ToString();
  return rows.ok() ? *rows : std::vector<store::MessageRecord>{};
}

TEST(IngestTest, AcksOnlyAfterTheMessageIsCommitted) {
  auto store = OpenTempStore();
  ASSERT_TRUE(store);
  IngestHandler handler(store.get(), {.channel = "inbound"});
  std::size_t rows_at_reply = 0;
  const std::string ack = Deliver(handler, kAdt, [&] { rows_at_reply = All(*store).size(); });
  EXPECT_EQ(rows_at_reply, 1u) << "the ACK was sent before the row was readable";
  EXPECT_EQ(AckField(ack, "MSA-1"), "AA");
  EXPECT_EQ(AckField(ack, "MSA-2"), "CTRL1");
  // Swapped applications/facilities, same version, ACK^A01.
  EXPECT_EQ(AckField(ack, "MSH-3"), "RECVAPP");
  EXPECT_EQ(AckField(ack, "MSH-4"), "RECVFAC");
  EXPECT_EQ(AckField(ack, "MSH-5"), "SENDAPP");
  EXPECT_EQ(AckField(ack, "MSH-6"), "SENDFAC");
  EXPECT_EQ(AckField(ack, "MSH-12"), "2.5.1");
  EXPECT_EQ(AckField(ack, "MSH-9.1"), "ACK");
  EXPECT_EQ(AckField(ack, "MSH-9.2"), "A01");

  auto rows = All(*store);
  ASSERT_EQ(rows.size(), 1u);
  auto row = store->Get(rows[0].id);
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(row->raw, kAdt);
  EXPECT_EQ(row->size, static_cast<std::int64_t>(std::string_view(kAdt).size()));
  EXPECT_EQ(row->channel, "inbound");
  EXPECT_EQ(row->peer, "127.0.0.1:40000");
  EXPECT_EQ(row->control_id, "CTRL1");
  EXPECT_EQ(row->message_type, "ADT");
  EXPECT_EQ(row->trigger_event, "A01");
  EXPECT_EQ(row->message_structure, "ADT_A01");
  EXPECT_EQ(row->version, "2.5.1");
  EXPECT_EQ(row->sending_application, "SENDAPP");
  EXPECT_EQ(row->sending_facility, "SENDFAC");
  EXPECT_EQ(row->receiving_application, "RECVAPP");
  EXPECT_EQ(row->receiving_facility, "RECVFAC");
  EXPECT_EQ(row->patient_id, "PAT123");
  EXPECT_EQ(row->state, store::MessageState::kReceived);
  EXPECT_TRUE(row->error.empty());
  EXPECT_GT(row->received_at_us, 0);

  const IngestStats stats = handler.stats();
  EXPECT_EQ(stats.messages, 1u);
  EXPECT_EQ(stats.stored, 1u);
}

TEST(IngestTest, AckControlIdsAreUnique) {
  auto store = OpenTempStore();
  ASSERT_TRUE(store);
  IngestHandler handler(store.get(), {.channel = "inbound"});
  std::set<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    const std::string ack = Deliver(handler, WithControlId("C" + std::to_string(i)));
    EXPECT_EQ(AckField(ack, "MSA-2"), "C" + std::to_string(i));
    ids.insert(AckField(ack, "MSH-10"));
  }
  EXPECT_EQ(ids.size(), 20u);
  EXPECT_EQ(ids.count(""), 0u);
}

TEST(IngestTest, UnparseableHeaderGetsArWithErrAndIsKeptAsError) {
  auto store = OpenTempStore();
  ASSERT_TRUE(store);
  IngestHandler handler(store.get(), {.channel = "inbound"});
  const std::string garbage = "this is not HL7\rPID|1||X\r";
  const std::string ack = Deliver(handler, garbage);
  EXPECT_EQ(AckField(ack, "MSA-1"), "AR");
  auto parsed = hl7::Message::Parse(std::string_view(ack));
  ASSERT_TRUE(parsed.ok()) << ack;
  EXPECT_GE(parsed->CountSegments("ERR"), 1);

  auto rows = All(*store);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].state, store::MessageState::kError);
  EXPECT_NE(rows[0].error.find("unparseable"), std::string::npos) << rows[0].error;
  auto row = store->Get(rows[0].id);
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(row->raw, garbage);  // never lost
}

TEST(IngestTest, ValidationFailureGetsAeNamingEachProblemAndIsStoredAsError) {
  auto store = OpenTempStore();
  ASSERT_TRUE(store);
  IngestHandler handler(store.get(), {.channel = "inbound", .validate = true});

  // A conforming message passes validation.
  EXPECT_EQ(AckField(Deliver(handler, kAdt), "MSA-1"), "AA");

  // Two problems: a bad birth date (PID-7) and a bad sex code... the date is enough
  // for the location check; the missing PID-3 adds a second error.
  std::string bad = Replace(kAdt, "|19800101|", "|not-a-date|");
  bad = Replace(bad, "|PAT123^^^HOSP^MR|", "||");
  bad = Replace(bad, "|CTRL1|", "|BAD1|");
  const std::string ack = Deliver(handler, bad);
  EXPECT_EQ(AckField(ack, "MSA-1"), "AE");
  EXPECT_EQ(AckField(ack, "MSA-2"), "BAD1");
  auto parsed = hl7::Message::Parse(std::string_view(ack));
  ASSERT_TRUE(parsed.ok());
  EXPECT_GE(parsed->CountSegments("ERR"), 2) << ack;
  EXPECT_NE(ack.find("PID^1^7"), std::string::npos) << ack;
  EXPECT_NE(ack.find("PID^1^3"), std::string::npos) << ack;

  auto rows = All(*store);
  ASSERT_EQ(rows.size(), 2u);
  const store::MessageRecord& row = rows[0];  // newest first
  EXPECT_EQ(row.control_id, "BAD1");
  EXPECT_EQ(row.state, store::MessageState::kError);
  EXPECT_NE(row.error.find("PID-7"), std::string::npos) << row.error;
  EXPECT_NE(row.error.find("PID-3"), std::string::npos) << row.error;
  EXPECT_EQ(rows[1].state, store::MessageState::kReceived);
  EXPECT_EQ(handler.stats().invalid, 1u);
}

TEST(IngestTest, DuplicatesAreAckedAgainButStoredOnce) {
  auto store = OpenTempStore(/*detect_duplicates=*/true);
  ASSERT_TRUE(store);
  IngestHandler handler(store.get(), {.channel = "inbound"});
  const std::string first = Deliver(handler, kAdt);
  const std::string second = Deliver(handler, kAdt);
  EXPECT_EQ(AckField(first, "MSA-1"), "AA");
  EXPECT_EQ(AckField(second, "MSA-1"), "AA");
  EXPECT_EQ(AckField(second, "MSA-2"), "CTRL1");
  EXPECT_NE(AckField(first, "MSH-10"), AckField(second, "MSH-10"));
  // Same control id from another sending application is not a duplicate.
  Deliver(handler, Replace(kAdt, "|SENDAPP|", "|OTHERAPP|"));
  EXPECT_EQ(All(*store).size(), 2u);
  EXPECT_EQ(handler.stats().duplicates, 1u);
  EXPECT_EQ(handler.stats().stored, 2u);
}

TEST(IngestTest, StoppedChannelRefusesWithArAndStoresNothing) {
  auto store = OpenTempStore();
  ASSERT_TRUE(store);
  IngestHandler handler(store.get(), {.channel = "inbound"});
  handler.SetRefusing(true);
  EXPECT_TRUE(handler.refusing());
  const std::string refused = Deliver(handler, kAdt);
  EXPECT_EQ(AckField(refused, "MSA-1"), "AR");
  EXPECT_EQ(AckField(refused, "MSA-2"), "CTRL1");
  EXPECT_NE(refused.find("stopped"), std::string::npos) << refused;
  EXPECT_TRUE(All(*store).empty());
  EXPECT_EQ(handler.stats().rejected, 1u);
  handler.SetRefusing(false);
  EXPECT_EQ(AckField(Deliver(handler, kAdt), "MSA-1"), "AA");
  EXPECT_EQ(All(*store).size(), 1u);
}

TEST(IngestTest, EveryAnswerIsTimedInTheLatencyHistogram) {
  auto store = OpenTempStore();
  ASSERT_TRUE(store);
  IngestHandler handler(store.get(), {.channel = "inbound"});
  Deliver(handler, kAdt);
  Deliver(handler, "not hl7 at all");
  const IngestStats s = handler.stats();
  EXPECT_EQ(s.ack_latency_count, 2u);
  std::uint64_t in_buckets = 0;
  for (std::uint64_t b : s.ack_latency_buckets) in_buckets += b;
  EXPECT_EQ(in_buckets, 2u);
  EXPECT_GT(s.ack_latency_sum_s, 0.0);
}

TEST(IngestTest, EnhancedModeAnswersCa) {
  auto store = OpenTempStore();
  ASSERT_TRUE(store);
  IngestHandler handler(store.get(), {.channel = "inbound", .validate = true});
  const std::string enhanced = Replace(kAdt, "|P|2.5.1", "|P|2.5.1|||AL|NE");
  const std::string ack = Deliver(handler, enhanced);
  EXPECT_EQ(AckField(ack, "MSA-1"), "CA");
  const std::string bad = Replace(enhanced, "|19800101|", "|not-a-date|");
  EXPECT_EQ(AckField(Deliver(handler, bad), "MSA-1"), "CE");
  // MSH-15 NE: no accept acknowledgement at all, but still stored.
  const std::string never = Replace(kAdt, "|P|2.5.1", "|P|2.5.1|||NE|AL");
  EXPECT_EQ(Deliver(handler, never), "");
  EXPECT_EQ(All(*store).size(), 3u);
}

TEST(IngestTest, AckNeverStoresAndSendsNothing) {
  auto store = OpenTempStore();
  ASSERT_TRUE(store);
  IngestHandler handler(store.get(), {.channel = "inbound", .ack = AckPolicy::kNever});
  EXPECT_EQ(Deliver(handler, kAdt), "");
  EXPECT_EQ(Deliver(handler, "garbage"), "");
  EXPECT_EQ(All(*store).size(), 2u);
}

TEST(IngestTest, MessageTheStoreRefusesGetsArWith207) {
  auto store = OpenTempStore();
  ASSERT_TRUE(store);
  IngestHandler handler(store.get(), {.channel = "inbound"});
  ASSERT_TRUE(store->Close().ok());
  const std::string ack = Deliver(handler, kAdt);
  EXPECT_EQ(AckField(ack, "MSA-1"), "AR");
  EXPECT_EQ(AckField(ack, "MSA-2"), "CTRL1");
  EXPECT_EQ(AckField(ack, "ERR-3.1"), "207") << ack;
  EXPECT_EQ(handler.stats().rejected, 1u);
}

TEST(IngestTest, FrameErrorGetsANakNamingTheMessage) {
  auto store = OpenTempStore();
  ASSERT_TRUE(store);
  IngestHandler handler(store.get(), {.channel = "inbound"});
  const std::string head = std::string(kAdt).substr(0, 120);
  const std::string nak =
      handler.OnFrameError(Peer(), Status::OutOfRange("frame larger than 1024 bytes"), head);
  EXPECT_EQ(AckField(nak, "MSA-1"), "AR");
  EXPECT_EQ(AckField(nak, "MSA-2"), "CTRL1");
  EXPECT_NE(nak.find("frame larger"), std::string::npos);
}

TEST(IngestTest, MetadataIsCutToTheStoreBound) {
  store::IncomingMessage in;
  const std::string long_app(3000, 'A');
  auto m = hl7::Message::Parse(Replace(kAdt, "|SENDAPP|", "|" + long_app + "~SECOND|"));
  ASSERT_TRUE(m.ok());
  ExtractMetadata(*m, &in);
  EXPECT_EQ(in.sending_application.size(), store::kMaxMetadataFieldBytes);
  EXPECT_EQ(in.control_id, "CTRL1");
  EXPECT_EQ(in.patient_id, "PAT123");
}

TEST(IngestTest, PeerAddressBracketsIpv6) {
  mllp::PeerInfo p;
  p.address = "::1";
  p.port = 5;
  EXPECT_EQ(PeerAddress(p), "[::1]:5");
  p.address = "10.0.0.1";
  EXPECT_EQ(PeerAddress(p), "10.0.0.1:5");
}

}  // namespace
}  // namespace junction::engine
