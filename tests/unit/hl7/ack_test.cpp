#include "junction/hl7/ack.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "junction/hl7/dictionary.h"

namespace junction::hl7 {
namespace {

Message MustParse(std::string_view text) {
  auto m = Message::Parse(text);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return std::move(m).value();
}

std::string Msh(std::string_view version, std::string_view extra = "") {
  return "MSH|^~\\&|SAPP|SFAC|RAPP|RFAC|20240101120000||ADT^A01^ADT_A01|MSG001|P|" +
         std::string(version) + std::string(extra) + "\rPID|1||123||DOE^JOHN\r";
}

AckOptions Fixed() {
  AckOptions o;
  o.timestamp = "20240102030405";
  o.control_id = "ACK001";
  return o;
}

TEST(AckTest, OriginalModeAcceptExactBytes) {
  const Message orig = MustParse(Msh("2.5.1"));
  auto ack = MakeAckText(orig, Fixed());
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  EXPECT_EQ(*ack,
            "MSH|^~\\&|RAPP|RFAC|SAPP|SFAC|20240102030405||ACK^A01^ACK|ACK001|P|2.5.1\r"
            "MSA|AA|MSG001\r");
}

TEST(AckTest, SwapsSenderAndReceiverAndEchoesHeader) {
  const Message orig = MustParse(
      "MSH|^~\\&|LAB^1.2.3^ISO|HOSP|EHR|CLINIC|20240101||ORU^R01|X-9|T^A|2.5.1^USA\rOBR|1\r");
  auto ack = MakeAck(orig, Fixed());
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  EXPECT_EQ(ack->Get("MSH-3"), "EHR");
  EXPECT_EQ(ack->Get("MSH-4"), "CLINIC");
  EXPECT_EQ(ack->Get("MSH-5.1"), "LAB");
  EXPECT_EQ(ack->Get("MSH-5.2"), "1.2.3");
  EXPECT_EQ(ack->Get("MSH-6"), "HOSP");
  EXPECT_EQ(ack->Get("MSH-7"), "20240102030405");
  EXPECT_EQ(ack->Get("MSH-9.1"), "ACK");
  EXPECT_EQ(ack->Get("MSH-9.2"), "R01");
  EXPECT_EQ(ack->Get("MSH-9.3"), "ACK");
  EXPECT_EQ(ack->Get("MSH-10"), "ACK001");
  EXPECT_EQ(ack->Get("MSH-11.2"), "A");
  EXPECT_EQ(ack->Version(), "2.5.1");
  EXPECT_EQ(ack->Get("MSH-12.2"), "USA");
  EXPECT_EQ(ack->Get("MSA-1"), "AA");
  EXPECT_EQ(ack->Get("MSA-2"), "X-9");
}

TEST(AckTest, OwnIdentityWhenReceiverEmpty) {
  const Message orig = MustParse("MSH|^~\\&|SAPP|SFAC|||20240101||ADT^A01|1|P|2.4\r");
  AckOptions o = Fixed();
  o.facility = "SITE";
  auto ack = MakeAck(orig, o);
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(ack->Get("MSH-3"), "JUNCTION");
  EXPECT_EQ(ack->Get("MSH-4"), "SITE");
  EXPECT_EQ(ack->Get("MSH-5"), "SAPP");
}

TEST(AckTest, ModeAndCodes) {
  const Message original = MustParse(Msh("2.5"));
  const Message enhanced = MustParse(Msh("2.5", "|||AL|NE"));
  const Message app_only = MustParse(Msh("2.5", "||||AL"));
  const Message null15 = MustParse(Msh("2.5", "|||\"\""));
  EXPECT_EQ(ModeFor(original), AckMode::kOriginal);
  EXPECT_EQ(ModeFor(enhanced), AckMode::kEnhanced);
  EXPECT_EQ(ModeFor(app_only), AckMode::kEnhanced);
  EXPECT_EQ(ModeFor(null15), AckMode::kOriginal);

  EXPECT_EQ(CodeFor(AckMode::kOriginal, AckOutcome::kAccept), "AA");
  EXPECT_EQ(CodeFor(AckMode::kOriginal, AckOutcome::kError), "AE");
  EXPECT_EQ(CodeFor(AckMode::kOriginal, AckOutcome::kReject), "AR");
  EXPECT_EQ(CodeFor(AckMode::kEnhanced, AckOutcome::kAccept), "CA");
  EXPECT_EQ(CodeFor(AckMode::kEnhanced, AckOutcome::kError), "CE");
  EXPECT_EQ(CodeFor(AckMode::kEnhanced, AckOutcome::kReject), "CR");

  AckOptions o = Fixed();
  o.outcome = AckOutcome::kError;
  EXPECT_EQ(MakeAck(original, o)->Get("MSA-1"), "AE");
  EXPECT_EQ(MakeAck(enhanced, o)->Get("MSA-1"), "CE");
  o.outcome = AckOutcome::kAccept;
  EXPECT_EQ(MakeAck(enhanced, o)->Get("MSA-1"), "CA");
  o.mode = AckMode::kOriginal;  // forced
  EXPECT_EQ(MakeAck(enhanced, o)->Get("MSA-1"), "AA");
  o.code = "AR";  // explicit code wins
  EXPECT_EQ(MakeAck(enhanced, o)->Get("MSA-1"), "AR");
  o.code = "XX";
  auto bad = MakeAck(enhanced, o);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

TEST(AckTest, ShouldSendAcceptAck) {
  struct Case {
    const char* msh15;
    bool on_accept;
    bool on_error;
  };
  const Case cases[] = {{"", true, true},    {"AL", true, true},  {"NE", false, false},
                        {"ER", false, true}, {"SU", true, false}, {"ZZ", true, true}};
  for (const Case& c : cases) {
    const Message m = MustParse(Msh("2.5", std::string("|||") + c.msh15 + "|" + c.msh15));
    EXPECT_EQ(ShouldSendAcceptAck(m, AckOutcome::kAccept), c.on_accept) << c.msh15;
    EXPECT_EQ(ShouldSendAcceptAck(m, AckOutcome::kError), c.on_error) << c.msh15;
    EXPECT_EQ(ShouldSendAcceptAck(m, AckOutcome::kReject), c.on_error) << c.msh15;
    EXPECT_EQ(ShouldSendApplicationAck(m, AckOutcome::kAccept), c.on_accept) << c.msh15;
  }
  const Message m = MustParse(Msh("2.5", "|||NE|AL"));
  EXPECT_FALSE(ShouldSendAcceptAck(m, AckOutcome::kAccept));
  EXPECT_TRUE(ShouldSendApplicationAck(m, AckOutcome::kAccept));
}

TEST(AckTest, MessageTypeByVersion) {
  EXPECT_EQ(MakeAck(MustParse(Msh("2.2")), Fixed())->Get("MSH-9"), "ACK^A01");
  EXPECT_EQ(MakeAck(MustParse(Msh("2.3")), Fixed())->Get("MSH-9.3"), "");
  EXPECT_EQ(MakeAck(MustParse(Msh("2.3.1")), Fixed())->Get("MSH-9.3"), "ACK");
  EXPECT_EQ(MakeAck(MustParse(Msh("2.8")), Fixed())->Get("MSH-9.3"), "ACK");
}

// The version rules in ack.cpp must agree with the HL7 dictionary data: MSH-9 of
// the ACK never has more components than that version's MSH-9 datatype, and MSA-3
// is written only where the version defines it.
TEST(AckTest, AgreesWithDictionary) {
  for (std::string_view v : Dictionary::Versions()) {
    const Dictionary* dict = Dictionary::ForVersion(v);
    ASSERT_NE(dict, nullptr);
    const FieldDef* msh9 = dict->Field("MSH", 9);
    ASSERT_NE(msh9, nullptr);
    const DatatypeDef* type = dict->Datatype(msh9->datatype);
    ASSERT_NE(type, nullptr) << v;
    AckOptions o = Fixed();
    o.text = "note";
    auto ack = MakeAck(MustParse(Msh(v)), o);
    ASSERT_TRUE(ack.ok()) << v;
    auto path = Path::Parse("MSH-9");
    const std::string_view field = ack->GetRaw(*path).value_or("");
    std::size_t comps = 1;
    for (char c : field) comps += c == '^';
    EXPECT_EQ(comps, type->components.size()) << v << " " << field;
    EXPECT_EQ(ack->Get("MSA-3") == "note", dict->Field("MSA", 3) != nullptr) << v;
  }
}

TEST(AckTest, ErrLegacyFormat) {
  const Message orig = MustParse(Msh("2.3"));
  AckOptions o = Fixed();
  o.outcome = AckOutcome::kError;
  o.errors.push_back({"PID-7", error_code::kDataTypeError, ErrorSeverity::kError, "bad date"});
  o.errors.push_back({"", error_code::kRequiredFieldMissing, ErrorSeverity::kError, "x"});
  auto ack = MakeAckText(orig, o);
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(*ack,
            "MSH|^~\\&|RAPP|RFAC|SAPP|SFAC|20240102030405||ACK^A01|ACK001|P|2.3\r"
            "MSA|AE|MSG001|bad date; x\r"
            "ERR|PID^1^7^102&Data type error&HL70357~^^^101&Required field missing&HL70357\r");
  auto parsed = Message::Parse(*ack);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->Get("ERR-1[2].4.1"), "101");
}

TEST(AckTest, ErrModernFormat) {
  const Message orig = MustParse(Msh("2.5.1"));
  AckOptions o = Fixed();
  o.outcome = AckOutcome::kError;
  o.text = "Patient data rejected";
  o.errors.push_back({"PID-7", error_code::kDataTypeError, ErrorSeverity::kError, "bad date"});
  o.errors.push_back(
      {"OBX[2]-5[1].2", error_code::kTableValueNotFound, ErrorSeverity::kWarning, ""});
  auto ack = MakeAckText(orig, o);
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(*ack,
            "MSH|^~\\&|RAPP|RFAC|SAPP|SFAC|20240102030405||ACK^A01^ACK|ACK001|P|2.5.1\r"
            "MSA|AE|MSG001|Patient data rejected\r"
            "ERR||PID^1^7|102^Data type error^HL70357|E||||bad date\r"
            "ERR||OBX^2^5^1^2|103^Table value not found^HL70357|W\r");
}

TEST(AckTest, TextFromVersion28GoesToErr) {
  AckOptions o = Fixed();
  o.outcome = AckOutcome::kReject;
  o.text = "no thanks";
  auto ack = MakeAck(MustParse(Msh("2.8")), o);
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(ack->Get("MSA-3"), "");
  EXPECT_EQ(ack->Get("ERR-3.1"), "207");
  EXPECT_EQ(ack->Get("ERR-8"), "no thanks");
}

TEST(AckTest, CustomDelimiters) {
  const Message orig =
      MustParse("MSH#$~\\&#SAPP$X#SFAC#RAPP#RFAC#20240101##ADT$A04#C1#P#2.5\rPID#1\r");
  AckOptions o = Fixed();
  o.outcome = AckOutcome::kError;
  o.text = "a#b$c";
  o.errors.push_back({"PID-3", 101, ErrorSeverity::kError, ""});
  auto ack = MakeAckText(orig, o);
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(*ack,
            "MSH#$~\\&#RAPP#RFAC#SAPP$X#SFAC#20240102030405##ACK$A04$ACK#ACK001#P#2.5\r"
            "MSA#AE#C1#a\\F\\b\\S\\c\r"
            "ERR##PID$1$3#101$Required field missing$HL70357#E\r");
  auto parsed = Message::Parse(*ack);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->Get("MSA-3"), "a#b$c");
}

TEST(AckTest, ThreeEncodingCharactersLegacyErr) {
  const Message orig = MustParse("MSH|^~\\|A|B|C|D|1||ADT^A01|C9|P|2.2\r");
  AckOptions o = Fixed();
  o.errors.push_back({"PID-7", 102, ErrorSeverity::kError, ""});
  auto ack = MakeAckText(orig, o);
  ASSERT_TRUE(ack.ok());
  EXPECT_NE(ack->find("\rERR|PID^1^7^102\r"), std::string::npos) << *ack;
  EXPECT_EQ(ack->rfind("MSH|^~\\|", 0), 0u);
}

TEST(AckTest, CharsetEcho) {
  const Message orig = MustParse(Msh("2.5", "||||||8859/1"));
  AckOptions o = Fixed();
  o.outcome = AckOutcome::kError;
  o.text = "Jos\xC3\xA9 \xE2\x82\xAC";  // "José €": € is not in Latin-1
  auto ack = MakeAckText(orig, o);
  ASSERT_TRUE(ack.ok());
  EXPECT_NE(ack->find("|P|2.5||||||8859/1\r"), std::string::npos) << *ack;
  EXPECT_NE(ack->find("MSA|AE|MSG001|Jos\xE9 ?\r"), std::string::npos) << *ack;
  auto parsed = Message::Parse(*ack);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->CharsetName(), "8859/1");
}

