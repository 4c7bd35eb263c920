#include "junction/hl7/datatypes.h"
#include "junction/hl7/message.h"
#include "junction/hl7/path.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace junction::hl7 {
namespace {

Delimiters Custom() {
  // Field '#', component '!', repetition '%', escape '$', subcomponent '*'.
  Delimiters d;
  d.field = '#';
  d.component = '!';
  d.repetition = '%';
  d.escape = '$';
  d.subcomponent = '*';
  return d;
}

TEST(DatatypesXpn, ComponentsAndFamilyNameSubcomponents) {
  Delimiters d;
  XPN x = ParseXpn("SMITH&VAN^JOHN^Q^JR^DR^PHD^L", d);
  EXPECT_EQ(x.family_name, "SMITH");
  EXPECT_EQ(x.family.surname, "SMITH");
  EXPECT_EQ(x.family.own_surname_prefix, "VAN");
  EXPECT_EQ(x.family.own_surname, "");
  EXPECT_EQ(x.given_name, "JOHN");
  EXPECT_EQ(x.second_and_further_given_names, "Q");
  EXPECT_EQ(x.suffix, "JR");
  EXPECT_EQ(x.prefix, "DR");
  EXPECT_EQ(x.degree, "PHD");
  EXPECT_EQ(x.name_type_code, "L");
  EXPECT_EQ(x.professional_suffix, "");
}

TEST(DatatypesXpn, EscapesAreDecodedAfterSplitting) {
  Delimiters d;
  XPN x = ParseXpn("O\\T\\BRIEN^MARY\\S\\ANN", d);
  EXPECT_EQ(x.family_name, "O&BRIEN");  // the escaped '&' does not split
  EXPECT_EQ(x.family.own_surname_prefix, "");
  EXPECT_EQ(x.given_name, "MARY^ANN");
}

TEST(DatatypesXpn, AbsentEmptyAndNull) {
  Delimiters d;
  XPN x = ParseXpn("\"\"^^JANE", d);
  EXPECT_EQ(x.family_name, "\"\"");  // present-but-null is kept, not emptied
  EXPECT_EQ(x.given_name, "");
  EXPECT_EQ(x.second_and_further_given_names, "JANE");
  XPN empty = ParseXpn("", d);
  EXPECT_EQ(empty.family_name, "");
  EXPECT_EQ(empty.name_type_code, "");
}

TEST(DatatypesXpn, LaterComponentsAndExtraComponentsIgnored) {
  Delimiters d;
  XPN x = ParseXpn("DOE^JOHN^^^^^L^A^B&Birth&HL70448^^G^20200101^20301231^MD^EXTRA^MORE", d);
  EXPECT_EQ(x.name_representation_code, "A");
  EXPECT_EQ(x.name_context.identifier, "B");
  EXPECT_EQ(x.name_context.text, "Birth");
  EXPECT_EQ(x.name_context.name_of_coding_system, "HL70448");
  EXPECT_EQ(x.name_assembly_order, "G");
  EXPECT_EQ(x.effective_date, "20200101");
  EXPECT_EQ(x.expiration_date, "20301231");
  EXPECT_EQ(x.professional_suffix, "MD");
}

TEST(DatatypesXpn, PrimitiveComponentKeepsStraySubcomponentSeparator) {
  Delimiters d;
  XPN x = ParseXpn("DOE^JOHN&PAUL", d);
  EXPECT_EQ(x.given_name, "JOHN&PAUL");  // nothing is dropped
}

TEST(DatatypesCx, AssigningAuthorityFromSubcomponents) {
  Delimiters d;
  CX cx = ParseCx("12345^^^HOSP&1.2.3&ISO^MR", d);
  EXPECT_EQ(cx.id_number, "12345");
  EXPECT_EQ(cx.check_digit, "");
  EXPECT_EQ(cx.check_digit_scheme, "");
  EXPECT_EQ(cx.assigning_authority.namespace_id, "HOSP");
  EXPECT_EQ(cx.assigning_authority.universal_id, "1.2.3");
  EXPECT_EQ(cx.assigning_authority.universal_id_type, "ISO");
  EXPECT_EQ(cx.identifier_type_code, "MR");
  EXPECT_EQ(cx.assigning_facility.namespace_id, "");
}

TEST(DatatypesCx, AllComponents) {
  Delimiters d;
  CX cx = ParseCx(
      "999-99-9999^7^M10^SSA&2.16.840.1.113883.4.1&ISO^SS^FAC&fac.example.org&DNS^20200101^"
      "20301231^USA&United States&ISO3166^DEPT&Records",
      d);
  EXPECT_EQ(cx.id_number, "999-99-9999");
  EXPECT_EQ(cx.check_digit, "7");
  EXPECT_EQ(cx.check_digit_scheme, "M10");
  EXPECT_EQ(cx.assigning_authority.universal_id, "2.16.840.1.113883.4.1");
  EXPECT_EQ(cx.identifier_type_code, "SS");
  EXPECT_EQ(cx.assigning_facility.namespace_id, "FAC");
  EXPECT_EQ(cx.assigning_facility.universal_id, "fac.example.org");
  EXPECT_EQ(cx.assigning_facility.universal_id_type, "DNS");
  EXPECT_EQ(cx.effective_date, "20200101");
  EXPECT_EQ(cx.expiration_date, "20301231");
  EXPECT_EQ(cx.assigning_jurisdiction.identifier, "USA");
  EXPECT_EQ(cx.assigning_jurisdiction.text, "United States");
  EXPECT_EQ(cx.assigning_jurisdiction.name_of_coding_system, "ISO3166");
  EXPECT_EQ(cx.assigning_agency_or_department.identifier, "DEPT");
  EXPECT_EQ(cx.assigning_agency_or_department.text, "Records");
}

TEST(DatatypesCx, CustomDelimiters) {
  const Delimiters d = Custom();
  CX cx = ParseCx("12^34!!!HOSP*1.2.3*ISO!MR", d);
  EXPECT_EQ(cx.id_number, "12^34");  // '^' is plain text here
  EXPECT_EQ(cx.assigning_authority.namespace_id, "HOSP");
  EXPECT_EQ(cx.assigning_authority.universal_id, "1.2.3");
  EXPECT_EQ(cx.identifier_type_code, "MR");
  XPN x = ParseXpn("O$T$BRIEN*VAN!JOHN", d);
  EXPECT_EQ(x.family_name, "O*BRIEN");
  EXPECT_EQ(x.family.own_surname_prefix, "VAN");
  EXPECT_EQ(x.given_name, "JOHN");
}

TEST(DatatypesCx, NoSubcomponentSeparatorDeclared) {
  Delimiters d;
  d.subcomponent = '\0';  // MSH-2 "^~\" : only three encoding characters
  CX cx = ParseCx("12345^^^HOSP&1.2.3^MR", d);
  EXPECT_EQ(cx.assigning_authority.namespace_id, "HOSP&1.2.3");
  EXPECT_EQ(cx.assigning_authority.universal_id, "");
}

TEST(DatatypesHd, FieldAndComponentLevel) {
  Delimiters d;
  HD msh4 = ParseHd("LAB^1.2.840.99^ISO", d);
  EXPECT_EQ(msh4.namespace_id, "LAB");
  EXPECT_EQ(msh4.universal_id, "1.2.840.99");
  EXPECT_EQ(msh4.universal_id_type, "ISO");
  HD sub = ParseHdComponent("LAB&1.2.840.99&ISO", d);
  EXPECT_EQ(sub.namespace_id, "LAB");
  EXPECT_EQ(sub.universal_id_type, "ISO");
  HD only_ns = ParseHd("LAB", d);
  EXPECT_EQ(only_ns.namespace_id, "LAB");
  EXPECT_EQ(only_ns.universal_id, "");
}

TEST(DatatypesXad, StreetAddressAndComponents) {
  Delimiters d;
  XAD a = ParseXad("123 MAIN ST&MAIN ST&123^APT 4^ANYTOWN^CA^99999^USA^H^^06037^1234.01", d);
  EXPECT_EQ(a.street, "123 MAIN ST");
  EXPECT_EQ(a.street_address.street_or_mailing_address, "123 MAIN ST");
  EXPECT_EQ(a.street_address.street_name, "MAIN ST");
  EXPECT_EQ(a.street_address.dwelling_number, "123");
  EXPECT_EQ(a.other_designation, "APT 4");
  EXPECT_EQ(a.city, "ANYTOWN");
  EXPECT_EQ(a.state_or_province, "CA");
  EXPECT_EQ(a.zip_or_postal_code, "99999");
  EXPECT_EQ(a.country, "USA");
  EXPECT_EQ(a.address_type, "H");
  EXPECT_EQ(a.other_geographic_designation, "");
  EXPECT_EQ(a.county_parish_code, "06037");
  EXPECT_EQ(a.census_tract, "1234.01");
}

TEST(DatatypesXad, LineBreakEscapeInStreet) {
  Delimiters d;
  XAD a = ParseXad("1 A ST\\.br\\BLDG 2^^X", d);
  EXPECT_NE(a.street.find("1 A ST"), std::string::npos);
  EXPECT_NE(a.street.find("BLDG 2"), std::string::npos);
  EXPECT_EQ(a.street.find("\\.br\\"), std::string::npos) << a.street;
  EXPECT_EQ(a.city, "X");
}

TEST(DatatypesXtn, LegacyAndStructured) {
  Delimiters d;
  XTN phone = ParseXtn("(555)555-1234^PRN^PH^^1^555^5551234^99^day only", d);
  EXPECT_EQ(phone.telephone_number, "(555)555-1234");
  EXPECT_EQ(phone.telecom_use_code, "PRN");
  EXPECT_EQ(phone.equipment_type, "PH");
  EXPECT_EQ(phone.email_address, "");
  EXPECT_EQ(phone.country_code, "1");
  EXPECT_EQ(phone.area_city_code, "555");
  EXPECT_EQ(phone.local_number, "5551234");
  EXPECT_EQ(phone.extension, "99");
  EXPECT_EQ(phone.any_text, "day only");

  XTN mail = ParseXtn("^NET^Internet^jane\\T\\joe@example.org", d);
  EXPECT_EQ(mail.telephone_number, "");
  EXPECT_EQ(mail.telecom_use_code, "NET");
  EXPECT_EQ(mail.email_address, "jane&joe@example.org");

  XTN legacy = ParseXtn("555-1234", d);
  EXPECT_EQ(legacy.telephone_number, "555-1234");
  EXPECT_EQ(legacy.local_number, "");
}

TEST(DatatypesCwe, AllNineAndCeCne) {
  Delimiters d;
  CWE c = ParseCwe("8480-6^Systolic BP^LN^SYS^Systolic^L^2.68^1.0^Blood pressure \\T\\ more", d);
  EXPECT_EQ(c.identifier, "8480-6");
  EXPECT_EQ(c.text, "Systolic BP");
  EXPECT_EQ(c.name_of_coding_system, "LN");
  EXPECT_EQ(c.alternate_identifier, "SYS");
  EXPECT_EQ(c.alternate_text, "Systolic");
  EXPECT_EQ(c.name_of_alternate_coding_system, "L");
  EXPECT_EQ(c.coding_system_version_id, "2.68");
  EXPECT_EQ(c.alternate_coding_system_version_id, "1.0");
  EXPECT_EQ(c.original_text, "Blood pressure & more");

  CE ce = ParseCe("F^Female^HL70001", d);
  EXPECT_EQ(ce.identifier, "F");
  EXPECT_EQ(ce.name_of_coding_system, "HL70001");
  EXPECT_EQ(ce.original_text, "");
  CNE cne = ParseCne("Y^Yes^HL70136", d);
  EXPECT_EQ(cne.text, "Yes");

  CWE sub = ParseCweComponent("USA&United States&ISO3166", d);
  EXPECT_EQ(sub.identifier, "USA");
  EXPECT_EQ(sub.name_of_coding_system, "ISO3166");
}

TEST(DatatypesXcn, Provider) {
  Delimiters d;
  XCN x = ParseXcn(
      "1234567890^SMITH&VAN^JOHN^Q^III^DR^MD^^NPI&2.16.840.1.113883.4.6&ISO^L^^^NPI^FAC&1.2&ISO",
      d);
  EXPECT_EQ(x.id_number, "1234567890");
  EXPECT_EQ(x.family_name, "SMITH");
  EXPECT_EQ(x.family.own_surname_prefix, "VAN");
  EXPECT_EQ(x.given_name, "JOHN");
  EXPECT_EQ(x.second_and_further_given_names, "Q");
  EXPECT_EQ(x.suffix, "III");
  EXPECT_EQ(x.prefix, "DR");
  EXPECT_EQ(x.degree, "MD");
  EXPECT_EQ(x.source_table, "");
  EXPECT_EQ(x.assigning_authority.namespace_id, "NPI");
  EXPECT_EQ(x.assigning_authority.universal_id, "2.16.840.1.113883.4.6");
  EXPECT_EQ(x.name_type_code, "L");
  EXPECT_EQ(x.identifier_type_code, "NPI");
  EXPECT_EQ(x.assigning_facility.namespace_id, "FAC");
  EXPECT_EQ(x.assigning_facility.universal_id_type, "ISO");
}

TEST(DatatypesXcn, TwentyThirdComponent) {
  Delimiters d;
  std::string raw = "ID";
  for (int i = 2; i <= 22; ++i) raw += "^";
  raw += "^AGENCY&Agency";  // component 23
  XCN x = ParseXcn(raw, d);
  EXPECT_EQ(x.id_number, "ID");
  EXPECT_EQ(x.assigning_agency_or_department.identifier, "AGENCY");
  EXPECT_EQ(x.assigning_agency_or_department.text, "Agency");
  EXPECT_EQ(x.assigning_jurisdiction.identifier, "");
}

TEST(DatatypesEi, FieldAndComponent) {
  Delimiters d;
  EI e = ParseEi("ORD123^LAB^1.2.3^ISO", d);
  EXPECT_EQ(e.entity_identifier, "ORD123");
  EXPECT_EQ(e.namespace_id, "LAB");
  EXPECT_EQ(e.universal_id, "1.2.3");
  EXPECT_EQ(e.universal_id_type, "ISO");
  EI sub = ParseEiComponent("ORD123&LAB", d);
  EXPECT_EQ(sub.entity_identifier, "ORD123");
  EXPECT_EQ(sub.namespace_id, "LAB");
  EXPECT_EQ(sub.universal_id, "");
}

TEST(DatatypesText, IdIsSt) {
  Delimiters d;
  EXPECT_EQ(ParseId("ADT", d), "ADT");
  EXPECT_EQ(ParseIs("A\\F\\B", d), "A|B");
  EXPECT_EQ(ParseText("\"\"", d), "\"\"");
  EXPECT_EQ(ParseText("", d), "");
}

TEST(DatatypesNm, Valid) {
  struct Case {
    std::string_view raw;
    double value;
  };
  const std::vector<Case> cases = {
      {"0", 0.0},  {"12", 12.0},  {"-12.5", -12.5}, {"+3.25", 3.25}, {".5", 0.5},
      {"5.", 5.0}, {"-.5", -0.5}, {"007", 7.0},     {"1.500", 1.5},  {"123456789", 123456789.0},
  };
  for (const Case& c : cases) {
    Result<double> r = ParseNm(c.raw);
    ASSERT_TRUE(r.ok()) << c.raw << ": " << r.status().ToString();
    EXPECT_DOUBLE_EQ(*r, c.value) << c.raw;
    EXPECT_TRUE(ValidateNM(c.raw).ok()) << c.raw;
  }
}

TEST(DatatypesNm, Invalid) {
  struct Case {
    std::string_view raw;
    std::string_view reason;
  };
  const std::vector<Case> cases = {
      {"1e3", "exponents are not allowed"},
      {"abc", "not a number"},
      {"1.2.3", "second decimal point"},
      {"+", "no digits"},
      {".", "no digits"},
      {"-", "no digits"},
      {" 12", "space at position 1"},
      {"12 ", "space at position 3"},
      {"1,000", "unexpected character at position 2"},
      {"1-2", "sign must come first"},
      {"--1", "sign must come first"},
      {"0x10", "not a number"},
      {"NaN", "not a number"},
      {"inf", "not a number"},
  };
  for (const Case& c : cases) {
    Status s = ValidateNM(c.raw);
    ASSERT_FALSE(s.ok()) << c.raw;
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find(c.reason), std::string::npos)
        << c.raw << ": \"" << s.message() << "\"";
  }
  EXPECT_FALSE(ParseNm("").ok());
  EXPECT_TRUE(ValidateNM("").ok());      // absent
  EXPECT_TRUE(ValidateNM("\"\"").ok());  // null
  Result<double> huge = ParseNm("1" + std::string(400, '0'));
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.status().message(), "number out of range");
}

