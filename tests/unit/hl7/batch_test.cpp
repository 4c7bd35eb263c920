#include "junction/hl7/batch.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace junction::hl7 {
namespace {

std::vector<std::string> Texts(std::string_view input, const std::vector<MessageSpan>& spans) {
  std::vector<std::string> out;
  for (const MessageSpan& s : spans) out.emplace_back(input.substr(s.offset, s.length));
  return out;
}

std::vector<std::string> Split(std::string_view input) {
  auto batch = SplitBatch(input);
  EXPECT_TRUE(batch.ok()) << batch.status().ToString();
  if (!batch.ok()) return {};
  return Texts(input, batch->messages);
}

std::vector<std::string> Stream(std::string_view input, const SplitOptions& options = {}) {
  MessageSplitter splitter(input, options);
  std::vector<MessageSpan> spans;
  MessageSpan span;
  while (splitter.Next(&span)) spans.push_back(span);
  EXPECT_TRUE(splitter.status().ok()) << splitter.status().ToString();
  return Texts(input, spans);
}

const char kMsgA[] = "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5\rPID|1||123\r";
const char kMsgB[] = "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|2|P|2.5\rPID|1||456\rPV1|1|I\r";

TEST(BatchSplitTest, SingleMessage) { EXPECT_EQ(Split(kMsgA), std::vector<std::string>{kMsgA}); }

TEST(BatchSplitTest, EmptyAndBlankInput) {
  EXPECT_TRUE(Split("").empty());
  EXPECT_TRUE(Split("\r\n \t\n\r").empty());
}

TEST(BatchSplitTest, ConcatenatedMessages) {
  const std::string in = std::string(kMsgA) + kMsgB + kMsgA;
  EXPECT_EQ(Split(in), (std::vector<std::string>{kMsgA, kMsgB, kMsgA}));
}

TEST(BatchSplitTest, MixedTerminatorsSpanEndsAfterLastTerminator) {
  const std::string m1 = "MSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.5\r\nPID|1\nPV1|1\r\n";
  const std::string m2 = "MSH|^~\\&|A|B|C|D|1||ADT^A01|2|P|2.5\nPID|2\r";
  EXPECT_EQ(Split(m1 + m2), (std::vector<std::string>{m1, m2}));
}

TEST(BatchSplitTest, LastSegmentWithoutTerminator) {
  const std::string in = std::string(kMsgA) + "MSH|^~\\&|X|||||ADT^A01|9|P|2.5\rPID|1";
  auto out = Split(in);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1], "MSH|^~\\&|X|||||ADT^A01|9|P|2.5\rPID|1");
}

TEST(BatchSplitTest, BlankLinesAndWhitespaceBetweenMessages) {
  // kMsgA ends in \r; a following \n would join it as \r\n, so start with spaces.
  const std::string in = "\r\n\r\n" + std::string(kMsgA) + "  \t\n\n\r\n" + kMsgB + "   \n\n";
  EXPECT_EQ(Split(in), (std::vector<std::string>{kMsgA, kMsgB}));
}

TEST(BatchSplitTest, BlankLineInsideMessageIsKept) {
  const std::string m = "MSH|^~\\&|A||||1||ADT^A01|1|P|2.5\n\nPID|1\n";
  EXPECT_EQ(Split(m + "\n"), std::vector<std::string>{m});
}

TEST(BatchSplitTest, ByteOrderMarkIsSkipped) {
  const std::string in = "\xEF\xBB\xBF" + std::string(kMsgA);
  auto batch = SplitBatch(in);
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->messages.size(), 1u);
  EXPECT_EQ(batch->messages[0].offset, 3u);
  EXPECT_EQ(batch->messages[0].length, sizeof(kMsgA) - 1);
}

TEST(BatchSplitTest, MshInsideAFieldIsData) {
  const std::string m =
      "MSH|^~\\&|A||||1||ORU^R01|1|P|2.5\rOBX|1|TX|||see MSH|^~\\&| and MSH|\rNTE|1||x MSH|y\r";
  EXPECT_EQ(Split(m), std::vector<std::string>{m});
}

