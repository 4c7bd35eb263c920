#include "json_compare.h"

#include <algorithm>
#include <cstdint>
#include <string>

namespace junction::fhir::testing {
namespace {

namespace json = boost::json;

bool Digits(std::string_view s, std::size_t pos, std::size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
long long DaysFromCivil(int y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const int yoe = y - era * 400;
  const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<long long>(era) * 146097 + doe - 719468;
}

std::string PathKey(const std::string& path, std::string_view key) {
  return path + "." + std::string(key);
}

std::string PathIndex(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

std::string Show(const json::value& v) {
  std::string s = json::serialize(v);
  if (s.size() > 160) s = s.substr(0, 157) + "...";
  return s;
}

bool NumbersEqual(const json::value& a, const json::value& b) {
  if (a.is_int64() && b.is_int64()) return a.get_int64() == b.get_int64();
  if (a.is_uint64() && b.is_uint64()) return a.get_uint64() == b.get_uint64();
  auto as_double = [](const json::value& v) {
    if (v.is_int64()) return static_cast<double>(v.get_int64());
    if (v.is_uint64()) return static_cast<double>(v.get_uint64());
    return v.get_double();
  };
  return as_double(a) == as_double(b);
}

void Compare(const json::value& e, const json::value& a, const std::string& path,
             std::size_t max_diffs, std::vector<std::string>* diffs) {
  if (diffs->size() >= max_diffs) return;
  auto differ = [&](const std::string& why) {
    diffs->push_back(path + ": " + why);
  };
  if (e.is_number() && a.is_number()) {
    if (!NumbersEqual(e, a)) differ("expected " + Show(e) + ", got " + Show(a));
    return;
  }
  if (e.kind() != a.kind()) {
    differ("expected " + Show(e) + ", got " + Show(a));
    return;
  }
  switch (e.kind()) {
    case json::kind::object: {
      const json::object& eo = e.get_object();
      const json::object& ao = a.get_object();
      for (const auto& kv : eo) {
        const json::value* other = ao.if_contains(kv.key());
        if (other == nullptr) {
          diffs->push_back(PathKey(path, kv.key()) + ": missing (expected " + Show(kv.value()) + ")");
          if (diffs->size() >= max_diffs) return;
          continue;
        }
        Compare(kv.value(), *other, PathKey(path, kv.key()), max_diffs, diffs);
      }
      for (const auto& kv : ao) {
        if (diffs->size() >= max_diffs) return;
        if (!eo.contains(kv.key())) {
          diffs->push_back(PathKey(path, kv.key()) + ": unexpected " + Show(kv.value()));
        }
      }
      return;
    }
    case json::kind::array: {
      const json::array& ea = e.get_array();
      const json::array& aa = a.get_array();
      const std::size_t n = std::min(ea.size(), aa.size());
      for (std::size_t i = 0; i < n; ++i) Compare(ea[i], aa[i], PathIndex(path, i), max_diffs, diffs);
      for (std::size_t i = n; i < ea.size() && diffs->size() < max_diffs; ++i) {
        diffs->push_back(PathIndex(path, i) + ": missing (expected " + Show(ea[i]) + ")");
      }
      for (std::size_t i = n; i < aa.size() && diffs->size() < max_diffs; ++i) {
        diffs->push_back(PathIndex(path, i) + ": unexpected " + Show(aa[i]));
      }
      return;
    }
    case json::kind::string: {
      const std::string_view es = e.get_string();
      const std::string_view as = a.get_string();
      if (es == as) return;
      const auto ei = ParseInstant(es);
      const auto ai = ParseInstant(as);
      if (ei && ai && *ei == *ai) return;
      differ("expected " + Show(e) + ", got " + Show(a));
      return;
    }
    default:
      if (e != a) differ("expected " + Show(e) + ", got " + Show(a));
      return;
  }
}

}  // namespace

std::optional<Instant> ParseInstant(std::string_view s) {
  // YYYY-MM-DDThh:mm:ss[.f+](Z|+hh:mm|-hh:mm)
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!Digits(s, 0, 4, &y) || s.size() < 20 || s[4] != '-' || !Digits(s, 5, 2, &mo) ||
      s[7] != '-' || !Digits(s, 8, 2, &d) || s[10] != 'T' || !Digits(s, 11, 2, &h) ||
      s[13] != ':' || !Digits(s, 14, 2, &mi) || s[16] != ':' || !Digits(s, 17, 2, &sec)) {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  std::size_t pos = 19;
  std::string fraction;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') fraction += s[pos++];
    if (fraction.empty()) return std::nullopt;
  }
  int offset_minutes = 0;
  if (pos < s.size() && s[pos] == 'Z') {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh = 0, om = 0;
    if (!Digits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !Digits(s, pos + 4, 2, &om)) {
      return std::nullopt;
    }
    offset_minutes = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  while (fraction.size() < 6) fraction += '0';
  Instant out;
  int micros = 0;
  Digits(fraction, 0, 6, &micros);
  out.extra_fraction = fraction.substr(6);
  while (!out.extra_fraction.empty() && out.extra_fraction.back() == '0') out.extra_fraction.pop_back();
  const long long seconds = DaysFromCivil(y, mo, d) * 86400LL + h * 3600LL + mi * 60LL + sec -
                            offset_minutes * 60LL;
  out.micros = seconds * 1'000'000LL + micros;
  return out;
}

std::vector<std::string> CompareJson(const boost::json::value& expected,
                                     const boost::json::value& actual, std::size_t max_diffs) {
  std::vector<std::string> diffs;
  Compare(expected, actual, "$", max_diffs, &diffs);
  return diffs;
}

}  // namespace junction::fhir::testing
