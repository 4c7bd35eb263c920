// Serialize(): escaping at every position of a string (the writer scans eight
// bytes at a time, so specials before, inside and after an 8-byte stride), key
// order, numbers, invalid UTF-8, and the lifetime of the Bundle's arena.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <optional>
#include <string>

#include "test_util.h"

namespace junction::fhir::testing {
namespace {

// What a JSON string literal for `s` must look like (RFC 8259, as Serialize
// documents it: \n \r \t short forms, other controls as \u00xx, UTF-8 kept).
std::string Expected(const std::string& s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"')
      out += "\\\"";
    else if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\t')
      out += "\\t";
    else if (c < 0x20)
      out += std::string("\\u00") + kHex[c >> 4] + kHex[c & 15];
    else
      out.push_back(ch);
  }
  return out + "\"";
}

TEST(Serialize, EscapesEverySpecialAtEveryPosition) {
  const std::string specials[] = {
      "\"",   "\\",   "\n",   "\r",       "\t",           std::string(1, '\0'),
      "\x01", "\x1f", "\x7f", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
  for (const std::string& special : specials) {
    for (std::size_t len = 0; len <= 24; ++len) {
      for (std::size_t pos = 0; pos <= len; ++pos) {
        std::string s(len, 'a');
        s.insert(pos, special);
        json::object o;
        o["k"] = s;
        std::string out = Serialize(o, false);
        ASSERT_EQ(out, "{\"k\":" + Expected(s) + "}") << "len " << len << " pos " << pos;
        // And it parses back to the same text.
        ASSERT_EQ(json::parse(out).as_object().at("k").as_string(), s);
      }
    }
  }
}

TEST(Serialize, InvalidUtf8BecomesReplacementCharacter) {
  json::object o;
  o["a"] = std::string(
      "abcdefgh\xff"
      "ijklmnop");                          // invalid lead byte after a stride
  o["b"] = std::string("\xc3");             // truncated sequence
  o["c"] = std::string("\xed\xa0\x80xyz");  // UTF-16 surrogate, not UTF-8
  EXPECT_EQ(Serialize(o, false),
            "{\"a\":\"abcdefgh\xef\xbf\xbdijklmnop\",\"b\":\"\xef\xbf\xbd\","
            "\"c\":\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdxyz\"}");
}

TEST(Serialize, KeepsInsertionOrderAndFormatsScalars) {
  json::object o;
  o["z"] = 1;
  o["a"] = -2.5;
  o["m"] = json::array{true, false, nullptr, 3.0, std::uint64_t{18446744073709551615ULL}};
  o["e"] = json::object();
  o["l"] = json::array();
  EXPECT_EQ(
      Serialize(o, false),
      "{\"z\":1,\"a\":-2.5,\"m\":[true,false,null,3,18446744073709551615],\"e\":{},\"l\":[]}");
  EXPECT_EQ(Serialize(o, true),
            "{\n  \"z\": 1,\n  \"a\": -2.5,\n  \"m\": [\n    true,\n    false,\n    null,\n    3,\n"
            "    18446744073709551615\n  ],\n  \"e\": {},\n  \"l\": []\n}");
}

TEST(Serialize, LargeOutputGrowsTheBuffer) {
  json::object o;
  std::string big(100000, 'x');
  big[99999] = '"';
  o["big"] = big;
  std::string out = Serialize(o, true);
  EXPECT_EQ(out, "{\n  \"big\": " + Expected(big) + "\n}");
  EXPECT_EQ(json::parse(out).as_object().at("big").as_string(), big);
}

// The Bundle owns its arena: moving or copying the bundle object keeps the
// values valid after the ConvertResult is gone (ASan would see a use after free).
TEST(Serialize, BundleOutlivesItsConvertResult) {
  const std::string text = Msg({Seg("MSH", {{3, "APP"},
                                            {4, "FAC"},
                                            {7, "20240301101500+0100"},
                                            {9, "ADT^A01"},
                                            {10, "C1"},
                                            {11, "P"},
                                            {12, "2.5.1"}}),
                                Seg("PID", {{3, "MRN1^^^HOSP^MR"}, {5, "Doe^Jane"}})});
  std::string expected = Serialize(MustConvert(text).bundle, false);
  std::optional<json::object> moved;
  std::optional<json::object> copied;
  {
    ConvertResult r = MustConvert(text);
    copied.emplace(r.bundle);  // copy constructor: shares the arena
    moved.emplace(std::move(r.bundle));
  }
  EXPECT_EQ(Serialize(*moved, false), expected);
  EXPECT_EQ(Serialize(*copied, false), expected);
  // A part kept with its own storage survives the bundle.
  json::value entries;
  {
    ConvertResult r = MustConvert(text);
    entries = json::value(r.bundle.at("entry"), json::storage_ptr());
  }
  EXPECT_EQ(entries, json::parse(expected).as_object().at("entry"));
}

}  // namespace
}  // namespace junction::fhir::testing
