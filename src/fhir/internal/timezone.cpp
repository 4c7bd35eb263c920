#include "fhir/internal/timezone.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>

namespace junction::fhir::internal {
namespace {

constexpr std::size_t kMaxTzifBytes = 1 << 20;
constexpr std::size_t kMaxCachedZones = 64;

bool ParseFixed(std::string_view s, int* seconds) {
  if (s == "UTC" || s == "Z" || s == "GMT" || s == "Etc/UTC") {
    *seconds = 0;
    return true;
  }
  if (s.size() < 3 || (s[0] != '+' && s[0] != '-')) return false;
  std::string digits;
  for (std::size_t i = 1; i < s.size(); ++i) {
    if (s[i] == ':' && i == 3) continue;
    if (s[i] < '0' || s[i] > '9') return false;
    digits.push_back(s[i]);
  }
  if (digits.size() != 2 && digits.size() != 4) return false;
  int h = (digits[0] - '0') * 10 + (digits[1] - '0');
  int m = digits.size() == 4 ? (digits[2] - '0') * 10 + (digits[3] - '0') : 0;
  if (h > 14 || m > 59) return false;
  *seconds = (s[0] == '-' ? -1 : 1) * (h * 3600 + m * 60);
  return true;
}

bool ValidZoneName(std::string_view s) {
  if (s.empty() || s.size() > 128 || s.front() == '/') return false;
  if (s.find("..") != std::string_view::npos) return false;
  for (char c : s) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '_' || c == '-' || c == '+';
    if (!ok) return false;
  }
  return true;
}

std::int64_t ReadBe(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  if (bytes == 4) return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
  return static_cast<std::int64_t>(v);
}

}  // namespace

std::int64_t DaysFromCivil(int year, int month, int day) {
  // Howard Hinnant's days_from_civil.
  std::int64_t y = year - (month <= 2 ? 1 : 0);
  std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  std::int64_t yoe = y - era * 400;
  std::int64_t mp = (month + 9) % 12;
  std::int64_t doy = (153 * mp + 2) / 5 + day - 1;
  std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

Result<std::shared_ptr<const TimeZone>> TimeZone::Load(std::string_view name) {
  int fixed = 0;
  if (ParseFixed(name, &fixed)) {
    auto tz = std::make_shared<TimeZone>();
    tz->fixed_offset_seconds_ = fixed;
    tz->initial_offset_ = fixed;
    return std::shared_ptr<const TimeZone>(std::move(tz));
  }
  if (!ValidZoneName(name)) return Status::Invalid("invalid time zone name: " + std::string(name));

  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const TimeZone>, std::less<>> cache;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(name);
    if (it != cache.end()) return it->second;
  }

  const char* dir = std::getenv("TZDIR");
  std::string path = std::string(dir && *dir ? dir : "/usr/share/zoneinfo") + "/" + std::string(name);
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("unknown time zone: " + std::string(name));
  std::string data;
  data.resize(kMaxTzifBytes + 1);
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  data.resize(static_cast<std::size_t>(in.gcount()));
  if (data.size() > kMaxTzifBytes) return Status::OutOfRange("time zone file too large: " + path);

  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  std::size_t size = data.size();
  auto bad = [&] { return Status::Invalid("not a TZif file: " + path); };
  if (size < 44 || data.compare(0, 4, "TZif") != 0) return bad();

  struct Counts {
    std::int64_t isut, isstd, leap, time, type, chars;
  };
  auto counts_at = [&](std::size_t off) {
    Counts c{};
    c.isut = ReadBe(p + off + 20, 4);
    c.isstd = ReadBe(p + off + 24, 4);
    c.leap = ReadBe(p + off + 28, 4);
    c.time = ReadBe(p + off + 32, 4);
    c.type = ReadBe(p + off + 36, 4);
    c.chars = ReadBe(p + off + 40, 4);
    return c;
  };
  Counts c = counts_at(0);
  int time_size = 4;
  std::size_t off = 44;
  auto block_size = [](const Counts& k, int ts) {
    return static_cast<std::size_t>(k.time * ts + k.time + k.type * 6 + k.chars +
                                    k.leap * (ts + 4) + k.isstd + k.isut);
  };
  for (std::int64_t v : {c.isut, c.isstd, c.leap, c.time, c.type, c.chars})
    if (v < 0 || v > 100000) return bad();
  if (data[4] >= '2') {
    std::size_t second = 44 + block_size(c, 4);
    if (second + 44 > size || data.compare(second, 4, "TZif") != 0) return bad();
    c = counts_at(second);
    for (std::int64_t v : {c.isut, c.isstd, c.leap, c.time, c.type, c.chars})
      if (v < 0 || v > 100000) return bad();
    time_size = 8;
    off = second + 44;
  }
  if (off + block_size(c, time_size) > size || c.type < 1) return bad();

  auto tz = std::make_shared<TimeZone>();
  const unsigned char* times = p + off;
  const unsigned char* idx = times + c.time * time_size;
  const unsigned char* types = idx + c.time;
  auto type_offset = [&](std::int64_t t) { return static_cast<int>(ReadBe(types + t * 6, 4)); };
  // Before the first transition: the first non-DST type (RFC 8536 3.2), else type 0.
  tz->initial_offset_ = type_offset(0);
  for (std::int64_t t = 0; t < c.type; ++t) {
    if (types[t * 6 + 4] == 0) {
      tz->initial_offset_ = type_offset(t);
      break;
    }
  }
  tz->fixed_offset_seconds_ = tz->initial_offset_;
  for (std::int64_t i = 0; i < c.time; ++i) {
    std::int64_t at = ReadBe(times + i * time_size, time_size);
    std::int64_t ti = idx[i];
    if (ti >= c.type) return bad();
    if (!tz->transitions_.empty() && at <= tz->transitions_.back()) continue;
    tz->transitions_.push_back(at);
    tz->offsets_.push_back(type_offset(ti));
  }

  std::shared_ptr<const TimeZone> result = std::move(tz);
  std::lock_guard<std::mutex> lock(mu);
  if (cache.size() < kMaxCachedZones) cache.emplace(std::string(name), result);
  return result;
}

int TimeZone::OffsetAtUtc(std::int64_t utc_seconds) const {
  if (transitions_.empty()) return fixed_offset_seconds_;
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), utc_seconds);
  if (it == transitions_.begin()) return initial_offset_;
  // Past the last transition the last offset stays (fat TZif files list
  // transitions up to 2037; see docs/fhir-mapping.md).
  return offsets_[static_cast<std::size_t>(std::distance(transitions_.begin(), it)) - 1];
}

int TimeZone::OffsetForLocal(int year, int month, int day, int hour, int minute,
                             int second) const {
  if (transitions_.empty()) return fixed_offset_seconds_ / 60;
  std::int64_t local = DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
  // The offsets in effect a day before and a day after bracket any transition
  // near `local`; the first that is consistent wins.
  int before = OffsetAtUtc(local - 86400);
  int after = OffsetAtUtc(local + 86400);
  if (OffsetAtUtc(local - before) == before) return before / 60;
  if (OffsetAtUtc(local - after) == after) return after / 60;
  return before / 60;
}

}  // namespace junction::fhir::internal
