// Value helpers of the rules engine (rules_values.h).
#include "engine/internal/rules_values.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>

namespace junction::engine::internal {
namespace {

using hl7::DatePrecision;

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
std::int64_t DaysFromCivil(int y, int m, int d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy =
      (153 * static_cast<unsigned>(m + (m > 2 ? -3 : 9)) + 2) / 5 + static_cast<unsigned>(d) - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void CivilFromDays(std::int64_t z, int* y, int* m, int* d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *y = static_cast<int>(static_cast<std::int64_t>(yoe) + era * 400 + (*m <= 2));
}

// The value shifted to UTC (only called with a time and an offset).
hl7::DateTime ToUtc(const hl7::DateTime& v) {
  std::int64_t minutes =
      DaysFromCivil(v.year, v.month, v.day) * 1440 + v.hour * 60 + v.minute - *v.utc_offset_minutes;
  hl7::DateTime out = v;
  std::int64_t days = minutes >= 0 ? minutes / 1440 : (minutes - 1439) / 1440;
  std::int64_t rest = minutes - days * 1440;
  CivilFromDays(days, &out.year, &out.month, &out.day);
  out.hour = static_cast<int>(rest / 60);
  out.minute = static_cast<int>(rest % 60);
  out.utc_offset_minutes = 0;
  return out;
}

// Fraction digits as a value in 1/10000 s ("5" -> 5000).
int FractionValue(const std::string& digits) {
  int value = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    value = value * 10 + (i < digits.size() ? digits[i] - '0' : 0);
  }
  return value;
}

void Append2(int v, std::string* out) {
  out->push_back(static_cast<char>('0' + (v / 10) % 10));
  out->push_back(static_cast<char>('0' + v % 10));
}

void AppendOffset(int minutes, bool colon, std::string* out) {
  out->push_back(minutes < 0 ? '-' : '+');
  const int a = minutes < 0 ? -minutes : minutes;
  Append2(a / 60, out);
  if (colon) out->push_back(':');
  Append2(a % 60, out);
}

}  // namespace

bool ParseNumber(std::string_view text, double* out) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty()) return false;
  double value = 0;
  auto [ptr, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value, std::chars_format::fixed);
  if (ec != std::errc() || ptr != text.data() + text.size() || !std::isfinite(value)) return false;
  *out = value;
  return true;
}

int CompareDates(const hl7::DateTime& a_in, const hl7::DateTime& b_in) {
  const DatePrecision precision = std::min(a_in.precision, b_in.precision);
  const bool instants =
      a_in.has_offset() && b_in.has_offset() && precision >= DatePrecision::kMinute;
  const hl7::DateTime a = instants ? ToUtc(a_in) : a_in;
  const hl7::DateTime b = instants ? ToUtc(b_in) : b_in;
  const std::array<int, 7> x = {
      a.year, a.month, a.day, a.hour, a.minute, a.second, FractionValue(a.fraction)};
  const std::array<int, 7> y = {
      b.year, b.month, b.day, b.hour, b.minute, b.second, FractionValue(b.fraction)};
  const int last = static_cast<int>(precision);
  for (int i = 0; i <= last; ++i) {
    if (x[static_cast<std::size_t>(i)] != y[static_cast<std::size_t>(i)]) {
      return x[static_cast<std::size_t>(i)] < y[static_cast<std::size_t>(i)] ? -1 : 1;
    }
  }
  return 0;
}

hl7::DateTime WithPrecision(hl7::DateTime v, DatePrecision precision) {
  const DatePrecision had = v.precision;
  if (precision > had) {
    if (had < DatePrecision::kMonth) v.month = 1;
    if (had < DatePrecision::kDay) v.day = 1;
    if (had < DatePrecision::kFraction && precision == DatePrecision::kFraction) v.fraction = "0";
  } else {
    if (precision < DatePrecision::kFraction) v.fraction.clear();
    if (precision < DatePrecision::kSecond) v.second = 0;
    if (precision < DatePrecision::kMinute) v.minute = 0;
    if (precision < DatePrecision::kHour) v.hour = 0;
    if (precision < DatePrecision::kDay) v.day = 0;
    if (precision < DatePrecision::kMonth) v.month = 0;
  }
  v.precision = precision;
  if (precision < DatePrecision::kHour) v.utc_offset_minutes.reset();
  return v;
}

bool PrecisionFromName(std::string_view name, DatePrecision* out) {
  static constexpr std::array<std::string_view, 7> kNames = {"year",   "month",  "day",     "hour",
                                                             "minute", "second", "fraction"};
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) {
      *out = static_cast<DatePrecision>(i);
      return true;
    }
  }
  return false;
}

Status CheckDatePattern(std::string_view pattern) {
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '%') continue;
    if (i + 1 == pattern.size()) return Status::Invalid("a pattern cannot end with '%'");
    const char c = pattern[++i];
    if (std::string_view("YymdHMSfzZ%").find(c) == std::string_view::npos) {
      return Status::Invalid(std::string("unknown conversion %") + c +
                             " (known: %Y %y %m %d %H %M %S %f %z %Z %%)");
    }
  }
  return Status::Ok();
}

std::string FormatDate(const hl7::DateTime& input, std::string_view pattern) {
  const hl7::DateTime v = WithPrecision(input, std::max(input.precision, DatePrecision::kDay));
  std::string out;
  out.reserve(pattern.size() + 8);
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '%' || i + 1 == pattern.size()) {
      out.push_back(pattern[i]);
      continue;
    }
    switch (pattern[++i]) {
      case 'Y': {
        char buf[8];
        std::snprintf(buf, sizeof buf, "%04d", v.year);
        out.append(buf);
        break;
      }
      case 'y':
        Append2(v.year % 100, &out);
        break;
      case 'm':
        Append2(v.month, &out);
        break;
      case 'd':
        Append2(v.day, &out);
        break;
      case 'H':
        Append2(v.hour, &out);
        break;
      case 'M':
        Append2(v.minute, &out);
        break;
      case 'S':
        Append2(v.second, &out);
        break;
      case 'f':
        out.append(v.fraction.empty() ? "0" : v.fraction);
        break;
      case 'z':
        if (v.utc_offset_minutes) AppendOffset(*v.utc_offset_minutes, false, &out);
        break;
      case 'Z':
        if (v.utc_offset_minutes) AppendOffset(*v.utc_offset_minutes, true, &out);
        break;
      default:
        out.push_back(pattern[i]);
        break;
    }
  }
  return out;
}

}  // namespace junction::engine::internal
