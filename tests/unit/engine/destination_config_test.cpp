// Parsing of destinations, file sources and `fhir:` (engine/internal/destination_config.h).
#include "engine/internal/destination_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace junction::engine::internal {
namespace {

using std::chrono::milliseconds;

struct Parsed {
  Status status;
  DestinationConfig config;
};

Parsed Dest(const std::string& yaml) {
  ConfigParser parser("t.yaml");
  Parsed p;
  Tables tables;
  YAML::Node node = YAML::Load(yaml);
  p.status = ParseDestination(parser, node, 1, "channels[0].destinations[0]", tables, &p.config);
  return p;
}

std::string DestError(const std::string& yaml) {
  Parsed p = Dest(yaml);
  EXPECT_FALSE(p.status.ok()) << yaml;
  return p.status.message();
}

std::string SourceError(const std::string& yaml, FileSourceConfig* out = nullptr) {
  ConfigParser parser("t.yaml");
  FileSourceConfig config;
  Status st = ParseFileSource(parser, YAML::Load(yaml), 1, "channels[0].source.file", &config);
  if (out) *out = config;
  return st.ok() ? std::string() : st.message();
}

std::string FhirError(const std::string& yaml, FhirSettings* out = nullptr) {
  ConfigParser parser("t.yaml");
  FhirSettings config;
  Status st = ParseFhirSettings(parser, YAML::Load(yaml), 1, &config);
  if (out) *out = config;
  return st.ok() ? std::string() : st.message();
}

// A readable PEM-named file (only readability is checked at parse time).
std::string TempFile(const std::string& name) {
  const auto path = std::filesystem::temp_directory_path() / ("dest_config_" + name);
  std::ofstream(path) << "x";
  return path.string();
}

TEST(DestinationConfigTest, MllpWithEveryKey) {
  const std::string ca = TempFile("ca.pem"), cert = TempFile("c.pem"), key = TempFile("c.key");
  Parsed p = Dest(
      "name: ehr\n"
      "mllp: { connect: 127.0.0.1:2577, response_timeout: 250ms, connect_timeout: 2s,\n"
      "        on_ae: retry, window: 32,\n"
      "        tls: { ca: " +
      ca + ", cert: " + cert + ", key: " + key +
      ", server_name: ehr.local, verify: false } }\n"
      "retry: { max_attempts: 7, backoff: 2s..10m }\n"
      "ordering: best-effort\n");
  ASSERT_TRUE(p.status.ok()) << p.status.message();
  const DestinationConfig& d = p.config;
  EXPECT_EQ(d.name, "ehr");
  EXPECT_EQ(d.kind, DestinationKind::kMllp);
  EXPECT_EQ(d.mllp.host, "127.0.0.1");
  EXPECT_EQ(d.mllp.port, 2577);
  EXPECT_EQ(d.mllp.response_timeout, milliseconds(250));
  EXPECT_EQ(d.mllp.connect_timeout, milliseconds(2000));
  EXPECT_EQ(d.mllp.on_ae, AeAction::kRetry);
  EXPECT_EQ(d.mllp.window, 32u);
  ASSERT_TRUE(d.mllp.tls.has_value());
  EXPECT_EQ(d.mllp.tls->ca, ca);
  EXPECT_EQ(d.mllp.tls->cert, cert);
  EXPECT_EQ(d.mllp.tls->key, key);
  EXPECT_EQ(d.mllp.tls->server_name, "ehr.local");
  EXPECT_FALSE(d.mllp.tls->verify);
  EXPECT_EQ(d.retry.max_attempts, 7);
  EXPECT_EQ(d.retry.initial_backoff, milliseconds(2000));
  EXPECT_EQ(d.retry.max_backoff, milliseconds(600000));
  EXPECT_EQ(d.ordering, Ordering::kBestEffort);
  EXPECT_EQ(d.line, 1);
  EXPECT_FALSE(d.fhir_convert.has_value());
  EXPECT_TRUE(d.pipeline.empty());
}

TEST(DestinationConfigTest, Defaults) {
  Parsed p = Dest("name: a\nmllp: { connect: 'ehr.example:2577' }\n");
  ASSERT_TRUE(p.status.ok()) << p.status.message();
  EXPECT_EQ(p.config.mllp.host, "ehr.example");
  EXPECT_EQ(p.config.mllp.on_ae, AeAction::kError);
  EXPECT_EQ(p.config.mllp.window, 0u);  // by ordering
  EXPECT_EQ(p.config.mllp.response_timeout, milliseconds(5000));
  EXPECT_FALSE(p.config.mllp.tls.has_value());
  EXPECT_EQ(p.config.retry.max_attempts, 10);
  EXPECT_EQ(p.config.retry.initial_backoff, milliseconds(1000));
  EXPECT_EQ(p.config.retry.max_backoff, milliseconds(300000));
  EXPECT_EQ(p.config.ordering, Ordering::kStrict);
}

TEST(DestinationConfigTest, HttpWithEveryKey) {
  const std::string ca = TempFile("ca.pem");
  Parsed p = Dest(
      "name: registry\n"
      "http: { url: \"https://127.0.0.1:8443/hl7?x=1\", body: json,\n"
      "        content_type: application/x-test,\n"
      "        headers: { X-Api-Key: abc, Authorization: Bearer t },\n"
      "        timeout: 1m, tls: { ca: " +
      ca + " } }\n");
  ASSERT_TRUE(p.status.ok()) << p.status.message();
  const HttpDestinationConfig& h = p.config.http;
  EXPECT_EQ(p.config.kind, DestinationKind::kHttp);
  EXPECT_TRUE(h.https);
  EXPECT_EQ(h.host, "127.0.0.1");
  EXPECT_EQ(h.port, 8443);
  EXPECT_EQ(h.target, "/hl7?x=1");
  EXPECT_EQ(h.url, "https://127.0.0.1:8443/hl7?x=1");
  EXPECT_EQ(h.body, HttpBody::kJson);
  EXPECT_EQ(h.content_type, "application/x-test");
  ASSERT_EQ(h.headers.size(), 2u);
  EXPECT_EQ(h.headers[0], (std::pair<std::string, std::string>{"X-Api-Key", "abc"}));
  EXPECT_EQ(h.headers[1], (std::pair<std::string, std::string>{"Authorization", "Bearer t"}));
  EXPECT_EQ(h.timeout, milliseconds(60000));
  ASSERT_TRUE(h.tls.has_value());
  EXPECT_EQ(h.tls->ca, ca);
}

TEST(DestinationConfigTest, HttpUrlForms) {
  Parsed p = Dest("name: a\nhttp: { url: 'http://[::1]' }\n");
  ASSERT_TRUE(p.status.ok()) << p.status.message();
  EXPECT_EQ(p.config.http.host, "::1");
  EXPECT_EQ(p.config.http.port, 80);
  EXPECT_EQ(p.config.http.target, "/");
  EXPECT_FALSE(p.config.http.https);
  EXPECT_EQ(p.config.http.body, HttpBody::kEr7);
  p = Dest("name: a\nhttp: { url: 'https://fhir.example/base' }\n");
  ASSERT_TRUE(p.status.ok()) << p.status.message();
  EXPECT_EQ(p.config.http.port, 443);
  EXPECT_EQ(p.config.http.target, "/base");
}

TEST(DestinationConfigTest, FileChannelAndFhirConvert) {
  Parsed p = Dest("name: archive\nfile: { dir: ./var/out, name: '{channel}-{MSH-10}-{id}.hl7' }\n");
  ASSERT_TRUE(p.status.ok()) << p.status.message();
  EXPECT_EQ(p.config.kind, DestinationKind::kFile);
  EXPECT_EQ(p.config.file.dir, "./var/out");
  EXPECT_EQ(p.config.file.name, "{channel}-{MSH-10}-{id}.hl7");

  p = Dest("name: a\nfile: { dir: out }\n");
  ASSERT_TRUE(p.status.ok());
  EXPECT_EQ(p.config.file.name, "{MSH-10}.hl7");

  p = Dest("name: next\nchannel: other-channel\n");
  ASSERT_TRUE(p.status.ok()) << p.status.message();
  EXPECT_EQ(p.config.kind, DestinationKind::kChannel);
  EXPECT_EQ(p.config.channel.channel, "other-channel");

  p = Dest(
      "name: fhir-out\n"
      "fhir-convert: { bundle: collection, to: { http: { url: 'http://127.0.0.1:8080/fhir' } } "
      "}\n");
  ASSERT_TRUE(p.status.ok()) << p.status.message();
  EXPECT_EQ(p.config.kind, DestinationKind::kHttp);
  ASSERT_TRUE(p.config.fhir_convert.has_value());
  EXPECT_EQ(p.config.fhir_convert->bundle, "collection");
  EXPECT_EQ(p.config.http.body, HttpBody::kJson);
  EXPECT_EQ(p.config.http.target, "/fhir");

  p = Dest("name: fhir-file\nfhir-convert: { to: { file: { dir: out } } }\n");
  ASSERT_TRUE(p.status.ok()) << p.status.message();
  EXPECT_EQ(p.config.kind, DestinationKind::kFile);
  EXPECT_EQ(p.config.fhir_convert->bundle, "transaction");
  EXPECT_EQ(p.config.file.name, "{MSH-10}.json");
}

TEST(DestinationConfigTest, DestinationErrors) {
  const std::string k = "t.yaml:1: channels[0].destinations[0]";
  EXPECT_EQ(DestError("[1, 2]"), k + ": must be a mapping with name and one of mllp, http, file, "
                                     "channel, fhir-convert, fhir-store");
  EXPECT_EQ(DestError("mllp: { connect: 127.0.0.1:1 }"), k + ".name: is required");
  EXPECT_EQ(DestError("name: a"),
            k + ": needs one of mllp, http, file, channel, fhir-convert, fhir-store");
  EXPECT_EQ(DestError("name: a b\nchannel: x"),
            k + ".name: must be 1 to 64 letters, digits, '_' or '-'");
  EXPECT_EQ(DestError("name: " + std::string(65, 'a') + "\nchannel: x"),
            k + ".name: must be 1 to 64 letters, digits, '_' or '-'");
  EXPECT_EQ(DestError("name: a\nchannel: x\nfile: { dir: d }"),
            "t.yaml:3: channels[0].destinations[0].file: a destination has exactly one of mllp, "
            "http, file, channel, fhir-convert, fhir-store (this one already has channel)");
  EXPECT_EQ(
      DestError("name: a\nchannel: x\nbogus: 1"),
      "t.yaml:3: channels[0].destinations[0].bogus: unknown key (expected one of: name, mllp, "
      "http, file, channel, fhir-convert, fhir-store, filter, transform, retry, ordering)");
  EXPECT_EQ(DestError("name: a\nchannel: x\nname: b"),
            "t.yaml:3: channels[0].destinations[0].name: duplicate key");
  EXPECT_EQ(DestError("name: a\nchannel: 'x/y'"),
            "t.yaml:2: channels[0].destinations[0].channel: channel name must be 1 to 64 letters, "
            "digits, '_' or '-'");
  EXPECT_EQ(DestError("name: a\nchannel: x\nordering: fifo"),
            "t.yaml:3: channels[0].destinations[0].ordering: must be one of strict, best-effort");
}

TEST(DestinationConfigTest, RetryErrors) {
  const std::string k = "t.yaml:2: channels[0].destinations[0].retry";
  EXPECT_EQ(DestError("name: a\nretry: { max_attempts: 0 }\nchannel: x"),
            k + ".max_attempts: must be an integer from 1 to 1000000");
  EXPECT_EQ(DestError("name: a\nretry: { backoff: 5s }\nchannel: x"),
            k + ".backoff: must be INITIAL..MAX, e.g. 1s..5m");
  EXPECT_EQ(DestError("name: a\nretry: { backoff: 1x..5m }\nchannel: x"),
            k + ".backoff: must be INITIAL..MAX, e.g. 1s..5m");
  EXPECT_EQ(DestError("name: a\nretry: { backoff: 5m..1s }\nchannel: x"),
            k + ".backoff: INITIAL must not exceed MAX");
  EXPECT_EQ(DestError("name: a\nretry: { backoff: 0ms..2d }\nchannel: x"),
            k + ".backoff: each bound must be from 1ms to 1d");
  EXPECT_EQ(DestError("name: a\nretry: { tries: 3 }\nchannel: x"),
            k + ".tries: unknown key (expected one of: max_attempts, backoff)");
}

TEST(DestinationConfigTest, MllpErrors) {
  const std::string k = "t.yaml:2: channels[0].destinations[0].mllp";
  EXPECT_EQ(DestError("name: a\nmllp: 127.0.0.1:1"),
            k + ": must be a mapping with at least connect");
  EXPECT_EQ(DestError("name: a\nmllp: { on_ae: retry }"), k + ".connect: is required (HOST:PORT)");
  EXPECT_EQ(DestError("name: a\nmllp: { connect: nohost }"),
            k + ".connect: 'nohost' must be HOST:PORT or [IPV6]:PORT");
  EXPECT_EQ(DestError("name: a\nmllp: { connect: '127.0.0.1:0' }"),
            k + ".connect: '127.0.0.1:0': needs a host and a port from 1 to 65535");
  EXPECT_EQ(DestError("name: a\nmllp: { connect: '127.0.0.1:1', on_ae: ignore }"),
            k + ".on_ae: must be one of error, retry");
  EXPECT_EQ(DestError("name: a\nmllp: { connect: '127.0.0.1:1', window: 0 }"),
            k + ".window: must be an integer from 1 to 256");
  EXPECT_EQ(DestError("name: a\nmllp: { connect: '127.0.0.1:1', window: 257 }"),
            k + ".window: must be an integer from 1 to 256");
  EXPECT_EQ(DestError("name: a\nmllp: { connect: '127.0.0.1:1', response_timeout: soon }"),
            k + ".response_timeout: must be a duration: a number with ms, s, m, h or d (e.g. 5s, "
                "250ms), or a bare number of milliseconds");
  EXPECT_EQ(DestError("name: a\nmllp: { connect: '127.0.0.1:1', connect_timeout: 0 }"),
            k + ".connect_timeout: must be from 1ms to 1d");
  EXPECT_EQ(DestError("name: a\nmllp: { connect: '127.0.0.1:1', connect_timeout: 2d }"),
            k + ".connect_timeout: must be from 1ms to 1d");
  EXPECT_EQ(DestError("name: a\nmllp: { connect: '127.0.0.1:1', connect_timeout: [1] }"),
            k + ".connect_timeout: must be a duration (e.g. 5s, 250ms, 1m, 2h, 7d)");
  EXPECT_EQ(
      DestError("name: a\nmllp: { connect: '127.0.0.1:1', tls: { ca: /nonexistent/ca.pem } }"),
      k + ".tls.ca: cannot read file '/nonexistent/ca.pem'");
  const std::string cert = TempFile("only.pem");
  EXPECT_EQ(DestError("name: a\nmllp: { connect: '127.0.0.1:1', tls: { cert: " + cert + " } }"),
            k + ".tls.key: cert and key go together (client certificate for mutual TLS)");
  EXPECT_EQ(DestError("name: a\nmllp: { connect: '127.0.0.1:1', tls: { verify: maybe } }"),
            k + ".tls.verify: must be true or false");
  EXPECT_EQ(DestError("name: a\nmllp: { connect: '127.0.0.1:1', tls: { sni: x } }"),
            k + ".tls.sni: unknown key (expected one of: ca, cert, key, server_name, verify)");
}

TEST(DestinationConfigTest, HttpErrors) {
  const std::string k = "t.yaml:2: channels[0].destinations[0].http";
  EXPECT_EQ(DestError("name: a\nhttp: { body: er7 }"), k + ".url: is required");
  EXPECT_EQ(DestError("name: a\nhttp: { url: 'ftp://x/' }"),
            k + ".url: must start with http:// or https://");
  EXPECT_EQ(DestError("name: a\nhttp: { url: 'http:///x' }"), k + ".url: has no host");
  EXPECT_EQ(DestError("name: a\nhttp: { url: 'http://h:99999/' }"),
            k + ".url: port must be a number from 1 to 65535");
  EXPECT_EQ(DestError("name: a\nhttp: { url: 'http://u:p@h/' }"),
            k + ".url: must not contain user info (use headers for credentials)");
  EXPECT_EQ(DestError("name: a\nhttp: { url: 'http://h/a b' }"),
            k + ".url: must not contain spaces or control bytes");
  EXPECT_EQ(DestError("name: a\nhttp: { url: 'http://h/', body: xml }"),
            k + ".body: must be one of er7, json");
  EXPECT_EQ(DestError("name: a\nhttp: { url: 'http://h/', headers: { 'Bad Name': x } }"),
            k + ".headers.Bad Name: is not a valid header name");
  EXPECT_EQ(DestError("name: a\nhttp: { url: 'http://h/', headers: { Content-Length: 3 } }"),
            k + ".headers.Content-Length: is set by Junction");
  EXPECT_EQ(DestError("name: a\nhttp: { url: 'http://h/', headers: { content-type: x } }"),
            k + ".headers.content-type: is set by Junction (use content_type)");
  EXPECT_EQ(DestError("name: a\nhttp: { url: 'http://h/', headers: { X-A: 1, x-a: 2 } }"),
            k + ".headers.x-a: duplicate header");
  EXPECT_EQ(DestError("name: a\nhttp: { url: 'http://h/', headers: [a] }"),
            k + ".headers: must be a mapping (Header-Name: value)");
  EXPECT_EQ(DestError("name: a\nhttp: { url: 'http://h/', headers: { X-A: \"a\\nb\" } }"),
            k + ".headers.X-A: must not contain line breaks");
  EXPECT_EQ(DestError("name: a\nhttp: { url: 'http://h/', tls: { verify: false } }"),
            k + ".tls: needs an https:// url");
  EXPECT_EQ(DestError("name: a\nhttp: { url: 'http://h/', timeout: 5 parsecs }"),
            k + ".timeout: must be a duration: a number with ms, s, m, h or d (e.g. 5s, 250ms), "
                "or a bare number of milliseconds");
}

TEST(DestinationConfigTest, FileAndFhirConvertErrors) {
  const std::string k = "t.yaml:2: channels[0].destinations[0]";
  EXPECT_EQ(DestError("name: a\nfile: { name: x }"), k + ".file.dir: is required");
  EXPECT_EQ(DestError("name: a\nfile: { dir: '' }"), k + ".file.dir: must not be empty");
  EXPECT_EQ(DestError("name: a\nfile: { dir: d, name: '../{MSH-10}' }"),
            k + ".file.name: the name must not contain '/', '\\' or NUL (it names a file in dir)");
  EXPECT_EQ(DestError("name: a\nfile: { dir: d, name: '{MSH-10' }"),
            k + ".file.name: '{' without '}'");
  EXPECT_EQ(DestError("name: a\nfile: { dir: d, name: 'x}' }"), k + ".file.name: '}' without '{'");
  EXPECT_EQ(DestError("name: a\nfile: { dir: d, name: '{nonsense}' }"),
            k + ".file.name: unknown placeholder {nonsense} (expected an HL7 path such as "
                "{MSH-10}, or {id}, {channel}, {destination}, {date}, {time})");
  EXPECT_EQ(DestError("name: a\nfhir-convert: { bundle: transaction }"),
            k + ".fhir-convert.to: is required ({ http: ... } or { file: ... })");
  EXPECT_EQ(DestError("name: a\nfhir-convert: { bundle: searchset, to: { file: { dir: d } } }"),
            k + ".fhir-convert.bundle: must be one of transaction, batch, collection");
  EXPECT_EQ(DestError("name: a\nfhir-convert: { to: { mllp: { connect: '1.2.3.4:5' } } }"),
            k + ".fhir-convert.to.mllp: unknown key (expected one of: http, file)");
  EXPECT_EQ(
      DestError("name: a\nfhir-convert: { to: { file: { dir: d }, http: { url: 'http://h' } } }"),
      k + ".fhir-convert.to: must be a mapping with exactly one of http, file");
  EXPECT_EQ(DestError("name: a\nfhir-convert: { to: { http: { url: 'http://h', body: er7 } } }"),
            k + ".fhir-convert.to.http.body: fhir-convert posts the Bundle as JSON; must be json");
  EXPECT_EQ(DestError("name: a\nfhir-convert: []"),
            k + ".fhir-convert: must be a mapping with at least to");
}

TEST(DestinationConfigTest, DurationForms) {
  EXPECT_EQ(DurationFromText("250ms"), milliseconds(250));
  EXPECT_EQ(DurationFromText("5s"), milliseconds(5000));
  EXPECT_EQ(DurationFromText("1m"), milliseconds(60000));
  EXPECT_EQ(DurationFromText("2h"), milliseconds(7'200'000));
  EXPECT_EQ(DurationFromText("7d"), milliseconds(604'800'000));
  EXPECT_EQ(DurationFromText("1500"), milliseconds(1500));
  EXPECT_FALSE(DurationFromText(""));
  EXPECT_FALSE(DurationFromText("s"));
  EXPECT_FALSE(DurationFromText("-5s"));
  EXPECT_FALSE(DurationFromText("1.5s"));
  EXPECT_FALSE(DurationFromText("5 sec"));
  EXPECT_FALSE(DurationFromText("9999999999999s"));
  EXPECT_EQ(FormatDuration(milliseconds(300000)), "5m");
  EXPECT_EQ(FormatDuration(milliseconds(1500)), "1500ms");
  EXPECT_EQ(FormatDuration(milliseconds(0)), "0ms");

  ConfigParser parser("t.yaml");
  auto d = ParseDuration(parser, YAML::Load("7d"), 1, "k", milliseconds(1),
                         milliseconds(8 * 86'400'000));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, milliseconds(604'800'000));
  d = ParseDuration(parser, YAML::Load("7d"), 1, "k", milliseconds(1), milliseconds(86'400'000));
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message(), "t.yaml:1: k: must be from 1ms to 1d");
}

