// Config keys added with channels and the HTTP API: sources, destinations,
// links between channels, retention, http and auth.
#include <gtest/gtest.h>

#include "junction/engine/config.h"

namespace junction::engine {
namespace {

void ExpectError(const std::string& yaml, int line, const std::string& key,
                 const std::string& reason) {
  auto config = ParseConfig(yaml, "c.yaml");
  ASSERT_FALSE(config.ok()) << yaml;
  const std::string prefix = "c.yaml:" + std::to_string(line) + ": " + key + ": ";
  EXPECT_EQ(config.status().message().rfind(prefix, 0), 0u)
      << "got: " << config.status().message() << "\nwant prefix: " << prefix;
  EXPECT_NE(config.status().message().find(reason), std::string::npos)
      << "got: " << config.status().message();
}

TEST(ConfigChannelsTest, ChainedChannelsRetentionAndSources) {
  auto config = ParseConfig(R"(server: { pid_file: /tmp/x.pid }
channels:
  - name: a
    source: { mllp: { listen: 127.0.0.1:0 } }
    destinations:
      - { name: to-b, channel: b }
    retention: { max_age: 7d, error_max_age: 30d }
  - name: b
    source: none
    destinations:
      - { name: out, file: { dir: /tmp/out } }
)",
                            "c.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->server.pid_file, "/tmp/x.pid");
  ASSERT_EQ(config->channels.size(), 2u);
  EXPECT_EQ(config->channels[0].source, SourceKind::kMllp);
  EXPECT_EQ(config->channels[1].source, SourceKind::kNone);
  ASSERT_EQ(config->channels[0].destinations.size(), 1u);
  EXPECT_EQ(config->channels[0].destinations[0].kind, DestinationKind::kChannel);
  EXPECT_EQ(config->channels[0].destinations[0].channel.channel, "b");
  EXPECT_EQ(config->channels[0].retention.max_age, std::chrono::hours(24 * 7));
  EXPECT_EQ(config->channels[0].retention.error_max_age, std::chrono::hours(24 * 30));
  EXPECT_EQ(config->channels[1].retention.max_age.count(), 0);
}

TEST(ConfigChannelsTest, ChannelLinksMustExistAndNotLoop) {
  ExpectError(R"(channels:
  - name: a
    source: none
    destinations:
      - { name: x, channel: nowhere }
)",
              5, "channels[0].destinations[0].channel", "no channel named 'nowhere'");
  ExpectError(R"(channels:
  - name: a
    source: none
    destinations: [ { name: x, channel: b } ]
  - name: b
    source: none
    destinations: [ { name: y, channel: a } ]
)",
              2, "channels", "loop");
}

TEST(ConfigChannelsTest, DestinationNamesAreUniquePerChannel) {
  ExpectError(R"(channels:
  - name: a
    source: none
    destinations:
      - { name: x, file: { dir: /tmp/a } }
      - { name: x, file: { dir: /tmp/b } }
)",
              6, "channels[0].destinations[1].name", "already used");
}

TEST(ConfigChannelsTest, SourceMustBeOneKind) {
  ExpectError(R"(channels:
  - name: a
    source: { mllp: { listen: 127.0.0.1:0 }, file: { dir: /tmp/in } }
)",
              3, "channels[0].source", "one source");
  ExpectError(R"(channels:
  - name: a
    source: elsewhere
)",
              3, "channels[0].source", "one source");
}

TEST(ConfigChannelsTest, HttpAndAuthSections) {
  auto config = ParseConfig(R"(http:
  listen: 127.0.0.1:0
  max_body_bytes: 2048
  read_timeout: 5s
  cors_origins: ["https://app.example"]
auth:
  issuer: demo
  audience: junction
  hs256_secret: "0123456789abcdef0123456789abcdef"
  token_ttl: 15m
  clients:
    - { id: app, secret_sha256: "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8", scopes: ["user/*.rs"] }
channels:
  - name: lab
    source: { http: { path: /hl7/lab, ack: after-processing } }
)",
                            "c.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_TRUE(config->http.enabled);
  EXPECT_EQ(config->http.port, 0);
  EXPECT_EQ(config->http.max_body_bytes, 2048u);
  EXPECT_EQ(config->http.read_timeout, std::chrono::seconds(5));
  ASSERT_EQ(config->http.cors_origins.size(), 1u);
  EXPECT_EQ(config->auth.issuer, "demo");
  EXPECT_EQ(config->auth.token_ttl, std::chrono::minutes(15));
  ASSERT_EQ(config->auth.clients.size(), 1u);
  EXPECT_EQ(config->auth.clients[0].scopes[0], "user/*.rs");
  EXPECT_EQ(config->channels[0].source, SourceKind::kHttp);
  EXPECT_EQ(config->channels[0].http.path, "/hl7/lab");
  EXPECT_EQ(config->channels[0].http.ack, AckPolicy::kAfterProcessing);
}

TEST(ConfigChannelsTest, HttpAndAuthErrors) {
  ExpectError("auth: { hs256_secret: short }\nchannels: [ { name: a, source: none } ]\n", 1,
              "auth.hs256_secret", "at least 32 bytes");
  ExpectError(
      "auth:\n  clients:\n    - { id: a, secret_sha256: nothex }\nchannels: [ { name: a, source: none } ]\n",
      3, "auth.clients[0].secret_sha256", "64 hex digits");
  ExpectError("http: { read_timeout: 5s }\nchannels: [ { name: a, source: none } ]\n", 1,
              "http.listen", "is required");
  ExpectError(
      "channels:\n  - name: a\n    source: { http: { path: /hl7/a } }\n", 2,
      "channels[0].source.http", "needs the top-level http");
  ExpectError(
      "http: { listen: 127.0.0.1:0 }\nchannels:\n  - name: a\n    source: { http: { path: /elsewhere } }\n",
      4, "channels[0].source.http.path", "under /hl7/");
}

}  // namespace
}  // namespace junction::engine
