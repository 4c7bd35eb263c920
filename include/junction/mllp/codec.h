// MLLP framing codec: pure, no I/O, so it can be fuzzed and reused by the server
// and the client.
//
// A frame is   0x0B <payload> 0x1C 0x0D   (start block, HL7 message, end block, CR).
//
//   FrameDecoder decoder({.max_frame_bytes = 16 << 20});
//   std::vector<std::string> frames;
//   Status s = decoder.Feed(bytes_from_socket, &frames);   // 0..n complete payloads
//   if (!s.ok()) { /* oversize or (strict) bad trailer: NAK and close */ }
//   std::string wire = Encode(ack_text);
//
// Feed accepts any split of the stream: several frames in one read, one frame
// over many reads. Bytes outside a frame are skipped and counted. A missing 0x0D
// after 0x1C is accepted unless `strict` is set. After an error the decoder
// stays failed; the connection is expected to close.
//
// Thread safety: a FrameDecoder belongs to one connection; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "junction/hl7/status.h"

namespace junction::mllp {

inline constexpr char kStartBlock = 0x0B;
inline constexpr char kEndBlock = 0x1C;
inline constexpr char kCarriageReturn = 0x0D;
inline constexpr std::size_t kDefaultMaxFrameBytes = 16u << 20;

struct DecoderOptions {
  std::size_t max_frame_bytes = kDefaultMaxFrameBytes;  // payload bytes per frame
  bool strict = false;  // require 0x0D right after 0x1C
};

class FrameDecoder {
 public:
  explicit FrameDecoder(DecoderOptions options = {}) : options_(options) {}

  // Consumes `bytes`; appends each completed payload to `frames`. Returns
  // kOutOfRange when a frame exceeds max_frame_bytes, kInvalidArgument when a
  // strict decoder sees a bad trailer. Frames completed before the error are
  // still appended.
  Status Feed(std::string_view bytes, std::vector<std::string>* frames);

  // Bytes seen outside any frame (before 0x0B) and dropped.
  std::uint64_t skipped_bytes() const { return skipped_bytes_; }
  // Frames abandoned because a new 0x0B arrived before their 0x1C.
  std::uint64_t abandoned_frames() const { return abandoned_frames_; }
  // True while a frame has started but not ended.
  bool in_frame() const { return state_ == State::kInFrame; }
  std::size_t buffered_bytes() const { return payload_.size(); }
  bool failed() const { return state_ == State::kFailed; }
  // After an oversize error: the first bytes of the rejected frame (up to 4 KiB).
  std::string_view failed_head() const { return failed_head_; }

 private:
  enum class State { kIdle, kInFrame, kAfterEnd, kFailed };

  DecoderOptions options_;
  State state_ = State::kIdle;
  static constexpr std::size_t kFailedHeadBytes = 4096;
  std::string payload_;
  std::string failed_head_;
  std::uint64_t skipped_bytes_ = 0;
  std::uint64_t abandoned_frames_ = 0;
};

// Wraps a payload in a frame.
std::string Encode(std::string_view payload);
void EncodeTo(std::string_view payload, std::string* out);

}  // namespace junction::mllp
