#include "junction/hl7/datetime.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace junction::hl7 {
namespace {

// Asserts `raw` is rejected and the reason mentions `needle`.
void ExpectDtmInvalid(std::string_view raw, std::string_view needle) {
  Result<DateTime> r = ParseDtm(raw);
  ASSERT_FALSE(r.ok()) << raw << " parsed as " << r->ToIso8601();
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find(needle), std::string::npos)
      << raw << ": reason was \"" << r.status().message() << "\", expected to mention \"" << needle
      << "\"";
}

TEST(DateTimeParse, AllPrecisions) {
  struct Case {
    std::string_view hl7;
    DatePrecision precision;
    std::string_view iso;
  };
  const std::vector<Case> cases = {
      {"2026", DatePrecision::kYear, "2026"},
      {"202611", DatePrecision::kMonth, "2026-11"},
      {"20261126", DatePrecision::kDay, "2026-11-26"},
      {"2026112613", DatePrecision::kHour, "2026-11-26T13"},
      {"202611261345", DatePrecision::kMinute, "2026-11-26T13:45"},
      {"20261126134530", DatePrecision::kSecond, "2026-11-26T13:45:30"},
      {"20261126134530.1", DatePrecision::kFraction, "2026-11-26T13:45:30.1"},
      {"20261126134530.12", DatePrecision::kFraction, "2026-11-26T13:45:30.12"},
      {"20261126134530.123", DatePrecision::kFraction, "2026-11-26T13:45:30.123"},
      {"20261126134530.1234", DatePrecision::kFraction, "2026-11-26T13:45:30.1234"},
  };
  for (const Case& c : cases) {
    Result<DateTime> r = ParseDtm(c.hl7);
    ASSERT_TRUE(r.ok()) << c.hl7 << ": " << r.status().ToString();
    EXPECT_EQ(r->precision, c.precision) << c.hl7;
    EXPECT_FALSE(r->has_offset()) << c.hl7;
    EXPECT_EQ(r->ToIso8601(), c.iso);
    EXPECT_EQ(r->ToHl7(), c.hl7);
  }
}

TEST(DateTimeParse, FieldsAndFractionDigitsKeptAsWritten) {
  Result<DateTime> r = ParseDtm("19991231235959.0100-0500");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->year, 1999);
  EXPECT_EQ(r->month, 12);
  EXPECT_EQ(r->day, 31);
  EXPECT_EQ(r->hour, 23);
  EXPECT_EQ(r->minute, 59);
  EXPECT_EQ(r->second, 59);
  EXPECT_EQ(r->fraction, "0100");  // trailing zeros are precision, not noise
  ASSERT_TRUE(r->utc_offset_minutes.has_value());
  EXPECT_EQ(*r->utc_offset_minutes, -300);
  EXPECT_EQ(r->ToIso8601(), "1999-12-31T23:59:59.0100-05:00");
  EXPECT_EQ(r->ToHl7(), "19991231235959.0100-0500");
}

TEST(DateTimeParse, Offsets) {
  struct Case {
    std::string_view hl7;
    int minutes;
    std::string_view iso;
  };
  const std::vector<Case> cases = {
      {"20261126134530+0100", 60, "2026-11-26T13:45:30+01:00"},
      {"202611261345-0500", -300, "2026-11-26T13:45-05:00"},
      {"2026112613+0530", 330, "2026-11-26T13+05:30"},
      {"20261126134530+0000", 0, "2026-11-26T13:45:30+00:00"},
      {"20261126134530-1200", -720, "2026-11-26T13:45:30-12:00"},
      {"20261126134530+1400", 840, "2026-11-26T13:45:30+14:00"},
      {"20261126134530+0545", 345, "2026-11-26T13:45:30+05:45"},
  };
  for (const Case& c : cases) {
    Result<DateTime> r = ParseDtm(c.hl7);
    ASSERT_TRUE(r.ok()) << c.hl7 << ": " << r.status().ToString();
    ASSERT_TRUE(r->has_offset());
    EXPECT_EQ(*r->utc_offset_minutes, c.minutes) << c.hl7;
    EXPECT_EQ(r->ToIso8601(), c.iso);
    EXPECT_EQ(r->ToHl7(), c.hl7);
  }
}

