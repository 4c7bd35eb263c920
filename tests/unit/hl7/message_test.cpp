#include "junction/hl7/message.h"

#include <gtest/gtest.h>

namespace junction::hl7 {
namespace {

const char kAdt[] =
    "MSH|^~\\&|SEND|FAC|RECV|RFAC|20260101120000||ADT^A01^ADT_A01|CTRL1|P|2.5.1\r"
    "EVN|A01|20260101120000\r"
    "PID|1||123^^^HOSP^MR~456^^^SSA^SS||DOE^JOHN^Q||19800101|M|||1 MAIN ST^^TOWN^ST^12345\r"
    "NK1|1|DOE^JANE|SPO\r"
    "NK1|2|DOE^JIM|CHD\r"
    "OBX|1|ST|TEXT||A\\T\\B \\F\\ done|||\"\"\r";

Message MustParse(std::string_view text) {
  auto parsed = Message::Parse(text);
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  return std::move(parsed).value();
}

Path P(std::string_view text) {
  auto path = Path::Parse(text);
  EXPECT_TRUE(path.ok()) << path.status().ToString();
  return *path;
}

TEST(MessageTest, ReadsHeaderShortcuts) {
  Message m = MustParse(kAdt);
  EXPECT_EQ(m.Version(), "2.5.1");
  EXPECT_EQ(m.ControlId(), "CTRL1");
  EXPECT_EQ(m.MessageCode(), "ADT");
  EXPECT_EQ(m.TriggerEvent(), "A01");
  EXPECT_EQ(m.StructureId(), "ADT_A01");
  EXPECT_EQ(m.SegmentCount(), 6u);
  EXPECT_EQ(m.SegmentId(2), "PID");
}

TEST(MessageTest, MshOneAndTwoAreTheDelimiters) {
  Message m = MustParse(kAdt);
  EXPECT_EQ(m.Get("MSH-1"), "|");
  EXPECT_EQ(m.Get("MSH-2"), "^~\\&");
  EXPECT_EQ(m.Get("MSH-3"), "SEND");
  EXPECT_EQ(m.Get("MSH-9.2"), "A01");
  EXPECT_EQ(m.Count(P("MSH-2")), 1);
}

TEST(MessageTest, GetsByPath) {
  Message m = MustParse(kAdt);
  EXPECT_EQ(m.Get("PID-5"), "DOE^JOHN^Q");
  EXPECT_EQ(m.Get("PID-5.2"), "JOHN");
  EXPECT_EQ(m.Get("PID-3"), "123^^^HOSP^MR");  // repetition defaults to 1
  EXPECT_EQ(m.Get("PID-3[2].4"), "SSA");
  EXPECT_EQ(m.Get("PID-3[*]"), "123^^^HOSP^MR~456^^^SSA^SS");
  EXPECT_EQ(m.Get("NK1[2]-2.2"), "JIM");
  EXPECT_EQ(m.Count(P("PID-3")), 2);
  EXPECT_EQ(m.Count(P("NK1")), 2);
  EXPECT_EQ(m.Count(P("PID-4")), 0);
}

TEST(MessageTest, AbsentIsDistinctFromEmptyAndNull) {
  Message m = MustParse(kAdt);
  EXPECT_FALSE(m.GetRaw(P("PID-99")).has_value());
  EXPECT_FALSE(m.GetRaw(P("ZZZ-1")).has_value());
  EXPECT_FALSE(m.GetRaw(P("PID-3[3]")).has_value());
  EXPECT_FALSE(m.GetRaw(P("PID-5.9")).has_value());
  auto empty = m.GetRaw(P("PID-2"));
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(*empty, "");
  EXPECT_FALSE(m.IsNull(P("PID-2")));
  EXPECT_TRUE(m.IsNull(P("OBX-8")));
  EXPECT_EQ(*m.GetRaw(P("OBX-8")), "\"\"");
}

TEST(MessageTest, DecodesEscapesButRawKeepsThem) {
  Message m = MustParse(kAdt);
  EXPECT_EQ(m.Get("OBX-5"), "A&B | done");
  EXPECT_EQ(*m.GetRaw(P("OBX-5")), "A\\T\\B \\F\\ done");
}

TEST(MessageTest, RoundTripsByteForByte) {
  const std::string inputs[] = {
      kAdt,
      std::string("\xEF\xBB\xBF") + kAdt,                      // BOM
      "MSH|^~\\&|A|B\nPID|1\r\nPV1|1\rOBX|1\n\n  \n",          // mixed terminators, blank lines
      "MSH|^~\\&|A|B\rPID|1",                                  // no final terminator
      "\x0bMSH|^~\\&|A|B\rPID|1\r\x1c\r",                      // MLLP framed
      "MSH#^~\\&#A#B\rPID#1#x^y\r",                            // other field separator
      "MSH|^~\\&|A|B\rZZ1|custom|||\r",                        // Z-segment, trailing empties
  };
  for (const std::string& input : inputs) {
    Message m = MustParse(input);
    EXPECT_EQ(m.Encode(), input);
  }
}

TEST(MessageTest, OtherDelimiters) {
  Message m = MustParse("MSH$%~\\&$A$B\rPID$1$$x%y&z\r");
  EXPECT_EQ(m.Get("MSH-3"), "A");
  EXPECT_EQ(m.Get("PID-3.2.2"), "z");
  Message three = MustParse("MSH|^~}|A\rPID|1||a^b&c\r");  // 3 encoding chars
  EXPECT_EQ(three.Get("PID-3.2"), "b&c");
  EXPECT_EQ(three.Get("PID-3.2.1"), "b&c");
  EXPECT_FALSE(three.GetRaw(P("PID-3.2.2")).has_value());
}

TEST(MessageTest, RejectsWhatIsNotAMessage) {
  EXPECT_FALSE(Message::Parse("").ok());
  EXPECT_FALSE(Message::Parse("PID|1\r").ok());
  EXPECT_FALSE(Message::Parse("MSH").ok());
  auto bad = Message::Parse("MSH|^~\\&|A\rpid|1\r");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().offset(), 11u);
  EXPECT_NE(bad.status().message().find("bad segment id"), std::string::npos);
}

TEST(MessageTest, EnforcesBounds) {
  ParseOptions options;
  options.max_segments = 3;
  EXPECT_FALSE(Message::Parse(kAdt, options).ok());
  options = {};
  options.max_fields_per_segment = 5;
  EXPECT_FALSE(Message::Parse(kAdt, options).ok());
  options = {};
  options.max_bytes = 10;
  EXPECT_EQ(Message::Parse(kAdt, options).status().code(), StatusCode::kOutOfRange);
}

TEST(MessageTest, SetKeepsOtherBytesAndCreatesWhatIsMissing) {
  Message m = MustParse(kAdt);
  ASSERT_TRUE(m.Set(P("PID-5.2"), "JANE").ok());
  EXPECT_EQ(m.Get("PID-5"), "DOE^JANE^Q");
  ASSERT_TRUE(m.Set(P("PID-3[3].4.2"), "1.2.3").ok());
  EXPECT_EQ(m.Get("PID-3[*]"), "123^^^HOSP^MR~456^^^SSA^SS~^^^&1.2.3");
  ASSERT_TRUE(m.Set(P("PID-40"), "X").ok());
  EXPECT_EQ(m.FieldCount(2), 40);
  ASSERT_TRUE(m.Set(P("ZPI-2"), "new").ok());
  EXPECT_EQ(m.SegmentId(m.SegmentCount() - 1), "ZPI");
  EXPECT_EQ(m.Get("ZPI-2"), "new");
  // Only PID changed, ZPI was added: every other segment is the same bytes.
  std::string out = m.Encode();
  EXPECT_EQ(out.substr(0, out.find("PID|")), std::string(kAdt).substr(0, std::string(kAdt).find("PID|")));
  EXPECT_NE(out.find("NK1|1|DOE^JANE|SPO\rNK1|2|DOE^JIM|CHD\r"), std::string::npos);
  EXPECT_TRUE(out.ends_with("\rZPI||new\r") || out.ends_with("ZPI||new\r"));
  // What was encoded parses again to the same values.
  Message again = MustParse(out);
  EXPECT_EQ(again.Get("PID-5.2"), "JANE");
  EXPECT_EQ(again.Encode(), out);
}

TEST(MessageTest, SetEscapesTextAndSetRawDoesNot) {
  Message m = MustParse(kAdt);
  ASSERT_TRUE(m.Set(P("OBX-5"), "a|b^c").ok());
  EXPECT_EQ(*m.GetRaw(P("OBX-5")), "a\\F\\b\\S\\c");
  EXPECT_EQ(m.Get("OBX-5"), "a|b^c");
  ASSERT_TRUE(m.SetRaw(P("PID-5"), "SMITH^ANNA").ok());
  EXPECT_EQ(m.Get("PID-5.2"), "ANNA");
}

TEST(MessageTest, DelimiterFieldsCannotBeSet) {
  Message m = MustParse(kAdt);
  EXPECT_FALSE(m.Set(P("MSH-1"), "#").ok());
  EXPECT_FALSE(m.Set(P("MSH-2"), "^~").ok());
  EXPECT_TRUE(m.Set(P("MSH-10"), "NEW").ok());
  EXPECT_EQ(m.ControlId(), "NEW");
  EXPECT_EQ(m.Get("MSH-2"), "^~\\&");
}

TEST(MessageTest, DeletesAtEachLevel) {
  Message m = MustParse(kAdt);
  ASSERT_TRUE(m.Delete(P("PID-3[1]")).ok());  // a repetition is removed
  EXPECT_EQ(m.Get("PID-3[*]"), "456^^^SSA^SS");
  ASSERT_TRUE(m.Delete(P("PID-5.3")).ok());  // the last component is cleared and trimmed
  EXPECT_EQ(m.Get("PID-5"), "DOE^JOHN");
  ASSERT_TRUE(m.Delete(P("PID-5")).ok());  // a field is cleared
  EXPECT_EQ(*m.GetRaw(P("PID-5")), "");
  EXPECT_EQ(m.Get("PID-7"), "19800101");  // later fields keep their numbers
  ASSERT_TRUE(m.Delete(P("NK1[1]")).ok());
  EXPECT_EQ(m.CountSegments("NK1"), 1);
  EXPECT_EQ(m.Get("NK1-2.2"), "JIM");
  EXPECT_FALSE(m.Delete(P("MSH")).ok());
}

TEST(MessageTest, InsertAndDeleteSegmentsKeepLineBreaks) {
  Message m = MustParse("MSH|^~\\&|A\nPID|1\n");
  ASSERT_TRUE(m.InsertSegment(1, "EVN|A01").ok());
  ASSERT_TRUE(m.InsertSegment(m.SegmentCount(), "NTE|1||x").ok());
  EXPECT_EQ(m.Encode(), "MSH|^~\\&|A\nEVN|A01\nPID|1\nNTE|1||x\n");
  ASSERT_TRUE(m.DeleteSegment(3).ok());
  EXPECT_EQ(m.Encode(), "MSH|^~\\&|A\nEVN|A01\nPID|1\n");
  EXPECT_FALSE(m.InsertSegment(1, "BAD\rSEG").ok());
  EXPECT_FALSE(m.InsertSegment(1, "lower").ok());
}

TEST(MessageTest, ManyEditsStayConsistent) {
  Message m = MustParse(kAdt);
  for (int i = 1; i <= 50; ++i) {
    ASSERT_TRUE(m.Set(P("OBX-5[" + std::to_string(i) + "]"), std::to_string(i)).ok());
  }
  EXPECT_EQ(m.Count(P("OBX-5")), 50);
  EXPECT_EQ(m.Get("OBX-5[50]"), "50");
  Message again = MustParse(m.Encode());
  EXPECT_EQ(again.Get("OBX-5[49]"), "49");
}

TEST(MessageTest, EditBoundsAreEnforced) {
  Message m = MustParse(kAdt);
  EXPECT_EQ(m.Set(P("PID-99999"), "x").code(), StatusCode::kOutOfRange);
  EXPECT_EQ(m.Set(P("NK1[500]-1"), "x").code(), StatusCode::kOutOfRange);
}

TEST(PathTest, ParsesAndPrints) {
  for (const char* text : {"PID", "PID-5", "PID-5.1", "PID-3[2].4.1", "OBX[3]-5", "MSH-9.2",
                           "PID-3[*]", "OBX[*]-5", "ZX1-2.3.4"}) {
    auto path = Path::Parse(text);
    ASSERT_TRUE(path.ok()) << text;
    EXPECT_EQ(path->ToString(), text);
  }
  auto p = *Path::Parse("PID-3[2].4.1");
  EXPECT_EQ(p.field, 3);
  EXPECT_EQ(p.repetition, 2);
  EXPECT_EQ(p.component, 4);
  EXPECT_EQ(p.subcomponent, 1);
  EXPECT_EQ(Path::Parse("PID.5.1")->ToString(), "PID-5.1");
}

TEST(PathTest, RejectsMalformed) {
  for (const char* text : {"", "PI", "pid-5", "PID-", "PID-0", "PID-5.", "PID-5.0", "PID[0]-1",
                           "PID[-1]", "PID-5[", "PID-5[x]", "PID-5.1.1.1", "PID-3[*].1",
                           "PID-999999999"}) {
    EXPECT_FALSE(Path::Parse(text).ok()) << text;
  }
}

}  // namespace
}  // namespace junction::hl7

