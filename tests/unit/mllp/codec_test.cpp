#include "junction/mllp/codec.h"

#include <gtest/gtest.h>

#include <random>

namespace junction::mllp {
namespace {

std::vector<std::string> FeedAll(FrameDecoder& d, std::string_view bytes, Status* status = nullptr) {
  std::vector<std::string> frames;
  Status s = d.Feed(bytes, &frames);
  if (status) *status = s;
  else EXPECT_TRUE(s.ok()) << s.ToString();
  return frames;
}

TEST(MllpCodecTest, EncodesAFrame) {
  EXPECT_EQ(Encode("MSH|x"), std::string("\x0bMSH|x\x1c\r"));
}

TEST(MllpCodecTest, DecodesSeveralFramesInOneRead) {
  FrameDecoder d;
  auto frames = FeedAll(d, Encode("A") + Encode("BB") + Encode("CCC"));
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0], "A");
  EXPECT_EQ(frames[2], "CCC");
  EXPECT_FALSE(d.in_frame());
  EXPECT_EQ(d.buffered_bytes(), 0u);
}

TEST(MllpCodecTest, DecodesAFrameSplitAtEveryByte) {
  const std::string wire = Encode("MSH|^~\\&|A\rPID|1\r") + Encode("second");
  FrameDecoder d;
  std::vector<std::string> frames;
  for (char c : wire) ASSERT_TRUE(d.Feed(std::string_view(&c, 1), &frames).ok());
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0], "MSH|^~\\&|A\rPID|1\r");
  EXPECT_EQ(frames[1], "second");
}

TEST(MllpCodecTest, RandomSplitsGiveTheSameFrames) {
  std::string wire;
  std::vector<std::string> expected;
  for (int i = 0; i < 50; ++i) {
    expected.push_back("MSG" + std::string(static_cast<std::size_t>(i * 7), 'x'));
    wire += Encode(expected.back());
  }
  std::mt19937 rng(42);
  for (int round = 0; round < 20; ++round) {
    FrameDecoder d;
    std::vector<std::string> frames;
    std::size_t pos = 0;
    while (pos < wire.size()) {
      std::size_t n = std::uniform_int_distribution<std::size_t>(1, 64)(rng);
      n = std::min(n, wire.size() - pos);
      ASSERT_TRUE(d.Feed(std::string_view(wire).substr(pos, n), &frames).ok());
      pos += n;
    }
    EXPECT_EQ(frames, expected);
  }
}

TEST(MllpCodecTest, SkipsAndCountsGarbageBeforeFrames) {
  FrameDecoder d;
  auto frames = FeedAll(d, "garbage\r\n" + Encode("A") + "xx" + Encode("B"));
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(d.skipped_bytes(), 11u);
}

TEST(MllpCodecTest, AcceptsMissingCarriageReturnUnlessStrict) {
  FrameDecoder lenient;
  auto frames = FeedAll(lenient, "\x0b" "A\x1c\x0b" "B\x1c");
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[1], "B");

  FrameDecoder strict({.strict = true});
  Status status;
  frames = FeedAll(strict, "\x0b" "A\x1c\x0b" "B\x1c\r", &status);
  EXPECT_FALSE(status.ok());
  EXPECT_TRUE(frames.empty());
  EXPECT_TRUE(strict.failed());
  std::vector<std::string> more;
  EXPECT_FALSE(strict.Feed(Encode("C"), &more).ok());
}

TEST(MllpCodecTest, StrictWaitsForTheCarriageReturnAcrossReads) {
  FrameDecoder strict({.strict = true});
  auto frames = FeedAll(strict, "\x0b" "A\x1c");
  EXPECT_TRUE(frames.empty());
  frames = FeedAll(strict, "\r");
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], "A");
}

TEST(MllpCodecTest, RejectsOversizeFrames) {
  FrameDecoder d({.max_frame_bytes = 10});
  Status status;
  auto frames = FeedAll(d, Encode("0123456789") + Encode("0123456789A"), &status);
  ASSERT_EQ(frames.size(), 1u);  // the first one fits exactly
  EXPECT_EQ(status.code(), StatusCode::kOutOfRange);
  EXPECT_TRUE(d.failed());
  // An oversize frame split over reads is caught before it is complete.
  FrameDecoder split({.max_frame_bytes = 10});
  frames = FeedAll(split, "\x0b" "012345");
  frames = FeedAll(split, "6789AB", &status);
  EXPECT_EQ(status.code(), StatusCode::kOutOfRange);
}

TEST(MllpCodecTest, AbandonsAFrameInterruptedByANewStart) {
  FrameDecoder d;
  auto frames = FeedAll(d, "\x0b" "partial" + Encode("whole"));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], "whole");
  EXPECT_EQ(d.abandoned_frames(), 1u);
}

TEST(MllpCodecTest, EmptyFrameIsAFrame) {
  FrameDecoder d;
  auto frames = FeedAll(d, Encode(""));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], "");
}

}  // namespace
}  // namespace junction::mllp
