// Stable 128-bit hash for deterministic resource ids (not cryptographic).
// Two independent FNV-1a 64 passes, each finished with the splitmix64 mixer,
// formatted as a UUID-shaped string (version nibble 8 = "custom", RFC 9562).
// The exact bytes are part of the id scheme (docs/fhir-mapping.md): changing
// this function changes every id, so it must stay as it is.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace junction::fhir::internal {

constexpr std::uint64_t Mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// The 128-bit hash of a key, fed in pieces (same result as one piece).
struct StableHash {
  std::uint64_t h1;
  std::uint64_t h2;
  bool operator==(const StableHash&) const = default;
};

class StableHasher {
 public:
  // Per byte c: h1 = (h1 ^ c) * P; h2 = (h2 ^ c) * P, h2 ^= h2 >> 29. The h2
  // chain is the bound (one multiply per byte after the previous one), so it
  // runs on m, the product before its shift-xor: m' = ((m ^ c) ^ (m >> 29)) * P
  // puts the xor with the next byte beside the shift instead of after it
  // (same values; one cycle less per byte).
  constexpr void Update(std::string_view piece) {
    if (piece.empty()) return;
    constexpr std::uint64_t kPrime = 0x100000001b3ULL;
    auto c0 = static_cast<unsigned char>(piece[0]);
    std::uint64_t h1 = (h1_ ^ c0) * kPrime;
    std::uint64_t m = (h2_ ^ c0) * kPrime;
    for (std::size_t i = 1; i < piece.size(); ++i) {
      auto c = static_cast<unsigned char>(piece[i]);
      h1 = (h1 ^ c) * kPrime;
      m = ((m ^ c) ^ (m >> 29)) * kPrime;
    }
    h1_ = h1;
    h2_ = m ^ (m >> 29);
    size_ += piece.size();
  }
  constexpr StableHash Finish() const {
    return {Mix64(h1_ ^ size_), Mix64(h2_ + 0x9e3779b97f4a7c15ULL)};
  }

 private:
  std::uint64_t h1_ = 0xcbf29ce484222325ULL;
  std::uint64_t h2_ = 0x6c62272e07bb0142ULL;
  std::uint64_t size_ = 0;
};

// Writes "xxxxxxxx-xxxx-8xxx-yxxx-xxxxxxxxxxxx" (36 chars, lower-case hex) to out.
inline void FormatUuid(StableHash h, char* out) {
  unsigned char b[16];
  for (int i = 0; i < 8; ++i) {
    b[i] = static_cast<unsigned char>(h.h1 >> (56 - 8 * i));
    b[8 + i] = static_cast<unsigned char>(h.h2 >> (56 - 8 * i));
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x80);  // version 8
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC variant
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) *out++ = '-';
    *out++ = kHex[b[i] >> 4];
    *out++ = kHex[b[i] & 0x0f];
  }
}

inline void StableUuidTo(std::string_view key, char* out) {
  StableHasher h;
  h.Update(key);
  FormatUuid(h.Finish(), out);
}

// The same as a string.
inline std::string StableUuid(std::string_view key) {
  std::string out(36, '\0');
  StableUuidTo(key, out.data());
  return out;
}

}  // namespace junction::fhir::internal
