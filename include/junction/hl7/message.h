// Message: an HL7 v2 ER7 (pipe-delimited) message, parsed into an index.
//
//   auto msg = junction::hl7::Message::Parse(bytes);
//   if (!msg.ok()) return msg.status();
//   std::string family = msg->Get("PID-5.1");        // decoded ("" when absent)
//   auto raw = msg->GetRaw(*Path::Parse("PID-3[2]")); // std::nullopt when absent
//   msg->Set(*Path::Parse("PID-5.2"), "JANE");       // escaped for you
//   std::string out = msg->Encode();                  // unchanged bytes stay identical
//
// Parsing is zero-copy: the message keeps one copy of the input and an index of
// segment and field offsets into it (flat vectors, no allocation per field).
// Components and subcomponents are found on access by scanning the field.
// Mutation re-encodes only the segment it touches, so Encode() of an unmodified
// message is the input byte for byte (BOM, terminators, blank lines included).
//
// Field numbering follows HL7: in MSH (and BHS/FHS) field 1 is the field
// separator itself and field 2 the encoding characters.
//
// A "" field value (present but null) is kept distinct from an empty one: its raw
// value is the two quote characters; IsNull() tells them apart.
//
// Ownership: a Message owns its bytes. Thread safety: const methods may be called
// from several threads at once; mutation needs exclusive access.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "junction/hl7/charset.h"
#include "junction/hl7/delimiters.h"
#include "junction/hl7/path.h"
#include "junction/hl7/status.h"

namespace junction::hl7 {

// Bounds applied while parsing; a violation is an error, never a crash.
struct ParseOptions {
  std::size_t max_bytes = 64u << 20;  // whole message
  std::size_t max_segments = 100'000;
  std::size_t max_fields_per_segment = 10'000;
};

class Message {
 public:
  static Result<Message> Parse(std::string_view bytes, const ParseOptions& options = {});
  static Result<Message> Parse(std::string&& bytes, const ParseOptions& options = {});
  static Result<Message> Parse(const char* bytes, const ParseOptions& options = {}) {
    return Parse(std::string_view(bytes), options);
  }

  Message(const Message&) = default;
  Message(Message&&) noexcept = default;
  Message& operator=(const Message&) = default;
  Message& operator=(Message&&) noexcept = default;

  const Delimiters& delimiters() const { return delimiters_; }
  // From MSH-18; ASCII when empty or unknown (unknown names are a validation finding).
  const Charset& charset() const { return charset_; }

  // Header shortcuts (raw first repetition/component; "" when absent).
  std::string_view Version() const;       // MSH-12.1, e.g. "2.5.1"
  std::string_view CharsetName() const;   // MSH-18 first repetition, e.g. "UNICODE UTF-8"
  std::string_view ControlId() const;     // MSH-10
  std::string_view MessageCode() const;   // MSH-9.1
  std::string_view TriggerEvent() const;  // MSH-9.2
  std::string_view StructureId() const;   // MSH-9.3

  // ---- Segments ----
  std::size_t SegmentCount() const { return segments_.size(); }
  std::string_view SegmentId(std::size_t index) const;    // e.g. "PID"
  std::string_view SegmentText(std::size_t index) const;  // raw, without terminator
  // Highest field number present in the segment (MSH: counts MSH-1 and MSH-2).
  int FieldCount(std::size_t index) const;
  // Raw field by HL7 number (all repetitions); nullopt when past the end.
  std::optional<std::string_view> FieldRaw(std::size_t index, int field) const;
  // Index of the occurrence-th (1-based) segment with this id, or -1.
  int FindSegment(std::string_view id, int occurrence = 1) const;
  int CountSegments(std::string_view id) const;

  // ---- Paths ----
  // Raw text at the path, escapes kept; nullopt when absent. A path with
  // repetition kAll returns the whole field.
  std::optional<std::string_view> GetRaw(const Path& path) const;
  // Decoded text (escapes resolved, converted to UTF-8 from the MSH-18 charset).
  std::optional<std::string> GetDecoded(const Path& path) const;
  // Convenience: decoded text, "" when absent or when the path does not parse.
  std::string Get(std::string_view path) const;
  // True when the raw value at the path is exactly "" (present but null).
  bool IsNull(const Path& path) const;
  // Repetitions of the field at the path (0 when the field is absent or empty),
  // or, for a segment-only path, the number of such segments.
  int Count(const Path& path) const;