TEST(DatatypesSi, Values) {
  EXPECT_EQ(*ParseSi("1"), 1u);
  EXPECT_EQ(*ParseSi("0001"), 1u);
  EXPECT_EQ(*ParseSi("9999"), 9999u);
  EXPECT_FALSE(ParseSi("10000").ok());
  EXPECT_NE(ParseSi("10000").status().message().find("more than 4 digits"), std::string::npos);
  EXPECT_NE(ParseSi("-1").status().message().find("negative"), std::string::npos);
  EXPECT_FALSE(ParseSi("1.0").ok());
  EXPECT_FALSE(ParseSi("").ok());
  EXPECT_TRUE(ValidateSI("").ok());
  EXPECT_TRUE(ValidateSI("42").ok());
  EXPECT_FALSE(ValidateSI("x").ok());
}

TEST(DatatypesSn, Valid) {
  Delimiters d;
  Result<SN> gt = ParseSn(">^100", d);
  ASSERT_TRUE(gt.ok()) << gt.status().ToString();
  EXPECT_EQ(gt->comparator, ">");
  EXPECT_EQ(gt->num1, "100");
  EXPECT_EQ(gt->separator_suffix, "");
  EXPECT_EQ(gt->num2, "");

  Result<SN> ratio = ParseSn("^1^:^128", d);
  ASSERT_TRUE(ratio.ok()) << ratio.status().ToString();
  EXPECT_EQ(ratio->comparator, "");
  EXPECT_EQ(ratio->num1, "1");
  EXPECT_EQ(ratio->separator_suffix, ":");
  EXPECT_EQ(ratio->num2, "128");

  for (std::string_view ok : {"^2^-^4", "^2^+", "<=^-0.5", "<>^3", "^10^/^20", "^1^.^5", "^7"}) {
    EXPECT_TRUE(ValidateSN(ok, d).ok()) << ok << ": " << ValidateSN(ok, d).ToString();
  }
  EXPECT_TRUE(ValidateSN("", d).ok());
}

