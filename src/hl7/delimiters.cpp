// Delimiters::FromHeader: reads MSH-1/MSH-2 (or BHS/FHS) and checks that the
// declared characters can be used unambiguously. Policy: docs/hl7.md#delimiters.
#include "junction/hl7/delimiters.h"

#include <string>

namespace junction::hl7 {
namespace {

// HL7 allows up to 5 encoding characters (component, repetition, escape,
// subcomponent, truncation); 3 is the minimum that leaves an escape char.
constexpr std::size_t kMinEncodingChars = 3;
constexpr std::size_t kMaxEncodingChars = 5;

// A separator must not collide with data or with segment structure: letters
// and digits are data, CR/LF end segments, space and controls are too common
// in text, NUL marks "absent" in Delimiters, and bytes >= 0x80 may be part of
// a multi-byte character.
const char* SeparatorProblem(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (c == '\r' || c == '\n') return "is a line break";
  if (u == 0) return "is NUL";
  if (u < 0x20 || u == 0x7f) return "is a control character";
  if (c == ' ') return "is a space";
  if (u >= 0x80) return "is not an ASCII character";
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
    return "is a letter or digit";
  }
  return nullptr;
}

std::string Printable(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x21 && u < 0x7f) return std::string("'") + c + "'";
  static constexpr char kHex[] = "0123456789ABCDEF";
  return std::string("0x") + kHex[u >> 4] + kHex[u & 0xf];
}

}  // namespace

Result<Delimiters> Delimiters::FromHeader(std::string_view segment) {
  if (segment.size() < 3) {
    return Status::Invalid("header segment is shorter than its name", segment.size());
  }
  const std::string_view name = segment.substr(0, 3);
  if (name != "MSH" && name != "BHS" && name != "FHS") {
    return Status::Invalid("header segment must start with MSH, BHS or FHS", 0);
  }
  if (segment.size() < 4) {
    return Status::Invalid(std::string(name) + "-1 (field separator) is missing", 3);
  }
  Delimiters d;
  d.field = segment[3];
  if (const char* why = SeparatorProblem(d.field)) {
    return Status::Invalid(
        std::string(name) + "-1 field separator " + Printable(d.field) + " " + why, 3);
  }

  // MSH-2 runs to the next field separator or the end of the segment. Look at
  // one character past the maximum so "too many" is reported without scanning
  // an arbitrarily long segment.
  constexpr std::size_t kStart = 4;
  std::size_t n = 0;
  while (kStart + n < segment.size() && n <= kMaxEncodingChars) {
    const char c = segment[kStart + n];
    if (c == d.field || c == '\r' || c == '\n') break;
    ++n;
  }
  const std::string field2 = std::string(name) + "-2";
  if (n == 0) {
    return Status::Invalid(field2 + " (encoding characters) is empty", kStart);
  }
  if (n > kMaxEncodingChars) {
    return Status::Invalid(field2 + " declares more than 5 encoding characters",
                           kStart + kMaxEncodingChars);
  }
  if (n < kMinEncodingChars) {
    return Status::Invalid(field2 + " declares fewer than 3 encoding characters", kStart + n);
  }
  const std::string_view enc = segment.substr(kStart, n);

  // Real-world quirk: "^~\\&" (the escape character written twice, as if
  // escaped by a programming language) is read as "^~\&". Only this exact
  // shape is accepted; any other duplicate is an error.
  bool doubled_escape = n == 5 && enc[2] == enc[3];

  for (std::size_t i = 0; i < n; ++i) {
    if (doubled_escape && i == 3) continue;
    if (const char* why = SeparatorProblem(enc[i])) {
      return Status::Invalid(field2 + " encoding character " + Printable(enc[i]) + " " + why,
                             kStart + i);
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (doubled_escape && j == 3) continue;
      if (enc[i] == enc[j]) {
        return Status::Invalid(field2 + " repeats the encoding character " + Printable(enc[i]),
                               kStart + i);
      }
    }
  }

  d.component = enc[0];
  d.repetition = enc[1];
  d.escape = enc[2];
  if (doubled_escape) {
    d.subcomponent = enc[4];
    d.truncation = '\0';
  } else {
    d.subcomponent = n >= 4 ? enc[3] : '\0';
    d.truncation = n >= 5 ? enc[4] : '\0';
  }
  return d;
}

std::string_view Delimiters::EncodingCharacters(char (&buf)[5]) const {
  std::size_t n = 0;
  buf[n++] = component;
  buf[n++] = repetition;
  buf[n++] = escape;
  // The truncation character is positional (5th), so it needs a subcomponent
  // separator before it; without one it cannot be written.
  if (subcomponent != '\0') {
    buf[n++] = subcomponent;
    if (truncation != '\0') buf[n++] = truncation;
  }
  return std::string_view(buf, n);
}

}  // namespace junction::hl7