TEST(DateTimeParse, OffsetOnDateOnlyKeptForHl7ButNotWrittenInIso) {
  Result<DateTime> r = ParseDtm("20261126+0100");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->precision, DatePrecision::kDay);
  EXPECT_EQ(r->ToIso8601(), "2026-11-26");
  EXPECT_EQ(r->ToHl7(), "20261126+0100");
}

TEST(DateTimeParse, LeapYears) {
  EXPECT_TRUE(ParseDtm("20240229").ok());
  EXPECT_TRUE(ParseDtm("20000229").ok());  // divisible by 400
  EXPECT_TRUE(ParseDt("20240229").ok());
  ExpectDtmInvalid("20230229", "2023 is not a leap year");
  ExpectDtmInvalid("19000229", "1900 is not a leap year");  // divisible by 100
  ExpectDtmInvalid("20240230", "day 30 out of range (February 2024 has 29 days)");
}

TEST(DateTimeParse, PythonHl7SampleBirthDateIsInvalid) {
  // PID-7 of the python-hl7 sample message: 9 digits, "day" 52.
  ExpectDtmInvalid("196203520", "day 52 out of range (March has 31 days)");
  EXPECT_FALSE(ValidateDTM("196203520").ok());
}

TEST(DateTimeParse, RangeErrorsAreReportedNotNormalised) {
  ExpectDtmInvalid("202613", "month 13 out of range (01-12)");
  ExpectDtmInvalid("202600", "month 00 out of range");
  ExpectDtmInvalid("20260400", "day 00 out of range");
  ExpectDtmInvalid("20260431", "day 31 out of range (April has 30 days)");
  ExpectDtmInvalid("2026112624", "hour 24 out of range (00-23)");
  ExpectDtmInvalid("202611261360", "minute 60 out of range (00-59)");
  ExpectDtmInvalid("20261126134561", "second 61 out of range (00-60)");
  ExpectDtmInvalid("00000101", "year 0000 out of range");
}

TEST(DateTimeParse, LeapSecondIsAccepted) {
  Result<DateTime> r = ParseDtm("20161231235960+0000");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->second, 60);
  EXPECT_EQ(r->ToIso8601(), "2016-12-31T23:59:60+00:00");
}

TEST(DateTimeParse, OffsetErrors) {
  ExpectDtmInvalid("20261126134530+1500", "out of range (-1200 to +1400)");
  ExpectDtmInvalid("20261126134530-1230", "out of range (-1200 to +1400)");
  ExpectDtmInvalid("20261126134530+1401", "out of range (-1200 to +1400)");
  ExpectDtmInvalid("20261126134530+0160", "minutes 60 out of range (00-59)");
  ExpectDtmInvalid("20261126134530+01", "+HHMM");
  ExpectDtmInvalid("20261126134530+01000", "+HHMM");
  ExpectDtmInvalid("20261126134530+", "+HHMM");
}

TEST(DateTimeParse, ShapeErrors) {
  ExpectDtmInvalid("", "empty");
  ExpectDtmInvalid("\"\"", "null");
  ExpectDtmInvalid("202", "year needs 4 digits");
  ExpectDtmInvalid("20261", "month needs 2 digits, found 1");
  ExpectDtmInvalid("2026112", "day needs 2 digits");
  ExpectDtmInvalid("202611261", "hour needs 2 digits");
  ExpectDtmInvalid("2026112613453", "second needs 2 digits");
  ExpectDtmInvalid("202611261345301", "too many digits");
  ExpectDtmInvalid("20261126134530.", "no digits after the decimal point");
  ExpectDtmInvalid("20261126134530.12345", "5 fraction digits (at most 4)");
  ExpectDtmInvalid("202611261345.5", "need the seconds");
  ExpectDtmInvalid("2026-11-26", "YYYYMMDD");
  ExpectDtmInvalid("20261126T1345", "unexpected character 'T' at position 9");
  ExpectDtmInvalid("20261126 ", "unexpected character ' ' at position 9");
  ExpectDtmInvalid(std::string_view("2026\n", 5), "byte 0x0A");
  ExpectDtmInvalid("x2026", "unexpected character 'x' at position 1");
  ExpectDtmInvalid(std::string(100, '1'), "too long");
}