TEST(DatatypesSn, Invalid) {
  Delimiters d;
  struct Case {
    std::string_view raw;
    std::string_view reason;
  };
  const std::vector<Case> cases = {
      {"=>^5", "comparator \"=>\""},
      {"^abc", "first number: not a number"},
      {"^1^-^x", "second number: not a number"},
      {"^1^^2", "second number without a separator"},
      {"^1^-", "needs a number on both sides"},
      {"^^+", "needs a first number"},
      {"^1^+^2", "takes no second number"},
      {"^1^*^2", "separator/suffix \"*\""},
      {">", "no number"},
      {"^1^-^2^9", "at most 4 components"},
  };
  for (const Case& c : cases) {
    Status s = ValidateSN(c.raw, d);
    ASSERT_FALSE(s.ok()) << c.raw;
    EXPECT_NE(s.message().find(c.reason), std::string::npos)
        << c.raw << ": \"" << s.message() << "\"";
  }
}

TEST(DatatypesSn, ComparatorEscapesAndCustomDelimiters) {
  const Delimiters d = Custom();
  Result<SN> sn = ParseSn(">=!1.5", d);
  ASSERT_TRUE(sn.ok()) << sn.status().ToString();
  EXPECT_EQ(sn->comparator, ">=");
  EXPECT_EQ(sn->num1, "1.5");
}

