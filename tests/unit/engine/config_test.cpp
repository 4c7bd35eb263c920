#include "junction/engine/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace junction::engine {
namespace {

constexpr const char* kMinimal = R"(channels:
  - name: inbound
    source:
      mllp:
        listen: 127.0.0.1:2575
)";

// Expects ParseConfig to fail with exactly "test.yaml:<line>: <key>: ..." and the
// reason to contain `reason`.
void ExpectError(const std::string& yaml, int line, const std::string& key,
                 const std::string& reason) {
  auto config = ParseConfig(yaml, "test.yaml");
  ASSERT_FALSE(config.ok()) << yaml;
  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  const std::string prefix = "test.yaml:" + std::to_string(line) + ": " + key + ": ";
  EXPECT_EQ(config.status().message().rfind(prefix, 0), 0u)
      << "got: " << config.status().message() << "\nwant prefix: " << prefix;
  EXPECT_NE(config.status().message().find(reason), std::string::npos)
      << "got: " << config.status().message() << "\nwant reason: " << reason;
}

TEST(EngineConfigTest, MinimalConfigTakesDefaults) {
  auto config = ParseConfig(kMinimal, "test.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->file, "test.yaml");
  EXPECT_EQ(config->log.level, "info");
  EXPECT_EQ(config->server.io_threads, 2u);
  EXPECT_EQ(config->store.sqlite, "./var/junction.db");
  EXPECT_EQ(config->store.max_batch, 512u);
  EXPECT_EQ(config->store.max_delay_us, 0);
  EXPECT_FALSE(config->store.detect_duplicates);
  ASSERT_EQ(config->channels.size(), 1u);
  const ChannelConfig& c = config->channels[0];
  EXPECT_EQ(c.name, "inbound");
  EXPECT_EQ(c.line, 2);
  EXPECT_EQ(c.mllp.host, "127.0.0.1");
  EXPECT_EQ(c.mllp.port, 2575);
  EXPECT_EQ(c.mllp.ack, AckPolicy::kAfterStore);
  EXPECT_FALSE(c.mllp.validate);
  EXPECT_FALSE(c.mllp.strict_framing);
  EXPECT_EQ(c.mllp.max_frame_bytes, 16u << 20);
  EXPECT_EQ(c.mllp.max_connections, 256u);
  EXPECT_EQ(c.mllp.idle_timeout.count(), 600000);
  EXPECT_EQ(c.mllp.read_timeout.count(), 30000);
  EXPECT_TRUE(c.mllp.allow.empty());
  EXPECT_FALSE(c.mllp.tls.has_value());
}

TEST(EngineConfigTest, EveryKeyIsRead) {
  const std::string yaml = R"(log:
  level: debug
server:
  io_threads: 4
store:
  sqlite: /tmp/x/j.db
  max_batch: 64
  max_delay_us: 250
  detect_duplicates: true
channels:
  - name: adt_in-1
    source:
      mllp:
        listen: "[::1]:0"
        ack: never
        validate: true
        strict_framing: yes
        max_frame_bytes: 1048576
        max_connections: 8
        idle_timeout_ms: 1000
        read_timeout_ms: 500
        allow: [127.0.0.0/8, "::1/128"]
  - name: lab
    source:
      mllp:
        listen: 0.0.0.0:2576
        ack: after-processing
        tls:
)";
  auto config = ParseConfig(yaml, "full.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->log.level, "debug");
  EXPECT_EQ(config->server.io_threads, 4u);
  EXPECT_EQ(config->store.sqlite, "/tmp/x/j.db");
  EXPECT_EQ(config->store.max_batch, 64u);
  EXPECT_EQ(config->store.max_delay_us, 250);
  EXPECT_TRUE(config->store.detect_duplicates);
  ASSERT_EQ(config->channels.size(), 2u);
  const MllpSourceConfig& a = config->channels[0].mllp;
  EXPECT_EQ(config->channels[0].name, "adt_in-1");
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.port, 0);
  EXPECT_EQ(a.ack, AckPolicy::kNever);
  EXPECT_TRUE(a.validate);
  EXPECT_TRUE(a.strict_framing);
  EXPECT_EQ(a.max_frame_bytes, 1048576u);
  EXPECT_EQ(a.max_connections, 8u);
  EXPECT_EQ(a.idle_timeout.count(), 1000);
  EXPECT_EQ(a.read_timeout.count(), 500);
  EXPECT_EQ(a.allow, (std::vector<std::string>{"127.0.0.0/8", "::1/128"}));
  const MllpSourceConfig& b = config->channels[1].mllp;
  EXPECT_EQ(b.host, "0.0.0.0");
  EXPECT_EQ(b.port, 2576);
  EXPECT_EQ(b.ack, AckPolicy::kAfterProcessing);
  EXPECT_FALSE(b.tls.has_value());  // "tls:" with nothing
}

