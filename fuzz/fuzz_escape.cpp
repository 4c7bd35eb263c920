// Fuzz target: the escape codec (Unescape/Escape) and Delimiters::FromHeader.
//
// Input: when it starts with "MSH", "BHS" or "FHS" the delimiters are read from it
// (and the rest after the first line break is the text); otherwise the first byte
// picks one of a few delimiter sets and the rest is the text.
//
// Invariants checked:
//  - FromHeader: EncodingCharacters() written back into a header reads the same;
//  - Unescape: bounded growth, appends (keeps what was in the buffer), identity
//    when NeedsUnescape is false;
//  - Escape: the output has no separator, truncation or line-break byte, and
//    Unescape(Escape(x)) == x with line breaks normalised to "\n".
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "junction/hl7/delimiters.h"
#include "junction/hl7/escape.h"

namespace {

using junction::hl7::Delimiters;

Delimiters Preset(unsigned char which) {
  Delimiters d;
  switch (which % 5) {
    case 1:  // 2.7+: truncation character declared
      d.truncation = '#';
      break;
    case 2:  // three encoding characters: no subcomponent separator
      d.subcomponent = '\0';
      break;
    case 3:  // non-standard characters seen in the wild
      d.field = '$';
      d.component = '%';
      d.escape = '!';
      break;
    case 4:  // swapped: field '^', component '~', repetition '|'
      d.field = '^';
      d.component = '~';
      d.repetition = '|';
      break;
    default:
      break;
  }
  return d;
}

std::string NormalizeBreaks(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

void CheckHeader(std::string_view input) {
  auto parsed = Delimiters::FromHeader(input);
  if (!parsed.ok()) {
    JFUZZ_CHECK(!parsed.status().message().empty());
    JFUZZ_CHECK(!parsed.status().has_offset() || parsed.status().offset() <= input.size());
    return;
  }
  const Delimiters& d = *parsed;
  char buf[5];
  std::string header = "MSH";
  header.push_back(d.field);
  header.append(d.EncodingCharacters(buf));
  header.push_back(d.field);
  auto again = Delimiters::FromHeader(header);
  JFUZZ_CHECK(again.ok());
  JFUZZ_CHECK(again->field == d.field && again->component == d.component &&
              again->repetition == d.repetition && again->escape == d.escape &&
              again->subcomponent == d.subcomponent);
  // The truncation character is only written when a subcomponent separator precedes it.
  if (d.subcomponent != '\0') JFUZZ_CHECK(again->truncation == d.truncation);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  Delimiters d;
  std::string_view text;
  const std::string_view id = input.substr(0, 3);
  if (id == "MSH" || id == "BHS" || id == "FHS") {
    CheckHeader(input);
    auto parsed = Delimiters::FromHeader(input);
    if (!parsed.ok()) return 0;
    d = *parsed;
    const std::size_t eol = input.find_first_of("\r\n");
    text = eol == std::string_view::npos ? std::string_view() : input.substr(eol + 1);
  } else {
    d = Preset(static_cast<unsigned char>(input[0]));
    text = input.substr(1);
  }

  // Decoding arbitrary raw text.
  const std::string decoded = junction::hl7::Unescape(text, d);
  JFUZZ_CHECK(decoded.size() <= 16 * text.size() + 16);  // \.sp99\ is the largest expansion
  if (!junction::hl7::NeedsUnescape(text, d)) JFUZZ_CHECK_EQ(decoded, text);
  std::string appended = "prefix";
  junction::hl7::UnescapeTo(text, d, &appended);
  JFUZZ_CHECK_EQ(std::string_view(appended).substr(0, 6), "prefix");
  JFUZZ_CHECK_EQ(std::string_view(appended).substr(6), decoded);

  // Encoding arbitrary text, then decoding it again.
  const std::string escaped = junction::hl7::Escape(text, d);
  for (char c : escaped) {
    if (c == '\r' || c == '\n' || d.IsSeparator(c) || (d.truncation != '\0' && c == d.truncation)) {
      junction::fuzz::Fail(__FILE__, __LINE__,
                           "Escape() output holds a separator, truncation or line-break byte", text,
                           escaped);
    }
  }
  const std::string round = junction::hl7::Unescape(escaped, d);
  const std::string want = NormalizeBreaks(text);
  JFUZZ_CHECK_EQ(round, want);
  std::string escaped_to = "p";
  junction::hl7::EscapeTo(text, d, &escaped_to);
  JFUZZ_CHECK_EQ(std::string_view(escaped_to).substr(1), escaped);
  return 0;
}
