// Delimiters: the separator and escape characters a message declares in MSH-1/MSH-2.
//
//   Delimiters d;                       // | ^ ~ \ &   (the HL7 defaults)
//   auto parsed = Delimiters::FromHeader("MSH|^~\\&|...");
//
// A message may declare 3, 4 or 5 encoding characters. With 3, there is no
// subcomponent separator (subcomponent == '\0'); the 5th (2.7+) is the
// truncation character. Thread safety: a plain value.
#pragma once

#include <string_view>

#include "junction/hl7/status.h"

namespace junction::hl7 {

struct Delimiters {
  char field = '|';
  char component = '^';
  char repetition = '~';
  char escape = '\\';
  char subcomponent = '&';
  char truncation = '\0';  // '\0' when not declared

  // Reads MSH-1 and MSH-2 from the start of a header segment ("MSH", "BHS" or "FHS").
  // The input must begin at the segment name. Reports why the characters are unusable.
  static Result<Delimiters> FromHeader(std::string_view segment);

  // The text of MSH-2 as these delimiters would write it.
  std::string_view EncodingCharacters(char (&buf)[5]) const;

  bool IsSeparator(char c) const {
    return c == field || c == component || c == repetition ||
           (subcomponent != '\0' && c == subcomponent);
  }
};

}  // namespace junction::hl7