TEST(DateTimeParse, DtIsDateOnly) {
  Result<DateTime> r = ParseDt("20261126");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->precision, DatePrecision::kDay);
  EXPECT_EQ(r->ToIso8601(), "2026-11-26");
  EXPECT_EQ(ParseDt("202611")->ToIso8601(), "2026-11");
  EXPECT_EQ(ParseDt("2026")->ToHl7(), "2026");

  Result<DateTime> with_time = ParseDt("2026112613");
  ASSERT_FALSE(with_time.ok());
  EXPECT_NE(with_time.status().message().find("DT has no time of day"), std::string::npos)
      << with_time.status().message();
  Result<DateTime> with_offset = ParseDt("20261126+0100");
  ASSERT_FALSE(with_offset.ok());
  EXPECT_NE(with_offset.status().message().find("DT has no UTC offset"), std::string::npos);
  EXPECT_FALSE(ParseDt("20261131").ok());
}

TEST(DateTimeParse, Tm) {
  struct Case {
    std::string_view hl7;
    DatePrecision precision;
    std::string_view iso;
    std::string_view fhir;
  };
  const std::vector<Case> cases = {
      {"13", DatePrecision::kHour, "13", "13:00:00"},
      {"1345", DatePrecision::kMinute, "13:45", "13:45:00"},
      {"134530", DatePrecision::kSecond, "13:45:30", "13:45:30"},
      {"134530.12", DatePrecision::kFraction, "13:45:30.12", "13:45:30.12"},
      {"134530.1234-0500", DatePrecision::kFraction, "13:45:30.1234-05:00", "13:45:30.1234"},
      {"0000", DatePrecision::kMinute, "00:00", "00:00:00"},
  };
  for (const Case& c : cases) {
    Result<Time> r = ParseTm(c.hl7);
    ASSERT_TRUE(r.ok()) << c.hl7 << ": " << r.status().ToString();
    EXPECT_EQ(r->precision, c.precision) << c.hl7;
    EXPECT_EQ(r->ToIso8601(), c.iso);
    EXPECT_EQ(r->ToHl7(), c.hl7);
    EXPECT_EQ(r->ToFhirTime(), c.fhir);
    Result<Time> back = TimeFromIso8601(r->ToIso8601());
    ASSERT_TRUE(back.ok()) << c.iso << ": " << back.status().ToString();
    EXPECT_EQ(back->ToHl7(), c.hl7);
  }
  EXPECT_FALSE(ParseTm("24").ok());
  EXPECT_FALSE(ParseTm("1360").ok());
  EXPECT_FALSE(ParseTm("1").ok());
  EXPECT_FALSE(ParseTm("1345301").ok());
  EXPECT_FALSE(ParseTm("13:45").ok());
  EXPECT_FALSE(ParseTm("134530+2000").ok());
  EXPECT_NE(ParseTm("25").status().message().find("hour 25 out of range"), std::string::npos);
}

TEST(DateTimeTs, UsesComponentOneOnly) {
  Delimiters d;
  Result<DateTime> r = ParseTs("200401011200^M", d);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->precision, DatePrecision::kMinute);
  EXPECT_EQ(r->ToIso8601(), "2004-01-01T12:00");
  EXPECT_EQ(TsTime("20040101^D", d), "20040101");
  EXPECT_EQ(TsTime("20040101", d), "20040101");
  EXPECT_TRUE(ValidateTS("20040101^D", d).ok());
  EXPECT_FALSE(ValidateTS("20041301^D", d).ok());

  Delimiters custom;
  custom.component = '#';
  EXPECT_EQ(ParseTs("2004#Y", custom)->ToIso8601(), "2004");
  EXPECT_FALSE(ParseTs("2004#Y", d).ok());  // '#' is no separator there
}

