// Escape sequences: decoding `\F\ \S\ \T\ \R\ \E\ \P\ \Xhh..\ \.br\ ...` and encoding text.
//
//   Delimiters d;
//   std::string text = Unescape("A\\T\\B", d);    // "A&B"
//   std::string raw  = Escape("A&B", d);          // "A\\T\\B"
//
// Unescape yields bytes in the message's character set (\Xhh..\ is hex data in
// that set); the caller converts to UTF-8 (see charset.h). The policy for
// \H\ \N\ \Cxxyy\ \Mxxyyzz\ \Zxx\ and for malformed sequences is in docs/hl7.md:
// a backslash is never dropped silently, and no input crashes.
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "junction/hl7/delimiters.h"

namespace junction::hl7 {

// True when `raw` contains the escape character (Unescape would change it).
inline bool NeedsUnescape(std::string_view raw, const Delimiters& d) {
  return raw.find(d.escape) != std::string_view::npos;
}

// Appends the decoded form of `raw` to `out`.
void UnescapeTo(std::string_view raw, const Delimiters& d, std::string* out);
std::string Unescape(std::string_view raw, const Delimiters& d);

// Escapes every delimiter, escape and truncation character in `text`.
// Line breaks ("\n", "\r\n", "\r") are written as \.br\ so segments stay intact.
void EscapeTo(std::string_view text, const Delimiters& d, std::string* out);
std::string Escape(std::string_view text, const Delimiters& d);

}  // namespace junction::hl7
