#include "junction/hl7/validate.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "junction/hl7/dictionary.h"

namespace junction::hl7 {
namespace {

// A conforming ADT^A01 in 2.5.1: every required field valued, segments in order.
const char kAdtA01[] =
    "MSH|^~\\&|SEND|FAC|RECV|RFAC|20260101120000||ADT^A01^ADT_A01|CTRL1|P|2.5.1\r"
    "EVN|A01|20260101120000\r"
    "PID|1||123^^^HOSP^MR~456^^^SSA^SS||DOE^JOHN^Q||19800101|M|||1 MAIN ST^^TOWN^ST^12345\r"
    "NK1|1|DOE^JANE|SPO\r"
    "PV1|1|I|W1^101^A\r";

const char kOruR01[] =
    "MSH|^~\\&|LAB|FAC|EHR|FAC|20260101120000||ORU^R01^ORU_R01|C2|P|2.5.1\r"
    "PID|1||123^^^HOSP^MR||DOE^JOHN\r"
    "OBR|1|||GLU^Glucose^L\r"
    "OBX|1|NM|GLU^Glucose^L||5.4|mmol/L|||||F\r"
    "OBX|2|ST|NOTE^Note^L||fasting||||||F\r";

Message MustParse(std::string_view text) {
  auto parsed = Message::Parse(text);
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  return std::move(parsed).value();
}

std::string Dump(const ValidationReport& r) {
  std::string out;
  for (const Finding& f : r.findings) {
    out += f.path + " " + std::string(SeverityName(f.severity)) + " " + std::to_string(f.code) +
           " " + f.message + "\n";
  }
  return out;
}

// The first finding at `path` with `code`, or nullptr.
const Finding* FindAt(const ValidationReport& r, std::string_view path, int code) {
  for (const Finding& f : r.findings) {
    if (f.path == path && f.code == code) return &f;
  }
  return nullptr;
}

std::string Replace(std::string text, std::string_view from, std::string_view to) {
  std::size_t pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) text.replace(pos, from.size(), to);
  return text;
}

TEST(ValidateTest, ConformingAdtA01IsOk) {
  ValidationReport r = Validate(MustParse(kAdtA01));
  EXPECT_TRUE(r.ok()) << Dump(r);
  EXPECT_EQ(r.findings.size(), 0u) << Dump(r);
  EXPECT_EQ(r.version_used, "2.5.1");
  EXPECT_EQ(r.structure, "ADT_A01");
  EXPECT_FALSE(r.truncated);
}

TEST(ValidateTest, ConformingOruR01IsOk) {
  ValidationReport r = Validate(MustParse(kOruR01));
  EXPECT_TRUE(r.ok()) << Dump(r);
  EXPECT_EQ(r.structure, "ORU_R01");
}

TEST(ValidateTest, MissingRequiredFieldsAre101WithPath) {
  std::string text = Replace(kAdtA01, "|123^^^HOSP^MR~456^^^SSA^SS||DOE^JOHN^Q|", "||||");
  ValidationReport r = Validate(MustParse(text));
  EXPECT_FALSE(r.ok());
  const Finding* pid3 = FindAt(r, "PID-3", 101);
  ASSERT_NE(pid3, nullptr) << Dump(r);
  EXPECT_EQ(pid3->severity, Severity::kError);
  EXPECT_NE(pid3->message.find("Patient Identifier List"), std::string::npos);
  EXPECT_NE(FindAt(r, "PID-5", 101), nullptr) << Dump(r);
}

TEST(ValidateTest, MissingMessageTypeIs101) {
  std::string text = Replace(kAdtA01, "ADT^A01^ADT_A01", "");
  ValidationReport r = Validate(MustParse(text));
  EXPECT_NE(FindAt(r, "MSH-9", 101), nullptr) << Dump(r);
  EXPECT_EQ(r.structure, "");
}

TEST(ValidateTest, PresentButNullSatisfiesRequiredAndSkipsFormat) {
  std::string text = Replace(kAdtA01, "DOE^JOHN^Q||19800101|", "\"\"||\"\"|");
  ValidationReport r = Validate(MustParse(text));
  EXPECT_TRUE(r.ok()) << Dump(r);
}

TEST(ValidateTest, BadDateIs102AndEchoesValue) {
  std::string text = Replace(kAdtA01, "19800101", "196203520");
  ValidationReport r = Validate(MustParse(text));
  const Finding* f = FindAt(r, "PID-7", 102);
  ASSERT_NE(f, nullptr) << Dump(r);
  EXPECT_EQ(f->severity, Severity::kError);
  EXPECT_NE(f->message.find("196203520"), std::string::npos) << f->message;
  EXPECT_FALSE(r.ok());
}

TEST(ValidateTest, TimestampPrecisionComponentIsNotTheDate) {
  // TS in 2.5.1 is DTM^degree-of-precision; only the DTM is a date.
  std::string text = Replace(kAdtA01, "19800101", "19800101^D");
  EXPECT_TRUE(Validate(MustParse(text)).ok());
}

TEST(ValidateTest, DateInsideCompositeComponentIsChecked) {
  // CX-7 (effective date) is a DT component.
  std::string text = Replace(kAdtA01, "123^^^HOSP^MR~", "123^^^HOSP^MR^^20201340~");
  ValidationReport r = Validate(MustParse(text));
  EXPECT_NE(FindAt(r, "PID-3.7", 102), nullptr) << Dump(r);
  // The second repetition's path says which repetition.
  text = Replace(kAdtA01, "456^^^SSA^SS", "456^^^SSA^SS^^2020x");
  r = Validate(MustParse(text));
  EXPECT_NE(FindAt(r, "PID-3[2].7", 102), nullptr) << Dump(r);
}

TEST(ValidateTest, DateInsideSubcomponentIsChecked) {
  // XPN-10 is DR (TS&TS); its start is a subcomponent holding a TS.
  std::string text = Replace(kAdtA01, "DOE^JOHN^Q", "DOE^JOHN^Q^^^^^^^20201301&20211231");
  ValidationReport r = Validate(MustParse(text));
  EXPECT_NE(FindAt(r, "PID-5.10.1", 102), nullptr) << Dump(r);
}

TEST(ValidateTest, ObxValueTypeComesFromObx2) {
  std::string text = Replace(kOruR01, "||5.4|", "||5,4|");
  ValidationReport r = Validate(MustParse(text));
  const Finding* f = FindAt(r, "OBX-5", 102);
  ASSERT_NE(f, nullptr) << Dump(r);
  EXPECT_NE(f->message.find("NM"), std::string::npos);
  // The same text is fine as ST.
  text = Replace(kOruR01, "|NM|GLU^Glucose^L||5.4|", "|ST|GLU^Glucose^L||5,4|");
  EXPECT_TRUE(Validate(MustParse(text)).ok());
  // And a second OBX gets an occurrence in its path.
  text = Replace(kOruR01, "|ST|NOTE^Note^L||fasting|", "|DT|NOTE^Note^L||2020-01-01|");
  r = Validate(MustParse(text));
  EXPECT_NE(FindAt(r, "OBX[2]-5", 102), nullptr) << Dump(r);
}

TEST(ValidateTest, ObxRetiredValueTypeOfTheVersionIsAccepted) {
  // CE is a valid value type in 2.5.1 although later editions retired it.
  std::string text = Replace(kOruR01, "|ST|NOTE^Note^L||fasting|", "|CE|NOTE^Note^L||A^B^L|");
  ValidationReport r = Validate(MustParse(text));
  EXPECT_TRUE(r.ok()) << Dump(r);
  text = Replace(kOruR01, "|ST|NOTE^Note^L||fasting|", "|QQ|NOTE^Note^L||A|");
  r = Validate(MustParse(text));
  EXPECT_NE(FindAt(r, "OBX[2]-2", 103), nullptr) << Dump(r);
}

TEST(ValidateTest, BadNumberAndSetId) {
  std::string text = Replace(kAdtA01, "PID|1|", "PID|one|");
  ValidationReport r = Validate(MustParse(text));
  EXPECT_NE(FindAt(r, "PID-1", 102), nullptr) << Dump(r);
}

TEST(ValidateTest, TableValues) {
  // PID-8 is IS (user-defined table 0001) in 2.5.1: a warning at most.
  std::string text = Replace(kAdtA01, "|M|", "|X|");
  ValidationReport r = Validate(MustParse(text));
  const Finding* f = FindAt(r, "PID-8", 103);
  ASSERT_NE(f, nullptr) << Dump(r);
  EXPECT_EQ(f->severity, Severity::kWarning);
  EXPECT_NE(f->message.find("0001"), std::string::npos) << f->message;
  EXPECT_TRUE(r.ok());
  // PID-24 (multiple birth) is ID against HL7 table 0136 (Y/N): an error.
  text = Replace(kAdtA01, "12345\r", "12345|||||||||||||Q\r");
  r = Validate(MustParse(text));
  f = FindAt(r, "PID-24", 103);
  ASSERT_NE(f, nullptr) << Dump(r);
  EXPECT_EQ(f->severity, Severity::kError);
  // check_tables = false turns it off.
  ValidationOptions options;
  options.check_tables = false;
  EXPECT_EQ(FindAt(Validate(MustParse(text), options), "PID-24", 103), nullptr);
}

TEST(ValidateTest, ComponentTableValueIsChecked) {
  // CX-5 identifier type is ID against table 0203.
  std::string text = Replace(kAdtA01, "456^^^SSA^SS", "456^^^SSA^QQQ");
  ValidationReport r = Validate(MustParse(text));
  EXPECT_NE(FindAt(r, "PID-3[2].5", 103), nullptr) << Dump(r);
}

TEST(ValidateTest, SegmentOutOfOrderIs100) {
  std::string text =
      "MSH|^~\\&|SEND|FAC|RECV|RFAC|20260101120000||ADT^A01^ADT_A01|CTRL1|P|2.5.1\r"
      "PID|1||123^^^HOSP^MR||DOE^JOHN\r"
      "EVN|A01|20260101120000\r"
      "PV1|1|I\r";
  ValidationReport r = Validate(MustParse(text));
  EXPECT_FALSE(r.ok());
  bool found = false;
  for (const Finding& f : r.findings) {
    if (f.code == 100 && f.severity == Severity::kError) found = true;
  }
  EXPECT_TRUE(found) << Dump(r);
}

TEST(ValidateTest, MissingRequiredSegmentIs100) {
  std::string text = Replace(kAdtA01, "PV1|1|I|W1^101^A\r", "");
  ValidationReport r = Validate(MustParse(text));
  EXPECT_NE(FindAt(r, "PV1", 100), nullptr) << Dump(r);
}

TEST(ValidateTest, ZSegmentIsAllowed) {
  std::string text = std::string(kAdtA01) + "ZPI|1|anything^at^all|\r";
  ValidationReport r = Validate(MustParse(text));
  EXPECT_TRUE(r.findings.empty()) << Dump(r);
}

TEST(ValidateTest, UnknownSegmentIsAWarning) {
  std::string text = std::string(kAdtA01) + "XYZ|1|2\r";
  ValidationReport r = Validate(MustParse(text));
  EXPECT_TRUE(r.ok()) << Dump(r);
  const Finding* f = FindAt(r, "XYZ", 100);
  ASSERT_NE(f, nullptr) << Dump(r);
  EXPECT_EQ(f->severity, Severity::kWarning);
  EXPECT_EQ(r.findings.size(), 1u) << Dump(r);
}

TEST(ValidateTest, NewerVersionIsCheckedAs271WithWarning) {
  for (const char* v : {"2.8", "2.8.1", "2.8.2", "2.9"}) {
    std::string text = Replace(kAdtA01, "|P|2.5.1", std::string("|P|") + v);
    ValidationReport r = Validate(MustParse(text));
    EXPECT_EQ(r.version_used, "2.7.1") << v;
    const Finding* f = FindAt(r, "MSH-12", 203);
    ASSERT_NE(f, nullptr) << v << "\n" << Dump(r);
    EXPECT_EQ(f->severity, Severity::kWarning);
  }
}

TEST(ValidateTest, EmptyOrUnknownVersionUsesFallback) {
  std::string text = Replace(kAdtA01, "|P|2.5.1", "|P|");
  ValidationOptions options;
  options.fallback_version = "2.4";
  ValidationReport r = Validate(MustParse(text), options);
  EXPECT_EQ(r.version_used, "2.4");
  const Finding* f = FindAt(r, "MSH-12", 203);
  ASSERT_NE(f, nullptr) << Dump(r);
  EXPECT_EQ(f->severity, Severity::kWarning);

  text = Replace(kAdtA01, "|P|2.5.1", "|P|3.0");
  r = Validate(MustParse(text));
  EXPECT_EQ(r.version_used, "2.5.1");
  EXPECT_NE(FindAt(r, "MSH-12", 203), nullptr) << Dump(r);
}

TEST(ValidateTest, EveryDictionaryVersionValidatesWithoutCrash) {
  for (std::string_view v : Dictionary::Versions()) {
    std::string text = Replace(kAdtA01, "|P|2.5.1", "|P|" + std::string(v));
    ValidationReport r = Validate(MustParse(text));
    EXPECT_EQ(r.version_used, v);
    EXPECT_EQ(FindAt(r, "MSH-12", 203), nullptr) << v << "\n" << Dump(r);
  }
}

TEST(ValidateTest, OldVersionsTakeTheEventFromEvn1) {
  std::string text = Replace(kAdtA01, "ADT^A01^ADT_A01", "ADT");
  text = Replace(text, "|P|2.5.1", "|P|2.2");
  ValidationReport r = Validate(MustParse(text));
  EXPECT_EQ(r.version_used, "2.2");
  EXPECT_EQ(FindAt(r, "MSH-9", 201), nullptr) << Dump(r);
  EXPECT_FALSE(r.structure.empty()) << Dump(r);
}

TEST(ValidateTest, UnknownMessageTypeSkipsStructureButChecksFields) {
  std::string text = Replace(kAdtA01, "ADT^A01^ADT_A01", "QQQ^Q99");
  text = Replace(text, "19800101", "19801301");
  ValidationReport r = Validate(MustParse(text));
  EXPECT_NE(FindAt(r, "MSH-9", 200), nullptr) << Dump(r);
  EXPECT_NE(FindAt(r, "PID-7", 102), nullptr) << Dump(r);
  EXPECT_EQ(r.structure, "");

  text = Replace(kAdtA01, "ADT^A01^ADT_A01", "ADT^Q99");
  r = Validate(MustParse(text));
  EXPECT_NE(FindAt(r, "MSH-9", 201), nullptr) << Dump(r);
}

TEST(ValidateTest, LengthOverrunIsAWarning) {
  std::string text = Replace(kAdtA01, "|M|", "|MM|");  // PID-8 length 1
  ValidationReport r = Validate(MustParse(text));
  const Finding* f = FindAt(r, "PID-8", 104);
  ASSERT_NE(f, nullptr) << Dump(r);
  EXPECT_EQ(f->severity, Severity::kWarning);
  ValidationOptions options;
  options.check_lengths = false;
  EXPECT_EQ(FindAt(Validate(MustParse(text), options), "PID-8", 104), nullptr);
}

TEST(ValidateTest, TooManyRepetitionsIsAnError) {
  std::string text = Replace(kAdtA01, "|19800101|", "|19800101~19800102|");  // PID-7 repeats once
  ValidationReport r = Validate(MustParse(text));
  EXPECT_NE(FindAt(r, "PID-7", 102), nullptr) << Dump(r);
}

TEST(ValidateTest, FindingsAreBounded) {
  std::string text = kOruR01;
  for (int i = 0; i < 50; ++i) text += "OBX|x|NM|A||abc|||||Q\r";
  ValidationOptions options;
  options.max_findings = 10;
  ValidationReport r = Validate(MustParse(text), options);
  EXPECT_EQ(r.findings.size(), 10u);
  EXPECT_TRUE(r.truncated);
}

TEST(ValidateTest, LongValuesAreTruncatedInMessages) {
  std::string longdate(200, '9');
  std::string text = Replace(kAdtA01, "19800101", longdate);
  ValidationOptions options;
  options.check_lengths = false;
  ValidationReport r = Validate(MustParse(text), options);
  const Finding* f = FindAt(r, "PID-7", 102);
  ASSERT_NE(f, nullptr) << Dump(r);
  EXPECT_LT(f->message.size(), 160u) << f->message;
  EXPECT_EQ(f->message.find(longdate), std::string::npos);
}

TEST(ValidateTest, DelimiterFieldsAreNotCheckedAsFields) {
  // MSH-2 is 4 characters but would fail an ST/length check as a value with '^'.
  std::string text = Replace(kAdtA01, "MSH|^~\\&|", "MSH|^~\\&#|");  // truncation char (2.7+)
  ValidationReport r = Validate(MustParse(text));
  EXPECT_EQ(FindAt(r, "MSH-1", 104), nullptr) << Dump(r);
  EXPECT_EQ(FindAt(r, "MSH-2", 104), nullptr) << Dump(r);
  EXPECT_EQ(FindAt(r, "MSH-2", 102), nullptr) << Dump(r);
}

TEST(ValidateTest, ZSegmentInsideTheMessageIsAllowed) {
  std::string text = Replace(kAdtA01, "NK1|1|", "ZNK|1|x\rNK1|1|");
  ValidationReport r = Validate(MustParse(text));
  EXPECT_TRUE(r.findings.empty()) << Dump(r);
}

TEST(ValidateTest, MutatedMessagesNeverCrash) {
  // Deterministic byte mutations of conforming messages, with a profile too:
  // the sanitizers watch for memory errors, the asserts for report invariants.
  Profile p;
  p.fields.push_back({"PID-3.4.1", true, {}, 1, 3, "^[A-Z]+$"});
  p.fields.push_back({"OBX-5", false, {"5.4", "x"}, 0, 0, ""});
  p.segments.push_back({"OBX", 0, 2});
  ASSERT_TRUE(CompileProfile(&p).ok());
  ValidationOptions options;
  options.profile = &p;
  options.max_findings = 50;
  const char kAlphabet[] = "|^~\\&\"\r0123ZXA.-+ ";
  unsigned state = 12345;
  auto next = [&state] { return state = state * 1103515245u + 12345u; };
  int validated = 0;
  for (const char* base : {kAdtA01, kOruR01}) {
    for (int i = 0; i < 400; ++i) {
      std::string text = base;
      for (int k = 0; k < 1 + i % 4; ++k) {
        std::size_t at = 4 + next() % (text.size() - 4);
        char c = kAlphabet[next() % (sizeof kAlphabet - 1)];
        if (next() % 3 == 0) {
          text.insert(at, 1, c);
        } else {
          text[at] = c;
        }
      }
      auto msg = Message::Parse(text);
      if (!msg.ok()) continue;
      ValidationReport r = Validate(*msg, options);
      ++validated;
      ASSERT_LE(r.findings.size(), options.max_findings);
      EXPECT_EQ(r.ok(), r.errors() == 0);
      EXPECT_FALSE(r.version_used.empty());
      for (const Finding& f : r.findings) EXPECT_FALSE(f.message.empty());
    }
  }
  EXPECT_GT(validated, 100);
}

TEST(ValidateTest, SeverityNames) {
  EXPECT_EQ(SeverityName(Severity::kError), "error");
  EXPECT_EQ(SeverityName(Severity::kWarning), "warning");
  EXPECT_EQ(SeverityName(Severity::kInfo), "info");
}

// ---- Profiles ----

Profile StrictAdt() {
  Profile p;
  p.name = "adt-a01-strict";
  p.message_type = "ADT^A01";
  p.segments.push_back({"PV1", 1, 1});
  p.segments.push_back({"NK1", 0, 1});
  p.fields.push_back({"PID-3", true, {}, 2, 0, ""});
  p.fields.push_back({"PID-8", false, {"F", "M", "U"}, 0, 0, ""});
  p.fields.push_back({"PID-7", true, {}, 0, 0, "^[0-9]{8}"});
  p.fields.push_back({"PID-5.2", true, {}, 0, 0, ""});
  p.fields.push_back({"PID-11", false, {}, 0, 1, ""});
  return p;
}

ValidationReport WithProfile(std::string_view text, const Profile& p) {
  ValidationOptions options;
  options.profile = &p;
  return Validate(MustParse(text), options);
}

TEST(ValidateProfileTest, ConformingMessagePasses) {
  Profile p = StrictAdt();
  ASSERT_TRUE(CompileProfile(&p).ok());
  ValidationReport r = WithProfile(kAdtA01, p);
  EXPECT_TRUE(r.ok()) << Dump(r);
  EXPECT_TRUE(r.findings.empty()) << Dump(r);
}

TEST(ValidateProfileTest, UncompiledProfileWorksToo) {
  Profile p = StrictAdt();
  std::string text = Replace(kAdtA01, "|M|", "|X|");
  ValidationReport r = WithProfile(text, p);
  EXPECT_NE(FindAt(r, "PID-8", 103), nullptr) << Dump(r);
}

TEST(ValidateProfileTest, RequiredField) {
  Profile p = StrictAdt();
  ASSERT_TRUE(CompileProfile(&p).ok());
  std::string text = Replace(kAdtA01, "DOE^JOHN^Q", "DOE");
  ValidationReport r = WithProfile(text, p);
  const Finding* f = FindAt(r, "PID-5.2", 101);
  ASSERT_NE(f, nullptr) << Dump(r);
  EXPECT_EQ(f->severity, Severity::kError);
}

TEST(ValidateProfileTest, AllowedValues) {
  Profile p = StrictAdt();
  ASSERT_TRUE(CompileProfile(&p).ok());
  std::string text = Replace(kAdtA01, "|M|", "|O|");  // in HL7 table 0001, not in the profile
  ValidationReport r = WithProfile(text, p);
  const Finding* f = FindAt(r, "PID-8", 103);
  ASSERT_NE(f, nullptr) << Dump(r);
  EXPECT_EQ(f->severity, Severity::kError);
  EXPECT_NE(f->message.find("F, M, U"), std::string::npos) << f->message;
}

TEST(ValidateProfileTest, Pattern) {
  Profile p = StrictAdt();
  ASSERT_TRUE(CompileProfile(&p).ok());
  std::string text = Replace(kAdtA01, "19800101", "1980");  // valid DTM, fails the pattern
  ValidationReport r = WithProfile(text, p);
  const Finding* f = FindAt(r, "PID-7", 102);
  ASSERT_NE(f, nullptr) << Dump(r);
  EXPECT_NE(f->message.find("pattern"), std::string::npos);
}

TEST(ValidateProfileTest, Repetitions) {
  Profile p = StrictAdt();
  ASSERT_TRUE(CompileProfile(&p).ok());
  std::string text = Replace(kAdtA01, "123^^^HOSP^MR~456^^^SSA^SS", "123^^^HOSP^MR");
  ValidationReport r = WithProfile(text, p);
  EXPECT_NE(FindAt(r, "PID-3", 101), nullptr) << Dump(r);
  text = Replace(kAdtA01, "1 MAIN ST^^TOWN^ST^12345", "A^^B~C^^D");
  r = WithProfile(text, p);
  EXPECT_NE(FindAt(r, "PID-11", 102), nullptr) << Dump(r);
}

TEST(ValidateProfileTest, SegmentCardinality) {
  Profile p = StrictAdt();
  ASSERT_TRUE(CompileProfile(&p).ok());
  std::string text = Replace(kAdtA01, "NK1|1|DOE^JANE|SPO\r", "NK1|1|DOE^JANE|SPO\rNK1|2|X^Y|BRO\r");
  ValidationReport r = WithProfile(text, p);
  EXPECT_NE(FindAt(r, "NK1", 100), nullptr) << Dump(r);
  text = Replace(kAdtA01, "PV1|1|I|W1^101^A\r", "");
  r = WithProfile(text, p);
  int profile_findings = 0;
  for (const Finding& f : r.findings) {
    if (f.path == "PV1" && f.code == 100 && f.message.find("profile") != std::string::npos) {
      ++profile_findings;
    }
  }
  EXPECT_EQ(profile_findings, 1) << Dump(r);
}

TEST(ValidateProfileTest, RuleAppliesToEveryOccurrence) {
  Profile p;
  p.fields.push_back({"OBX-6", true, {}, 0, 0, ""});
  p.fields.push_back({"OBX[2]-3.3", false, {"LN"}, 0, 0, ""});
  ASSERT_TRUE(CompileProfile(&p).ok());
  ValidationReport r = WithProfile(kOruR01, p);
  EXPECT_EQ(FindAt(r, "OBX-6", 101), nullptr) << Dump(r);
  EXPECT_NE(FindAt(r, "OBX[2]-6", 101), nullptr) << Dump(r);
  EXPECT_NE(FindAt(r, "OBX[2]-3.3", 103), nullptr) << Dump(r);
  EXPECT_EQ(FindAt(r, "OBX-3.3", 103), nullptr) << Dump(r);
}

TEST(ValidateProfileTest, MessageTypeMismatch) {
  Profile p = StrictAdt();
  ASSERT_TRUE(CompileProfile(&p).ok());
  ValidationReport r = WithProfile(kOruR01, p);
  EXPECT_NE(FindAt(r, "MSH-9.1", 200), nullptr) << Dump(r);
  std::string text = Replace(kAdtA01, "ADT^A01^ADT_A01", "ADT^A04^ADT_A01");
  r = WithProfile(text, p);
  EXPECT_NE(FindAt(r, "MSH-9.2", 201), nullptr) << Dump(r);
}

TEST(ValidateProfileTest, ValuesAreComparedDecoded) {
  Profile p;
  p.fields.push_back({"PID-5.1", false, {"O'BRIEN & SONS"}, 0, 0, ""});
  ASSERT_TRUE(CompileProfile(&p).ok());
  std::string text = Replace(kAdtA01, "DOE^JOHN^Q", "O'BRIEN \\T\\ SONS^JOHN");
  ValidationReport r = WithProfile(text, p);
  EXPECT_EQ(FindAt(r, "PID-5.1", 103), nullptr) << Dump(r);
}

TEST(ValidateProfileTest, NullSatisfiesRequiredAndSkipsAllowed) {
  Profile p;
  p.fields.push_back({"PID-8", true, {"F", "M"}, 0, 0, ""});
  ASSERT_TRUE(CompileProfile(&p).ok());
  std::string text = Replace(kAdtA01, "|M|", "|\"\"|");
  ValidationReport r = WithProfile(text, p);
  EXPECT_TRUE(r.ok()) << Dump(r);
}

TEST(ValidateProfileTest, VersionPin) {
  Profile p;
  p.version = "2.3";
  ASSERT_TRUE(CompileProfile(&p).ok());
  ValidationReport r = WithProfile(kAdtA01, p);
  EXPECT_EQ(r.version_used, "2.3");
}

TEST(ValidateProfileTest, CompileRejectsBadRules) {
  Profile p;
  p.fields.push_back({"PID-7", false, {}, 0, 0, "([0-9"});
  Status s = CompileProfile(&p);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("pattern"), std::string::npos) << s.message();
  EXPECT_EQ(p.compiled, nullptr);

