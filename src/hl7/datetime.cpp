// HL7 DTM/TS/DT/TM parsing and ISO 8601 / FHIR formatting. See datetime.h.
#include "junction/hl7/datetime.h"

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace junction::hl7 {
namespace {

// The numeric parts of a date/time, in the order HL7 writes them.
enum Part { kYearPart = 0, kMonthPart, kDayPart, kHourPart, kMinutePart, kSecondPart };
constexpr int kPartCount = 6;
constexpr std::array<std::string_view, kPartCount> kPartNames = {"year", "month",  "day",
                                                                 "hour", "minute", "second"};
constexpr std::array<int, kPartCount> kPartWidth = {4, 2, 2, 2, 2, 2};
constexpr std::size_t kMaxFractionDigits = 4;  // HL7: .S[S[S[S]]]
constexpr int kMinOffsetMinutes = -12 * 60;
constexpr int kMaxOffsetMinutes = 14 * 60;
// No valid date/time text is longer; longer input is rejected before scanning.
constexpr std::size_t kMaxTextLength = 64;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

void AppendPadded(int value, int width, std::string* out) {
  char buf[8];
  int v = value < 0 ? -value : value;
  for (int i = width - 1; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  out->append(buf, static_cast<std::size_t>(width));
}

std::string Padded(int value, int width) {
  std::string s;
  AppendPadded(value, width, &s);
  return s;
}

// "'x'" for printable ASCII, "byte 0x0A" otherwise, so reasons stay readable.
std::string DescribeChar(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return std::string("'") + c + "'";
  static constexpr char kHex[] = "0123456789ABCDEF";
  return std::string("byte 0x") + kHex[u >> 4] + kHex[u & 0xf];
}

Status UnexpectedAt(std::string_view text, std::size_t pos) {
  // Positions in reasons are 1-based: they are read by people.
  return Status::Invalid("unexpected character " + DescribeChar(text[pos]) + " at position " +
                         std::to_string(pos + 1));
}

Status CheckBasics(std::string_view text) {
  if (text.empty()) return Status::Invalid("empty value");
  if (text == "\"\"") return Status::Invalid("null value (\"\") is not a date/time");
  if (text.size() > kMaxTextLength) {
    return Status::Invalid("too long (" + std::to_string(text.size()) + " characters; at most " +
                           std::to_string(kMaxTextLength) + ")");
  }
  return Status::Ok();
}

// Range check of one part; `parts` holds the parts read so far (year/month for day).
Status CheckPart(int part, const std::array<int, kPartCount>& parts) {
  const int v = parts[part];
  // Formatted only for a reason: most values are in range (no string built).
  auto shown = [&] { return Padded(v, kPartWidth[part]); };
  switch (part) {
    case kYearPart:
      if (v < 1) return Status::Invalid("year " + shown() + " out of range (0001-9999)");
      return Status::Ok();
    case kMonthPart:
      if (v < 1 || v > 12) return Status::Invalid("month " + shown() + " out of range (01-12)");
      return Status::Ok();
    case kDayPart: {
      const int days = DaysInMonth(parts[kYearPart], parts[kMonthPart]);
      if (v >= 1 && v <= days) return Status::Ok();
      std::string why =
          "day " + shown() + " out of range (" + std::string(MonthName(parts[kMonthPart]));
      if (parts[kMonthPart] == 2) {
        why += " " + Padded(parts[kYearPart], 4) + " has " + std::to_string(days) + " days";
        if (v == 29) why += "; " + Padded(parts[kYearPart], 4) + " is not a leap year";
      } else {
        why += " has " + std::to_string(days) + " days";
      }
      return Status::Invalid(why + ")");
    }
    case kHourPart:
      if (v > 23) return Status::Invalid("hour " + shown() + " out of range (00-23)");
      return Status::Ok();
    case kMinutePart:
      if (v > 59) return Status::Invalid("minute " + shown() + " out of range (00-59)");
      return Status::Ok();
    case kSecondPart:
      // 60 is a leap second (ISO 8601, FHIR); HL7 does not forbid it.
      if (v > 60) return Status::Invalid("second " + shown() + " out of range (00-60)");
      return Status::Ok();
    default:
      return Status::Ok();
  }
}

Status CheckOffset(int sign, int hours, int minutes) {
  auto shown = [&] {
    return std::string(sign < 0 ? "-" : "+") + Padded(hours, 2) + Padded(minutes, 2);
  };
  if (minutes > 59) {
    return Status::Invalid("UTC offset " + shown() + ": minutes " + Padded(minutes, 2) +
                           " out of range (00-59)");
  }
  const int total = sign * (hours * 60 + minutes);
  if (total < kMinOffsetMinutes || total > kMaxOffsetMinutes) {
    return Status::Invalid("UTC offset " + shown() + " out of range (-1200 to +1400)");
  }
  return Status::Ok();
}

// Reads exactly `width` digits at *pos. False (and *pos unchanged) when fewer are there.
bool ReadDigits(std::string_view text, std::size_t* pos, int width, int* value) {
  if (*pos + static_cast<std::size_t>(width) > text.size()) return false;
  int v = 0;
  for (int i = 0; i < width; ++i) {
    char c = text[*pos + static_cast<std::size_t>(i)];
    if (!IsDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  *value = v;
  *pos += static_cast<std::size_t>(width);
  return true;
}

std::size_t CountDigits(std::string_view text, std::size_t pos) {
  std::size_t n = 0;
  while (pos + n < text.size() && IsDigit(text[pos + n])) ++n;
  return n;
}

DatePrecision PrecisionOfPart(int part) { return static_cast<DatePrecision>(part); }

// The shared body of HL7 DTM / DT / TM parsing: the run of digits for parts
// first..last, then ".S..." and "+/-ZZZZ" when allowed. Parts are range-checked
// as soon as they are read, so the first bad part is the one reported.
struct Hl7Parsed {
  std::array<int, kPartCount> parts{};
  int last_part = -1;
  std::string fraction;
  std::optional<int> offset;
};

Result<Hl7Parsed> ParseHl7(std::string_view raw, int first, int last, bool allow_time_extras,
                           std::string_view type_name) {
  JUNCTION_RETURN_IF_ERROR(CheckBasics(raw));
  Hl7Parsed p;
  std::size_t pos = 0;
  for (int part = first; part <= last; ++part) {
    const std::size_t available = CountDigits(raw, pos);
    if (available == 0) {
      if (part == first) {
        if (pos < raw.size()) return UnexpectedAt(raw, pos);
        return Status::Invalid("empty value");
      }
      break;
    }
    const auto width = static_cast<std::size_t>(kPartWidth[part]);
    if (available < width) {
      return Status::Invalid(std::string(kPartNames[part]) + " needs " + std::to_string(width) +
                             " digits, found " + std::to_string(available));
    }
    ReadDigits(raw, &pos, kPartWidth[part], &p.parts[part]);
    JUNCTION_RETURN_IF_ERROR(CheckPart(part, p.parts));
    p.last_part = part;
  }
  if (pos < raw.size() && IsDigit(raw[pos])) {
    if (p.last_part == kDayPart && last == kDayPart) {
      return Status::Invalid(std::string(type_name) + " has no time of day (" +
                             std::to_string(pos + CountDigits(raw, pos)) +
                             " digits; at most 8, YYYYMMDD)");
    }
    return Status::Invalid("too many digits (" + std::to_string(pos + CountDigits(raw, pos)) +
                           "); the last part is seconds");
  }
  if (pos == 4 && p.last_part == kYearPart && pos + 1 < raw.size() && raw[pos] == '-' &&
      IsDigit(raw[pos + 1]) && (pos + 3 >= raw.size() || raw[pos + 3] == '-')) {
    // "2026-11-26": a common sender mistake; say so instead of "bad offset".
    return Status::Invalid("'-' after the year: HL7 writes dates as YYYYMMDD, not YYYY-MM-DD");
  }
  if (pos < raw.size() && raw[pos] == '.') {
    if (!allow_time_extras) return UnexpectedAt(raw, pos);
    if (p.last_part != kSecondPart) {
      return Status::Invalid("fractional seconds need the seconds before them");
    }
    ++pos;
    const std::size_t n = CountDigits(raw, pos);
    if (n == 0) return Status::Invalid("no digits after the decimal point");
    if (n > kMaxFractionDigits) {
      return Status::Invalid(std::to_string(n) + " fraction digits (at most 4)");
    }
    p.fraction.assign(raw.substr(pos, n));
    pos += n;
  }
  if (pos < raw.size() && (raw[pos] == '+' || raw[pos] == '-')) {
    if (!allow_time_extras) {
      return Status::Invalid(std::string(type_name) + " has no UTC offset");
    }
    const int sign = raw[pos] == '-' ? -1 : 1;
    ++pos;
    const std::size_t n = CountDigits(raw, pos);
    if (n != 4) return Status::Invalid("UTC offset must be +HHMM or -HHMM");
    int hours = 0;
    int minutes = 0;
    ReadDigits(raw, &pos, 2, &hours);
    ReadDigits(raw, &pos, 2, &minutes);
    JUNCTION_RETURN_IF_ERROR(CheckOffset(sign, hours, minutes));
    p.offset = sign * (hours * 60 + minutes);
  }
  if (pos < raw.size()) return UnexpectedAt(raw, pos);
  return p;
}

void AppendOffset(int offset_minutes, bool colon, std::string* out) {
  out->push_back(offset_minutes < 0 ? '-' : '+');
  const int abs = offset_minutes < 0 ? -offset_minutes : offset_minutes;
  AppendPadded(abs / 60, 2, out);
  if (colon) out->push_back(':');
  AppendPadded(abs % 60, 2, out);
}

bool OffsetInRange(int minutes) {
  return minutes >= kMinOffsetMinutes && minutes <= kMaxOffsetMinutes;
}

// ISO time "hh[:mm[:ss[.f]]]" then an optional offset, from *pos to the end.
// Fills parts hour..second of `parts`.
Status ParseIsoTime(std::string_view text, std::size_t* pos, std::array<int, kPartCount>* parts,
                    DatePrecision* precision, std::string* fraction, std::optional<int>* offset) {
  for (int part = kHourPart; part <= kSecondPart; ++part) {
    if (part != kHourPart) {
      if (*pos >= text.size() || text[*pos] != ':') break;
      ++*pos;
    }
    if (!ReadDigits(text, pos, 2, &(*parts)[part])) {
      return Status::Invalid(std::string(kPartNames[part]) + " needs 2 digits");
    }
    JUNCTION_RETURN_IF_ERROR(CheckPart(part, *parts));
    *precision = PrecisionOfPart(part);
  }
  if (*pos < text.size() && (text[*pos] == '.' || text[*pos] == ',')) {
    if (*precision != DatePrecision::kSecond) {
      return Status::Invalid("fractional seconds need the seconds before them");
    }
    ++*pos;
    const std::size_t n = CountDigits(text, *pos);
    if (n == 0) return Status::Invalid("no digits after the decimal point");
    if (n > kMaxFractionDigits) {
      // HL7 cannot carry more; truncating would silently change the value.
      return Status::Invalid(std::to_string(n) + " fraction digits (HL7 allows at most 4)");
    }
    fraction->assign(text.substr(*pos, n));
    *pos += n;
    *precision = DatePrecision::kFraction;
  }
  if (*pos < text.size() && text[*pos] == 'Z') {
    ++*pos;
    *offset = 0;
  } else if (*pos < text.size() && (text[*pos] == '+' || text[*pos] == '-')) {
    const int sign = text[*pos] == '-' ? -1 : 1;
    ++*pos;
    int hours = 0;
    int minutes = 0;
    if (!ReadDigits(text, pos, 2, &hours)) {
      return Status::Invalid("UTC offset must be +hh:mm, +hhmm or +hh");
    }
    if (*pos < text.size() && text[*pos] == ':') {
      ++*pos;
      if (!ReadDigits(text, pos, 2, &minutes)) {
        return Status::Invalid("UTC offset must be +hh:mm, +hhmm or +hh");
      }
    } else if (*pos < text.size() && IsDigit(text[*pos])) {
      if (!ReadDigits(text, pos, 2, &minutes)) {
        return Status::Invalid("UTC offset must be +hh:mm, +hhmm or +hh");
      }
    }
    JUNCTION_RETURN_IF_ERROR(CheckOffset(sign, hours, minutes));
    *offset = sign * (hours * 60 + minutes);
  }
  if (*pos < text.size()) return UnexpectedAt(text, *pos);
  return Status::Ok();
}

void AppendIsoTime(int hour, int minute, int second, const std::string& fraction,
                   DatePrecision precision, std::string* out) {
  AppendPadded(hour, 2, out);
  if (precision >= DatePrecision::kMinute) {
    out->push_back(':');
    AppendPadded(minute, 2, out);
  }
  if (precision >= DatePrecision::kSecond) {
    out->push_back(':');
    AppendPadded(second, 2, out);
  }
  if (precision >= DatePrecision::kFraction) {
    out->push_back('.');
    out->append(fraction);
  }
}

void AppendHl7Time(int hour, int minute, int second, const std::string& fraction,
                   DatePrecision precision, std::string* out) {
  AppendPadded(hour, 2, out);
  if (precision >= DatePrecision::kMinute) AppendPadded(minute, 2, out);
  if (precision >= DatePrecision::kSecond) AppendPadded(second, 2, out);
  if (precision >= DatePrecision::kFraction) {
    out->push_back('.');
    out->append(fraction);
  }
}

// The FHIR form of a time: always hh:mm:ss, fraction when given.
void AppendFhirTime(int hour, int minute, int second, const std::string& fraction,
                    DatePrecision precision, std::string* out) {
  AppendPadded(hour, 2, out);
  out->push_back(':');
  AppendPadded(precision >= DatePrecision::kMinute ? minute : 0, 2, out);
  out->push_back(':');
  AppendPadded(precision >= DatePrecision::kSecond ? second : 0, 2, out);
  if (precision >= DatePrecision::kFraction) {
    out->push_back('.');
    out->append(fraction);
  }
}

DateTime ToDateTime(const Hl7Parsed& p) {
  DateTime dt;
  dt.year = p.parts[kYearPart];
  dt.month = p.parts[kMonthPart];
  dt.day = p.parts[kDayPart];
  dt.hour = p.parts[kHourPart];
  dt.minute = p.parts[kMinutePart];
  dt.second = p.parts[kSecondPart];
  dt.fraction = p.fraction;
  dt.precision = p.fraction.empty() ? PrecisionOfPart(p.last_part) : DatePrecision::kFraction;
  dt.utc_offset_minutes = p.offset;
  return dt;
}

Status OkIfAbsentOr(std::string_view raw, Status (*check)(std::string_view)) {
  if (raw.empty() || raw == "\"\"") return Status::Ok();
  return check(raw);
}

}  // namespace

std::string_view MonthName(int month) {
  static constexpr std::array<std::string_view, 12> kNames = {
      "January", "February", "March",     "April",   "May",      "June",
      "July",    "August",   "September", "October", "November", "December"};
  if (month < 1 || month > 12) return "";
  return kNames[static_cast<std::size_t>(month - 1)];
}

int DaysInMonth(int year, int month) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12) return 0;
  if (month == 2) {
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return leap ? 29 : 28;
  }
  return kDays[static_cast<std::size_t>(month - 1)];
}

Result<DateTime> ParseDtm(std::string_view raw) {
  Result<Hl7Parsed> p = ParseHl7(raw, kYearPart, kSecondPart, /*allow_time_extras=*/true, "DTM");
  if (!p.ok()) return p.status();
  return ToDateTime(*p);
}

Result<DateTime> ParseDt(std::string_view raw) {
  Result<Hl7Parsed> p = ParseHl7(raw, kYearPart, kDayPart, /*allow_time_extras=*/false, "DT");
  if (!p.ok()) return p.status();
  return ToDateTime(*p);
}

Result<Time> ParseTm(std::string_view raw) {
  Result<Hl7Parsed> p = ParseHl7(raw, kHourPart, kSecondPart, /*allow_time_extras=*/true, "TM");
  if (!p.ok()) return p.status();
  Time t;
  t.hour = p->parts[kHourPart];
  t.minute = p->parts[kMinutePart];
  t.second = p->parts[kSecondPart];
  t.fraction = p->fraction;
  t.precision = p->fraction.empty() ? PrecisionOfPart(p->last_part) : DatePrecision::kFraction;
  t.utc_offset_minutes = p->offset;
  return t;
}

std::string_view TsTime(std::string_view raw, const Delimiters& d) {
  const std::size_t cut = raw.find(d.component);
  return cut == std::string_view::npos ? raw : raw.substr(0, cut);
}

Result<DateTime> ParseTs(std::string_view raw, const Delimiters& d) {
  return ParseDtm(TsTime(raw, d));
}

Result<DateTime> DateTimeFromIso8601(std::string_view text) {
  JUNCTION_RETURN_IF_ERROR(CheckBasics(text));
  std::array<int, kPartCount> parts{};
  DateTime dt;
  std::size_t pos = 0;
  if (!ReadDigits(text, &pos, 4, &parts[kYearPart])) {
    return Status::Invalid("year needs 4 digits");
  }
  if (pos < text.size() && IsDigit(text[pos])) {
    return Status::Invalid(
        "basic format (no '-') or a year of more than 4 digits is not supported");
  }
  JUNCTION_RETURN_IF_ERROR(CheckPart(kYearPart, parts));
  dt.precision = DatePrecision::kYear;
  for (int part = kMonthPart; part <= kDayPart; ++part) {
    if (pos >= text.size() || text[pos] != '-') break;
    ++pos;
    if (!ReadDigits(text, &pos, 2, &parts[part])) {
      return Status::Invalid(std::string(kPartNames[part]) + " needs 2 digits");
    }
    JUNCTION_RETURN_IF_ERROR(CheckPart(part, parts));
    dt.precision = PrecisionOfPart(part);
  }
  if (pos < text.size() && text[pos] == 'T') {
    if (dt.precision != DatePrecision::kDay) {
      return Status::Invalid("a time needs a full date (YYYY-MM-DD) before it");
    }
    ++pos;
    JUNCTION_RETURN_IF_ERROR(
        ParseIsoTime(text, &pos, &parts, &dt.precision, &dt.fraction, &dt.utc_offset_minutes));
  } else if (pos < text.size() &&
             (text[pos] == 'Z' || text[pos] == '+' || (text[pos] == '-' && pos >= 10))) {
    return Status::Invalid("a UTC offset needs a time before it");
  } else if (pos < text.size()) {
    return UnexpectedAt(text, pos);
  }
  dt.year = parts[kYearPart];
  dt.month = parts[kMonthPart];
  dt.day = parts[kDayPart];
  dt.hour = parts[kHourPart];
  dt.minute = parts[kMinutePart];
  dt.second = parts[kSecondPart];
  return dt;
}

Result<Time> TimeFromIso8601(std::string_view text) {
  JUNCTION_RETURN_IF_ERROR(CheckBasics(text));
  std::size_t pos = 0;
  if (text[0] == 'T') ++pos;
  std::array<int, kPartCount> parts{};
  Time t;
  JUNCTION_RETURN_IF_ERROR(
      ParseIsoTime(text, &pos, &parts, &t.precision, &t.fraction, &t.utc_offset_minutes));
  t.hour = parts[kHourPart];
  t.minute = parts[kMinutePart];
  t.second = parts[kSecondPart];
  return t;
}

std::string DateTime::ToIso8601() const {
  std::string out;
  out.reserve(32);  // the longest form, "YYYY-MM-DDThh:mm:ss.ffff+hh:mm", in one allocation
  AppendPadded(year, 4, &out);
  if (precision >= DatePrecision::kMonth) {
    out.push_back('-');
    AppendPadded(month, 2, &out);
  }
  if (precision >= DatePrecision::kDay) {
    out.push_back('-');
    AppendPadded(day, 2, &out);
  }
  if (has_time()) {
    out.push_back('T');
    AppendIsoTime(hour, minute, second, fraction, precision, &out);
    if (utc_offset_minutes) AppendOffset(*utc_offset_minutes, /*colon=*/true, &out);
  }
  return out;
}

std::string DateTime::ToHl7() const {
  std::string out;
  AppendPadded(year, 4, &out);
  if (precision >= DatePrecision::kMonth) AppendPadded(month, 2, &out);
  if (precision >= DatePrecision::kDay) AppendPadded(day, 2, &out);
  if (has_time()) AppendHl7Time(hour, minute, second, fraction, precision, &out);
  if (utc_offset_minutes) AppendOffset(*utc_offset_minutes, /*colon=*/false, &out);
  return out;
}

std::string DateTime::ToFhirDateTime(std::optional<int> assume_offset_minutes) const {
  std::optional<int> offset = utc_offset_minutes;
  if (!offset && assume_offset_minutes && OffsetInRange(*assume_offset_minutes)) {
    offset = assume_offset_minutes;
  }
  if (!has_time()) {
    DateTime date_only = *this;
    date_only.utc_offset_minutes.reset();
    return date_only.ToIso8601();
  }
  DateTime date = *this;
  date.precision = DatePrecision::kDay;
  std::string out = date.ToIso8601();
  if (!offset) return out;  // FHIR: a time needs a zone; do not invent one.
  out.push_back('T');
  AppendFhirTime(hour, minute, second, fraction, precision, &out);
  AppendOffset(*offset, /*colon=*/true, &out);
  return out;
}

Result<std::string> DateTime::ToFhirInstant(std::optional<int> assume_offset_minutes) const {
  if (precision < DatePrecision::kSecond) {
    return Status::Invalid("a FHIR instant needs seconds; the value is only precise to the " +
                           std::string(kPartNames[static_cast<std::size_t>(precision)]));
  }
  if (!utc_offset_minutes && !(assume_offset_minutes && OffsetInRange(*assume_offset_minutes))) {
    return Status::Invalid("a FHIR instant needs a UTC offset and none was given");
  }
  return ToFhirDateTime(assume_offset_minutes);
}

std::string Time::ToIso8601() const {
  std::string out;
  AppendIsoTime(hour, minute, second, fraction, precision, &out);
  if (utc_offset_minutes) AppendOffset(*utc_offset_minutes, /*colon=*/true, &out);
  return out;
}

std::string Time::ToHl7() const {
  std::string out;
  AppendHl7Time(hour, minute, second, fraction, precision, &out);
  if (utc_offset_minutes) AppendOffset(*utc_offset_minutes, /*colon=*/false, &out);
  return out;
}

std::string Time::ToFhirTime() const {
  std::string out;
  AppendFhirTime(hour, minute, second, fraction, precision, &out);
  return out;
}

Status ValidateDTM(std::string_view raw) {
  return OkIfAbsentOr(raw, [](std::string_view v) { return ParseDtm(v).status(); });
}

Status ValidateDT(std::string_view raw) {
  return OkIfAbsentOr(raw, [](std::string_view v) { return ParseDt(v).status(); });
}

Status ValidateTM(std::string_view raw) {
  return OkIfAbsentOr(raw, [](std::string_view v) { return ParseTm(v).status(); });
}

Status ValidateTS(std::string_view raw, const Delimiters& d) { return ValidateDTM(TsTime(raw, d)); }

}  // namespace junction::hl7
