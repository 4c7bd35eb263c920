// Hex digit helpers shared by the escape codec (\Xhh..\) and charset code.
// Private to junction::hl7. Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace junction::hl7::internal {

// Value of an ASCII hex digit (either case), or -1.
constexpr int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// True when `s` is a non-empty, even-length run of hex digits.
constexpr bool IsHexBytes(std::string_view s) {
  if (s.empty() || s.size() % 2 != 0) return false;
  for (char c : s) {
    if (HexValue(c) < 0) return false;
  }
  return true;
}

// Appends the bytes of `s`, which must satisfy IsHexBytes.
inline void AppendHexBytes(std::string_view s, std::string* out) {
  for (std::size_t i = 0; i + 1 < s.size(); i += 2) {
    out->push_back(static_cast<char>((HexValue(s[i]) << 4) | HexValue(s[i + 1])));
  }
}

}  // namespace junction::hl7::internal
