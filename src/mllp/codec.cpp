#include "junction/mllp/codec.h"

#include <algorithm>
#include <cstring>

namespace junction::mllp {

Status FrameDecoder::Feed(std::string_view bytes, std::vector<std::string>* frames) {
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    switch (state_) {
      case State::kFailed:
        return Status::Invalid("the MLLP stream already failed; close the connection");

      case State::kAfterEnd:
        // The byte after 0x1C should be 0x0D.
        if (bytes[pos] == kCarriageReturn) {
          ++pos;
          if (options_.strict) frames->push_back(std::move(payload_));
        } else if (options_.strict) {
          state_ = State::kFailed;
          return Status::Invalid("expected 0x0D after 0x1C");
        }
        payload_.clear();
        state_ = State::kIdle;
        break;

      case State::kIdle: {
        const void* start = std::memchr(bytes.data() + pos, kStartBlock, bytes.size() - pos);
        if (!start) {
          skipped_bytes_ += bytes.size() - pos;
          return Status::Ok();
        }
        std::size_t at = static_cast<std::size_t>(static_cast<const char*>(start) - bytes.data());
        skipped_bytes_ += at - pos;
        pos = at + 1;
        state_ = State::kInFrame;
        break;
      }

      case State::kInFrame: {
        // Stop at the end block, or at a new start block (the sender gave up on a frame).
        std::size_t stop = pos;
        while (stop < bytes.size() && bytes[stop] != kEndBlock && bytes[stop] != kStartBlock) {
          ++stop;
        }
        if (payload_.size() + (stop - pos) > options_.max_frame_bytes) {
          state_ = State::kFailed;
          // Keep the start of the frame so the caller can still read its MSH for the NAK.
          failed_head_ = payload_.substr(0, kFailedHeadBytes);
          failed_head_.append(bytes.data() + pos,
                              std::min(stop - pos, kFailedHeadBytes - failed_head_.size()));
          payload_.clear();
          return Status::OutOfRange("MLLP frame larger than " +
                                    std::to_string(options_.max_frame_bytes) + " bytes");
        }
        payload_.append(bytes.data() + pos, stop - pos);
        pos = stop;
        if (pos == bytes.size()) return Status::Ok();
        if (bytes[pos] == kStartBlock) {
          ++abandoned_frames_;
          payload_.clear();
          ++pos;
          break;
        }
        ++pos;  // the end block
        if (!options_.strict) {
          frames->push_back(std::move(payload_));
          payload_.clear();
        }
        state_ = State::kAfterEnd;
        break;
      }
    }
  }
  return Status::Ok();
}

void EncodeTo(std::string_view payload, std::string* out) {
  out->reserve(out->size() + payload.size() + 3);
  out->push_back(kStartBlock);
  out->append(payload);
  out->push_back(kEndBlock);
  out->push_back(kCarriageReturn);
}

std::string Encode(std::string_view payload) {
  std::string out;
  EncodeTo(payload, &out);
  return out;
}

}  // namespace junction::mllp
