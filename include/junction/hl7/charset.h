// Character sets named in MSH-18, and conversion of their bytes to UTF-8.
//
//   auto cs = Charset::FromMsh18("8859/1");      // ISO-8859-1
//   std::string utf8 = cs->ToUtf8("Jos\xe9");   // "José"
//
// Decoded values are UTF-8; raw bytes are never changed. Unknown names are an
// error from FromMsh18 (callers may fall back to ASCII). Conversion uses iconv.
// Thread safety: Charset is an immutable value; ToUtf8 is safe from any thread.
#pragma once

#include <string>
#include <string_view>

#include "junction/hl7/status.h"

namespace junction::hl7 {

class Charset {
 public:
  // ASCII (the HL7 default when MSH-18 is empty).
  Charset() = default;
  // MSH-18 value, e.g. "ASCII", "8859/1" … "8859/15", "UNICODE UTF-8", "UNICODE",
  // "UNICODE UTF-16", "ISO IR87", "ISO IR159", "GB 18030-2000", "KS X 1001", "BIG-5".
  static Result<Charset> FromMsh18(std::string_view name);

  std::string_view hl7_name() const { return hl7_name_; }
  std::string_view iconv_name() const { return iconv_name_; }
  // True when bytes can be passed through without conversion (ASCII, UTF-8).
  bool is_utf8_compatible() const { return passthrough_; }

  // Converts bytes in this charset to UTF-8. Invalid sequences become U+FFFD.
  std::string ToUtf8(std::string_view bytes) const;
  // Converts UTF-8 to this charset; characters it cannot hold are an error.
  Result<std::string> FromUtf8(std::string_view utf8) const;

 private:
  std::string hl7_name_ = "ASCII";
  std::string iconv_name_ = "ASCII";
  bool passthrough_ = true;
};

}  // namespace junction::hl7