TEST(AckTest, GeneratedControlIdsAreUnique) {
  const Message orig = MustParse(Msh("2.5"));
  AckOptions o;
  o.timestamp = "20240102030405.1234+0100";
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    auto ack = MakeAck(orig, o);
    ASSERT_TRUE(ack.ok());
    std::string id(ack->ControlId());
    EXPECT_LE(id.size(), 20u);
    EXPECT_EQ(id.rfind("20240102030405", 0), 0u);
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 100u);
  const std::string now = NowTimestamp();
  EXPECT_EQ(now.size(), 19u);
  EXPECT_EQ(now.substr(14), "+0000");
}

TEST(NakTest, GarbageInput) {
  AckOptions o = Fixed();
  const std::string nak = MakeNakForUnparseable("hello world\r", "no MSH segment", o);
  auto parsed = Message::Parse(nak);
  ASSERT_TRUE(parsed.ok()) << nak;
  EXPECT_EQ(parsed->Get("MSA-1"), "AR");
  EXPECT_EQ(parsed->Get("MSA-2"), "");
  EXPECT_EQ(parsed->Get("MSA-3"), "no MSH segment");
  EXPECT_EQ(parsed->Version(), "2.5");
  EXPECT_EQ(parsed->Get("MSH-3"), "JUNCTION");
  EXPECT_EQ(parsed->Get("ERR-2.1"), "MSH");
  EXPECT_EQ(parsed->Get("ERR-3.1"), "100");
  EXPECT_EQ(parsed->Get("ERR-4"), "E");
  EXPECT_EQ(nak.rfind("MSH|^~\\&|", 0), 0u);
}

