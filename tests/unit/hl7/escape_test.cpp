// Tests for the escape codec: every sequence in the policy table of
// docs/hl7.md, custom delimiters, malformed input, round trips, and a bounded
// random loop. Several cases restate facts where other HL7 libraries disagree
// (see the shared corpus ESCAPE_VECTORS notes); the strings here are our own.
#include "junction/hl7/escape.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace junction::hl7 {
namespace {

using namespace std::string_literals;

std::string U(std::string_view raw) { return Unescape(raw, Delimiters{}); }

Delimiters WithTruncation() {
  Delimiters d;
  d.truncation = '#';
  return d;
}

TEST(EscapeTest, NoEscapeCharacterIsCopied) {
  EXPECT_EQ(U(""), "");
  EXPECT_EQ(U("plain text ^|&~"), "plain text ^|&~");
  EXPECT_FALSE(NeedsUnescape("plain", Delimiters{}));
  EXPECT_TRUE(NeedsUnescape("a\\F\\b", Delimiters{}));
}

TEST(EscapeTest, UnescapeToAppends) {
  std::string out = "prefix:";
  UnescapeTo("a\\T\\b", Delimiters{}, &out);
  UnescapeTo("c", Delimiters{}, &out);
  EXPECT_EQ(out, "prefix:a&bc");
}

TEST(EscapeTest, DelimiterSequences) {
  EXPECT_EQ(U("\\F\\"), "|");
  EXPECT_EQ(U("\\S\\"), "^");
  EXPECT_EQ(U("\\T\\"), "&");
  EXPECT_EQ(U("\\R\\"), "~");
  EXPECT_EQ(U("\\E\\"), "\\");
  EXPECT_EQ(U("\\F\\ \\S\\ \\T\\ \\R\\"), "| ^ & ~");
  EXPECT_EQ(U("Obstetrician \\T\\ Gynaecologist"), "Obstetrician & Gynaecologist");
  EXPECT_EQ(U("Pierre DuRho\\S\\ne \\T\\ Cie"), "Pierre DuRho^ne & Cie");
  EXPECT_EQ(U("c:\\E\\temp\\E\\file.txt"), "c:\\temp\\file.txt");
  EXPECT_EQ(U("Trailing \\E\\"), "Trailing \\");
  EXPECT_EQ(U("\\F\\ Leading"), "| Leading");
}

TEST(EscapeTest, TruncationSequence) {
  EXPECT_EQ(Unescape("a\\P\\b", WithTruncation()), "a#b");
  // Without a declared truncation character \P\ means nothing: kept.
  EXPECT_EQ(U("a\\P\\b"), "a\\P\\b");
}

TEST(EscapeTest, SubcomponentSequenceWithoutSubcomponentSeparator) {
  Delimiters d;
  d.subcomponent = '\0';
  EXPECT_EQ(Unescape("a\\T\\b", d), "a\\T\\b");
}

TEST(EscapeTest, EscapeThenSequenceLetters) {
  // \E\ followed by "R\": the trailing backslash has no partner and stays.
  EXPECT_EQ(U("\\E\\R\\"), "\\R\\");
  EXPECT_EQ(U("\\E\\E\\E\\"), "\\E\\");
}

TEST(EscapeTest, HexData) {
  EXPECT_EQ(U("\\X20202020\\"), "    ");
  EXPECT_EQ(U("\\X6566\\n"), "efn");
  EXPECT_EQ(U("\\X0D\\"), "\r");
  EXPECT_EQ(U("\\X0a\\"), "\n");
  // Hex is raw bytes in the message charset; no reinterpretation here.
  EXPECT_EQ(U("\\Xe1\\\\Xe9\\"), "\xE1\xE9");
  EXPECT_EQ(U("T\\XC3A4\\glich"), "T\xC3\xA4glich");
  EXPECT_EQ(U("\\XE6AF8F\\"), "\xE6\xAF\x8F");
  // Two-byte hex from senders that think in UTF-16 is still two bytes.
  EXPECT_EQ(U("\\X000d\\"), "\0\r"s);
  EXPECT_EQ(U("\\X00A2\\"), "\0\xA2"s);
}

TEST(EscapeTest, HexDigitsInEitherCase) {
  EXPECT_EQ(U("\\XaB\\\\XFf\\"), "\xAB\xFF");
  EXPECT_EQ(U("\\X00\\"), "\0"s);
  std::string all;
  std::string expected;
  for (int b = 0; b < 256; ++b) {
    static constexpr char kHex[] = "0123456789abcdef";
    all += kHex[b >> 4];
    all += kHex[b & 15];
    expected.push_back(static_cast<char>(b));
  }
  EXPECT_EQ(U("\\X" + all + "\\"), expected);
}

TEST(EscapeTest, MalformedHexIsKept) {
  EXPECT_EQ(U("\\X\\n"), "\\X\\n");
  EXPECT_EQ(U("\\X656\\n"), "\\X656\\n");
  EXPECT_EQ(U("\\X00d\\"), "\\X00d\\");
  EXPECT_EQ(U("\\XG1\\"), "\\XG1\\");
  EXPECT_EQ(U("\\X4 1\\"), "\\X4 1\\");
  EXPECT_EQ(U("\\x41\\"), "\\x41\\");  // codes are case-sensitive
}

TEST(EscapeTest, LineBreak) {
  EXPECT_EQ(U("Multi\\.br\\Line"), "Multi\nLine");
  EXPECT_EQ(U("a\\.br\\\\.br\\b"), "a\n\nb");
  EXPECT_EQ(U("\\.BR\\"), "\\.BR\\");
  EXPECT_EQ(U("\\.br 2\\"), "\\.br 2\\");
}

TEST(EscapeTest, FormattingCommands) {
  EXPECT_EQ(U("a\\.sp\\b"), "a\nb");
  EXPECT_EQ(U("a\\.sp 3\\b"), "a\n\n\nb");
  EXPECT_EQ(U("a\\.sp3\\b"), "a\n\n\nb");
  EXPECT_EQ(U("a\\.sp 0\\b"), "ab");
  EXPECT_EQ(U("a\\.sk\\b"), "a b");
  EXPECT_EQ(U("a\\.sk 4\\b"), "a    b");
  EXPECT_EQ(U("a\\.in\\b"), "ab");
  EXPECT_EQ(U("a\\.in +4\\b"), "ab");
  EXPECT_EQ(U("a\\.ti -2\\b"), "ab");
  EXPECT_EQ(U("a\\.fi\\b"), "ab");
  EXPECT_EQ(U("a\\.nf\\b"), "ab");
  EXPECT_EQ(U("a\\.ce\\b"), "a\nb");
}

TEST(EscapeTest, MalformedFormattingIsKept) {
  EXPECT_EQ(U("\\.sp x\\"), "\\.sp x\\");
  EXPECT_EQ(U("\\.sp -1\\"), "\\.sp -1\\");    // no sign for vertical space
  EXPECT_EQ(U("\\.sp 100\\"), "\\.sp 100\\");  // above the expansion bound
  EXPECT_EQ(U("\\.sk 1000000\\"), "\\.sk 1000000\\");
  EXPECT_EQ(U("\\.sp \\"), "\\.sp \\");
  EXPECT_EQ(U("\\.fi 2\\"), "\\.fi 2\\");
  EXPECT_EQ(U("\\.in +\\"), "\\.in +\\");
  EXPECT_EQ(U("\\.zz\\"), "\\.zz\\");
  EXPECT_EQ(U("\\.\\"), "\\.\\");
  EXPECT_EQ(U("\\.s\\"), "\\.s\\");
}

TEST(EscapeTest, KeptSequences) {
  EXPECT_EQ(U("This is \\H\\highlighted\\N\\ text"), "This is \\H\\highlighted\\N\\ text");
  EXPECT_EQ(U("\\ZCustomSequence\\ Is Ignored"), "\\ZCustomSequence\\ Is Ignored");
  EXPECT_EQ(U("\\C2842\\abc\\C2D41\\"), "\\C2842\\abc\\C2D41\\");
  EXPECT_EQ(U("\\M244142\\"), "\\M244142\\");
  EXPECT_EQ(U("\\Q\\"), "\\Q\\");
  EXPECT_EQ(U("\\FF\\"), "\\FF\\");
  // A kept sequence consumes its closing character: "\Q\F\" is "\Q\" then "F\".
  EXPECT_EQ(U("a\\Q\\F\\b"), "a\\Q\\F\\b");
  EXPECT_EQ(U("\\Q\\\\F\\"), "\\Q\\|");
}

TEST(EscapeTest, UnclosedEscapeIsKept) {
  EXPECT_EQ(U("\\"), "\\");
  EXPECT_EQ(U("a\\"), "a\\");
  EXPECT_EQ(U("a\\Fb"), "a\\Fb");
  EXPECT_EQ(U("\\\\"), "\\\\");  // empty sequence
  EXPECT_EQ(U("\\\\\\"), "\\\\\\");
  EXPECT_EQ(U("\\\\F\\"), "\\\\F\\");
}

TEST(EscapeTest, LongSequencesAreNotEscapes) {
  // Body of 4096 characters ('X' + 4095 digits is odd, so use 4094 digits).
  std::string ok_body = "X" + std::string(4094, '4');
  EXPECT_EQ(U("\\" + ok_body + "\\").size(), 2047u);
  std::string max_body = "X" + std::string(4095, '4');  // 4096 chars, odd hex: kept
  EXPECT_EQ(U("\\" + max_body + "\\"), "\\" + max_body + "\\");
  std::string long_body = "X" + std::string(4096, '4');  // 4097 chars: not an escape
  std::string in = "\\" + long_body + "\\F\\";
  // The first backslash is text; the second opens "\F\".
  EXPECT_EQ(U(in), "\\" + long_body + "|");
}

TEST(EscapeTest, CustomDelimiters) {
  // field=A component=B subcomponent=C repetition=D (as in a converter's tests).
  Delimiters d;
  d.field = 'A';
  d.component = 'B';
  d.subcomponent = 'C';
  d.repetition = 'D';
  EXPECT_EQ(Unescape("\\F\\n", d), "An");
  EXPECT_EQ(Unescape("\\S\\n", d), "Bn");
  EXPECT_EQ(Unescape("\\T\\n", d), "Cn");
  EXPECT_EQ(Unescape("\\R\\n", d), "Dn");
  EXPECT_EQ(Unescape("\\E\\n", d), "\\n");
}

TEST(EscapeTest, CustomEscapeCharacter) {
  Result<Delimiters> brace = Delimiters::FromHeader("MSH|^~}|");
  ASSERT_TRUE(brace.ok());
  EXPECT_EQ(Unescape("a}F}b}E}c", *brace), "a|b}c");
  EXPECT_EQ(Unescape("a\\F\\b", *brace), "a\\F\\b");  // backslash is plain text here
  EXPECT_EQ(Unescape("x}T}y", *brace), "x}T}y");      // no subcomponent separator
  EXPECT_EQ(Escape("a|b}c\\d", *brace), "a}F}b}E}c\\d");

  Delimiters hash;
  hash.escape = '#';
  EXPECT_EQ(Unescape("Multi#.br#Line#X41#", hash), "Multi\nLineA");
  EXPECT_EQ(Unescape("#S##T##E#", hash), "^&#");
  EXPECT_EQ(Escape("1#2", hash), "1#E#2");

  Delimiters g;
  g.escape = 'G';
  EXPECT_EQ(Unescape("MultiG.brGLine", g), "Multi\nLine");
}

TEST(EscapeTest, SwappedDelimiters) {
  Result<Delimiters> d = Delimiters::FromHeader("MSH^~|\\&^");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(Unescape("\\F\\\\S\\\\R\\", *d), "^~|");
  EXPECT_EQ(Escape("^~|", *d), "\\F\\\\S\\\\R\\");
}

TEST(EscapeTest, DecodeMixedSentence) {
  EXPECT_EQ(U("foo\\F\\bar\\S\\baz\\T\\quux\\R\\quuz\\E\\corge\\X0D\\quack\\X0A\\duck\\.br\\"),
            "foo|bar^baz&quux~quuz\\corge\rquack\nduck\n");
}

TEST(EscapeTest, Encode) {
  EXPECT_EQ(Escape("Pierre DuRho^ne & Cie", Delimiters{}), "Pierre DuRho\\S\\ne \\T\\ Cie");
  EXPECT_EQ(Escape("a|b~c\\d", Delimiters{}), "a\\F\\b\\R\\c\\E\\d");
  EXPECT_EQ(Escape("", Delimiters{}), "");
  EXPECT_EQ(Escape("plain", Delimiters{}), "plain");
  EXPECT_EQ(Escape("a#b", WithTruncation()), "a\\P\\b");
  EXPECT_EQ(Escape("a#b", Delimiters{}), "a#b");
  // Text that looks like an escape sequence is text: its backslashes are escaped.
  EXPECT_EQ(Escape("\\.br\\", Delimiters{}), "\\E\\.br\\E\\");
  // Bytes outside ASCII are left for the charset layer.
  EXPECT_EQ(Escape("\xC3\xA4sdf", Delimiters{}), "\xC3\xA4sdf");
}

TEST(EscapeTest, EncodeLineBreaks) {
  EXPECT_EQ(Escape("a\nb", Delimiters{}), "a\\.br\\b");
  EXPECT_EQ(Escape("a\r\nb", Delimiters{}), "a\\.br\\b");
  EXPECT_EQ(Escape("a\rb", Delimiters{}), "a\\.br\\b");
  EXPECT_EQ(Escape("a\n\rb", Delimiters{}), "a\\.br\\\\.br\\b");
  EXPECT_EQ(Escape("a\r\n\r\nb\r", Delimiters{}), "a\\.br\\\\.br\\b\\.br\\");
  EXPECT_EQ(Escape("Th&is\nis\nA T|est\\", Delimiters{}),
            "Th\\T\\is\\.br\\is\\.br\\A T\\F\\est\\E\\");
}

TEST(EscapeTest, EncodeWithoutSubcomponentLeavesAmpersand) {
  Delimiters d;
  d.subcomponent = '\0';
  EXPECT_EQ(Escape("a&b\0c"s, d), "a&b\0c"s);
}

TEST(EscapeTest, EscapeToAppends) {
  std::string out = "x=";
  EscapeTo("a|b", Delimiters{}, &out);
  EXPECT_EQ(out, "x=a\\F\\b");
}

// The decoded form of text after an Escape/Unescape round trip: line breaks
// become "\n".
std::string NormalizeBreaks(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::vector<Delimiters> DelimiterSets() {
  std::vector<Delimiters> sets;
  for (std::string_view header :
       {"MSH|^~\\&|", "MSH|^~\\&#|", "MSH|^~}|", "MSH$%~\\&$", "MSH^~|\\&^", "MSH|^~#&|"}) {
    Result<Delimiters> d = Delimiters::FromHeader(header);
    EXPECT_TRUE(d.ok()) << header;
    if (d.ok()) sets.push_back(*d);
  }
  return sets;
}

TEST(EscapeTest, RoundTripRandomText) {
  std::mt19937 rng(12345);
  const std::string alphabet = "ab |^~\\&#}$%\r\nXFSTREP.0123456789";
  for (const Delimiters& d : DelimiterSets()) {
    for (int iter = 0; iter < 2000; ++iter) {
      std::string text;
      const int len = static_cast<int>(rng() % 40);
      for (int i = 0; i < len; ++i) {
        if (rng() % 8 == 0) {
          text.push_back(static_cast<char>(rng() % 256));
        } else {
          text.push_back(alphabet[rng() % alphabet.size()]);
        }
      }
      const std::string encoded = Escape(text, d);
      // The encoded form carries no separator and no line break.
      for (char c : encoded) {
        ASSERT_FALSE(d.IsSeparator(c)) << "separator in " << encoded;
        ASSERT_NE(c, '\r');
        ASSERT_NE(c, '\n');
        if (d.truncation != '\0') {
          ASSERT_NE(c, d.truncation);
        }
      }
      ASSERT_EQ(Unescape(encoded, d), NormalizeBreaks(text)) << "text: " << text;
    }
  }
}

TEST(EscapeTest, RandomBytesDoNotCrash) {
  std::mt19937 rng(777);
  const std::string bias = "\\\\\\XFSTREPHNCMZ.brspkinti 0123456789abcdefABCDEF+-#}";
  const std::vector<Delimiters> sets = DelimiterSets();
  std::size_t total = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::string raw;
    const int len = static_cast<int>(rng() % 64);
    for (int i = 0; i < len; ++i) {
      raw.push_back(rng() % 3 == 0 ? static_cast<char>(rng() % 256) : bias[rng() % bias.size()]);
    }
    const Delimiters& d = sets[rng() % sets.size()];
    std::string out = Unescape(raw, d);
    // Output is bounded: at most 99 characters per input byte.
    ASSERT_LE(out.size(), raw.size() * 99 + 1);
    if (!NeedsUnescape(raw, d)) {
      ASSERT_EQ(out, raw);
    }
    total += out.size();
  }
  EXPECT_GT(total, 0u);
}

// Facts from the shared escape vector notes, checked against the file when
// present: each entry names the input we look for and the expected output the
// notes give for it (the notes' "unchanged" means output == input).
TEST(EscapeTest, SharedEscapeVectors) {
  const char* root = std::getenv("JUNCTION_SOURCE_DIR");
  const std::string path =
      std::string(root ? root : ".") + "/../shared/corpus/edge-cases/ESCAPE_VECTORS.txt";
  std::ifstream in(path);
  if (!in) GTEST_SKIP() << "no " << path;
  const std::vector<std::string> agreed = {
      "\\E\\",
      "Obstetrician \\T\\ Gynaecologist",
      "Pierre DuRho\\S\\ne \\T\\ Cie",
      "c:\\E\\temp\\E\\file.txt",
      "\\ZCustomSequence\\ Is Ignored",
      "Trailing \\E\\",
      "\\F\\ Leading",
      "\\X\\n",
  };
  std::string line;
  int checked = 0;
  while (std::getline(in, line)) {
    const std::size_t arrow = line.find("=>");
    if (arrow == std::string::npos || line.starts_with("#")) continue;
    std::string input = line.substr(0, arrow);
    while (!input.empty() && input.back() == ' ') input.pop_back();
    bool is_agreed = false;
    for (const std::string& a : agreed) is_agreed = is_agreed || a == input;
    // Every listed input must decode without losing an escape character
    // unless it was part of a recognised sequence; here: just no crash.
    const std::string decoded = U(input);
    if (!is_agreed) continue;
    std::string expected = line.substr(arrow + 2);
    while (!expected.empty() && expected.front() == ' ') expected.erase(0, 1);
    const std::size_t gap = expected.find("  ");
    if (gap != std::string::npos) expected.resize(gap);
    if (expected.starts_with("unchanged")) expected = input;
    EXPECT_EQ(decoded, expected) << "vector: " << line;
    ++checked;
  }
  EXPECT_GE(checked, 6) << "the vector notes changed shape";
}

}  // namespace
}  // namespace junction::hl7