// Arbitrary text never crashes a parser (ASan/UBSan watch) and NM agrees with
// its validator.
TEST(DatatypesProperty, ArbitraryTextIsSafe) {
  static constexpr std::string_view kAlphabet = "^&~\\|ABFSTRXE.br019+-\"";
  std::uint64_t state = 0x2545F4914F6CDD1Dull;  // fixed seed: reproducible
  auto next = [&state]() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  Delimiters d;
  Delimiters three;  // MSH-2 "^~\": no subcomponent separator
  three.subcomponent = '\0';
  for (int i = 0; i < 8000; ++i) {
    std::string raw;
    const std::size_t n = next() % 40;
    for (std::size_t k = 0; k < n; ++k) raw.push_back(kAlphabet[next() % kAlphabet.size()]);
    for (const Delimiters& delims : {d, three}) {
      (void)ParseCx(raw, delims);
      (void)ParseXpn(raw, delims);
      (void)ParseXad(raw, delims);
      (void)ParseXtn(raw, delims);
      (void)ParseCwe(raw, delims);
      (void)ParseXcn(raw, delims);
      (void)ParseEi(raw, delims);
      (void)ParseHd(raw, delims);
      (void)ParseSn(raw, delims);
    }
    const bool absent_or_null = raw.empty() || raw == "\"\"";
    EXPECT_EQ(ParseNm(raw).ok(), !absent_or_null && ValidateNM(raw).ok()) << raw;
    (void)ParseSi(raw);
  }
}