TEST(DateTimeIso, RoundTripHl7IsoHl7) {
  const std::vector<std::string_view> values = {
      "2026",
      "202611",
      "20261126",
      "2026112613+0100",
      "202611261345",
      "20261126134530-0500",
      "20261126134530.1",
      "20261126134530.1234+0100",
      "20240229000000",
      "18500101",
  };
  for (std::string_view v : values) {
    Result<DateTime> dt = ParseDtm(v);
    ASSERT_TRUE(dt.ok()) << v << ": " << dt.status().ToString();
    Result<DateTime> back = DateTimeFromIso8601(dt->ToIso8601());
    ASSERT_TRUE(back.ok()) << dt->ToIso8601() << ": " << back.status().ToString();
    EXPECT_EQ(back->ToHl7(), v);
    EXPECT_EQ(back->precision, dt->precision);
    EXPECT_EQ(back->fraction, dt->fraction);
    EXPECT_EQ(back->utc_offset_minutes, dt->utc_offset_minutes);
  }
}

TEST(DateTimeIso, FromIso8601Forms) {
  Result<DateTime> z = DateTimeFromIso8601("2026-11-26T13:45:30.123Z");
  ASSERT_TRUE(z.ok()) << z.status().ToString();
  EXPECT_EQ(z->ToHl7(), "20261126134530.123+0000");
  EXPECT_EQ(z->ToIso8601(), "2026-11-26T13:45:30.123+00:00");

  EXPECT_EQ(DateTimeFromIso8601("2026-11-26T13:45+0530")->ToHl7(), "202611261345+0530");
  EXPECT_EQ(DateTimeFromIso8601("2026-11-26T13-05")->ToHl7(), "2026112613-0500");
  EXPECT_EQ(DateTimeFromIso8601("2026-11-26T13:45:30,5")->ToHl7(), "20261126134530.5");

  EXPECT_FALSE(DateTimeFromIso8601("20261126").ok());  // basic format
  EXPECT_FALSE(DateTimeFromIso8601("2026-11-26T13:45:30.12345").ok());
  EXPECT_FALSE(DateTimeFromIso8601("2026-11-26+01:00").ok());
  EXPECT_FALSE(DateTimeFromIso8601("2026-11T13:00").ok());
  EXPECT_FALSE(DateTimeFromIso8601("2023-02-29").ok());
  EXPECT_FALSE(DateTimeFromIso8601("2026-11-26T25:00").ok());
  EXPECT_FALSE(DateTimeFromIso8601("2026-11-26T13:45:30+15:00").ok());
  EXPECT_FALSE(DateTimeFromIso8601("2026-11-26T13:45:30x").ok());
  EXPECT_FALSE(DateTimeFromIso8601("2026-1-26").ok());
  EXPECT_FALSE(DateTimeFromIso8601("").ok());
  EXPECT_NE(DateTimeFromIso8601("2026-11-26T13:45:30.12345").status().message().find("at most 4"),
            std::string::npos);
}

TEST(DateTimeFhir, DateTimeChoices) {
  // Dates pass through at their precision; FHIR allows YYYY, YYYY-MM, YYYY-MM-DD.
  EXPECT_EQ(ParseDtm("2026")->ToFhirDateTime(), "2026");
  EXPECT_EQ(ParseDtm("202611")->ToFhirDateTime(), "2026-11");
  EXPECT_EQ(ParseDtm("20261126+0100")->ToFhirDateTime(), "2026-11-26");
  // With an offset: seconds are padded.
  EXPECT_EQ(ParseDtm("2026112613+0100")->ToFhirDateTime(), "2026-11-26T13:00:00+01:00");
  EXPECT_EQ(ParseDtm("202611261345-0500")->ToFhirDateTime(), "2026-11-26T13:45:00-05:00");
  EXPECT_EQ(ParseDtm("20261126134530.1234+0100")->ToFhirDateTime(),
            "2026-11-26T13:45:30.1234+01:00");
  // Without an offset the time is dropped: FHIR needs a zone and we invent none...
  EXPECT_EQ(ParseDtm("20261126134530")->ToFhirDateTime(), "2026-11-26");
  // ...unless the caller knows the sender's zone.
  EXPECT_EQ(ParseDtm("20261126134530")->ToFhirDateTime(60), "2026-11-26T13:45:30+01:00");
  // The value's own offset wins over the assumed one.
  EXPECT_EQ(ParseDtm("20261126134530-0500")->ToFhirDateTime(60), "2026-11-26T13:45:30-05:00");
  // An impossible assumed offset is ignored rather than written.
  EXPECT_EQ(ParseDtm("20261126134530")->ToFhirDateTime(24 * 60), "2026-11-26");
}

