// Shared helpers for the fuzz targets: invariant checks that abort with a
// readable reason (libFuzzer and the replay main both treat abort as a failure).
#pragma once

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace junction::fuzz {

[[noreturn]] inline void Fail(const char* file, int line, const char* what, std::string_view a = {},
                              std::string_view b = {}) {
  std::fprintf(stderr, "%s:%d: invariant failed: %s\n", file, line, what);
  // Show at most a prefix of the values involved: enough to see the difference.
  auto show = [](const char* label, std::string_view v) {
    if (v.data() == nullptr) return;
    std::fprintf(stderr, "  %s (%zu bytes): ", label, v.size());
    for (std::size_t i = 0; i < v.size() && i < 400; ++i) {
      const auto c = static_cast<unsigned char>(v[i]);
      if (c >= 0x20 && c < 0x7f && c != '\\') {
        std::fputc(c, stderr);
      } else {
        std::fprintf(stderr, "\\x%02X", c);
      }
    }
    std::fputc('\n', stderr);
  };
  show("left", a);
  show("right", b);
  std::abort();
}

}  // namespace junction::fuzz

#define JFUZZ_CHECK(cond)                                                      \
  do {                                                                         \
    if (!(cond)) ::junction::fuzz::Fail(__FILE__, __LINE__, #cond);            \
  } while (0)

// Compares two string-like values and shows both when they differ.
#define JFUZZ_CHECK_EQ(a, b)                                                   \
  do {                                                                         \
    /* References keep temporaries (e.g. an Encode() result) alive. */         \
    const auto& jfuzz_a_ = (a);                                                \
    const auto& jfuzz_b_ = (b);                                                \
    const std::string_view jfuzz_av_(jfuzz_a_);                                \
    const std::string_view jfuzz_bv_(jfuzz_b_);                                \
    if (jfuzz_av_ != jfuzz_bv_) {                                              \
      ::junction::fuzz::Fail(__FILE__, __LINE__, #a " == " #b, jfuzz_av_, jfuzz_bv_); \
    }                                                                          \
  } while (0)