TEST(EngineConfigTest, TlsFilesMustExist) {
  const auto dir = std::filesystem::temp_directory_path() / "junction_config_test_tls";
  std::filesystem::create_directories(dir);
  const std::string cert = (dir / "cert.pem").string();
  const std::string key = (dir / "key.pem").string();
  std::ofstream(cert) << "x";
  std::ofstream(key) << "x";
  const std::string base = std::string(kMinimal) + "        tls:\n";
  auto ok =
      ParseConfig(base + "          cert: " + cert + "\n          key: " + key + "\n", "test.yaml");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  ASSERT_TRUE(ok->channels[0].mllp.tls.has_value());
  EXPECT_EQ(ok->channels[0].mllp.tls->cert, cert);
  EXPECT_EQ(ok->channels[0].mllp.tls->key, key);
  EXPECT_TRUE(ok->channels[0].mllp.tls->client_ca.empty());

  ExpectError(base + "          cert: " + cert + "\n          key: " + key +
                  "\n          client_ca: /nonexistent/ca.pem\n",
              9, "channels[0].source.mllp.tls.client_ca", "cannot read file '/nonexistent/ca.pem'");
  ExpectError(base + "          cert: " + cert + "\n", 6, "channels[0].source.mllp.tls.key",
              "is required with tls");
  std::filesystem::remove_all(dir);
}

TEST(EngineConfigTest, ErrorsNameFileLineAndKey) {
  ExpectError(std::string(kMinimal) + "        ack: sometimes\n", 6, "channels[0].source.mllp.ack",
              "must be one of after-store, after-processing, never");
  ExpectError("log:\n  level: loud\n" + std::string(kMinimal), 2, "log.level",
              "must be one of trace, debug, info, warn, error");
  ExpectError("server:\n  io_threads: 0\n" + std::string(kMinimal), 2, "server.io_threads",
              "must be an integer from 1 to 64");
  ExpectError("server:\n  io_threads: two\n" + std::string(kMinimal), 2, "server.io_threads",
              "must be an integer");
  ExpectError("store:\n  max_batch: -1\n" + std::string(kMinimal), 2, "store.max_batch",
              "must be an integer from 1");
  ExpectError("store:\n  detect_duplicates: maybe\n" + std::string(kMinimal), 2,
              "store.detect_duplicates", "must be true or false");
  ExpectError("store:\n  sqlite: ''\n" + std::string(kMinimal), 2, "store.sqlite",
              "must not be empty");
  ExpectError("store:\n  sqlite: [a, b]\n" + std::string(kMinimal), 2, "store.sqlite",
              "must be a string");
  ExpectError("storage:\n  sqlite: x\n" + std::string(kMinimal), 1, "storage",
              "unknown key (expected one of: log, server, store, fhir_store, tables, fhir, http, auth, channels)");
  ExpectError(std::string(kMinimal) + "        colour: blue\n", 6, "channels[0].source.mllp.colour",
              "unknown key");
  ExpectError(std::string(kMinimal) + "        listen: 127.0.0.1:2\n", 6,
              "channels[0].source.mllp.listen", "duplicate key");
  ExpectError(std::string(kMinimal) + "        validate: 1\n", 6,
              "channels[0].source.mllp.validate", "must be true or false");
  ExpectError(std::string(kMinimal) + "        max_frame_bytes: 99999999999\n", 6,
              "channels[0].source.mllp.max_frame_bytes", "must be an integer from 16 to 67108864");
  ExpectError(std::string(kMinimal) + "        max_connections: 0\n", 6,
              "channels[0].source.mllp.max_connections", "from 1");
  ExpectError(std::string(kMinimal) + "        idle_timeout_ms: 0\n", 6,
              "channels[0].source.mllp.idle_timeout_ms", "from 1");
  ExpectError(std::string(kMinimal) + "        read_timeout_ms: 1.5\n", 6,
              "channels[0].source.mllp.read_timeout_ms", "must be an integer");
  ExpectError(std::string(kMinimal) + "        allow: [10.0.0.0/33]\n", 6,
              "channels[0].source.mllp.allow[0]", "prefix length");
  ExpectError(std::string(kMinimal) + "        allow: nobody\n", 6, "channels[0].source.mllp.allow",
              "must be a list");
}

