// Path: an address inside a message, `SEG[n]-F[r].C.S` (all 1-based).
//
//   PID-5.1        first component of the first repetition of PID-5
//   PID-3[2].4.1   repetition 2 of PID-3, component 4, subcomponent 1
//   OBX[3]-5       field 5 of the third OBX
//   MSH-9.2        trigger event
//   PID-3[*]       every repetition of PID-3 (the whole field, raw)
//   OBX[*]-5       (counting only) every OBX
//   PID            the whole segment
//
// Occurrence and repetition default to 1. A component or subcomponent of 0
// means "not given" (the whole repetition / component). Thread safety: value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "junction/hl7/status.h"

namespace junction::hl7 {

struct Path {
  static constexpr int kAll = -1;  // `[*]`

  char segment[4] = {0, 0, 0, 0};  // 3-character segment id, NUL-terminated
  int occurrence = 1;              // 1-based, or kAll
  int field = 0;                   // 0 = the whole segment
  int repetition = 1;              // 1-based, or kAll
  int component = 0;               // 0 = not given
  int subcomponent = 0;            // 0 = not given
  bool repetition_given = false;   // the text said `[r]` explicitly

  static Result<Path> Parse(std::string_view text);
  std::string ToString() const;
  std::string_view SegmentId() const { return std::string_view(segment, 3); }
};

}  // namespace junction::hl7
