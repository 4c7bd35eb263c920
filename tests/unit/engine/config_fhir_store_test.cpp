// `fhir_store:`, the fhir-store destination and http sources in the config.
#include <gtest/gtest.h>

#include "junction/engine/config.h"

namespace junction::engine {
namespace {

constexpr const char* kChannel = R"(
channels:
  - name: record
    source: { mllp: { listen: 127.0.0.1:2575 } }
    destinations:
      - name: fhir
        fhir-store: {}
)";

TEST(ConfigFhirStoreTest, DefaultPathSitsNextToTheMessageStore) {
  auto config = ParseConfig(std::string("store: { sqlite: /data/j/main.db }\n") + kChannel, "t.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(FhirStorePath(config->store, config->fhir_store), "/data/j/main-fhir.db");
  EXPECT_TRUE(config->fhir_store.durable);
  ASSERT_EQ(config->channels[0].destinations.size(), 1u);
  EXPECT_EQ(config->channels[0].destinations[0].kind, DestinationKind::kFhirStore);
  EXPECT_EQ(DestinationKindName(DestinationKind::kFhirStore), "fhir-store");
}

TEST(ConfigFhirStoreTest, ExplicitPathAndDurability) {
  auto config = ParseConfig(std::string("fhir_store: { sqlite: /x/r.db, durable: false }\n") + kChannel,
                            "t.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(FhirStorePath(config->store, config->fhir_store), "/x/r.db");
  EXPECT_FALSE(config->fhir_store.durable);
}

TEST(ConfigFhirStoreTest, InMemoryMessageStoreMeansInMemoryFhirStore) {
  StoreConfig store;
  store.sqlite = ":memory:";
  EXPECT_EQ(FhirStorePath(store, FhirStoreConfig{}), ":memory:");
}

TEST(ConfigFhirStoreTest, ErrorsNameFileLineAndKey) {
  auto bad_key = ParseConfig(std::string("fhir_store: { path: x }\n") + kChannel, "t.yaml");
  ASSERT_FALSE(bad_key.ok());
  EXPECT_EQ(bad_key.status().message().rfind("t.yaml:1: fhir_store.path: unknown key", 0), 0u)
      << bad_key.status().message();

  auto settings = ParseConfig(R"(
channels:
  - name: record
    source: { mllp: { listen: 127.0.0.1:2575 } }
    destinations:
      - name: fhir
        fhir-store: { url: x }
)",
                              "t.yaml");
  ASSERT_FALSE(settings.ok());
  EXPECT_NE(settings.status().message().find("takes no settings"), std::string::npos)
      << settings.status().message();
}

TEST(ConfigFhirStoreTest, HttpSourceNeedsTheHttpSection) {
  const std::string channel = R"(
channels:
  - name: web
    source: { http: { path: /hl7/web } }
    destinations:
      - name: fhir
        fhir-store: {}
)";
  auto without = ParseConfig(channel, "t.yaml");
  ASSERT_FALSE(without.ok());
  EXPECT_NE(without.status().message().find("needs the top-level http"), std::string::npos);
  auto with = ParseConfig("http: { listen: 127.0.0.1:0 }\n" + channel, "t.yaml");
  ASSERT_TRUE(with.ok()) << with.status().message();
  EXPECT_EQ(with->channels[0].source, SourceKind::kHttp);
  EXPECT_EQ(with->channels[0].http.path, "/hl7/web");
}

}  // namespace
}  // namespace junction::engine
