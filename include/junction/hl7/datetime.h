// HL7 v2 date and time types (DTM, TS, DT, TM) and their ISO 8601 / FHIR forms.
//
//   Result<DateTime> dt = ParseDtm("20261126134530.1234+0100");
//   if (!dt.ok()) return dt.status();          // e.g. "month 13 out of range (01-12)"
//   dt->ToIso8601();       // "2026-11-26T13:45:30.1234+01:00"
//   dt->ToHl7();           // "20261126134530.1234+0100" (precision kept)
//   dt->ToFhirDateTime();  // "2026-11-26T13:45:30.1234+01:00"
//   ParseTs("200401011200^M", Delimiters{});   // TS: component 1 only
//
// Values are kept at the precision they were given ("2026" stays a year) and are
// never normalised: an impossible date (20230229, day 52, hour 24) is reported as
// Status::Invalid with a plain-English reason, never rolled over or guessed.
// Reasons carry no value or path; the caller adds the context ("PID-7 ...").
//
// Accepted ranges: year 0001-9999, month 01-12, day valid for the month (Gregorian
// leap years), hour 00-23, minute 00-59, second 00-60 (60 admits a leap second, as
// ISO 8601 and FHIR do), 1-4 fraction digits (kept as written, "10" stays "10"),
// UTC offset -1200..+1400 with offset minutes 00-59.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "junction/hl7/delimiters.h"
#include "junction/hl7/status.h"

namespace junction::hl7 {

// How much of a date/time was given. Ordered: a later value includes the earlier.
enum class DatePrecision { kYear, kMonth, kDay, kHour, kMinute, kSecond, kFraction };

// A calendar date with an optional time of day (DTM, TS, and DT).
// Components beyond `precision` are 0 (fraction empty) and carry no meaning.
struct DateTime {
  int year = 0;
  int month = 0;  // 1-12 when precision >= kMonth
  int day = 0;    // 1-31 when precision >= kDay
  int hour = 0;
  int minute = 0;
  int second = 0;
  std::string fraction;  // fractional-second digits as written (1-4), without the '.'
  DatePrecision precision = DatePrecision::kYear;
  // UTC offset in minutes (+0100 -> 60, -0530 -> -330); nullopt when none was given.
  std::optional<int> utc_offset_minutes;

  bool has_offset() const { return utc_offset_minutes.has_value(); }
  bool has_time() const { return precision >= DatePrecision::kHour; }

  // ISO 8601 extended form at the same precision: "2026", "2026-11", "2026-11-26",
  // "2026-11-26T13", "2026-11-26T13:45", "2026-11-26T13:45:30.1234". The offset
  // ("+01:00", "-05:00", "+00:00") is appended only when a time is present: ISO 8601
  // has no offset on a bare date, so ToHl7() is the lossless form for such values.
  std::string ToIso8601() const;

  // HL7 form, "YYYY[MM[DD[HH[MM[SS[.S...]]]]]][+/-ZZZZ]"; inverse of ParseDtm.
  std::string ToHl7() const;

  // A valid FHIR R4 `dateTime`. FHIR requires seconds whenever a time is given and
  // a timezone whenever hours and minutes are given. So:
  //  - precision year/month/day: "2026", "2026-11", "2026-11-26";
  //  - with a time and an offset: seconds are padded (":00") when absent, e.g.
  //    "2026-11-26T13:00:00+01:00" for hour precision;
  //  - with a time but no offset: `assume_offset_minutes` (e.g. the sending
  //    facility's configured zone) is used when given; otherwise the time is
  //    dropped and only "YYYY-MM-DD" is returned, so no timezone is invented.
  std::string ToFhirDateTime(std::optional<int> assume_offset_minutes = std::nullopt) const;

  // A valid FHIR R4 `instant` (seconds and a timezone are mandatory there).
  // Invalid when the value has less than second precision or no known offset.
  Result<std::string> ToFhirInstant(std::optional<int> assume_offset_minutes = std::nullopt) const;
};

// A time of day without a date (TM). Precision is kHour..kFraction.
struct Time {
  int hour = 0;
  int minute = 0;
  int second = 0;
  std::string fraction;  // digits as written (1-4), without the '.'
  DatePrecision precision = DatePrecision::kHour;
  std::optional<int> utc_offset_minutes;

  bool has_offset() const { return utc_offset_minutes.has_value(); }

  // "13", "13:45", "13:45:30", "13:45:30.1234", plus "+01:00" when an offset was given.
  std::string ToIso8601() const;
  // "HH[MM[SS[.S...]]][+/-ZZZZ]"; inverse of ParseTm.
  std::string ToHl7() const;
  // FHIR R4 `time` ("hh:mm:ss[.f]"): seconds are padded; FHIR `time` has no
  // timezone, so the offset is not written (check has_offset() if it matters).
  std::string ToFhirTime() const;
};

// DTM (and the first component of TS): YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ].
Result<DateTime> ParseDtm(std::string_view raw);

// DT: YYYY[MM[DD]], no time and no offset.
Result<DateTime> ParseDt(std::string_view raw);

// TM: HH[MM[SS[.S[S[S[S]]]]]][+/-ZZZZ].
Result<Time> ParseTm(std::string_view raw);

// TS as sent by v2.5 and earlier: "<DTM>^<degree of precision>". Returns the text
// before the first component separator (the whole value when there is none).
std::string_view TsTime(std::string_view raw, const Delimiters& d);

// ParseDtm(TsTime(raw, d)); the degree-of-precision component is ignored
// because the DTM itself already says how precise it is.
Result<DateTime> ParseTs(std::string_view raw, const Delimiters& d);

// ISO 8601 extended format: "YYYY[-MM[-DD[Thh[:mm[:ss[.f]]]]]]" with an optional
// "Z", "+hh:mm", "+hhmm" or "+hh" after a time ("Z" is read as +00:00). At most 4
// fraction digits are accepted (more cannot be written in HL7 and are reported,
// not truncated). Basic format ("20261126") is not accepted.
Result<DateTime> DateTimeFromIso8601(std::string_view text);

// ISO 8601 time "hh[:mm[:ss[.f]]]" with an optional leading "T" and offset.
Result<Time> TimeFromIso8601(std::string_view text);

// Validators for the datatype checker. Ok for a valid value. Empty text (absent)
// and `""` (present-but-null) are Ok too: both are legal in any field, and
// whether a value is required is the caller's rule, not the datatype's.
Status ValidateDTM(std::string_view raw);
Status ValidateDT(std::string_view raw);
Status ValidateTM(std::string_view raw);
// Checks component 1 only (see TsTime).
Status ValidateTS(std::string_view raw, const Delimiters& d);

// "February" for 2, "" outside 1-12. Used in reasons.
std::string_view MonthName(int month);
// Days in `month` of `year` (Gregorian); 0 for a month outside 1-12.
int DaysInMonth(int year, int month);

}  // namespace junction::hl7
