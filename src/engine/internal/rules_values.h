// Value helpers of the rules engine: numbers and HL7 dates as filter operands,
// date reformatting for `format_date`. Pure functions, no message access.
//
//   double n;  ParseNumber(" 12.5", &n);                     // true, n == 12.5
//   CompareDates(*hl7::ParseDtm("202401"), *hl7::ParseDtm("20240115"));  // 0: same month
//   FormatDate(*hl7::ParseDtm("20240115"), "%d.%m.%Y");      // "15.01.2024"
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "junction/hl7/datetime.h"
#include "junction/hl7/status.h"

namespace junction::engine::internal {

// A decimal number with optional surrounding spaces and sign; false otherwise
// (empty, "12abc", "nan", "inf").
bool ParseNumber(std::string_view text, double* out);

// -1, 0 or 1: a compared with b at the coarser of their two precisions, so
// "2024" equals "20240115" and "20240115" is before "202402". When both carry
// a UTC offset and a time of day, they are compared as instants; otherwise as
// wall-clock values (an offset on one side only is ignored).
int CompareDates(const hl7::DateTime& a, const hl7::DateTime& b);

// strftime-like: %Y %m %d %H %M %S (two digits), %y (two-digit year), %f
// (fraction digits as written), %z (+hhmm, "" without offset), %Z (+hh:mm),
// %%. Fields beyond the value's precision are written as their start values
// (month/day 01, time 00). Other % sequences are refused at config time
// (CheckDatePattern).
std::string FormatDate(const hl7::DateTime& value, std::string_view pattern);
Status CheckDatePattern(std::string_view pattern);

// The value at another HL7 precision: truncated, or padded with start values
// (month/day 01, time 00, fraction "0"). The offset is kept when a time remains.
hl7::DateTime WithPrecision(hl7::DateTime value, hl7::DatePrecision precision);

// "year", "month", "day", "hour", "minute", "second", "fraction" -> precision.
bool PrecisionFromName(std::string_view name, hl7::DatePrecision* out);

}  // namespace junction::engine::internal
