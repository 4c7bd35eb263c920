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
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "junction/engine/rules.h"
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
  // Holds the serving process id; `junction reload` sends SIGHUP to it.
  std::string pid_file = "./var/junction.pid";
};

struct StoreConfig {
  std::string sqlite = "./var/junction.db";
  std::size_t max_batch = 512;
  std::int64_t max_delay_us = 0;
  bool detect_duplicates = false;  // by (MSH-3, MSH-4, MSH-10)
};

// `fhir_store:` — the FHIR resource store (its own SQLite file: one writer
// per file, so the record does not compete with the message journal).
struct FhirStoreConfig {
  // "" = next to store.sqlite: "<dir>/<stem>-fhir.db" (":memory:" stays).
  std::string sqlite;
  bool durable = true;  // synchronous=FULL; false only for benchmarks
};
// The FHIR store's file for `config` (applies the default above).
std::string FhirStorePath(const StoreConfig& store, const FhirStoreConfig& fhir_store);

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

// Polls a directory for files; each file may hold one message or many (batch,
// stream, MLLP-framed). Stored messages are ACKed by moving the file.
struct FileSourceConfig {
  std::string dir;
  std::string pattern = "*.hl7";  // fnmatch(3) glob on the file name
  std::string move_to;            // processed files go here ("" = delete them)
  std::string error_dir;          // files that hold no message ("" = <dir>/error)
  std::chrono::milliseconds poll_interval{1000};
  std::chrono::milliseconds min_age{
      1000};  // skip files modified more recently (still being written)
  std::size_t max_file_bytes = 64u << 20;
};

// Client-side TLS for destinations.
struct TlsClientConfig {
  std::string ca;           // PEM CA bundle to verify the server ("" = system default)
  std::string cert, key;    // client certificate (mutual TLS), optional
  std::string server_name;  // SNI and the name checked ("" = the host)
  bool verify = true;
};

// What a destination does with AE/CE answers (AR/CR are always errors).
enum class AeAction { kRetry, kError };

struct MllpDestinationConfig {
  std::string host;
  std::uint16_t port = 0;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds response_timeout{5000};
  AeAction on_ae = AeAction::kError;
  // Messages sent on the connection before their ACKs are read (pipelining;
  // ACKs come back in order). 0 = by ordering: 8 under best-effort, 1 under
  // strict. Under strict a window above 1 lets a receiver that drops a
  // message silently (or times out on it) see later ones before its retry.
  std::size_t window = 0;
  std::optional<TlsClientConfig> tls;
};

enum class HttpBody { kEr7, kJson };  // JSON: the lossless hl7 JSON form (or the FHIR Bundle)

struct HttpDestinationConfig {
  std::string url;  // http://host:port/path or https://...
  bool https = false;
  std::string host;
  std::uint16_t port = 0;
  std::string target = "/";  // path and query
  HttpBody body = HttpBody::kEr7;
  std::string content_type;  // "" = by body: x-application/hl7-v2+er7, application/json
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds timeout{30000};
  std::optional<TlsClientConfig> tls;
};

struct FileDestinationConfig {
  std::string dir;
  // Template: text with {PATH} placeholders (HL7 paths, e.g. {MSH-10}) and
  // {id}, {channel}, {destination}, {date} (YYYYMMDD UTC), {time} (HHMMSS).
  // Values are made safe for file names.
  std::string name = "{MSH-10}.hl7";
};

struct ChannelDestinationConfig {
  std::string channel;  // another channel of this config (checked)
};

// Wraps an http or file destination: the message is converted to a FHIR R4
// Bundle (junction::fhir) and the Bundle is what gets posted or written.
struct FhirConvertConfig {
  std::string bundle = "transaction";  // transaction | batch | collection
};

// kFhirStore (`fhir-store: {}`): the message is converted to a FHIR
// transaction Bundle and applied to the engine's FHIR resource store.
enum class DestinationKind { kMllp, kHttp, kFile, kChannel, kFhirStore };
std::string_view DestinationKindName(DestinationKind kind);  // "mllp", ...

enum class Ordering { kStrict, kBestEffort };

struct RetryConfig {
  int max_attempts = 10;  // best-effort: then error; strict: not applied (the queue stays blocked)
  std::chrono::milliseconds initial_backoff{1000};
  std::chrono::milliseconds max_backoff{300000};
};

