#include "junction/hl7/json.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "junction/hl7/message.h"

namespace junction::hl7 {
namespace {

std::string ToJson(std::string_view bytes, bool pretty = true) {
  auto msg = Message::Parse(bytes);
  EXPECT_TRUE(msg.ok()) << msg.status().ToString();
  if (!msg.ok()) return {};
  JsonWriteOptions options;
  options.pretty = pretty;
  auto json = MessageToJson(*msg, options);
  EXPECT_TRUE(json.ok()) << json.status().ToString();
  return json.ok() ? *json : std::string();
}

void ExpectRoundTrip(std::string_view bytes) {
  for (bool pretty : {true, false}) {
    std::string json = ToJson(bytes, pretty);
    auto back = JsonToEr7(json);
    ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << json;
    EXPECT_EQ(*back, bytes) << json;
  }
}

constexpr std::string_view kAdt =
    "MSH|^~\\&|ADT|HOSP|LAB|HOSP|20240102030405||ADT^A01^ADT_A01|MSG001|P|2.5.1\r"
    "PID|1||12345^^^HOSP&1.2.3&ISO^MR~999^^^SSA^SS||DOE^JOHN^Q||19700101|M\r"
    "NTE|1||line one\\.br\\line two\r";

TEST(JsonTest, NestsByTheSeparatorsPresent) {
  std::string json = ToJson(kAdt, /*pretty=*/false);
  // MSH-1 and MSH-2 are plain strings; MSH-9 is one repetition of three components.
  EXPECT_NE(json.find("{\"id\":\"MSH\",\"fields\":[\"|\",\"^~\\\\&\",\"ADT\""), std::string::npos)
      << json;
  EXPECT_NE(json.find("[[\"ADT\",\"A01\",\"ADT_A01\"]]"), std::string::npos) << json;
  // PID-3: two repetitions; the assigning authority has subcomponents.
  EXPECT_NE(json.find("[[\"12345\",\"\",\"\",[\"HOSP\",\"1.2.3\",\"ISO\"],\"MR\"],"
                      "[\"999\",\"\",\"\",\"SSA\",\"SS\"]]"),
            std::string::npos)
      << json;
  // Escapes stay raw.
  EXPECT_NE(json.find("\"line one\\\\.br\\\\line two\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"bytes\":\"utf-8\""), std::string::npos);
  EXPECT_NE(json.find("\"delimiters\":\"|^~\\\\&\""), std::string::npos);
  EXPECT_NE(json.find("\"terminator\":\"\\r\""), std::string::npos);
}

TEST(JsonTest, SubcomponentsOnlyFieldIsOneRepetitionOfOneComponent) {
  std::string json = ToJson("MSH|^~\\&|A\rZZZ|x&y|a~b|\r", false);
  EXPECT_NE(json.find("{\"id\":\"ZZZ\",\"fields\":[[[[\"x\",\"y\"]]],[\"a\",\"b\"],\"\"]"),
            std::string::npos)
      << json;
}

TEST(JsonTest, RoundTripsExactBytes) {
  ExpectRoundTrip(kAdt);
  // BOM, CRLF mixed with LF, blank lines, trailing whitespace, no final terminator.
  ExpectRoundTrip("\xEF\xBB\xBFMSH|^~\\&|A|B\r\nPID|1\n\n  \nPV1|1  \r\n\r\n");
  ExpectRoundTrip("MSH|^~\\&|A|B\rPID|1");
  // MLLP framing kept in prefix/trailer.
  ExpectRoundTrip("\x0BMSH|^~\\&|A|B\rPID|1\r\x1C\r");
  // Segment without fields, and an empty field.
  ExpectRoundTrip("MSH|^~\\&|A\rZZZ\rZZA|\r");
  // Custom delimiters, 3 encoding characters (no subcomponents), truncation char.
  ExpectRoundTrip("MSH*!@$*A*B!C*D@E&F\r");
  ExpectRoundTrip("MSH|^~\\&#|A|B^C&D#\r");
  // Empty pieces everywhere.
  ExpectRoundTrip("MSH|^~\\&|||^^~~&&|~|^|&\r");
}

TEST(JsonTest, NonUtf8BytesUseLatin1Mode) {
  std::string bytes = "MSH|^~\\&|A|B|||||||||||||8859/1\rPID|1||||Jos\xE9\r";
  std::string json = ToJson(bytes, false);
  EXPECT_NE(json.find("\"bytes\":\"latin-1\""), std::string::npos) << json;
  EXPECT_NE(json.find("Jos\\u00e9"), std::string::npos) << json;
  ExpectRoundTrip(bytes);
  // Valid UTF-8 stays readable.
  std::string utf8 = "MSH|^~\\&|A\rPID|1||||Jos\xC3\xA9\r";
  EXPECT_NE(ToJson(utf8, false).find("Jos\xC3\xA9"), std::string::npos);
  ExpectRoundTrip(utf8);
}

TEST(JsonTest, ModifiedMessageIsDescribedAsEncoded) {
  auto msg = Message::Parse(kAdt);
  ASSERT_TRUE(msg.ok());
  auto path = Path::Parse("PID-5.2");
  ASSERT_TRUE(path.ok());
  ASSERT_TRUE(msg->Set(*path, "JANE").ok());
  auto json = MessageToJson(*msg);
  ASSERT_TRUE(json.ok());
  auto back = JsonToEr7(*json);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, msg->Encode());
}

TEST(JsonTest, FileWithSeveralMessagesBecomesAnArray) {
  std::string file =
      "FHS|^~\\&|F\rBHS|^~\\&|B\r"
      "MSH|^~\\&|A|1\rPID|1\r"
      "MSH|^~\\&|A|2\rPID|2\r"
      "BTS|2\rFTS|1\r";
  auto json = FileToJson(file);
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  EXPECT_EQ(json->front(), '[');
  EXPECT_NE(json->find("\"prefix\": \"FHS|^~\\\\&|F\\rBHS|^~\\\\&|B\\r\""), std::string::npos)
      << *json;
  EXPECT_NE(json->find("\"trailer\": \"BTS|2\\rFTS|1\\r\""), std::string::npos) << *json;
  auto back = JsonToEr7(*json);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, file);