namespace junction::hl7 {
namespace {

// Regression from fuzz_escape: with '.' as a separator, "\.br\" would contain it.
TEST(EscapeRegressionTest, LineBreakIsHexWhenDotIsASeparator) {
  Delimiters d;
  d.subcomponent = '.';
  const std::string encoded = Escape("a\nb\r\nc\rd", d);
  EXPECT_EQ(encoded.find('.'), std::string::npos);
  EXPECT_EQ(encoded.find('\n'), std::string::npos);
  EXPECT_EQ(Unescape(encoded, d), "a\nb\nc\nd");  // every break reads back as "\n"
  Delimiters normal;
  EXPECT_EQ(Escape("a\nb", normal), "a\\.br\\b");
}

TEST(EscapeRegressionTest, LineBreakIsHexWhenDotIsTheEscape) {
  Delimiters d;
  d.escape = '.';
  const std::string encoded = Escape("a\nb", d);
  EXPECT_EQ(encoded, "a.X0A.b");
  EXPECT_EQ(Unescape(encoded, d), "a\nb");
  Delimiters truncation;
  truncation.truncation = '.';
  EXPECT_EQ(Escape("a\nb", truncation).find('.'), std::string::npos);
}

// Regression from fuzz_path: MLLP block bytes in a value would break framing.
TEST(EscapeRegressionTest, MllpBlockBytesAreHex) {
  Delimiters d;
  EXPECT_EQ(Escape("a\x0b" "b\x1c", d), "a\\X0B\\b\\X1C\\");
  EXPECT_EQ(Unescape(Escape("a\x0b" "b\x1c", d), d), "a\x0b" "b\x1c");
}

}  // namespace
}  // namespace junction::hl7