TEST(NakTest, EmptyAndBinaryInput) {
  for (std::string_view raw : {std::string_view(""), std::string_view("\x0b\x1c\r", 3),
                               std::string_view("MSH", 3), std::string_view("\0\0MSH\xff", 7)}) {
    const std::string nak = MakeNakForUnparseable(raw, "bad");
    auto parsed = Message::Parse(nak);
    ASSERT_TRUE(parsed.ok()) << nak;
    EXPECT_EQ(parsed->Get("MSA-1"), "AR");
  }
}

TEST(NakTest, SalvagesHeaderWithBadEncodingCharacters) {
  // Duplicate encoding characters: the header does not parse, but the fields do.
  const std::string raw =
      "\x0bMSH|^^~&|SAPP|SFAC|RAPP|RFAC|20240101||ADT^A01|CTRL77|P|2.3|||AL\rPID|1\r\x1c\r";
  ASSERT_FALSE(Message::Parse(raw.substr(1)).ok());
  AckOptions o = Fixed();
  const std::string nak = MakeNakForUnparseable(raw, "MSH-2 repeats a character", o);
  auto parsed = Message::Parse(nak);
  ASSERT_TRUE(parsed.ok()) << nak;
  EXPECT_EQ(parsed->Get("MSA-1"), "CR");  // MSH-15 valued: enhanced mode
  EXPECT_EQ(parsed->Get("MSA-2"), "CTRL77");
  EXPECT_EQ(parsed->Version(), "2.3");
  EXPECT_EQ(parsed->Get("MSH-3"), "RAPP");
  EXPECT_EQ(parsed->Get("MSH-5"), "SAPP");
  EXPECT_EQ(parsed->Get("MSH-9"), "ACK^A01");
  EXPECT_EQ(parsed->Get("ERR-1.4.1"), "102");  // 2.3: legacy ERR-1
}