namespace junction::hl7 {
namespace {

// Regressions found by fuzz_path (inputs kept in fuzz/regressions/fuzz_path/).
TEST(MessageRegressionTest, NothingCanBeInsertedBeforeMsh) {
  Message m = MustParse(kAdt);
  EXPECT_FALSE(m.InsertSegment(0, "ZZZ|1").ok());
  EXPECT_EQ(m.Encode(), kAdt);
}

TEST(MessageRegressionTest, AFailedSetLeavesNoNewSegment) {
  Message m = MustParse(kAdt);
  EXPECT_FALSE(m.Set(P("ZZZ-20000"), "x").ok());
  EXPECT_EQ(m.CountSegments("ZZZ"), 0);
  EXPECT_EQ(m.Encode(), kAdt);
  EXPECT_FALSE(m.modified());
}

TEST(MessageRegressionTest, RawValuesCannotCarryLineBreaks) {
  Message m = MustParse(kAdt);
  EXPECT_FALSE(m.SetRaw(P("PID-2"), "DOE\r^JAN").ok());
  EXPECT_FALSE(m.SetRaw(P("PID-2"), "DOE\nJAN").ok());
  EXPECT_EQ(m.Get("PID-5.1"), "DOE");
  // Set() escapes line breaks instead, so text with them is fine.
  ASSERT_TRUE(m.Set(P("PID-2"), "two\nlines").ok());
  EXPECT_EQ(m.Get("PID-2"), "two\nlines");
  EXPECT_EQ(m.Get("PID-5.1"), "DOE");
}

TEST(MessageRegressionTest, CreatesSeveralMissingOccurrences) {
  Message m = MustParse(kAdt);
  ASSERT_TRUE(m.Set(P("NTE[3]-3"), "third").ok());
  EXPECT_EQ(m.CountSegments("NTE"), 3);
  EXPECT_EQ(m.Get("NTE[3]-3"), "third");
  EXPECT_EQ(*m.GetRaw(P("NTE[1]")), "NTE");
  EXPECT_FALSE(m.Set(P("MSH[2]-3"), "x").ok());
}

}  // namespace
}  // namespace junction::hl7