TEST(BatchSplitTest, RawLineFeedInsideFieldDoesNotSplitUnlessMsh) {
  // CR-terminated message with a raw LF inside OBR-4 (seen in the wild).
  const std::string m = "MSH|^~\\&|A||||1||ORU^R01|1|P|2.3\rOBR|1|||HEMOGRAM WITH\nPLATEL\rOBX|1\r";
  EXPECT_EQ(Split(m), std::vector<std::string>{m});
}

TEST(BatchSplitTest, SegmentIdStartingWithMshIsNotAHeader) {
  const std::string m = "MSH|^~\\&|A||||1||ADT^A01|1|P|2.5\rMSHX|1\rBTSZ|2\r";
  EXPECT_EQ(Split(m), std::vector<std::string>{m});
}

TEST(BatchSplitTest, NonDefaultFieldSeparator) {
  const std::string m1 = "MSH#^~\\&#A####1##ADT^A01#1#P#2.5\rPID#1\r";
  const std::string m2 = "MSH$%~\\&$B\rPID$2\r";
  EXPECT_EQ(Split(m1 + m2), (std::vector<std::string>{m1, m2}));
}

TEST(BatchSplitTest, BatchWithHeaderAndTrailer) {
  const std::string in = "BHS|^~\\&|S|F|||20240101\r" + std::string(kMsgA) + kMsgB + "BTS|2\r";
  auto batch = SplitBatch(in);
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  EXPECT_EQ(Texts(in, batch->messages), (std::vector<std::string>{kMsgA, kMsgB}));
  ASSERT_EQ(batch->headers.size(), 2u);
  EXPECT_EQ(batch->headers[0].id(), "BHS");
  EXPECT_EQ(batch->headers[0].offset, 0u);
  EXPECT_EQ(in.substr(batch->headers[0].offset, batch->headers[0].length),
            "BHS|^~\\&|S|F|||20240101");
  EXPECT_EQ(batch->headers[1].id(), "BTS");
  EXPECT_EQ(batch->headers[1].declared_count, 2u);
  EXPECT_EQ(batch->headers[1].actual_count, 2u);
  EXPECT_TRUE(batch->warnings.empty());
}

TEST(BatchSplitTest, TrailerCountMismatchIsAWarning) {
  const std::string in = "FHS|^~\\&\rBHS|^~\\&\r" + std::string(kMsgA) + "BTS|3\rFTS|2\r";
  auto batch = SplitBatch(in);
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  ASSERT_EQ(batch->warnings.size(), 2u);
  EXPECT_NE(batch->warnings[0].message.find("BTS-1 declares 3 messages but 1 found"),
            std::string::npos)
      << batch->warnings[0].ToString();
  EXPECT_EQ(batch->warnings[0].offset, in.find("BTS"));
  EXPECT_NE(batch->warnings[1].message.find("FTS-1 declares 2 batches but 1 found"),
            std::string::npos);
}

TEST(BatchSplitTest, TrailerCountNotANumber) {
  const std::string in = "BHS|^~\\&\r" + std::string(kMsgA) + "BTS|two\r";
  auto batch = SplitBatch(in);
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->warnings.size(), 1u);
  EXPECT_NE(batch->warnings[0].message.find("not a count"), std::string::npos);
  EXPECT_FALSE(batch->headers[1].declared_count.has_value());
}

TEST(BatchSplitTest, BareTrailersAndEmptyCounts) {
  const std::string in = "FHS|^~\\&\rBHS|^~\\&\r" + std::string(kMsgA) + "BTS\rFTS|\r";
  auto batch = SplitBatch(in);
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  EXPECT_EQ(batch->messages.size(), 1u);
  EXPECT_EQ(batch->headers.size(), 4u);
  EXPECT_TRUE(batch->warnings.empty());
}

TEST(BatchSplitTest, FileWithTwoBatchesAndLooseMessages) {
  const std::string in = "FHS|^~\\&\rBHS|^~\\&\r" + std::string(kMsgA) + "BTS|1\rBHS|^~\\&\r" +
                         kMsgA + kMsgB + "BTS|2\r" + kMsgB + "FTS|3\r";
  auto batch = SplitBatch(in);
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  EXPECT_EQ(batch->messages.size(), 4u);
  EXPECT_TRUE(batch->warnings.empty()) << batch->warnings[0].ToString();
  EXPECT_EQ(batch->headers.back().actual_count, 3u);
}

