// Tests for Charset: MSH-18 names, conversion to and from UTF-8, and the
// ASCII/UTF-8 fallbacks documented in docs/hl7.md.
#include "junction/hl7/charset.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace junction::hl7 {
namespace {

using namespace std::string_literals;

Charset Must(std::string_view name) {
  Result<Charset> r = Charset::FromMsh18(name);
  EXPECT_TRUE(r.ok()) << name << ": " << r.status().ToString();
  return r.ok() ? *r : Charset{};
}

TEST(CharsetTest, DefaultIsAscii) {
  Charset cs;
  EXPECT_EQ(cs.hl7_name(), "ASCII");
  EXPECT_EQ(cs.iconv_name(), "ASCII");
  EXPECT_TRUE(cs.is_utf8_compatible());
  EXPECT_EQ(Must("").hl7_name(), "ASCII");
  EXPECT_EQ(Must("   ").hl7_name(), "ASCII");
}

TEST(CharsetTest, Table0211Names) {
  struct Case {
    const char* msh18;
    const char* iconv;
    bool passthrough;
  };
  const Case cases[] = {
      {"ASCII", "ASCII", true},
      {"8859/1", "ISO-8859-1", false},
      {"8859/2", "ISO-8859-2", false},
      {"8859/3", "ISO-8859-3", false},
      {"8859/4", "ISO-8859-4", false},
      {"8859/5", "ISO-8859-5", false},
      {"8859/6", "ISO-8859-6", false},
      {"8859/7", "ISO-8859-7", false},
      {"8859/8", "ISO-8859-8", false},
      {"8859/9", "ISO-8859-9", false},
      {"8859/15", "ISO-8859-15", false},
      {"UNICODE UTF-8", "UTF-8", true},
      {"UNICODE", "UTF-16", false},
      {"UNICODE UTF-16", "UTF-16", false},
      {"UNICODE UTF-32", "UTF-32", false},
      {"ISO IR6", "ASCII", true},
      {"ISO IR14", "ISO-IR-14", false},
      {"ISO IR87", "ISO-2022-JP", false},
      {"ISO IR159", "ISO-2022-JP-2", false},
      {"GB 18030-2000", "GB18030", false},
      {"KS X 1001", "EUC-KR", false},
      {"CNS 11643-1992", "EUC-TW", false},
      {"BIG-5", "BIG5", false},
  };
  for (const Case& c : cases) {
    Charset cs = Must(c.msh18);
    EXPECT_EQ(cs.hl7_name(), c.msh18);
    EXPECT_EQ(cs.iconv_name(), c.iconv) << c.msh18;
    EXPECT_EQ(cs.is_utf8_compatible(), c.passthrough) << c.msh18;
  }
}

TEST(CharsetTest, TrimsAndIgnoresCaseAndKnowsAliases) {
  EXPECT_EQ(Must("  8859/1 ").iconv_name(), "ISO-8859-1");
  EXPECT_EQ(Must("unicode utf-8").hl7_name(), "UNICODE UTF-8");
  EXPECT_EQ(Must("UTF-8").hl7_name(), "UNICODE UTF-8");
  EXPECT_EQ(Must("utf8").hl7_name(), "UNICODE UTF-8");
  EXPECT_EQ(Must("ISO-8859-15").hl7_name(), "8859/15");
  EXPECT_EQ(Must("big-5").iconv_name(), "BIG5");
}

TEST(CharsetTest, UnknownNamesAreInvalid) {
  for (std::string_view name :
       {"8859/10", "8859/16", "EBCDIC", "UNICODE UTF-7", "8859/1~ASCII", "ISO IR 87", "8859"}) {
    Result<Charset> r = Charset::FromMsh18(name);
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  }
  Result<Charset> r = Charset::FromMsh18(std::string(1000, 'Z'));
  ASSERT_FALSE(r.ok());
  EXPECT_LT(r.status().message().size(), 200u);  // untrusted input is not echoed in full
}

TEST(CharsetTest, AsciiPassthroughAndFallbacks) {
  Charset ascii;
  EXPECT_EQ(ascii.ToUtf8("Smith^John"), "Smith^John");
  EXPECT_EQ(ascii.ToUtf8(""), "");
  // Undeclared but valid UTF-8 is kept.
  EXPECT_EQ(ascii.ToUtf8("Jos\xC3\xA9"), "Jos\xC3\xA9");
  // Not UTF-8: read as Latin-1.
  EXPECT_EQ(ascii.ToUtf8("Jos\xE9"), "Jos\xC3\xA9");
  EXPECT_EQ(ascii.ToUtf8("\xFF\x80"), "\xC3\xBF\xC2\x80");
}

TEST(CharsetTest, Utf8RepairsInvalidBytes) {
  Charset utf8 = Must("UNICODE UTF-8");
  EXPECT_EQ(utf8.ToUtf8("\xE6\xAF\x8F"), "\xE6\xAF\x8F");
  EXPECT_EQ(utf8.ToUtf8("a\xFF"
                        "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(utf8.ToUtf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong
  EXPECT_EQ(utf8.ToUtf8("\xED\xA0\x80"),                           // surrogate
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(utf8.ToUtf8("x\xE6\xAF"), "x\xEF\xBF\xBD\xEF\xBF\xBD");         // truncated
  EXPECT_EQ(utf8.ToUtf8("\xF4\x90\x80\x80").substr(0, 3), "\xEF\xBF\xBD");  // > U+10FFFF
}

TEST(CharsetTest, Latin1AndFriends) {
  EXPECT_EQ(Must("8859/1").ToUtf8("Jos\xE9"), "Jos\xC3\xA9");
  EXPECT_EQ(Must("8859/15").ToUtf8("\xA4"), "\xE2\x82\xAC");  // euro sign
  EXPECT_EQ(Must("8859/1").ToUtf8("\xA4"), "\xC2\xA4");       // currency sign
  EXPECT_EQ(Must("8859/5").ToUtf8("\xB6\xD4"), "\xD0\x96\xD0\xB4");
  EXPECT_EQ(Must("8859/7").ToUtf8("\xE1"), "\xCE\xB1");  // alpha
  // 0xA5 is unassigned in ISO-8859-3.
  EXPECT_EQ(Must("8859/3").ToUtf8("a\xA5"
                                  "b"),
            "a\xEF\xBF\xBD"
            "b");
}

TEST(CharsetTest, EastAsian) {
  EXPECT_EQ(Must("GB 18030-2000").ToUtf8("\xD6\xD0\xCE\xC4"), "中文");
  EXPECT_EQ(Must("KS X 1001").ToUtf8("\xC7\xD1\xB1\xB9"), "한국");
  EXPECT_EQ(Must("BIG-5").ToUtf8("\xA4\xA4\xA4\xE5"), "中文");
  EXPECT_EQ(Must("CNS 11643-1992").ToUtf8("\xC4\xE3"), "中");
  EXPECT_EQ(Must("ISO IR87").ToUtf8("A\x1B$BF|K\\\x1B(BZ"), "A日本Z");
  EXPECT_EQ(Must("ISO IR159").ToUtf8("\x1B$(D\x22\x37\x1B(B"), "～");
  // ISO IR14 (JIS X 0201 Roman) has a yen sign where ASCII has a backslash.
  EXPECT_EQ(Must("ISO IR14").ToUtf8("\\"), "¥");
}

TEST(CharsetTest, EastAsianInvalidBytes) {
  // A lone lead byte at the end of GB 18030 text.
  EXPECT_EQ(Must("GB 18030-2000").ToUtf8("a\xD6"), "a\xEF\xBF\xBD");
  std::string out = Must("KS X 1001").ToUtf8("\xC7\x20x");
  EXPECT_NE(out.find("\xEF\xBF\xBD"), std::string::npos) << out;
  EXPECT_NE(out.find('x'), std::string::npos);
}

TEST(CharsetTest, Utf16AndUtf32) {
  Charset u16 = Must("UNICODE");
  EXPECT_EQ(u16.ToUtf8("\x00"
                       "A\x00\xE9"s),
            "A\xC3\xA9");  // no BOM: big-endian
  EXPECT_EQ(u16.ToUtf8("\xFF\xFE"
                       "A\x00\xE9\x00"s),
            "A\xC3\xA9");  // little-endian BOM
  EXPECT_EQ(u16.ToUtf8("\x00"
                       "A\x00"s),
            "A\xEF\xBF\xBD");  // odd trailing byte
  EXPECT_EQ(u16.ToUtf8("\xDC\x00\x00"
                       "B"s),
            "\xEF\xBF\xBD"
            "B");  // lone low surrogate
  EXPECT_EQ(u16.ToUtf8("\xFE\xFF\x00"
                       "A"s),
            "A");                                                  // big-endian BOM
  EXPECT_EQ(u16.ToUtf8("\xD8\x3D\xDE\x00"s), "\xF0\x9F\x98\x80");  // surrogate pair
  Charset u32 = Must("UNICODE UTF-32");
  EXPECT_EQ(u32.ToUtf8("\x00\x00\x20\xAC"s), "\xE2\x82\xAC");
  EXPECT_EQ(u32.ToUtf8("\xFF\xFE\x00\x00\xAC\x20\x00\x00"s), "\xE2\x82\xAC");
  // Written big-endian without a byte order mark, so values concatenate.
  EXPECT_EQ(*u16.FromUtf8("A\xC3\xA9"),
            "\x00"
            "A\x00\xE9"s);
  EXPECT_EQ(*u32.FromUtf8("A"),
            "\x00\x00\x00"
            "A"s);
}

TEST(CharsetTest, FromUtf8RoundTrips) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"8859/1", "Jos\xC3\xA9 M\xC3\xBCller"},
      {"8859/15", "\xE2\x82\xAC 5"},
      {"8859/5", "\xD0\x96\xD0\xB4"},
      {"GB 18030-2000", "中文 and 每"},
      {"KS X 1001", "한국"},
      {"BIG-5", "中文"},
      {"CNS 11643-1992", "中"},
      {"ISO IR87", "A日本Z"},
      {"UNICODE UTF-16", "A\xC3\xA9 中"},
      {"UNICODE UTF-32", "\xE2\x82\xAC"},
      {"UNICODE UTF-8", "\xE6\xAF\x8F"},
  };
  for (const auto& [name, text] : cases) {
    Charset cs = Must(name);
    Result<std::string> encoded = cs.FromUtf8(text);
    ASSERT_TRUE(encoded.ok()) << name << ": " << encoded.status().ToString();
    EXPECT_EQ(cs.ToUtf8(*encoded), text) << name;
  }
  EXPECT_EQ(*Must("8859/1").FromUtf8("Jos\xC3\xA9"), "Jos\xE9");
  EXPECT_EQ(*Must("ISO IR87").FromUtf8("日本"), "\x1B$BF|K\\\x1B(B");
}

TEST(CharsetTest, FromUtf8Errors) {
  Result<std::string> r = Must("8859/1").FromUtf8("ok \xE2\x82\xAC");  // no euro in Latin-1
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().offset(), 3u);
  r = Must("8859/1").FromUtf8("a\xFF");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().offset(), 1u);
  r = Charset().FromUtf8("Jos\xC3\xA9");  // ASCII cannot hold it
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().offset(), 3u);
  EXPECT_EQ(*Charset().FromUtf8("plain"), "plain");
  r = Must("UNICODE UTF-8").FromUtf8("\xC3");
  ASSERT_FALSE(r.ok());
}