bool IsAscii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

// Real messages (../shared, when present): every date/time in common TS/DTM
// fields round-trips, and the typed accessors agree with Message's path lookup,
// which is an independent implementation of the same splitting and decoding.
TEST(DatatypesCorpus, FhirConverterSamples) {
  const char* root = std::getenv("JUNCTION_SOURCE_DIR");
  const std::filesystem::path dir = std::filesystem::path(root != nullptr ? root : ".") / ".." /
                                    "shared" / "corpus" / "fhir-converter";
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << dir << " not present";

  int messages = 0;
  int dates = 0;
  int names = 0;
  int ids = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".hl7") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    Result<Message> msg = Message::Parse(bytes.str());
    if (!msg.ok()) continue;  // the parser's own tests cover this
    ++messages;
    const Delimiters& d = msg->delimiters();
    const std::string file = entry.path().filename().string();

    for (const char* where : {"MSH-7", "EVN-2", "PID-7", "PV1-44", "OBR-7", "OBX-14"}) {
      std::optional<std::string_view> raw = msg->GetRaw(*Path::Parse(where));
      if (!raw || raw->empty()) continue;
      Result<DateTime> dt = ParseTs(*raw, d);
      if (!dt.ok()) {
        EXPECT_FALSE(dt.status().message().empty()) << file << " " << where;
        continue;
      }
      ++dates;
      EXPECT_EQ(dt->ToHl7(), TsTime(*raw, d)) << file << " " << where;
      if (dt->has_offset() && !dt->has_time()) continue;
      Result<DateTime> back = DateTimeFromIso8601(dt->ToIso8601());
      ASSERT_TRUE(back.ok()) << file << " " << where << ": " << back.status().ToString();
      EXPECT_EQ(back->ToHl7(), dt->ToHl7()) << file << " " << where;
    }

    const Path pid5 = *Path::Parse("PID-5");
    for (int r = 1; r <= msg->Count(pid5); ++r) {
      const std::string at = "PID-5[" + std::to_string(r) + "]";
      std::optional<std::string_view> raw = msg->GetRaw(*Path::Parse(at));
      if (!raw || !IsAscii(*raw)) continue;
      XPN x = ParseXpn(*raw, d);
      ++names;
      EXPECT_EQ(x.family_name, msg->Get(at + ".1.1")) << file << " " << at;
      EXPECT_EQ(x.given_name, msg->Get(at + ".2")) << file << " " << at;
      EXPECT_EQ(x.name_type_code, msg->Get(at + ".7")) << file << " " << at;
    }

    const Path pid3 = *Path::Parse("PID-3");
    for (int r = 1; r <= msg->Count(pid3); ++r) {
      const std::string at = "PID-3[" + std::to_string(r) + "]";
      std::optional<std::string_view> raw = msg->GetRaw(*Path::Parse(at));
      if (!raw || !IsAscii(*raw)) continue;
      CX cx = ParseCx(*raw, d);
      ++ids;
      EXPECT_EQ(cx.id_number, msg->Get(at + ".1")) << file << " " << at;
      EXPECT_EQ(cx.assigning_authority.namespace_id, msg->Get(at + ".4.1")) << file << " " << at;
      EXPECT_EQ(cx.assigning_authority.universal_id, msg->Get(at + ".4.2")) << file << " " << at;
      EXPECT_EQ(cx.identifier_type_code, msg->Get(at + ".5")) << file << " " << at;
    }
  }
  EXPECT_GT(messages, 0);
  EXPECT_GT(dates, 0);
  EXPECT_GT(names, 0);
  EXPECT_GT(ids, 0);
}

}  // namespace
}  // namespace junction::hl7