TEST(BatchSplitTest, UnclosedHeadersAreWarnings) {
  const std::string in = "FHS|^~\\&\rBHS|^~\\&\r" + std::string(kMsgA);
  auto batch = SplitBatch(in);
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->warnings.size(), 2u);
  EXPECT_EQ(batch->warnings[0].message, "BHS not closed by BTS");
  EXPECT_EQ(batch->warnings[0].offset, in.find("BHS"));
  EXPECT_EQ(batch->warnings[1].message, "FHS not closed by FTS");
}

void ExpectError(const std::string& in, std::size_t offset, const std::string& text) {
  auto batch = SplitBatch(in);
  ASSERT_FALSE(batch.ok()) << "expected error: " << text;
  EXPECT_EQ(batch.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(batch.status().offset(), offset) << batch.status().ToString();
  EXPECT_NE(batch.status().ToString().find(text), std::string::npos) << batch.status().ToString();
}

TEST(BatchSplitTest, StructureErrorsNameThePlace) {
  const std::string a = kMsgA;
  {
    const std::string in = "BHS|^~\\&\r" + a + "BHS|^~\\&\r" + a + "BTS|1\r";
    ExpectError(in, in.rfind("BHS"),
                "second BHS inside an open batch (BHS at offset 0 not closed by BTS)");
  }
  ExpectError("BHS|^~\\&\rEVN|A04\rBTS|1\r", 9, "BHS at offset 0 followed by EVN with no MSH");
  ExpectError(a + "BTS|1\r", a.size(), "BTS without BHS");
  {
    const std::string in = "FHS|^~\\&\r" + a + "FHS|^~\\&\r";
    ExpectError(in, in.rfind("FHS"), "second FHS (FHS at offset 0");
  }
  ExpectError("\r\nEVN|A04\r" + a, 2, "offset 2: segment 'EVN' at offset 2 before any MSH");
  ExpectError(a + "FTS|1\r", a.size(), "FTS without FHS");
  ExpectError(a + "FHS|^~\\&\r", a.size(), "FHS not at the start");
  {
    const std::string in = "FHS|^~\\&\r" + a + "FTS|1\r" + a;
    ExpectError(in, in.rfind("MSH"), "MSH after FTS");
  }
  {
    const std::string in = "BHS|^~\\&\r" + a + "BTS|1\rNTE|1\r";
    ExpectError(in, in.find("NTE"), "segment 'NTE' after BTS");
  }
  {
    const std::string in = "FHS|^~\\&\rBHS|^~\\&\r" + a + "FTS|1\r";
    ExpectError(in, in.find("FTS"), "FTS inside an open batch");
  }
}

TEST(BatchSplitTest, MllpFrames) {
  const std::string in = std::string("\x0b") + kMsgA + "\x1c\r" + "\r\n\x0b" + kMsgB + "\x1c\r";
  auto batch = SplitBatch(in);
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  EXPECT_TRUE(batch->framed);
  EXPECT_EQ(Texts(in, batch->messages), (std::vector<std::string>{kMsgA, kMsgB}));
  EXPECT_EQ(batch->messages[0].offset, 1u);
  EXPECT_TRUE(batch->warnings.empty());
}

TEST(BatchSplitTest, MllpFrameWithoutFinalTerminatorAndJunkBetween) {
  const std::string m1 = "MSH|^~\\&|A||||1||ADT^A01|1|P|2.5\rPID|1";
  const std::string in = "\x0b" + m1 + "\x1c\r" + "garbage\r\n" + "\x0b" + kMsgB + "\x1c\r";
  auto batch = SplitBatch(in);
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  EXPECT_EQ(Texts(in, batch->messages), (std::vector<std::string>{m1, kMsgB}));
  ASSERT_EQ(batch->warnings.size(), 1u);
  EXPECT_NE(batch->warnings[0].message.find("7 bytes outside MLLP frames"), std::string::npos);

  MessageSplitter splitter(in);
  MessageSpan span;
  while (splitter.Next(&span)) {
  }
  EXPECT_EQ(splitter.junk_bytes(), 7u);
  EXPECT_TRUE(splitter.framed());
}

TEST(BatchSplitTest, MllpFrameHoldingTwoMessages) {
  const std::string in = "\x0b" + std::string(kMsgA) + kMsgB + "\x1c\r";
  EXPECT_EQ(Split(in), (std::vector<std::string>{kMsgA, kMsgB}));
}

TEST(MessageSplitterTest, LenientSkipsControlAndStraySegments) {
  const std::string in = "EVN|A04\rFHS|^~\\&\rBHS|^~\\&\r" + std::string(kMsgA) +
                         "BTS|1\rZZZ|junk\rBHS|^~\\&\r" + kMsgB + "FTS|9\r";
  MessageSplitter splitter(in);
  std::vector<MessageSpan> spans;
  MessageSpan span;
  while (splitter.Next(&span)) spans.push_back(span);
  EXPECT_TRUE(splitter.status().ok());
  EXPECT_EQ(Texts(in, spans), (std::vector<std::string>{kMsgA, kMsgB}));
  EXPECT_EQ(splitter.messages(), 2u);
  EXPECT_EQ(splitter.skipped_segments(), 2u);
  EXPECT_EQ(splitter.skipped_control_segments(), 5u);
  ASSERT_EQ(splitter.findings().size(), 2u);
  EXPECT_EQ(splitter.findings()[0].offset, 0u);
  EXPECT_EQ(splitter.findings()[1].offset, in.find("ZZZ"));
  // SplitBatch rejects the same input.
  EXPECT_FALSE(SplitBatch(in).ok());
}

TEST(MessageSplitterTest, MaxMessages) {
  const std::string in = std::string(kMsgA) + kMsgA + kMsgA;
  SplitOptions options;
  options.max_messages = 2;
  MessageSplitter splitter(in, options);
  MessageSpan span;
  int n = 0;
  while (splitter.Next(&span)) ++n;
  EXPECT_EQ(n, 2);
  EXPECT_EQ(splitter.status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(splitter.status().offset(), 2 * (sizeof(kMsgA) - 1));
  EXPECT_FALSE(SplitBatch(in, options).ok());
}

TEST(MessageSplitterTest, MaxLineAndMessageBytes) {
  SplitOptions options;
  options.max_line_bytes = 50;  // the MSH line of kMsgA is 42
  const std::string in = std::string(kMsgA) + "MSH|^~\\&|A\rOBX|1|TX|||" + std::string(100, 'x');
  MessageSplitter splitter(in, options);
  MessageSpan span;
  EXPECT_TRUE(splitter.Next(&span)) << splitter.status().ToString();
  EXPECT_FALSE(splitter.Next(&span));
  EXPECT_EQ(splitter.status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(splitter.status().offset(), in.find("OBX"));
  EXPECT_NE(splitter.status().message().find("max_line_bytes"), std::string::npos);

  SplitOptions small;
  small.max_message_bytes = 60;
  auto batch = SplitBatch(std::string(kMsgB) + kMsgA, small);
  ASSERT_FALSE(batch.ok());
  EXPECT_EQ(batch.status().offset(), 0u);
  EXPECT_NE(batch.status().message().find("max_message_bytes"), std::string::npos);
}

TEST(MessageSplitterTest, ManyMessages) {
  std::string in;
  const int kCount = 20000;
  for (int i = 0; i < kCount; ++i) {
    in += "MSH|^~\\&|A|B|C|D|20240101||ORU^R01|" + std::to_string(i) +
          "|P|2.5\r\nPID|1||123\r\nOBX|1|NM|x||" + std::to_string(i) + "\r\n";
  }
  MessageSplitter splitter(in);
  MessageSpan span;
  std::size_t n = 0;
  std::size_t covered = 0;
  while (splitter.Next(&span)) {
    ASSERT_EQ(in.compare(span.offset, 4, "MSH|"), 0);
    covered += span.length;
    ++n;
  }
  EXPECT_EQ(n, static_cast<std::size_t>(kCount));
  EXPECT_EQ(covered, in.size());  // spans tile the input exactly
}

// Random inputs built from HL7-ish tokens: the splitter must never crash, and its
// spans must be ordered, disjoint, inside the input and start at "MSH".
TEST(MessageSplitterTest, RandomInputInvariants) {
  const char* const kTokens[] = {
      "MSH|^~\\&|", "MSH#", "BHS|^~\\&", "BTS|1", "FHS|^~\\&", "FTS|", "PID|1",        "EVN", "\r",
      "\n",         "\r\n", "\x0b",      "\x1c",  " ",         "x",    "\xEF\xBB\xBF", "MSH"};
  std::mt19937 rng(12345);
  std::uniform_int_distribution<std::size_t> pick(0, std::size(kTokens) - 1);
  std::uniform_int_distribution<int> len(0, 60);
  for (int round = 0; round < 3000; ++round) {
    std::string in;
    for (int i = len(rng); i > 0; --i) in += kTokens[pick(rng)];
    MessageSplitter splitter(in);
    std::vector<MessageSpan> spans;
    MessageSpan span;
    while (splitter.Next(&span)) spans.push_back(span);
    ASSERT_TRUE(splitter.status().ok()) << splitter.status().ToString();
    std::size_t previous_end = 0;
    for (const MessageSpan& s : spans) {
      ASSERT_GE(s.offset, previous_end);
      ASSERT_LE(s.offset + s.length, in.size());
      ASSERT_EQ(in.compare(s.offset, 3, "MSH"), 0);
      previous_end = s.offset + s.length;
    }
    auto batch = SplitBatch(in);
    if (batch.ok()) {
      ASSERT_EQ(batch->messages.size(), spans.size()) << round;
      for (std::size_t i = 0; i < spans.size(); ++i) {
        ASSERT_EQ(batch->messages[i].offset, spans[i].offset);
        ASSERT_EQ(batch->messages[i].length, spans[i].length);
      }
    } else {
      ASSERT_TRUE(batch.status().has_offset()) << batch.status().ToString();
      ASSERT_LE(batch.status().offset(), in.size());
    }
  }
}

// ---- Files from the shared edge-case corpus (skipped when absent) ----

class BatchCorpusTest : public ::testing::Test {
 protected:
  static std::string Dir() {
    const char* root = std::getenv("JUNCTION_SOURCE_DIR");
    std::filesystem::path base = root ? root : ".";
    return (base / ".." / "shared" / "corpus" / "edge-cases").string();
  }
  // Reads a corpus file; empty optional-like flag when the corpus is absent.
  bool Load(const std::string& name, std::string* out) {
    std::ifstream f(Dir() + "/" + name, std::ios::binary);
    if (!f) return false;
    out->assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    return true;
  }
};

#define LOAD_OR_SKIP(name, var) \
  std::string var;              \
  if (!Load(name, &var)) GTEST_SKIP() << "corpus file absent: " << name

TEST_F(BatchCorpusTest, BatchWithBhsBts) {
  LOAD_OR_SKIP("pyhl7_batch_bhs_bts.hl7", in);
  auto batch = SplitBatch(in);
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  ASSERT_EQ(batch->messages.size(), 1u);
  EXPECT_EQ(in.compare(batch->messages[0].offset, 4, "MSH|"), 0);
  ASSERT_EQ(batch->headers.size(), 2u);
  EXPECT_EQ(batch->headers[1].declared_count, 1u);
  EXPECT_TRUE(batch->warnings.empty());
}

TEST_F(BatchCorpusTest, ImplicitBatchTwoMsh) {
  LOAD_OR_SKIP("pyhl7_batch_no_bhs_two_msh.hl7", in);
  auto batch = SplitBatch(in);
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  auto texts = Texts(in, batch->messages);
  ASSERT_EQ(texts.size(), 2u);
  EXPECT_NE(texts[0].find("|12334456778890|"), std::string::npos);
  EXPECT_NE(texts[1].find("|12334456778891|"), std::string::npos);
  EXPECT_EQ(texts[0].back(), '\r');
  EXPECT_TRUE(batch->headers.empty());
}

TEST_F(BatchCorpusTest, FileWithTwoBatches) {
  LOAD_OR_SKIP("pyhl7_file_fhs_two_batches.hl7", in);
  auto batch = SplitBatch(in);
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  EXPECT_EQ(batch->messages.size(), 3u);
  std::string ids;
  for (const auto& h : batch->headers) ids += std::string(h.id()) + " ";
  EXPECT_EQ(ids, "FHS BHS BTS BHS BTS FTS ");
  EXPECT_TRUE(batch->warnings.empty()) << batch->warnings[0].ToString();
}

TEST_F(BatchCorpusTest, FileWithoutBhs) {
  LOAD_OR_SKIP("pyhl7_file_fhs_no_bhs.hl7", in);
  auto batch = SplitBatch(in);
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  EXPECT_EQ(batch->messages.size(), 2u);
  ASSERT_EQ(batch->headers.size(), 2u);
  EXPECT_EQ(batch->headers[1].actual_count, 1u);  // one implicit batch
  EXPECT_TRUE(batch->warnings.empty());
}

TEST_F(BatchCorpusTest, BadBatches) {
  {
    LOAD_OR_SKIP("pyhl7_bad_batch_no_msh.hl7", in);
    auto batch = SplitBatch(in);
    ASSERT_FALSE(batch.ok());
    EXPECT_NE(batch.status().message().find("followed by EVN with no MSH"), std::string::npos);
    EXPECT_EQ(batch.status().offset(), in.find("EVN"));
  }
  {
    LOAD_OR_SKIP("pyhl7_bad_batch_two_bhs.hl7", in);
    auto batch = SplitBatch(in);
    ASSERT_FALSE(batch.ok());
    EXPECT_NE(batch.status().message().find("second BHS"), std::string::npos);
    EXPECT_EQ(batch.status().offset(), in.rfind("BHS|"));
  }
  {
    LOAD_OR_SKIP("pyhl7_bad_file_two_fhs.hl7", in);
    auto batch = SplitBatch(in);
    ASSERT_FALSE(batch.ok());
    EXPECT_NE(batch.status().message().find("second FHS"), std::string::npos);
    EXPECT_EQ(batch.status().offset(), in.rfind("FHS|"));
  }
}

TEST_F(BatchCorpusTest, ConcatenatedFiles) {
  {
    LOAD_OR_SKIP("hapi_oml_o21_13_messages_concat.hl7", in);
    EXPECT_EQ(Split(in).size(), 13u);
    EXPECT_EQ(Stream(in).size(), 13u);
  }
  {
    LOAD_OR_SKIP("nhapi_oml_o21_7_messages.hl7", in);
    EXPECT_EQ(Split(in).size(), 7u);
    EXPECT_EQ(Stream(in).size(), 7u);
  }
}

TEST_F(BatchCorpusTest, MllpFramedFile) {
  LOAD_OR_SKIP("hl7v2rs_mllp_framed.bin", in);
  auto batch = SplitBatch(in);
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  EXPECT_TRUE(batch->framed);
  ASSERT_EQ(batch->messages.size(), 1u);
  const std::string text = Texts(in, batch->messages)[0];
  EXPECT_EQ(text.rfind("MSH|", 0), 0u);
  EXPECT_EQ(text.find('\x1c'), std::string::npos);
  EXPECT_EQ(text.back(), '\r');
}

TEST_F(BatchCorpusTest, LeadingTrailingNoise) {
  LOAD_OR_SKIP("kdar_leading_trailing_crlf_noise.hl7", in);
  auto out = Split(in);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].rfind("MSH|^~\\&|hey", 0), 0u);
  EXPECT_LE(out[0].size(), std::string("MSH|^~\\&|hey\r\n").size());
}

TEST_F(BatchCorpusTest, EveryCorpusFileSplitsWithoutCrashing) {
  std::error_code ec;
  std::filesystem::directory_iterator it(Dir(), ec);
  if (ec) GTEST_SKIP() << "corpus absent";
  int files = 0;
  for (const auto& entry : it) {
    std::string in;
    if (!Load(entry.path().filename().string(), &in)) continue;
    ++files;
    auto batch = SplitBatch(in);  // may fail; must not crash
    (void)batch;
    std::size_t total = Stream(in).size();
    if (batch.ok()) {
      EXPECT_EQ(total, batch->messages.size()) << entry.path();
    }
  }
  EXPECT_GT(files, 0);
}

}  // namespace
}  // namespace junction::hl7
