#include "fhir/store/index_values.h"

#include <array>
#include <cstdio>

namespace junction::fhir::store_internal {
namespace {

// Base letters for U+00C0..U+00FF ("" = keep the character: × and ÷).
constexpr std::array<const char*, 64> kLatin1 = {
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",
    "d", "n", "o", "o", "o", "o", "o",  "",  "o", "u", "u", "u", "u", "y", "th", "ss",
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",
    "d", "n", "o", "o", "o", "o", "o",  "",  "o", "u", "u", "u", "u", "y", "th", "y"};

// Base letters for U+0100..U+017F (Latin Extended-A), one per code point.
constexpr std::string_view kLatinExtA =
    "aaaaaa"
    "cccccccc"
    "dddd"
    "eeeeeeeeee"
    "gggggggg"
    "hhhh"
    "iiiiiiiiii"
    "ii"
    "jj"
    "kkk"
    "llllllllll"
    "nnnnnnnnn"
    "oooooo"
    "oo"
    "rrrrrr"
    "ssssssss"
    "tttttt"
    "uuuuuuuuuuuu"
    "ww"
    "yyy"
    "zzzzzz"
    "s";
static_assert(kLatinExtA.size() == 128);

bool IsSpace(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

unsigned DaysInMonth(std::int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

// Reads exactly `n` digits at `pos`.
bool Digits(std::string_view s, std::size_t& pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  pos += n;
  out = v;
  return true;
}

constexpr std::int64_t kUsPerSecond = 1'000'000;
constexpr std::int64_t kUsPerDay = 86'400 * kUsPerSecond;

}  // namespace

std::string NormalizeString(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  auto put = [&](std::string_view s) {
    if (pending_space && !out.empty()) out += ' ';
    pending_space = false;
    out += s;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (IsSpace(c)) {
      pending_space = true;
      continue;
    }
    if (c < 0x80) {
      char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : static_cast<char>(c);
      put(std::string_view(&lower, 1));
      continue;
    }
    // Two-byte sequences C3 xx (U+00C0..U+00FF) and C4/C5 xx (U+0100..U+017F).
    if (i + 1 < text.size() && (c == 0xC3 || c == 0xC4 || c == 0xC5)) {
      unsigned char c2 = static_cast<unsigned char>(text[i + 1]);
      if ((c2 & 0xC0) == 0x80) {
        unsigned cp = ((c & 0x1Fu) << 6) | (c2 & 0x3Fu);
        if (cp >= 0xC0 && cp <= 0xFF && kLatin1[cp - 0xC0][0] != '\0') {
          put(kLatin1[cp - 0xC0]);
          ++i;
          continue;
        }
        if (cp >= 0x100 && cp <= 0x17F) {
          put(kLatinExtA.substr(cp - 0x100, 1));
          ++i;
          continue;
        }
      }
    }
    put(std::string_view(text.data() + i, 1));
  }
  return out;
}

std::optional<TimeRange> ParseDateRange(std::string_view s) {
  std::size_t pos = 0;
  int year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0;
  if (!Digits(s, pos, 4, year)) return std::nullopt;
  std::int64_t span_us = 0;
  std::int64_t lo = 0;
  if (pos == s.size()) {
    lo = DaysFromCivil(year, 1, 1) * kUsPerDay;
    return TimeRange{lo, DaysFromCivil(year + 1, 1, 1) * kUsPerDay - 1};
  }
  if (s[pos++] != '-' || !Digits(s, pos, 2, month) || month < 1 || month > 12) return std::nullopt;
  if (pos == s.size()) {
    lo = DaysFromCivil(year, static_cast<unsigned>(month), 1) * kUsPerDay;
    return TimeRange{lo, lo + DaysInMonth(year, static_cast<unsigned>(month)) * kUsPerDay - 1};
  }
  if (s[pos++] != '-' || !Digits(s, pos, 2, day) || day < 1 ||
      static_cast<unsigned>(day) > DaysInMonth(year, static_cast<unsigned>(month))) {
    return std::nullopt;
  }
  lo = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * kUsPerDay;
  if (pos == s.size()) return TimeRange{lo, lo + kUsPerDay - 1};
  if (s[pos++] != 'T' || !Digits(s, pos, 2, hour) || pos >= s.size() || s[pos++] != ':' ||
      !Digits(s, pos, 2, minute) || hour > 23 || minute > 59) {
    return std::nullopt;
  }
  span_us = 60 * kUsPerSecond;
  std::int64_t frac_us = 0;
  if (pos < s.size() && s[pos] == ':') {
    ++pos;
    if (!Digits(s, pos, 2, second) || second > 60) return std::nullopt;
    span_us = kUsPerSecond;
    if (pos < s.size() && s[pos] == '.') {
      ++pos;
      std::size_t digits = 0;
      std::int64_t scale = kUsPerSecond;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        if (digits < 6) {
          scale /= 10;
          frac_us += (s[pos] - '0') * scale;
        }
        ++digits;
        ++pos;
      }
      if (digits == 0) return std::nullopt;
      span_us = scale;
    }
  }
  std::int64_t offset_us = 0;
  if (pos < s.size()) {
    char sign = s[pos++];
    if (sign == 'Z') {
      if (pos != s.size()) return std::nullopt;
    } else if (sign == '+' || sign == '-') {
      int oh = 0, om = 0;
      if (!Digits(s, pos, 2, oh) || pos >= s.size() || s[pos++] != ':' || !Digits(s, pos, 2, om) ||
          pos != s.size() || oh > 14 || om > 59) {
        return std::nullopt;
      }
      offset_us = (oh * 3600LL + om * 60LL) * kUsPerSecond * (sign == '-' ? -1 : 1);
    } else {
      return std::nullopt;
    }
  }
  lo += (hour * 3600LL + minute * 60LL + second) * kUsPerSecond + frac_us - offset_us;
  return TimeRange{lo, lo + span_us - 1};
}

std::string FormatInstant(std::int64_t us) {
  std::int64_t days = us >= 0 ? us / kUsPerDay : -((-us + kUsPerDay - 1) / kUsPerDay);
  std::int64_t rem = us - days * kUsPerDay;
  // civil_from_days (H. Hinnant).
  std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
  std::int64_t secs = rem / kUsPerSecond;
  std::int64_t ms = (rem % kUsPerSecond) / 1000;
  char buf[128];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
                static_cast<long long>(y), m, d, static_cast<long long>(secs / 3600),
                static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60),
                static_cast<long long>(ms));
  return buf;
}

bool IsValidId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

bool IsValidTypeName(std::string_view type) {
  if (type.empty() || type.size() > 64 || type[0] < 'A' || type[0] > 'Z') return false;
  for (char c : type) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return false;
  }
  return true;
}

std::optional<RelativeReference> SplitReference(std::string_view ref) {
  std::size_t slash = ref.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::string_view type = ref.substr(0, slash);
  std::string_view rest = ref.substr(slash + 1);
  std::size_t next = rest.find('/');
  std::string_view id = rest.substr(0, next);
  if (next != std::string_view::npos && rest.substr(next).rfind("/_history/", 0) != 0) {
    return std::nullopt;
  }
  if (!IsValidTypeName(type) || !IsValidId(id)) return std::nullopt;
  return RelativeReference{std::string(type), std::string(id)};
}

}  // namespace junction::fhir::store_internal