  // ---- Mutation (creates missing segments/fields/repetitions/components) ----
  // Sets text, escaping delimiter and escape characters.
  Status Set(const Path& path, std::string_view text);
  // Sets raw ER7 text: separators inside `raw` keep their meaning.
  Status SetRaw(const Path& path, std::string_view raw);
  // A whole segment is removed; a repetition is removed (later ones move up);
  // a field, component or subcomponent is cleared.
  Status Delete(const Path& path);
  // Inserts a segment (raw text without terminator, e.g. "NTE|1||hello") so it
  // becomes segment `index`; index == SegmentCount() appends.
  Status InsertSegment(std::size_t index, std::string_view raw_segment);
  Status DeleteSegment(std::size_t index);

  // ---- Output ----
  std::string Encode() const;
  // The bytes as received.
  std::string_view original() const { return buffer_; }
  bool modified() const { return modified_; }

 private:
  struct Span {
    std::uint32_t begin = 0;  // offset relative to the segment's text
    std::uint32_t length = 0;
  };
  struct Segment {
    std::int32_t owned = -1;        // index into owned_, or -1: text lives in buffer_
    std::uint32_t begin = 0;        // offset of the text in buffer_ (when not owned)
    std::uint32_t length = 0;       // text length, without terminator
    std::uint32_t terminator = 0;   // bytes after the text up to the next segment
    std::uint32_t first_field = 0;  // index into fields_
    std::uint32_t field_count = 0;  // entries in fields_ (entry 0 is the segment id)
  };

  Message() = default;
  Status Index(const ParseOptions& options);
  // Indexes the fields of the segment at `text`, up to its first line break or
  // `limit`; may read (not use) up to `readable` bytes. Sets *line_length.
  Status IndexSegment(const char* text, std::size_t limit, std::size_t readable,
                      std::size_t max_fields, Segment& segment, std::size_t* line_length);
  Status IndexOwned(Segment& segment);
  std::string_view TextOf(const Segment& segment) const;
  std::string_view TerminatorOf(const Segment& segment) const;
  std::string_view FieldSpan(const Segment& segment, int field) const;
  int ResolveSegment(const Path& path) const;
  Status ReplaceSegmentText(std::size_t index, std::string text);

  std::string buffer_;
  std::size_t prefix_ = 0;   // BOM / leading noise before the first segment
  std::size_t trailer_ = 0;  // offset where trailing bytes after the last terminator begin
  Delimiters delimiters_;
  Charset charset_;
  std::vector<Segment> segments_;
  std::vector<Span> fields_;
  std::vector<std::string> owned_;  // re-encoded segments and their terminators (by index)
  std::string default_terminator_ = "\r";
  bool modified_ = false;
};

// Calls f(piece, index) for each piece of `s` split on `sep` (index from 0).
// Always calls f at least once (an empty string is one empty piece).
template <typename F>
inline void ForEachPiece(std::string_view s, char sep, F&& f) {
  std::size_t index = 0;
  std::size_t start = 0;
  while (true) {
    std::size_t end = s.find(sep, start);
    if (end == std::string_view::npos) {
      f(s.substr(start), index);
      return;
    }
    f(s.substr(start, end - start), index++);
    start = end + 1;
  }
}

// The n-th (0-based) piece of `s` split on `sep`, or nullopt when there are fewer.
std::optional<std::string_view> NthPiece(std::string_view s, char sep, std::size_t n);

// The first N pieces of `s` split on `sep` (the rest ignored, missing ones
// empty), as composite parsers want them. With sep == '\0' (no such delimiter
// declared) the whole text is piece 0.
template <std::size_t N>
std::array<std::string_view, N> FirstPieces(std::string_view s, char sep) {
  std::array<std::string_view, N> out{};
  if (sep == '\0') {
    out[0] = s;
    return out;
  }
  std::size_t start = 0;
  for (std::size_t i = 0; i < N; ++i) {
    const std::size_t end = s.find(sep, start);
    if (end == std::string_view::npos) {
      out[i] = s.substr(start);
      break;
    }
    out[i] = s.substr(start, end - start);
    start = end + 1;
  }
  return out;
}

}  // namespace junction::hl7
