// Time zones for DTM values that carry no UTC offset (ConvertOptions::default_timezone).
//
// Accepts "UTC"/"Z", fixed offsets ("+01:00", "-0500", "+01") and IANA names
// ("Europe/Berlin"), read from the TZif files under $TZDIR or
// /usr/share/zoneinfo. The host's own zone (TZ, /etc/localtime) is never used.
// Loaded zones are cached process-wide (bounded); the cache is mutex-guarded.
// A TimeZone is immutable: share it between threads freely.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "junction/hl7/status.h"

namespace junction::fhir::internal {

class TimeZone {
 public:
  static Result<std::shared_ptr<const TimeZone>> Load(std::string_view name);

  // UTC offset in minutes that applies to the given local wall-clock time.
  // Ambiguous local times (DST fall-back) resolve to the earlier offset in
  // effect; non-existent ones (spring-forward gap) to the offset before the gap.
  int OffsetForLocal(int year, int month, int day, int hour, int minute, int second) const;

  // Offset in seconds at a UTC instant (seconds since 1970).
  int OffsetAtUtc(std::int64_t utc_seconds) const;

 private:
  int fixed_offset_seconds_ = 0;
  std::vector<std::int64_t> transitions_;  // ascending UTC seconds
  std::vector<int> offsets_;               // offset (seconds) from transitions_[i] on
  int initial_offset_ = 0;                 // before the first transition
};

// Days since 1970-01-01 for a proleptic Gregorian date.
std::int64_t DaysFromCivil(int year, int month, int day);

}  // namespace junction::fhir::internal
