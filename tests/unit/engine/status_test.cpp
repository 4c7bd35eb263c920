#include "junction/engine/status.h"

#include <gtest/gtest.h>

#include <string>

#include "engine_test_util.h"
#include "junction/engine/messages.h"

namespace junction::engine {
namespace {

// A config with channels and destinations built in code (no YAML needed).
Config TwoChannels() {
  Config config;
  config.store.sqlite = "var/test.db";
  ChannelConfig adt;
  adt.name = "adt";
  DestinationConfig lab, archive;
  lab.name = "lab";
  archive.name = "archive";
  adt.destinations = {lab, archive};
  ChannelConfig orders;
  orders.name = "orders";
  config.channels = {adt, orders};
  return config;
}

TEST(StatusTest, FormatAgeForPeople) {
  EXPECT_EQ(FormatAge(0), "0s");
  EXPECT_EQ(FormatAge(-5'000'000), "0s");
  EXPECT_EQ(FormatAge(999'999), "0s");
  EXPECT_EQ(FormatAge(45'000'000), "45s");
  EXPECT_EQ(FormatAge(192'000'000), "3m12s");
  EXPECT_EQ(FormatAge(3'600'000'000), "1h00m");
  EXPECT_EQ(FormatAge((2 * 3600 + 5 * 60 + 59) * 1'000'000LL), "2h05m");
  EXPECT_EQ(FormatAge((3 * 86400 + 4 * 3600 + 7) * 1'000'000LL), "3d04h");
}

TEST(StatusTest, FormatBytesUsesBinaryUnits) {
  EXPECT_EQ(FormatBytes(0), "0 B");
  EXPECT_EQ(FormatBytes(1023), "1023 B");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatBytes(12'897'485), "12.3 MiB");
  EXPECT_EQ(FormatBytes(2LL << 30), "2.0 GiB");
}

TEST(StatusTest, ConfigNamesAppearWithZeroCountsAndStoreOnlyOnesAreMarked) {
  store::StatusReport report;
  store::ChannelCounts adt;
  adt.channel = "adt";
  adt.received = 10;
  adt.sent = 7;
  adt.errored = 1;
  store::ChannelCounts gone;
  gone.channel = "gone";
  gone.received = 4;
  report.channels = {adt, gone};
  store::DestinationCounts lab;
  lab.channel = "adt";
  lab.destination = "lab";
  lab.queued = 2;
  lab.sent = 7;
  store::DestinationCounts old;
  old.channel = "adt";
  old.destination = "old-lab";
  old.sent = 3;
  store::DestinationCounts orphan;  // its channel has no counts row
  orphan.channel = "ancient";
  orphan.destination = "x";
  orphan.errored = 1;
  report.destinations = {lab, old, orphan};

  const StatusView view = BuildStatus(TwoChannels(), report, 4096, 0);
  EXPECT_EQ(view.store_path, "var/test.db");
  EXPECT_EQ(view.store_bytes, 4096);
  ASSERT_EQ(view.channels.size(), 4u);
  // Config order first, then store-only channels sorted by name.
  EXPECT_EQ(view.channels[0].counts.channel, "adt");
  EXPECT_TRUE(view.channels[0].in_config);
  EXPECT_EQ(view.channels[0].counts.received, 10u);
  EXPECT_EQ(view.channels[1].counts.channel, "orders");
  EXPECT_TRUE(view.channels[1].in_config);
  EXPECT_EQ(view.channels[1].counts.received, 0u);
  EXPECT_TRUE(view.channels[1].destinations.empty());
  EXPECT_EQ(view.channels[2].counts.channel, "ancient");
  EXPECT_FALSE(view.channels[2].in_config);
  ASSERT_EQ(view.channels[2].destinations.size(), 1u);
  EXPECT_FALSE(view.channels[2].destinations[0].in_config);
  EXPECT_EQ(view.channels[3].counts.channel, "gone");
  EXPECT_FALSE(view.channels[3].in_config);
  EXPECT_EQ(view.channels[3].counts.received, 4u);

  const auto& dests = view.channels[0].destinations;
  ASSERT_EQ(dests.size(), 3u);
  EXPECT_EQ(dests[0].counts.destination, "lab");
  EXPECT_EQ(dests[0].counts.queued, 2u);
  EXPECT_TRUE(dests[0].in_config);
  EXPECT_EQ(dests[1].counts.destination, "archive");  // configured, nothing stored
  EXPECT_EQ(dests[1].counts.sent, 0u);
  EXPECT_TRUE(dests[1].in_config);
  EXPECT_EQ(dests[2].counts.destination, "old-lab");
  EXPECT_FALSE(dests[2].in_config);
}

TEST(StatusTest, HumanTableShowsBlockedHeadAndOldestAge) {
  const std::int64_t now = 1'714'557'600'000'000;
  store::StatusReport report;
  store::DestinationCounts lab;
  lab.channel = "adt";
  lab.destination = "lab";
  lab.queued = 3;
  lab.oldest_queued_at_us = now - 192'000'000;
  lab.head_attempts = 4;
  lab.head_error = "connect: connection\nrefused";
  store::DestinationCounts gone;
  gone.channel = "adt";
  gone.destination = "gone";
  gone.sent = 1;
  report.destinations = {lab, gone};
  const std::string text = FormatStatus(BuildStatus(TwoChannels(), report, 2048, now));

  EXPECT_EQ(text.rfind("store: var/test.db (2.0 KiB)\n", 0), 0u) << text;
  EXPECT_NE(text.find("CHANNEL  RECEIVED  WAITING"), std::string::npos) << text;
  EXPECT_NE(text.find("\norders          0"), std::string::npos) << text;
  // The lab row: queued 3, oldest 3m12s, blocked with the (one-line) error.
  const std::size_t row = text.find("\nadt      lab  ");
  ASSERT_NE(row, std::string::npos) << text;
  const std::string lab_row = text.substr(row + 1, text.find('\n', row + 1) - row - 1);
  EXPECT_NE(lab_row.find(" 3 "), std::string::npos) << lab_row;
  EXPECT_NE(lab_row.find("3m12s"), std::string::npos) << lab_row;
  EXPECT_NE(lab_row.find("blocked: 4 failed attempts, last error: connect: connection?refused"),
            std::string::npos)
      << lab_row;
  // Configured but empty: no age, no head.
  const std::size_t archive = text.find("\nadt      archive");
  ASSERT_NE(archive, std::string::npos) << text;
  EXPECT_NE(text.find("gone", archive), std::string::npos);
  EXPECT_NE(text.find("(not in config)", text.find("\nadt      gone")), std::string::npos) << text;
}

TEST(StatusTest, JsonHasEveryChannelAndDestination) {
  const std::int64_t now = 1'714'557'600'000'000;
  store::StatusReport report;
  store::DestinationCounts lab;
  lab.channel = "adt";
  lab.destination = "lab";
  lab.queued = 1;
  lab.oldest_queued_at_us = now - 5'000'000;
  lab.head_attempts = 1;
  lab.head_error = "AE \"bad\"";
  report.destinations = {lab};
  const std::string json = FormatStatusJson(BuildStatus(TwoChannels(), report, 10, now));
  EXPECT_EQ(json.rfind("{\"store\":{\"path\":\"var/test.db\",\"size_bytes\":10},\"channels\":[", 0),
            0u)
      << json;
  EXPECT_NE(json.find("{\"name\":\"lab\",\"in_config\":true,\"queued\":1,\"sent\":0,\"errored\":0,"
                      "\"filtered\":0,\"oldest_queued_at\":\"2024-05-01T09:59:55.000Z\","
                      "\"oldest_queued_age_s\":5,\"blocked\":true,\"head_attempts\":1,"
                      "\"head_error\":\"AE \\\"bad\\\"\"}"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("{\"name\":\"archive\",\"in_config\":true,\"queued\":0,\"sent\":0,"
                      "\"errored\":0,\"filtered\":0,\"oldest_queued_at\":null,"
                      "\"oldest_queued_age_s\":null,\"blocked\":false"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("{\"name\":\"orders\",\"in_config\":true,\"received\":0"), std::string::npos);
  EXPECT_EQ(json.find('\n'), json.size() - 1);
}

// Against a real store: counts come from what the store holds.
TEST(StatusTest, ReadStatusCountsAStore) {
  auto store = testing::OpenTempStore();
  ASSERT_NE(store, nullptr);
  auto append = [&](const std::string& channel, const std::string& control_id) {
    store::IncomingMessage in;
    in.raw = testing::WithControlId(control_id);
    in.channel = channel;
    in.control_id = control_id;
    auto r = store->AppendAndWait(std::move(in));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->id : 0;
  };
  const store::MessageId m1 = append("adt", "S1");
  const store::MessageId m2 = append("adt", "S2");
  append("adt", "S3");  // stays waiting
  append("gone", "S4");

  store::ProcessingOutcome o1;
  o1.id = m1;
  o1.state = store::MessageState::kQueued;
  o1.deliveries.push_back({.destination = "lab"});
  o1.deliveries.push_back({.destination = "archive"});
  auto d1 = store->RecordProcessingAndWait(o1);
  ASSERT_TRUE(d1.ok()) << d1.status().ToString();
  ASSERT_EQ(d1->size(), 2u);
  store::ProcessingOutcome o2 = o1;
  o2.id = m2;
  auto d2 = store->RecordProcessingAndWait(o2);
  ASSERT_TRUE(d2.ok()) << d2.status().ToString();

  // lab: the head (m1) failed twice; archive: m1 sent.
  store::DeliveryUpdate fail;
  fail.id = (*d1)[0];
  fail.state = store::DeliveryState::kQueued;
  fail.attempts = 2;
  fail.error = "connection refused";
  ASSERT_TRUE(store->UpdateDeliveryAndWait(fail).ok());
  store::DeliveryUpdate sent;
  sent.id = (*d1)[1];
  sent.state = store::DeliveryState::kSent;
  sent.attempts = 1;
  sent.response = "MSA|AA|S1";
  ASSERT_TRUE(store->UpdateDeliveryAndWait(sent).ok());

  auto view = ReadStatus(TwoChannels(), *store, NowMicros() + 60'000'000);
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  EXPECT_GT(view->store_bytes, 0);
  ASSERT_GE(view->channels.size(), 3u);
  const ChannelStatus& adt = view->channels[0];
  EXPECT_EQ(adt.counts.channel, "adt");
  EXPECT_EQ(adt.counts.received, 3u);
  EXPECT_EQ(adt.counts.waiting, 1u);
  EXPECT_EQ(adt.counts.queued, 2u);
  ASSERT_EQ(adt.destinations.size(), 2u);
  const DestinationStatus& lab = adt.destinations[0];
  EXPECT_EQ(lab.counts.destination, "lab");
  EXPECT_EQ(lab.counts.queued, 2u);
  EXPECT_TRUE(lab.blocked());
  EXPECT_EQ(lab.counts.head_attempts, 2);
  EXPECT_EQ(lab.counts.head_error, "connection refused");
  EXPECT_GT(lab.counts.oldest_queued_at_us, 0);
  const DestinationStatus& archive = adt.destinations[1];
  EXPECT_EQ(archive.counts.queued, 1u);
  EXPECT_EQ(archive.counts.sent, 1u);
  EXPECT_FALSE(archive.blocked());
  EXPECT_EQ(view->channels[1].counts.channel, "orders");
  EXPECT_EQ(view->channels[2].counts.channel, "gone");
  EXPECT_FALSE(view->channels[2].in_config);
  EXPECT_EQ(view->channels[2].counts.waiting, 1u);
  // The oldest lab delivery has waited about a minute by the `now` given.
  EXPECT_NE(FormatStatus(*view).find(" 1m0"), std::string::npos) << FormatStatus(*view);
  EXPECT_TRUE(store->Close().ok());
}

}  // namespace
}  // namespace junction::engine