  Profile bad_path;
  bad_path.fields.push_back({"PID", true, {}, 0, 0, ""});
  EXPECT_FALSE(CompileProfile(&bad_path).ok());
  Profile bad_counts;
  bad_counts.segments.push_back({"OBX", 3, 2});
  EXPECT_FALSE(CompileProfile(&bad_counts).ok());
  Profile bad_type;
  bad_type.message_type = "ADTX^A01";
  EXPECT_FALSE(CompileProfile(&bad_type).ok());

  // An invalid uncompiled profile is reported as a finding, not a crash.
  ValidationReport r = WithProfile(kAdtA01, p);
  EXPECT_NE(FindAt(r, "", 207), nullptr) << Dump(r);
}

TEST(ValidateProfileTest, OverlongValueIsNotFedToTheRegex) {
  Profile p;
  p.fields.push_back({"OBX-5", false, {}, 0, 0, "^(a|b)*$"});
  ASSERT_TRUE(CompileProfile(&p).ok());
  std::string text =
      Replace(kOruR01, "|ST|NOTE^Note^L||fasting|", "|TX|NOTE^Note^L||" + std::string(100000, 'a') + "|");
  ValidationReport r = WithProfile(text, p);
  EXPECT_NE(FindAt(r, "OBX[2]-5", 102), nullptr) << Dump(r);
}

// ---- Corpus (optional) ----

TEST(ValidateCorpusTest, FhirConverterSamplesValidateQuickly) {
  const char* root = std::getenv("JUNCTION_SOURCE_DIR");
  std::filesystem::path dir =
      std::filesystem::path(root != nullptr ? root : ".") / ".." / "shared" / "corpus" / "fhir-converter";
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) GTEST_SKIP() << "no corpus at " << dir;
  int files = 0;
  auto start = std::chrono::steady_clock::now();
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".hl7") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream buf;
    buf << in.rdbuf();
    auto msg = Message::Parse(buf.str());
    if (!msg.ok()) continue;
    ValidationReport r = Validate(*msg);
    EXPECT_LE(r.findings.size(), ValidationOptions{}.max_findings);
    EXPECT_FALSE(r.version_used.empty()) << entry.path();
    ++files;
  }
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GT(files, 0);
  // Generous: sanitizer builds on a shared 2-core machine.
  EXPECT_LT(std::chrono::duration_cast<std::chrono::seconds>(elapsed).count(), 30);
}

}  // namespace
}  // namespace junction::hl7
