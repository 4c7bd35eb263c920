#include "junction/hl7/path.h"

#include <cctype>

namespace junction::hl7 {
namespace {

constexpr int kMaxIndex = 100'000;

// Reads a decimal number >= 1 at text[*pos]; advances *pos.
bool ReadNumber(std::string_view text, std::size_t* pos, int* out) {
  std::size_t p = *pos;
  long value = 0;
  while (p < text.size() && std::isdigit(static_cast<unsigned char>(text[p]))) {
    value = value * 10 + (text[p] - '0');
    if (value > kMaxIndex) return false;
    ++p;
  }
  if (p == *pos || value < 1) return false;
  *out = static_cast<int>(value);
  *pos = p;
  return true;
}

// Reads an optional "[n]" or "[*]"; returns false on malformed brackets.
bool ReadIndex(std::string_view text, std::size_t* pos, int* out, bool* given) {
  if (*pos >= text.size() || text[*pos] != '[') return true;
  std::size_t p = *pos + 1;
  if (p < text.size() && text[p] == '*') {
    *out = Path::kAll;
    ++p;
  } else if (!ReadNumber(text, &p, out)) {
    return false;
  }
  if (p >= text.size() || text[p] != ']') return false;
  *pos = p + 1;
  if (given) *given = true;
  return true;
}

}  // namespace

Result<Path> Path::Parse(std::string_view text) {
  auto bad = [&](const char* why) {
    return Status::Invalid("path '" + std::string(text.substr(0, 64)) + "': " + why);
  };
  Path path;
  if (text.size() < 3) return bad("expected a 3-character segment id");
  for (int i = 0; i < 3; ++i) {
    char c = text[i];
    if (!std::isupper(static_cast<unsigned char>(c)) && !std::isdigit(static_cast<unsigned char>(c))) {
      return bad("segment id must be 3 upper-case letters or digits");
    }
    path.segment[i] = c;
  }
  std::size_t pos = 3;
  if (!ReadIndex(text, &pos, &path.occurrence, nullptr)) return bad("bad segment occurrence");
  if (pos == text.size()) return path;
  if (text[pos] != '-' && text[pos] != '.') return bad("expected '-' after the segment");
  ++pos;
  if (!ReadNumber(text, &pos, &path.field)) return bad("expected a field number >= 1");
  if (!ReadIndex(text, &pos, &path.repetition, &path.repetition_given)) {
    return bad("bad repetition index");
  }
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    if (!ReadNumber(text, &pos, &path.component)) return bad("expected a component number >= 1");
    if (pos < text.size() && text[pos] == '.') {
      ++pos;
      if (!ReadNumber(text, &pos, &path.subcomponent)) {
        return bad("expected a subcomponent number >= 1");
      }
    }
  }
  if (pos != text.size()) return bad("unexpected text after the path");
  if (path.repetition == kAll && path.component != 0) {
    return bad("[*] cannot be combined with a component");
  }
  return path;
}

std::string Path::ToString() const {
  std::string out(SegmentId());
  auto number = [&](char before, int n) {
    out.push_back(before);
    out.append(std::to_string(n));
  };
  auto index = [&](int n) {
    if (n == kAll) {
      out.append("[*]");
    } else {
      number('[', n);
      out.push_back(']');
    }
  };
  if (occurrence != 1) index(occurrence);
  if (field == 0) return out;
  number('-', field);
  if (repetition_given || repetition != 1) index(repetition);
  if (component) number('.', component);
  if (subcomponent) number('.', subcomponent);
  return out;
}

}  // namespace junction::hl7
