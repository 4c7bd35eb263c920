// JSON form of HL7 v2 messages: lossless in both directions.
//
//   auto msg = Message::Parse(bytes);
//   Result<std::string> json = MessageToJson(*msg);   // one JSON object
//   Result<std::string> back = JsonToEr7(*json);      // == bytes, byte for byte
//
//   // A whole file (batches, MLLP frames, several messages): an object for a
//   // single message, an array of objects otherwise. JsonToEr7 accepts both.
//   Result<std::string> doc = FileToJson(file_bytes);
//
// The form (documented for users in docs/cli.md, section "JSON form"):
//
//   {"bytes": "utf-8",                 // or "latin-1": see below
//    "delimiters": "|^~\\&",           // MSH-1 followed by MSH-2, as written
//    "prefix": "\ufeff",               // bytes before the MSH (BOM, MLLP start, ...)
//    "segments": [
//      {"id": "MSH", "fields": ["|", "^~\\&", "LAB", ...], "terminator": "\r"},
//      {"id": "PID", "fields": ["1", "", [["123", "", "", "HOSP", "MR"]], ...],
//       "terminator": "\r"}],
//    "trailer": ""}                    // bytes after the last terminator
//
// `fields` lists fields 1..n of the segment (for MSH, field 1 is the separator and
// field 2 the encoding characters, both always plain strings). Every value is raw
// ER7 text with its escapes kept, nested by the separators it contains:
//   field     = string (no repetition separator) | [repetition, ...]
//   repetition= string (no component separator)  | [component, ...]
//   component = string (no subcomponent sep.)    | [subcomponent strings, ...]
// so "A^B" is [["A","B"]] and "A~B" is ["A","B"]. A segment with no separator
// after its id has no fields ([]); "ZZZ|" has one empty field ([""]).
// `terminator` is what follows the segment text up to the next segment (line
// breaks and blank lines); for the last segment it is one line break at most and
// the rest goes to `trailer`.
//
// Strings are Unicode. When the message bytes are valid UTF-8, "bytes" is
// "utf-8" and strings are those characters. Otherwise "bytes" is "latin-1" and
// each byte is the code point of the same value (U+0000..U+00FF), so any byte
// sequence survives; the reader rejects code points above U+00FF in that mode.
//
// Ownership: results are new strings. Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "junction/hl7/message.h"
#include "junction/hl7/status.h"

namespace junction::hl7 {

struct JsonWriteOptions {
  // One segment per line and indented keys; false writes one compact line.
  bool pretty = true;
  // Bytes that belong before / after the message in its file (batch header
  // lines, MLLP bytes, a gap between messages). They go to "prefix"/"trailer".
  std::string_view before;
  std::string_view after;
};

struct JsonReadOptions {
  std::size_t max_bytes = 256u << 20;  // JSON input
  std::size_t max_depth = 32;          // nesting of arrays and objects
  std::size_t max_messages = 1'000'000;
};

// The JSON object for one message. A modified message is described as Encode()
// would write it. Fails only when the encoded bytes no longer parse.
Result<std::string> MessageToJson(const Message& message, const JsonWriteOptions& options = {});

// Splits `bytes` into messages (see batch.h) and writes one object (a single
// message; the whole input then parses as that message, framing included) or an
// array of objects whose prefixes/trailers carry every byte between messages.
// JsonToEr7 of the result is `bytes`. Fails when a message does not parse, or
// when there is no message at all; the Status has the byte offset.
Result<std::string> FileToJson(std::string_view bytes, bool pretty = true);

// A message object, or an array of them, back to the exact bytes (concatenated).
// Reports the JSON byte offset and what was expected when the input is not the
// form above.
Result<std::string> JsonToEr7(std::string_view json, const JsonReadOptions& options = {});

// JSON writer helpers for tools. Appends `text` as a quoted JSON string; bytes
// that are not valid UTF-8 become U+FFFD (use the message form for exact bytes).
void AppendJsonString(std::string_view text, std::string* out);
std::string JsonString(std::string_view text);

// True when `bytes` is well-formed UTF-8 (no overlongs, surrogates or values
// above U+10FFFF).
bool IsValidUtf8(std::string_view bytes);

}  // namespace junction::hl7
