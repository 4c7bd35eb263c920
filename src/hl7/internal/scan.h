// Finds structural bytes (field separator, CR, LF) 16 at a time. Private to hl7.
//
// The parser spends most of its time looking for these three bytes, so they are
// found with SSE2 where the compiler offers it, and a portable loop elsewhere.
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace junction::hl7::internal {

inline constexpr std::size_t kScanBlock = 16;

// Bit i is set when p[i] is `field`, '\r' or '\n'. Reads exactly 16 bytes.
inline std::uint32_t StructuralMask16(const char* p, char field) {
#if defined(__SSE2__)
  const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i hits = _mm_or_si128(
      _mm_cmpeq_epi8(bytes, _mm_set1_epi8(field)),
      _mm_or_si128(_mm_cmpeq_epi8(bytes, _mm_set1_epi8('\r')),
                   _mm_cmpeq_epi8(bytes, _mm_set1_epi8('\n'))));
  return static_cast<std::uint32_t>(_mm_movemask_epi8(hits));
#else
  std::uint32_t mask = 0;
  for (std::size_t i = 0; i < kScanBlock; ++i) {
    const char c = p[i];
    if (c == field || c == '\r' || c == '\n') mask |= 1u << i;
  }
  return mask;
#endif
}

// The same for fewer than 16 bytes (the tail of a buffer).
inline std::uint32_t StructuralMaskTail(const char* p, std::size_t n, char field) {
  std::uint32_t mask = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = p[i];
    if (c == field || c == '\r' || c == '\n') mask |= 1u << i;
  }
  return mask;
}

}  // namespace junction::hl7::internal
