// Tests for Delimiters::FromHeader and EncodingCharacters.
#include "junction/hl7/delimiters.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

namespace junction::hl7 {
namespace {

using namespace std::string_literals;

Delimiters MustParse(std::string_view header) {
  Result<Delimiters> r = Delimiters::FromHeader(header);
  EXPECT_TRUE(r.ok()) << header << ": " << r.status().ToString();
  return r.ok() ? *r : Delimiters{};
}

void ExpectInvalid(std::string_view header, std::size_t offset) {
  Result<Delimiters> r = Delimiters::FromHeader(header);
  ASSERT_FALSE(r.ok()) << "accepted: " << header;
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().offset(), offset) << r.status().ToString();
}

TEST(DelimitersTest, DefaultsMatchHl7) {
  Delimiters d;
  EXPECT_EQ(d.field, '|');
  EXPECT_EQ(d.component, '^');
  EXPECT_EQ(d.repetition, '~');
  EXPECT_EQ(d.escape, '\\');
  EXPECT_EQ(d.subcomponent, '&');
  EXPECT_EQ(d.truncation, '\0');
}

TEST(DelimitersTest, ReadsStandardHeader) {
  Delimiters d = MustParse("MSH|^~\\&|SEND|FAC|||20240101||ADT^A01|1|P|2.5\r");
  EXPECT_EQ(d.field, '|');
  EXPECT_EQ(d.component, '^');
  EXPECT_EQ(d.repetition, '~');
  EXPECT_EQ(d.escape, '\\');
  EXPECT_EQ(d.subcomponent, '&');
  EXPECT_EQ(d.truncation, '\0');
}

TEST(DelimitersTest, AcceptsBatchAndFileHeaders) {
  EXPECT_EQ(MustParse("BHS|^~\\&|x").subcomponent, '&');
  EXPECT_EQ(MustParse("FHS|^~\\&").escape, '\\');
}

TEST(DelimitersTest, HeaderMayEndRightAfterMsh2) {
  EXPECT_EQ(MustParse("MSH|^~\\&").subcomponent, '&');
  EXPECT_EQ(MustParse("MSH|^~\\&\r").subcomponent, '&');
  EXPECT_EQ(MustParse("MSH|^~\\&\nPID|").subcomponent, '&');
}

TEST(DelimitersTest, ThreeEncodingCharactersHaveNoSubcomponent) {
  Delimiters d = MustParse("MSH|^~}|ADMISSION|ADT1");
  EXPECT_EQ(d.component, '^');
  EXPECT_EQ(d.repetition, '~');
  EXPECT_EQ(d.escape, '}');
  EXPECT_EQ(d.subcomponent, '\0');
  EXPECT_EQ(d.truncation, '\0');
  EXPECT_FALSE(d.IsSeparator('\0'));
}

TEST(DelimitersTest, CustomSubcomponent) {
  Delimiters d = MustParse("MSH|^~\\}|ADMISSION");
  EXPECT_EQ(d.escape, '\\');
  EXPECT_EQ(d.subcomponent, '}');
}

TEST(DelimitersTest, FiveCharactersDeclareTruncation) {
  Delimiters d = MustParse("MSH|^~\\&#|SEND APP");
  EXPECT_EQ(d.subcomponent, '&');
  EXPECT_EQ(d.truncation, '#');
}

TEST(DelimitersTest, NonStandardAndSwappedSeparators) {
  Delimiters a = MustParse("MSH$%~\\&$GHH LAB");
  EXPECT_EQ(a.field, '$');
  EXPECT_EQ(a.component, '%');
  Delimiters b = MustParse("MSH^~|\\&^SENDING");
  EXPECT_EQ(b.field, '^');
  EXPECT_EQ(b.component, '~');
  EXPECT_EQ(b.repetition, '|');
  EXPECT_EQ(b.escape, '\\');
  EXPECT_EQ(b.subcomponent, '&');
  EXPECT_TRUE(b.IsSeparator('^'));
  EXPECT_TRUE(b.IsSeparator('|'));
  EXPECT_FALSE(b.IsSeparator('\\'));
}

TEST(DelimitersTest, DoubledEscapeQuirkIsReadAsFourCharacters) {
  // "^~\\&": the escape character written twice by the sender.
  Delimiters d = MustParse("MSH|^~\\\\&|SE050|050");
  EXPECT_EQ(d.component, '^');
  EXPECT_EQ(d.repetition, '~');
  EXPECT_EQ(d.escape, '\\');
  EXPECT_EQ(d.subcomponent, '&');
  EXPECT_EQ(d.truncation, '\0');
}

TEST(DelimitersTest, OtherDuplicatesAreRejected) {
  ExpectInvalid("MSH|^&&^|SEND", 6);
  ExpectInvalid("MSH|^~\\\\|x", 7);  // doubled escape but only 4 chars
  ExpectInvalid("MSH|^~\\&^|x", 8);  // truncation equals component
  ExpectInvalid("MSH|^^\\&|x", 5);
}

TEST(DelimitersTest, RejectsBadSegmentNameAndLength) {
  ExpectInvalid("", 0);
  ExpectInvalid("MS", 2);
  ExpectInvalid("PID|^~\\&|", 0);
  ExpectInvalid("msh|^~\\&|", 0);
  ExpectInvalid("MSH", 3);
}

TEST(DelimitersTest, RejectsBadFieldSeparator) {
  ExpectInvalid("MSHH0", 3);
  ExpectInvalid("MSH1^~\\&1", 3);
  ExpectInvalid("MSH\r^~\\&", 3);
  ExpectInvalid("MSH\n^~\\&", 3);
  ExpectInvalid("MSH ^~\\& ", 3);
  ExpectInvalid("MSH\0^~\\&"s, 3);
}

TEST(DelimitersTest, RejectsEmptyOrShortMsh2) {
  ExpectInvalid("MSH|||||||", 4);
  ExpectInvalid("MSH|", 4);
  ExpectInvalid("MSH|\r", 4);
  ExpectInvalid("MSH|^|||||", 5);
  ExpectInvalid("MSH|^~|x", 6);
  ExpectInvalid("MSH|^\r~\\&|field", 5);  // CR inside the header ends MSH-2 early
}

TEST(DelimitersTest, RejectsTooManyEncodingCharacters) {
  ExpectInvalid("MSH|@%\\&$?!|||", 9);
  ExpectInvalid("MSH|^~\\&#@", 9);
  // Fields separated by '#' although MSH-1 is '|': MSH-2 never ends.
  ExpectInvalid("MSH|#^~\\@#SendingApp#SendingFac", 9);
}

TEST(DelimitersTest, RejectsUnusableEncodingCharacters) {
  ExpectInvalid("MSH|0~00||", 4);
  ExpectInvalid("MSH|^~a&|", 6);
  ExpectInvalid("MSH|^ \\E||", 5);
  ExpectInvalid("MSH|^\0\\&|"s, 5);
  ExpectInvalid("MSH|^~\\\t|", 7);
  ExpectInvalid("MSH|^~\\\xC3|", 7);
}

TEST(DelimitersTest, ErrorsNameTheProblem) {
  Result<Delimiters> r = Delimiters::FromHeader("MSH|^&&^|");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("'&'"), std::string::npos) << r.status().message();
  r = Delimiters::FromHeader("MSH|^\x01\\&|");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("0x01"), std::string::npos) << r.status().message();
}

