// Rewrites one segment's text at a path, creating what is missing. Private to hl7.
//
// The segment is split into nested pieces, the addressed piece is changed, and
// everything is joined again with the same separators, so the bytes of every
// piece that was not addressed stay as they were.
#pragma once

#include <string>
#include <string_view>

#include "junction/hl7/delimiters.h"
#include "junction/hl7/path.h"
#include "junction/hl7/status.h"

namespace junction::hl7::internal {

enum class EditOp { kSet, kDelete };

// Bounds on what an edit may create, so a path like PID-99999 cannot allocate
// without limit.
inline constexpr int kMaxEditFields = 10'000;
inline constexpr int kMaxEditRepetitions = 10'000;
inline constexpr int kMaxEditComponents = 1'000;

// `header` is true for MSH/BHS/FHS (field 1 is the separator itself).
Result<std::string> EditSegment(std::string_view text, bool header, const Delimiters& d,
                                const Path& path, EditOp op, std::string_view raw_value);

}  // namespace junction::hl7::internal