TEST(CharsetTest, LargeInputCrossesBufferBoundaries) {
  std::string latin1;
  std::string expected;
  for (int i = 0; i < 20000; ++i) {
    const char c = static_cast<char>(0xA0 + i % 0x60);
    latin1.push_back(c);
    expected += Charset().ToUtf8(std::string(1, c));  // Latin-1 fallback of ASCII
  }
  EXPECT_EQ(Must("8859/1").ToUtf8(latin1), expected);
  Result<std::string> back = Must("8859/1").FromUtf8(expected);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, latin1);
}

TEST(CharsetTest, ManyCharsetsAndThreads) {
  // More charsets than the per-thread converter cache holds, from several threads.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"8859/1", "\xE9"},
      {"8859/2", "\xB1"},
      {"8859/5", "\xB6"},
      {"8859/7", "\xE1"},
      {"8859/9", "\xFD"},
      {"8859/15", "\xA4"},
      {"KS X 1001", "\xC7\xD1"},
      {"BIG-5", "\xA4\xA4"},
      {"GB 18030-2000", "\xD6\xD0"},
      {"CNS 11643-1992", "\xC4\xE3"},
  };
  std::vector<std::string> expected;
  for (const auto& [name, bytes] : cases) expected.push_back(Must(name).ToUtf8(bytes));
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 50; ++round) {
        for (std::size_t i = 0; i < cases.size(); ++i) {
          Result<Charset> cs = Charset::FromMsh18(cases[i].first);
          if (!cs.ok() || cs->ToUtf8(cases[i].second) != expected[i]) ++failures[t];
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (int f : failures) EXPECT_EQ(f, 0);
  for (const std::string& e : expected) EXPECT_EQ(e.find("\xEF\xBF\xBD"), std::string::npos) << e;
}

}  // namespace
}  // namespace junction::hl7