TEST(DateTimeFhir, Instant) {
  Result<std::string> ok = ParseDtm("20261126134530.123+0100")->ToFhirInstant();
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, "2026-11-26T13:45:30.123+01:00");
  EXPECT_EQ(*ParseDtm("20261126134530")->ToFhirInstant(0), "2026-11-26T13:45:30+00:00");
  EXPECT_FALSE(ParseDtm("20261126134530")->ToFhirInstant().ok());
  Result<std::string> coarse = ParseDtm("202611261345+0100")->ToFhirInstant();
  ASSERT_FALSE(coarse.ok());
  EXPECT_NE(coarse.status().message().find("needs seconds"), std::string::npos);
}

TEST(DateTimeValidate, AbsentAndNullAreOk) {
  EXPECT_TRUE(ValidateDTM("").ok());
  EXPECT_TRUE(ValidateDTM("\"\"").ok());
  EXPECT_TRUE(ValidateDT("").ok());
  EXPECT_TRUE(ValidateTM("\"\"").ok());
  EXPECT_TRUE(ValidateDTM("20261126134530.1234+0100").ok());
  EXPECT_TRUE(ValidateDT("20261126").ok());
  EXPECT_TRUE(ValidateTM("2359").ok());
  Status bad = ValidateDT("20261326");
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.message(), "month 13 out of range (01-12)");
  EXPECT_FALSE(bad.has_offset());
  EXPECT_FALSE(ValidateTM("2400").ok());
}

TEST(DateTimeHelpers, DaysInMonth) {
  EXPECT_EQ(DaysInMonth(2024, 2), 29);
  EXPECT_EQ(DaysInMonth(2023, 2), 28);
  EXPECT_EQ(DaysInMonth(2100, 2), 28);
  EXPECT_EQ(DaysInMonth(2000, 2), 29);
  EXPECT_EQ(DaysInMonth(2026, 12), 31);
  EXPECT_EQ(DaysInMonth(2026, 13), 0);
  EXPECT_EQ(MonthName(9), "September");
  EXPECT_EQ(MonthName(0), "");
}

// Property check over generated text: no input crashes (ASan/UBSan watch), and
// every accepted value round-trips HL7 -> struct -> HL7 and HL7 -> ISO -> HL7.
TEST(DateTimeProperty, AcceptedValuesRoundTrip) {
  static constexpr std::string_view kAlphabet = "0000111122223456789+-.:TZ^";
  std::uint64_t state = 0x9E3779B97F4A7C15ull;  // fixed seed: reproducible
  auto next = [&state]() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  int accepted = 0;
  for (int i = 0; i < 50000; ++i) {
    std::string raw;
    // Mostly digit runs of date-like length, then a few arbitrary characters.
    const std::size_t digits = next() % 17;
    for (std::size_t k = 0; k < digits; ++k) raw.push_back(static_cast<char>('0' + next() % 10));
    const std::size_t extra = next() % 6;
    for (std::size_t k = 0; k < extra; ++k) raw.push_back(kAlphabet[next() % kAlphabet.size()]);
    Result<DateTime> dt = ParseDtm(raw);
    (void)ParseTm(raw);
    (void)ParseDt(raw);
    (void)DateTimeFromIso8601(raw);
    (void)TimeFromIso8601(raw);
    if (!dt.ok()) {
      EXPECT_FALSE(dt.status().message().empty()) << raw;
      continue;
    }
    ++accepted;
    // "-0000" is read as offset 0 and written "+0000" (the one spelling not kept).
    if (raw.size() >= 5 && raw.compare(raw.size() - 5, 5, "-0000") == 0) continue;
    EXPECT_EQ(dt->ToHl7(), raw);
    if (dt->has_offset() && !dt->has_time()) continue;  // ISO has no offset on a date
    Result<DateTime> back = DateTimeFromIso8601(dt->ToIso8601());
    ASSERT_TRUE(back.ok()) << raw << " -> " << dt->ToIso8601() << ": " << back.status().ToString();
    EXPECT_EQ(back->ToHl7(), raw);
  }
  EXPECT_GT(accepted, 1000);  // the generator does reach valid values
}

}  // namespace
}  // namespace junction::hl7
