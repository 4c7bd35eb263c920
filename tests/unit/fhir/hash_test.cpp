// StableHasher (internal/hash.h): the bytes of every resource id depend on it,
// so its faster loop must give what the definition in docs/fhir-mapping.md
// gives (two FNV-1a 64 passes, the second with a shift-xor per byte, each
// finished with splitmix64), for any split of a key into pieces.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/internal/hash.h"

namespace junction::fhir::internal {
namespace {

// The definition, one byte per step.
StableHash Reference(std::string_view key) {
  std::uint64_t h1 = 0xcbf29ce484222325ULL;
  std::uint64_t h2 = 0x6c62272e07bb0142ULL;
  for (unsigned char c : key) {
    h1 = (h1 ^ c) * 0x100000001b3ULL;
    h2 = (h2 ^ c) * 0x100000001b3ULL;
    h2 ^= h2 >> 29;
  }
  return {Mix64(h1 ^ key.size()), Mix64(h2 + 0x9e3779b97f4a7c15ULL)};
}

TEST(StableHasherTest, MatchesTheDefinitionForAnySplit) {
  std::mt19937_64 rng(20261127);
  for (int round = 0; round < 20000; ++round) {
    std::string key(rng() % 90, '\0');
    for (char& ch : key) ch = static_cast<char>(rng());
    // Cut the key into up to four pieces (empty ones included).
    std::vector<std::size_t> cuts = {0, key.size()};
    for (int i = rng() % 4; i > 0; --i) cuts.push_back(rng() % (key.size() + 1));
    std::sort(cuts.begin(), cuts.end());
    StableHasher h;
    for (std::size_t i = 0; i + 1 < cuts.size(); ++i)
      h.Update(std::string_view(key).substr(cuts[i], cuts[i + 1] - cuts[i]));
    ASSERT_EQ(h.Finish(), Reference(key)) << "round " << round << ", " << key.size() << " bytes";
  }
}

TEST(StableHasherTest, KnownIds) {
  // The Patient of tests/golden/fhir/cases/adt_a01: ids that stored resources
  // already carry must not change.
  constexpr std::string_view kId = "319006ef-06dd-8650-a76f-103554a0b4bd";
  EXPECT_EQ(StableUuid("Patient|urn:junction:id:HOSPA|MRN12345"), kId);
  StableHasher h;  // the same key in the pieces Upsert feeds
  h.Update("Patient|");
  h.Update("urn:junction:id:HOSPA");
  h.Update("|");
  h.Update("MRN12345");
  char id[36];
  FormatUuid(h.Finish(), id);
  EXPECT_EQ(std::string_view(id, sizeof id), kId);
}

}  // namespace
}  // namespace junction::fhir::internal