TEST(NakTest, KeepsUsableCustomDelimiters) {
  const std::string raw =
      "MSH#^~\\&#A#B#C#D#20240101##ORU^R01#ID5#P#2.5.1\rOBX#1#" + std::string(10, '\0') + "\r";
  const std::string nak = MakeNakForUnparseable(raw, "NUL bytes in OBX", Fixed());
  EXPECT_EQ(nak.rfind("MSH#^~\\&#C#D#A#B#", 0), 0u) << nak;
  auto parsed = Message::Parse(nak);
  ASSERT_TRUE(parsed.ok()) << nak;
  EXPECT_EQ(parsed->Get("MSA-2"), "ID5");
  EXPECT_EQ(parsed->Get("MSA-1"), "AR");
  EXPECT_EQ(parsed->Get("ERR-3.1"), "207");
  EXPECT_EQ(parsed->Get("ERR-8"), "NUL bytes in OBX");
}

TEST(NakTest, MshNotFirst) {
  const std::string raw = "EVN|A01\rMSH|^~\\&|A|B|C|D|1||ADT^A01|Z1|P|2.4\r";
  const std::string nak = MakeNakForUnparseable(raw, "EVN before MSH", Fixed());
  auto parsed = Message::Parse(nak);
  ASSERT_TRUE(parsed.ok()) << nak;
  EXPECT_EQ(parsed->Get("MSA-2"), "Z1");
  EXPECT_EQ(parsed->Get("ERR-1.1"), "MSH");
  EXPECT_EQ(parsed->Get("ERR-1.4.1"), "100");
}

