// Time zones, precision and offsets.
#include <gtest/gtest.h>

#include "test_util.h"

namespace junction::fhir::testing {
namespace {

// A PV1-44 admit time and a PID-7 birth date, converted with `tz`.
std::pair<std::string, std::string> Convert2(const std::string& admit, const std::string& dob, const std::string& tz) {
  ConvertOptions o;
  o.default_timezone = tz;
  std::string text = Msg({Seg("MSH", {{4, "H"}, {7, "20240305143000"}, {9, "ADT^A01"}, {10, "T1"}}),
                          Seg("PID", {{3, "1^^^H"}, {7, dob}}), Seg("PV1", {{2, "I"}, {19, "V1^^^H"}, {44, admit}})});
  ConvertResult r = MustConvert(text, o);
  auto enc = Resources(r.bundle, "Encounter");
  auto pat = Resources(r.bundle, "Patient");
  std::string start, birth;
  if (!enc.empty() && enc[0]->contains("period")) start = Str(enc[0]->at("period").at("start"));
  if (!pat.empty() && pat[0]->contains("birthDate")) birth = Str(pat[0]->at("birthDate"));
  return {start, birth};
}

TEST(FhirTime, DefaultTimezoneAppliesOnlyWithoutOffset) {
  EXPECT_EQ(Convert2("202403051430", "", "UTC").first, "2024-03-05T14:30:00+00:00");
  EXPECT_EQ(Convert2("202403051430", "", "+05:30").first, "2024-03-05T14:30:00+05:30");
  EXPECT_EQ(Convert2("202403051430-0330", "", "+05:30").first, "2024-03-05T14:30:00-03:30");
  EXPECT_EQ(Convert2("20240305143015.12+0000", "", "Europe/Berlin").first, "2024-03-05T14:30:15.12+00:00");
}

TEST(FhirTime, IanaZoneFollowsDaylightSaving) {
  if (!Convert2("202401151200", "", "America/New_York").first.size()) GTEST_SKIP() << "no tzdata";
  EXPECT_EQ(Convert2("202401151200", "", "America/New_York").first, "2024-01-15T12:00:00-05:00");
  EXPECT_EQ(Convert2("202407151200", "", "America/New_York").first, "2024-07-15T12:00:00-04:00");
  EXPECT_EQ(Convert2("202407151200", "", "Europe/Berlin").first, "2024-07-15T12:00:00+02:00");
  EXPECT_EQ(Convert2("202412011200", "", "Europe/Berlin").first, "2024-12-01T12:00:00+01:00");
  // The spring-forward gap (02:30 does not exist): the offset before the gap.
  EXPECT_EQ(Convert2("202403310230", "", "Europe/Berlin").first, "2024-03-31T02:30:00+01:00");
}

TEST(FhirTime, PrecisionIsKept) {
  EXPECT_EQ(Convert2("2024", "1980", "UTC").first, "2024");
  EXPECT_EQ(Convert2("202403", "198001", "UTC").first, "2024-03");
  EXPECT_EQ(Convert2("20240305", "19800102", "UTC").first, "2024-03-05");
  // Hour precision: FHIR needs seconds once a time is given.
  EXPECT_EQ(Convert2("2024030514", "", "UTC").first, "2024-03-05T14:00:00+00:00");
  EXPECT_EQ(Convert2("", "1980", "UTC").second, "1980");
  // birthDate is a date: the time goes to the birthTime extension.
  EXPECT_EQ(Convert2("", "198001020830", "UTC").second, "1980-01-02");
}

TEST(FhirTime, InvalidValuesAreReportedNotGuessed) {
  ConvertOptions o;
  std::string text = Msg({Seg("MSH", {{4, "H"}, {9, "ADT^A01"}, {10, "T1"}}), Seg("PID", {{3, "1^^^H"}, {7, "20230229"}})});
  ConvertResult r = MustConvert(text, o);
  EXPECT_FALSE(Resources(r.bundle, "Patient")[0]->contains("birthDate"));
  EXPECT_TRUE(HasIssueAt(r, "PID-7"));
}

TEST(FhirTime, BadTimezoneIsAnError) {
  auto msg = hl7::Message::Parse(Msg({Seg("MSH", {{9, "ADT^A01"}})}));
  ASSERT_TRUE(msg.ok());
  ConvertOptions o;
  o.default_timezone = "Not/AZone";
  EXPECT_FALSE(Convert(*msg, o).ok());
  o.default_timezone = "../../etc/passwd";
  EXPECT_FALSE(Convert(*msg, o).ok());
  o.default_timezone = "+25:00";
  EXPECT_FALSE(Convert(*msg, o).ok());
}

}  // namespace
}  // namespace junction::fhir::testing