TEST(DelimitersTest, EncodingCharacters) {
  char buf[5];
  EXPECT_EQ(Delimiters{}.EncodingCharacters(buf), "^~\\&");
  EXPECT_EQ(MustParse("MSH|^~}|").EncodingCharacters(buf), "^~}");
  EXPECT_EQ(MustParse("MSH|^~\\&#|").EncodingCharacters(buf), "^~\\&#");
  EXPECT_EQ(MustParse("MSH^~|\\&^").EncodingCharacters(buf), "~|\\&");
  // The doubled-escape quirk is normalised when written.
  EXPECT_EQ(MustParse("MSH|^~\\\\&|").EncodingCharacters(buf), "^~\\&");
  // A truncation character without a subcomponent separator cannot be written.
  Delimiters d;
  d.subcomponent = '\0';
  d.truncation = '#';
  EXPECT_EQ(d.EncodingCharacters(buf), "^~\\");
}

TEST(DelimitersTest, EncodingCharactersRoundTrip) {
  for (std::string_view enc : {"^~\\&", "^~}", "^~\\}", "^~\\&#", "%~\\&", "~|\\&", "@%\\"}) {
    for (char field : {'|', '$', '^', '!'}) {
      if (enc.find(field) != std::string_view::npos) continue;
      std::string header = "MSH" + std::string(1, field) + std::string(enc) + field + "APP";
      Delimiters d = MustParse(header);
      char buf[5];
      EXPECT_EQ(d.EncodingCharacters(buf), enc) << header;
      EXPECT_EQ(d.field, field);
    }
  }
}