TEST(EngineConfigTest, ListenAddresses) {
  auto listen = [](const std::string& value) {
    return std::string("channels:\n  - name: a\n    source:\n      mllp:\n        listen: \"") +
           value + "\"\n";
  };
  const std::string key = "channels[0].source.mllp.listen";
  ExpectError(listen("127.0.0.1"), 5, key, "must be HOST:PORT");
  ExpectError(listen("127.0.0.1:65536"), 5, key, "port must be a number from 0 to 65535");
  ExpectError(listen("127.0.0.1:http"), 5, key, "port must be");
  ExpectError(listen("example.org:2575"), 5, key, "is not an IP address");
  ExpectError(listen("::1:2575"), 5, key, "must be HOST:PORT or [IPV6]:PORT");
  ExpectError(listen("[::1]2575"), 5, key, "must be HOST:PORT or [IPV6]:PORT");
  auto ok = ParseConfig(listen("localhost:0"), "t");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->channels[0].mllp.host, "127.0.0.1");
  EXPECT_EQ(ok->channels[0].mllp.port, 0);
}

TEST(EngineConfigTest, ChannelRules) {
  ExpectError("channels: []\n", 1, "channels", "at least one channel");
  ExpectError("log:\n  level: info\n", 1, "channels", "is required");
  ExpectError("channels:\n  - name: a b\n    source:\n      mllp:\n        listen: 127.0.0.1:1\n",
              2, "channels[0].name", "only letters, digits");
  ExpectError("channels:\n  - source:\n      mllp:\n        listen: 127.0.0.1:1\n", 2,
              "channels[0].name", "is required");
  ExpectError("channels:\n  - name: a\n", 2, "channels[0].source", "is required");
  ExpectError("channels:\n  - name: a\n    source:\n      ftp: {}\n", 4, "channels[0].source.ftp",
              "unknown key (expected one of: mllp, file, http)");
  ExpectError("channels:\n  - name: a\n    source:\n      mllp:\n        ack: never\n", 4,
              "channels[0].source.mllp.listen", "is required");
  const std::string two =
      "channels:\n"
      "  - name: a\n    source:\n      mllp:\n        listen: 127.0.0.1:7000\n"
      "  - name: a\n    source:\n      mllp:\n        listen: 127.0.0.1:7001\n";
  ExpectError(two, 6, "channels[1].name", "already used");
  const std::string same_port =
      "channels:\n"
      "  - name: a\n    source:\n      mllp:\n        listen: 127.0.0.1:7000\n"
      "  - name: b\n    source:\n      mllp:\n        listen: 127.0.0.1:7000\n";
  ExpectError(same_port, 9, "channels[1].source.mllp.listen", "already used by channel 'a'");
}

TEST(EngineConfigTest, MalformedYamlHasALine) {
  auto config = ParseConfig("channels:\n  - name: [unclosed\n", "bad.yaml");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message().rfind("bad.yaml:", 0), 0u) << config.status().message();
  auto tabs = ParseConfig("store:\n\tsqlite: x\n", "tabs.yaml");
  ASSERT_FALSE(tabs.ok());
  EXPECT_EQ(tabs.status().message().rfind("tabs.yaml:", 0), 0u) << tabs.status().message();
}

TEST(EngineConfigTest, LoadConfigReadsFilesAndReportsMissingOnes) {
  auto missing = LoadConfig("/nonexistent/junction.yaml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kIoError);
  EXPECT_NE(missing.status().message().find("/nonexistent/junction.yaml"), std::string::npos);

  const auto path = std::filesystem::temp_directory_path() / "junction_config_test.yaml";
  std::ofstream(path) << kMinimal << "        ack: bogus\n";
  auto bad = LoadConfig(path.string());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().rfind(path.string() + ":6: channels[0].source.mllp.ack: ", 0),
            0u)
      << bad.status().message();
  std::filesystem::remove(path);
}

TEST(EngineConfigTest, SampleConfigInTheRepositoryLoads) {
  const char* root = std::getenv("JUNCTION_SOURCE_DIR");
  const std::string path = std::string(root != nullptr ? root : ".") + "/conf/junction.yaml";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not found";
  auto config = LoadConfig(path);
  ASSERT_TRUE(config.ok()) << config.status().message();
  ASSERT_FALSE(config->channels.empty());
  EXPECT_EQ(config->channels[0].name, "inbound");
  EXPECT_EQ(config->channels[0].mllp.port, 2575);
}

}  // namespace
}  // namespace junction::engine