TEST(DestinationConfigTest, FileSource) {
  FileSourceConfig c;
  EXPECT_EQ(SourceError("{ dir: ./in, pattern: '*.txt', move_to: ./done, error_dir: ./bad,\n"
                        "  poll_interval: 250ms, min_age: 0, max_file_bytes: 1024 }",
                        &c),
            "");
  EXPECT_EQ(c.dir, "./in");
  EXPECT_EQ(c.pattern, "*.txt");
  EXPECT_EQ(c.move_to, "./done");
  EXPECT_EQ(c.error_dir, "./bad");
  EXPECT_EQ(c.poll_interval, milliseconds(250));
  EXPECT_EQ(c.min_age, milliseconds(0));
  EXPECT_EQ(c.max_file_bytes, 1024u);

  EXPECT_EQ(SourceError("{ dir: in }", &c), "");
  EXPECT_EQ(c.pattern, "*.hl7");
  EXPECT_EQ(c.move_to, "");
  EXPECT_EQ(c.min_age, milliseconds(1000));
  EXPECT_EQ(c.max_file_bytes, 64u << 20);

  const std::string k = "t.yaml:1: channels[0].source.file";
  EXPECT_EQ(SourceError("in"), k + ": must be a mapping with at least dir");
  EXPECT_EQ(SourceError("{ pattern: '*' }"), k + ".dir: is required");
  EXPECT_EQ(SourceError("{ dir: in, pattern: 'a/*.hl7' }"),
            k + ".pattern: is a file-name pattern and must not contain '/'");
  EXPECT_EQ(SourceError("{ dir: in, move_to: in/ }"), k + ".move_to: must differ from dir");
  EXPECT_EQ(SourceError("{ dir: ./in, error_dir: in }"), k + ".error_dir: must differ from dir");
  EXPECT_EQ(SourceError("{ dir: in, poll_interval: 1ms }"),
            k + ".poll_interval: must be from 10ms to 1d");
  EXPECT_EQ(SourceError("{ dir: in, max_file_bytes: 0 }"),
            k + ".max_file_bytes: must be an integer from 1 to 1073741824");
  EXPECT_EQ(SourceError("{ dir: in, recursive: true }"),
            k + ".recursive: unknown key (expected one of: dir, pattern, move_to, error_dir, "
                "poll_interval, min_age, max_file_bytes)");
}