TEST(NakTest, CallerErrorsAndCode) {
  AckOptions o = Fixed();
  o.code = "AE";
  o.errors.push_back({"MSH-12", error_code::kUnsupportedVersionId, ErrorSeverity::kError, "v9"});
  const std::string nak =
      MakeNakForUnparseable("MSH|^~\\&|A|B|C|D|1||ADT^A01|Q|P|9.9\r", "unsupported", o);
  auto parsed = Message::Parse(nak);
  ASSERT_TRUE(parsed.ok()) << nak;
  EXPECT_EQ(parsed->Get("MSA-1"), "AE");
  EXPECT_EQ(parsed->Version(), "2.5");  // 9.9 is not a 2.x version
  EXPECT_EQ(parsed->Get("ERR-3.1"), "203");
  EXPECT_EQ(parsed->Get("ERR-2.3"), "12");
}

// Every file of the shared edge-case corpus (skipped when absent): a parseable
// message gets a parseable ACK that answers its control id; any bytes at all get
// a parseable NAK.
TEST(NakTest, CorpusFiles) {
  const char* root = std::getenv("JUNCTION_SOURCE_DIR");
  const std::filesystem::path dir =
      std::filesystem::path(root ? root : ".") / ".." / "shared" / "corpus" / "edge-cases";
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) GTEST_SKIP() << "corpus absent: " << dir;
  int acked = 0;
  int naked = 0;
  for (const auto& entry : it) {
    std::ifstream f(entry.path(), std::ios::binary);
    const std::string raw((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    auto msg = Message::Parse(raw);
    if (msg.ok()) {
      auto ack = MakeAck(*msg, Fixed());
      ASSERT_TRUE(ack.ok()) << entry.path() << ": " << ack.status().ToString();
      EXPECT_EQ(ack->Get("MSA-2"), msg->Get("MSH-10")) << entry.path();
      EXPECT_EQ(ack->Version(), msg->Version()) << entry.path();
      ++acked;
    }
    const std::string nak = MakeNakForUnparseable(raw, "could not parse", Fixed());
    auto parsed = Message::Parse(nak);
    ASSERT_TRUE(parsed.ok()) << entry.path() << ": " << parsed.status().ToString() << "\n" << nak;
    EXPECT_TRUE(parsed->Get("MSA-1") == "AR" || parsed->Get("MSA-1") == "CR") << entry.path();
    ++naked;
  }
  EXPECT_GT(acked, 10);
  EXPECT_GT(naked, acked);  // the corpus holds malformed files too
}

}  // namespace
}  // namespace junction::hl7