struct DestinationConfig {
  std::string name;
  DestinationKind kind = DestinationKind::kFile;
  MllpDestinationConfig mllp;
  HttpDestinationConfig http;
  FileDestinationConfig file;
  ChannelDestinationConfig channel;
  std::optional<FhirConvertConfig> fhir_convert;  // set: kind is kHttp or kFile
  PipelineSpec pipeline;                          // the destination's own filter and transform
  RetryConfig retry;
  Ordering ordering = Ordering::kStrict;
  int line = 0;
};

struct RetentionConfig {
  std::chrono::seconds max_age{0};        // 0 = keep forever
  std::chrono::seconds error_max_age{0};  // errors; 0 = keep forever
};

// `source: { http: { path: /hl7/lab } }`: POST /hl7/<path> bodies go into this
// channel (the default channel of POST /hl7/v2 is the first one with an http source).
struct HttpSourceConfig {
  std::string path;  // under /hl7, e.g. "/hl7/lab"
  AckPolicy ack = AckPolicy::kAfterStore;
  bool validate = false;
};

enum class SourceKind { kMllp, kFile, kHttp, kNone };  // kNone: only fed by other channels

struct ChannelConfig {
  std::string name;
  SourceKind source = SourceKind::kMllp;
  MllpSourceConfig mllp;
  FileSourceConfig file;
  HttpSourceConfig http;
  PipelineSpec pipeline;  // channel-level filter and transform
  std::vector<DestinationConfig> destinations;
  RetentionConfig retention;
  int line = 0;  // where the channel starts in the file (for later messages)
};

// `http:` — the HTTP server for /fhir, /hl7, /auth, /api, /metrics and the UI.
struct HttpConfig {
  bool enabled = false;  // true when the key is present
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  std::optional<TlsConfig> tls;
  std::size_t max_body_bytes = 16u << 20;
  std::size_t max_header_bytes = 16u << 10;
  std::chrono::milliseconds read_timeout{30'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::size_t max_connections = 1024;
  std::vector<std::string> cors_origins;  // empty = CORS off
  // The web console's static files, served at / ("" = no console).
  std::string ui_dir = "./web";
};

// `auth:` — bearer tokens (JWT) for every API route. Closed by default: with
// no signing key configured every protected route answers 401.
struct AuthClientConfig {
  std::string id;
  std::string secret_sha256;        // hex SHA-256 of the client secret
  std::vector<std::string> scopes;  // the most this client may be granted
  int line = 0;
};

struct AuthConfig {
  std::string issuer = "junction";
  std::string audience = "junction";
  std::string hs256_secret;       // >= 32 bytes
  std::string rs256_private_key;  // PEM, for minting (junction token, /auth/token)
  std::string jwks;               // JWKS file with the public keys that verify (RS256/ES256)
  std::string es256_private_key;  // PEM, for minting ES256
  std::chrono::seconds clock_skew{60};
  std::chrono::seconds token_ttl{3600};  // tokens minted by /auth/token
  std::vector<AuthClientConfig> clients;
};

// `fhir:` — settings of the v2 -> FHIR conversion (fhir::ConvertOptions), used
// by fhir-convert destinations and `junction convert --config`.
struct FhirSettings {
  std::string default_timezone = "UTC";
  std::string local_system_base = "urn:junction:id:";
  std::map<std::string, std::string> identifier_systems;
};

struct Config {
  std::string file;  // the path it was read from
  LogConfig log;
  ServerConfig server;
  StoreConfig store;
  std::shared_ptr<const Tables> tables = std::make_shared<Tables>();  // `tables:`
  FhirSettings fhir;                                                  // `fhir:`
  FhirStoreConfig fhir_store;                                         // `fhir_store:`
  HttpConfig http;                                                    // `http:`
  AuthConfig auth;                                                    // `auth:`
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
inline constexpr std::size_t kMaxDestinations = 64;  // per channel
inline constexpr int kMaxAttemptsLimit = 1'000'000;

// Reads and checks the file. kIoError when it cannot be read (message names
// the file), kInvalidArgument with `file:line: key: reason` otherwise.
Result<Config> LoadConfig(const std::string& path);

// Parses YAML text; `file` is used in error messages and Config::file.
Result<Config> ParseConfig(std::string_view yaml, const std::string& file);

// "HOST:PORT" or "[V6]:PORT" → host and port; kInvalidArgument with a reason.
Status ParseListenAddress(std::string_view text, std::string* host, std::uint16_t* port);

}  // namespace junction::engine