TEST(DestinationConfigTest, FhirSettings) {
  FhirSettings f;
  EXPECT_EQ(FhirError("{ default_timezone: Europe/Berlin, local_system_base: 'urn:x:',\n"
                      "  identifier_systems: { HOSP: 'http://hosp.example/mrn', LAB: 'urn:lab' } }",
                      &f),
            "");
  EXPECT_EQ(f.default_timezone, "Europe/Berlin");
  EXPECT_EQ(f.local_system_base, "urn:x:");
  EXPECT_EQ(f.identifier_systems.size(), 2u);
  EXPECT_EQ(f.identifier_systems["HOSP"], "http://hosp.example/mrn");
  EXPECT_EQ(FhirError("{ default_timezone: '+01:00' }", &f), "");
  EXPECT_EQ(f.default_timezone, "+01:00");
  EXPECT_EQ(f.local_system_base, "urn:junction:id:");

  EXPECT_EQ(FhirError("{ default_timezone: Mars/Olympus }"),
            "t.yaml:1: fhir.default_timezone: 'Mars/Olympus' is not a known time zone (IANA name "
            "such as Europe/Berlin, or an offset such as +01:00)");
  EXPECT_EQ(FhirError("{ local_system_base: '' }"),
            "t.yaml:1: fhir.local_system_base: must not be empty");
  EXPECT_EQ(FhirError("{ identifier_systems: [a] }"),
            "t.yaml:1: fhir.identifier_systems: must be a mapping (AUTHORITY: system URI)");
  EXPECT_EQ(FhirError("{ identifier_systems: { HOSP: '' } }"),
            "t.yaml:1: fhir.identifier_systems.HOSP: must not be empty");
  EXPECT_EQ(FhirError("{ zone: UTC }"),
            "t.yaml:1: fhir.zone: unknown key (expected one of: default_timezone, "
            "local_system_base, identifier_systems)");
}

}  // namespace
}  // namespace junction::engine::internal
