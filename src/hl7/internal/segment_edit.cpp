#include "hl7/internal/segment_edit.h"

#include <vector>

namespace junction::hl7::internal {
namespace {

std::vector<std::string> Split(std::string_view s, char sep) {
  std::vector<std::string> out;
  if (sep == '\0') {
    out.emplace_back(s);
    return out;
  }
  std::size_t start = 0;
  while (true) {
    std::size_t end = s.find(sep, start);
    if (end == std::string_view::npos) {
      out.emplace_back(s.substr(start));
      return out;
    }
    out.emplace_back(s.substr(start, end - start));
    start = end + 1;
  }
}

std::string Join(const std::vector<std::string>& parts, char sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

// Drops empty pieces at the end (never the first), so clearing the last piece
// leaves no dangling separators.
void TrimTrailingEmpty(std::vector<std::string>& parts, std::size_t keep) {
  while (parts.size() > keep && parts.size() > 1 && parts.back().empty()) parts.pop_back();
}

}  // namespace

Result<std::string> EditSegment(std::string_view text, bool header, const Delimiters& d,
                                const Path& path, EditOp op, std::string_view raw_value) {
  if (path.field < 1) return Status::Invalid("a field number is required");
  if (path.field > kMaxEditFields || path.repetition > kMaxEditRepetitions ||
      path.component > kMaxEditComponents || path.subcomponent > kMaxEditComponents) {
    return Status::OutOfRange("path " + path.ToString() + " is beyond the edit limits");
  }
  if (header && path.field <= 2) {
    return Status::Invalid(std::string(path.SegmentId()) + "-" + std::to_string(path.field) +
                           " holds the delimiters and cannot be changed");
  }
  if (path.subcomponent > 1 && d.subcomponent == '\0') {
    return Status::Invalid("the message declares no subcomponent separator");
  }
  const bool set = op == EditOp::kSet;
  std::vector<std::string> fields = Split(text, d.field);
  // In a header segment, split piece 1 is MSH-2, so MSH-n is piece n-1.
  const std::size_t index = static_cast<std::size_t>(header ? path.field - 1 : path.field);
  if (index >= fields.size()) {
    if (!set) return std::string(text);  // nothing there to delete
    fields.resize(index + 1);
  }
  std::string& field = fields[index];

  const bool whole_field = path.repetition == Path::kAll ||
                           (path.component == 0 && !set && !path.repetition_given);
  if (whole_field) {
    field = set ? std::string(raw_value) : std::string();
    if (!set) TrimTrailingEmpty(fields, index);
    return Join(fields, d.field);
  }

  std::vector<std::string> reps = Split(field, d.repetition);
  const std::size_t r = static_cast<std::size_t>(path.repetition - 1);
  if (r >= reps.size()) {
    if (!set) return std::string(text);
    reps.resize(r + 1);
  }
  if (path.component == 0) {
    if (set) {
      reps[r] = std::string(raw_value);
    } else {
      reps.erase(reps.begin() + static_cast<std::ptrdiff_t>(r));  // a repetition is removed
    }
  } else {
    std::vector<std::string> comps = Split(reps[r], d.component);
    const std::size_t c = static_cast<std::size_t>(path.component - 1);
    if (c >= comps.size()) {
      if (!set) return std::string(text);
      comps.resize(c + 1);
    }
    if (path.subcomponent == 0 || d.subcomponent == '\0') {
      comps[c] = set ? std::string(raw_value) : std::string();
    } else {
      std::vector<std::string> subs = Split(comps[c], d.subcomponent);
      const std::size_t s = static_cast<std::size_t>(path.subcomponent - 1);
      if (s >= subs.size()) {
        if (!set) return std::string(text);
        subs.resize(s + 1);
      }
      subs[s] = set ? std::string(raw_value) : std::string();
      if (!set) TrimTrailingEmpty(subs, s);
      comps[c] = Join(subs, d.subcomponent);
    }
    if (!set) TrimTrailingEmpty(comps, c);
    reps[r] = Join(comps, d.component);
  }
  field = reps.empty() ? std::string() : Join(reps, d.repetition);
  if (!set && field.empty()) TrimTrailingEmpty(fields, index);
  return Join(fields, d.field);
}

}  // namespace junction::hl7::internal