TEST(DelimitersTest, RandomHeadersKeepInvariants) {
  std::mt19937 rng(2024);
  const std::string alphabet = "|^~\\&#}$%@!aZ09 \r\n\t";
  for (int iter = 0; iter < 20000; ++iter) {
    std::string header = rng() % 16 == 0 ? "BHS" : "MSH";
    const int len = static_cast<int>(rng() % 10);
    for (int i = 0; i < len; ++i) {
      header.push_back(rng() % 8 == 0 ? static_cast<char>(rng() % 256)
                                      : alphabet[rng() % alphabet.size()]);
    }
    Result<Delimiters> r = Delimiters::FromHeader(header);
    if (!r.ok()) {
      ASSERT_TRUE(r.status().has_offset()) << r.status().ToString();
      ASSERT_LE(r.status().offset(), header.size());
      continue;
    }
    const Delimiters& d = *r;
    std::string all = {d.field, d.component, d.repetition, d.escape};
    if (d.subcomponent != '\0') all.push_back(d.subcomponent);
    if (d.truncation != '\0') all.push_back(d.truncation);
    for (std::size_t i = 0; i < all.size(); ++i) {
      const auto u = static_cast<unsigned char>(all[i]);
      ASSERT_GT(u, 0x20) << header;
      ASSERT_LT(u, 0x7f) << header;
      ASSERT_EQ(std::isalnum(u), 0) << header;
      for (std::size_t j = 0; j < i; ++j) ASSERT_NE(all[i], all[j]) << header;
    }
    // What we would write reads back as the same delimiters.
    char buf[5];
    const std::string again =
        "MSH" + std::string(1, d.field) + std::string(d.EncodingCharacters(buf)) + d.field;
    Result<Delimiters> r2 = Delimiters::FromHeader(again);
    ASSERT_TRUE(r2.ok()) << again;
    ASSERT_EQ(r2->component, d.component);
    ASSERT_EQ(r2->repetition, d.repetition);
    ASSERT_EQ(r2->escape, d.escape);
    ASSERT_EQ(r2->subcomponent, d.subcomponent);
    ASSERT_EQ(r2->truncation, d.truncation);
  }
}

std::string EdgeCaseDir() {
  const char* root = std::getenv("JUNCTION_SOURCE_DIR");
  return std::string(root ? root : ".") + "/../shared/corpus/edge-cases/";
}

TEST(DelimitersTest, SharedCorpusHeaders) {
  struct Case {
    const char* file;
    bool ok;
  };
  const Case cases[] = {
      {"lfh_sample_unix_double_backslash_msh2.hl7", true},
      {"hapi_msgs_bar_p01_three_enc_chars.hl7", true},
      {"hapi_msgs_bar_p01_escape_brace.hl7", true},
      {"hapi_adt_a24_swapped_delimiters.hl7", true},
      {"kdar_nonstandard_separators.hl7", true},
      {"hl7apy_rsp_k21_v27_truncation_char.hl7", true},
      {"hl7apy_bad_three_encoding_chars.hl7", true},  // 3 characters are allowed
      {"hl7apy_bad_duplicate_encoding_chars.hl7", false},
      {"hl7apy_bad_no_encoding_chars.hl7", false},
      {"hl7apy_bad_too_many_encoding_chars.hl7", false},
      {"hl7v2rs_bad_msh1_pipe_fields_hash.hl7", false},
      {"kdar_bad_msh_cr_in_header.hl7", false},
  };
  int found = 0;
  for (const Case& c : cases) {
    std::ifstream in(EdgeCaseDir() + c.file, std::ios::binary);
    if (!in) continue;
    ++found;
    std::stringstream ss;
    ss << in.rdbuf();
    Result<Delimiters> r = Delimiters::FromHeader(ss.str());
    EXPECT_EQ(r.ok(), c.ok) << c.file << ": " << r.status().ToString();
  }
  if (found == 0) GTEST_SKIP() << "shared corpus not present at " << EdgeCaseDir();
}

}  // namespace
}  // namespace junction::hl7
