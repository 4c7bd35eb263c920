// Fuzz target: the MLLP framing codec (FrameDecoder, Encode).
//
// Invariants checked:
//  - feeding the stream in one piece or in chunks (sizes from the first byte)
//    gives the same frames and the same outcome;
//  - no frame holds a start or end block, and none is larger than the bound;
//  - after an error the decoder stays failed;
//  - encoding the frames again and decoding that gives the same frames.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "junction/mllp/codec.h"

namespace {

using junction::mllp::DecoderOptions;
using junction::mllp::FrameDecoder;

struct Outcome {
  std::vector<std::string> frames;
  bool ok = true;
};

Outcome Decode(std::string_view input, DecoderOptions options, std::size_t chunk) {
  FrameDecoder decoder(options);
  Outcome out;
  for (std::size_t pos = 0; pos < input.size() && out.ok; pos += chunk) {
    out.ok = decoder.Feed(input.substr(pos, chunk), &out.frames).ok();
  }
  if (!out.ok) {
    std::vector<std::string> more;
    JFUZZ_CHECK(decoder.failed());
    JFUZZ_CHECK(!decoder.Feed("\x0b" "x\x1c\r", &more).ok());
    JFUZZ_CHECK(more.empty());
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t chunk = 1 + data[0] % 17;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  DecoderOptions options;
  options.max_frame_bytes = 64 + data[0];  // small, so the bound is reached often
  options.strict = (data[0] & 0x80) != 0;

  const Outcome whole = Decode(input, options, input.size() + 1);
  const Outcome chunked = Decode(input, options, chunk);
  JFUZZ_CHECK(whole.ok == chunked.ok);
  JFUZZ_CHECK(whole.frames.size() == chunked.frames.size());
  for (std::size_t i = 0; i < whole.frames.size(); ++i) {
    JFUZZ_CHECK_EQ(whole.frames[i], chunked.frames[i]);
  }
  std::string again;
  for (const std::string& frame : whole.frames) {
    JFUZZ_CHECK(frame.size() <= options.max_frame_bytes);
    JFUZZ_CHECK(frame.find('\x0b') == std::string::npos);
    JFUZZ_CHECK(frame.find('\x1c') == std::string::npos);
    junction::mllp::EncodeTo(frame, &again);
  }
  const Outcome round = Decode(again, options, chunk);
  JFUZZ_CHECK(round.ok);
  JFUZZ_CHECK(round.frames.size() == whole.frames.size());
  for (std::size_t i = 0; i < round.frames.size(); ++i) {
    JFUZZ_CHECK_EQ(round.frames[i], whole.frames[i]);
  }
  return 0;
}