  // MLLP-framed stream of two messages.
  std::string framed = "\x0BMSH|^~\\&|A|1\rPID|1\r\x1C\r\x0BMSH|^~\\&|A|2\rPID|2\r\x1C\r";
  auto framed_json = FileToJson(framed, false);
  ASSERT_TRUE(framed_json.ok()) << framed_json.status().ToString();
  auto framed_back = JsonToEr7(*framed_json);
  ASSERT_TRUE(framed_back.ok());
  EXPECT_EQ(*framed_back, framed);

  // A single message is an object, framing included.
  auto single = FileToJson("\x0BMSH|^~\\&|A\r\x1C\r");
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(single->front(), '{');
}

TEST(JsonTest, FileWithoutMessageIsAnError) {
  auto json = FileToJson("hello\r");
  ASSERT_FALSE(json.ok());
  EXPECT_NE(json.status().message().find("no HL7 message"), std::string::npos);
}

TEST(JsonTest, ReaderReportsWhereAndWhat) {
  const std::string text =
      "{\"delimiters\": \"|^~\\\\&\", \"segments\": [{\"id\": \"MSH\", \"fields\": 5}]}";
  auto bad = JsonToEr7(text);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("\"fields\" to be an array"), std::string::npos)
      << bad.status().ToString();
  EXPECT_EQ(bad.status().offset(), text.find("5}"));  // points at the bad value

  EXPECT_FALSE(JsonToEr7("").ok());
  EXPECT_FALSE(JsonToEr7("{").ok());
  EXPECT_FALSE(JsonToEr7("[]").ok());
  EXPECT_FALSE(JsonToEr7("{\"delimiters\":\"|^~\\\\&\",\"segments\":[],\"x\":1}").ok());
  EXPECT_FALSE(JsonToEr7("{\"delimiters\":\"|\",\"segments\":[{\"id\":\"MSH\"}]}").ok());
  EXPECT_FALSE(JsonToEr7("\"\\ud800\"").ok());
  EXPECT_FALSE(JsonToEr7("{\"a\":1} x").ok());
  // latin-1 mode rejects code points above U+00FF.
  EXPECT_FALSE(JsonToEr7("{\"bytes\":\"latin-1\",\"delimiters\":\"|^~\\\\&\","
                         "\"segments\":[{\"id\":\"MSH\",\"fields\":[\"|\",\"^~\\\\&\",\"\\u0100\"]}]}")
                   .ok());
  // MSH-1 must agree with the delimiters.
  EXPECT_FALSE(JsonToEr7("{\"delimiters\":\"|^~\\\\&\","
                         "\"segments\":[{\"id\":\"MSH\",\"fields\":[\"*\",\"^~\\\\&\"]}]}")
                   .ok());
  // Empty arrays are not a valid nesting.
  EXPECT_FALSE(JsonToEr7("{\"delimiters\":\"|^~\\\\&\","
                         "\"segments\":[{\"id\":\"MSH\",\"fields\":[\"|\",\"^~\\\\&\",[]]}]}")
                   .ok());
}

TEST(JsonTest, DepthIsBounded) {
  std::string deep(10000, '[');
  auto result = JsonToEr7(deep);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("nesting deeper"), std::string::npos);
}

TEST(JsonTest, StringHelperReplacesInvalidUtf8) {
  EXPECT_EQ(JsonString("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
  EXPECT_EQ(JsonString("\xE9t\xC3\xA9"), "\"\\ufffdt\xC3\xA9\"");
  EXPECT_TRUE(IsValidUtf8("plain \xC3\xA9"));
  EXPECT_FALSE(IsValidUtf8("\xC0\x80"));       // overlong
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));   // surrogate
}

// Every corpus file (repo's own, and the shared one when present) survives a round trip.
TEST(JsonTest, CorpusRoundTrip) {
  const char* root = std::getenv("JUNCTION_SOURCE_DIR");
  std::filesystem::path base = root ? root : ".";
  int files = 0;
  for (const auto& dir : {base / "tests" / "corpus", base / "examples", base / ".." / "shared" / "corpus"}) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) continue;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir, ec)) {
      if (!entry.is_regular_file()) continue;
      if (entry.file_size() > (8u << 20)) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      const std::string bytes = ss.str();
      auto json = FileToJson(bytes);
      if (!json.ok()) continue;  // not a parseable message (deliberately broken inputs)
      ++files;
      auto back = JsonToEr7(*json);
      ASSERT_TRUE(back.ok()) << entry.path() << ": " << back.status().ToString();
      EXPECT_EQ(*back, bytes) << entry.path();
    }
  }
  if (files == 0) GTEST_SKIP() << "no corpus files found";
}

}  // namespace
}  // namespace junction::hl7
