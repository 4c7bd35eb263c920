// Engine configuration: the YAML file `junction serve --config FILE` reads.
//
//   auto config = junction::engine::LoadConfig("conf/junction.yaml");
//   if (!config.ok()) {                       // "conf/junction.yaml:12: channels[0]..."
//     std::cerr << config.status().message() << "\n";
//     return 2;
//   }
//   for (const ChannelConfig& c : config->channels) ...
//
// Every key is checked: unknown keys, wrong types and bad values are errors of
// the form `file:line: key: reason` (kInvalidArgument), where key is the full
// path such as `channels[0].source.mllp.ack`. Missing optional keys take the
// defaults below (docs/config.md lists them all). Relative paths (store file,
// TLS files) are used as given, i.e. relative to the working directory.
//
// Thread safety: plain values; LoadConfig/ParseConfig are reentrant.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "junction/hl7/status.h"

namespace junction::engine {

// When an MLLP source acknowledges a message.
enum class AckPolicy {
  kAfterStore,       // after the message is committed to the store (default)
  kAfterProcessing,  // after the channel processed it; until channels exist: as kAfterStore
  kNever,            // store, but send no ACK
};
std::string_view AckPolicyName(AckPolicy policy);  // "after-store", ...

struct LogConfig {
  std::string level = "info";  // trace | debug | info | warn | error
};

struct ServerConfig {
  std::size_t io_threads = 2;  // Asio I/O threads shared by every MLLP listener
};

struct StoreConfig {
  std::string sqlite = "./var/junction.db";
  std::size_t max_batch = 512;
  std::int64_t max_delay_us = 0;
  bool detect_duplicates = false;  // by (MSH-3, MSH-4, MSH-10)
};

struct TlsConfig {
  std::string cert;
  std::string key;
  std::string client_ca;  // set: clients must present a certificate it signed (mTLS)
};

struct MllpSourceConfig {
  std::string host = "127.0.0.1";  // IP literal (IPv6 without brackets)
  std::uint16_t port = 2575;       // 0 = any free port
  AckPolicy ack = AckPolicy::kAfterStore;
  bool validate = false;
  bool strict_framing = false;
  std::size_t max_frame_bytes = 16u << 20;
  std::size_t max_connections = 256;
  std::chrono::milliseconds idle_timeout{600'000};
  std::chrono::milliseconds read_timeout{30'000};
  std::vector<std::string> allow;  // CIDR blocks; empty = everyone
  std::optional<TlsConfig> tls;
};

struct ChannelConfig {
  std::string name;
  MllpSourceConfig mllp;
  int line = 0;  // where the channel starts in the file (for later messages)
};

struct Config {
  std::string file;  // the path it was read from
  LogConfig log;
  ServerConfig server;
  StoreConfig store;
  std::vector<ChannelConfig> channels;
};

// Bounds on configured values (checked by the parser).
inline constexpr std::size_t kMaxIoThreads = 64;
inline constexpr std::size_t kMaxChannels = 256;
inline constexpr std::size_t kMaxChannelNameBytes = 64;
inline constexpr std::size_t kMaxFrameBytesLimit = 64u << 20;  // the store's and parser's limit
inline constexpr std::size_t kMaxStoreBatch = 100'000;
inline constexpr std::int64_t kMaxDelayUsLimit = 10'000'000;
inline constexpr std::size_t kMaxConnectionsLimit = 100'000;
inline constexpr std::int64_t kMaxTimeoutMs = 86'400'000;  // one day
inline constexpr std::size_t kMaxConfigBytes = 4u << 20;

// Reads and checks the file. kIoError when it cannot be read (message names
// the file), kInvalidArgument with `file:line: key: reason` otherwise.
Result<Config> LoadConfig(const std::string& path);

// Parses YAML text; `file` is used in error messages and Config::file.
Result<Config> ParseConfig(std::string_view yaml, const std::string& file);

// "HOST:PORT" or "[V6]:PORT" → host and port; kInvalidArgument with a reason.
Status ParseListenAddress(std::string_view text, std::string* host, std::uint16_t* port);

}  // namespace junction::engine
