#include "junction/hl7/message.h"

#include <algorithm>
#include <cstring>

#include "hl7/internal/scan.h"
#include "hl7/internal/segment_edit.h"
#include "junction/hl7/escape.h"

namespace junction::hl7 {
namespace {

constexpr unsigned char kMllpStart = 0x0B;
constexpr unsigned char kMllpEnd = 0x1C;

bool IsHeaderId(std::string_view id) { return id == "MSH" || id == "BHS" || id == "FHS"; }

bool IsIdChar(char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

}  // namespace

std::optional<std::string_view> NthPiece(std::string_view s, char sep, std::size_t n) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t next = s.find(sep, start);
    if (next == std::string_view::npos) return std::nullopt;
    start = next + 1;
  }
  std::size_t end = s.find(sep, start);
  return s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
}

Result<Message> Message::Parse(std::string_view bytes, const ParseOptions& options) {
  if (bytes.size() > options.max_bytes) {
    return Status::OutOfRange("message of " + std::to_string(bytes.size()) +
                              " bytes exceeds the limit of " + std::to_string(options.max_bytes));
  }
  return Parse(std::string(bytes), options);
}

Result<Message> Message::Parse(std::string&& bytes, const ParseOptions& options) {
  if (bytes.size() > options.max_bytes) {
    return Status::OutOfRange("message of " + std::to_string(bytes.size()) +
                              " bytes exceeds the limit of " + std::to_string(options.max_bytes));
  }
  if (bytes.size() > UINT32_MAX) return Status::OutOfRange("message larger than 4 GiB");
  Message message;
  message.buffer_ = std::move(bytes);
  Status status = message.Index(options);
  if (!status.ok()) return status;
  return message;
}

Status Message::Index(const ParseOptions& options) {
  const char* data = buffer_.data();
  const std::size_t size = buffer_.size();
  std::size_t pos = 0;
  // Leading noise that is kept verbatim but is not a segment: BOM, MLLP start, blank lines.
  if (size >= 3 && std::memcmp(data, "\xEF\xBB\xBF", 3) == 0) pos = 3;
  while (pos < size && (data[pos] == '\r' || data[pos] == '\n' || IsBlank(data[pos]) ||
                        static_cast<unsigned char>(data[pos]) == kMllpStart)) {
    ++pos;
  }
  prefix_ = pos;
  if (size - pos < 3 || std::memcmp(data + pos, "MSH", 3) != 0) {
    return Status::Invalid("expected the message to start with an MSH segment", pos);
  }
  auto delimiters = Delimiters::FromHeader(std::string_view(data + pos, size - pos));
  if (!delimiters.ok()) {
    Status s = delimiters.status();
    return Status(s.code(), "MSH: " + s.message(),
                  s.has_offset() ? pos + s.offset() : pos);
  }
  delimiters_ = *delimiters;

  // The end of the content: trailing whitespace, MLLP end bytes and blank lines
  // belong to the trailer.
  std::size_t end = size;
  while (end > pos) {
    const char c = data[end - 1];
    if (c == '\r' || c == '\n' || IsBlank(c) || static_cast<unsigned char>(c) == kMllpEnd) {
      --end;
    } else {
      break;
    }
  }
  // Spaces right after the content (before any line break) are content, not trailer.
  while (end < size && IsBlank(data[end])) ++end;

  segments_.clear();
  fields_.clear();
  // One allocation each for typical messages: ~40 bytes a segment, ~6 a field.
  segments_.reserve(size / 32 + 4);
  fields_.reserve(size / 4 + 16);
  while (pos < end) {
    if (segments_.size() >= options.max_segments) {
      return Status::OutOfRange("more than " + std::to_string(options.max_segments) + " segments",
                                pos);
    }
    Segment segment;
    segment.begin = static_cast<std::uint32_t>(pos);
    std::size_t line_length = 0;
    Status status = IndexSegment(data + pos, end - pos, size - pos, options.max_fields_per_segment,
                                 segment, &line_length);
    if (!status.ok()) {
      return Status(status.code(), status.message(), pos + (status.has_offset() ? status.offset() : 0));
    }
    const std::size_t eol = pos + line_length;
    // Terminator: line breaks plus any whitespace-only lines that follow.
    std::size_t next = eol;
    while (next < end) {
      if (data[next] == '\r' || data[next] == '\n') {
        ++next;
        continue;
      }
      std::size_t probe = next;
      while (probe < end && IsBlank(data[probe])) ++probe;
      if (probe > next && (probe == end || data[probe] == '\r' || data[probe] == '\n')) {
        next = probe;
        continue;
      }
      break;
    }
    segment.length = static_cast<std::uint32_t>(line_length);
    segment.terminator = static_cast<std::uint32_t>(next - eol);
    segments_.push_back(segment);
    pos = next;
  }
  trailer_ = end;

  // The line-break style of the first segment, used for segments added later.
  const Segment& first = segments_.front();
  std::string_view term = TerminatorOf(first);
  if (term.size() >= 2 && term[0] == '\r' && term[1] == '\n') {
    default_terminator_ = "\r\n";
  } else if (!term.empty() && (term[0] == '\r' || term[0] == '\n')) {
    default_terminator_ = std::string(1, term[0]);
  }

  std::string_view msh18 = CharsetName();
  if (!msh18.empty()) {
    auto charset = Charset::FromMsh18(msh18);
    if (charset.ok()) charset_ = *charset;
  }
  return Status::Ok();
}

Status Message::IndexSegment(const char* text, std::size_t limit, std::size_t readable,
                             std::size_t max_fields, Segment& segment, std::size_t* line_length) {
  const char sep = delimiters_.field;
  if (limit < 3 || !IsIdChar(text[0]) || !IsIdChar(text[1]) || !IsIdChar(text[2]) ||
      (limit > 3 && text[3] != sep && text[3] != '\r' && text[3] != '\n')) {
    std::string shown(text, std::min<std::size_t>(limit, 8));
    for (char& c : shown) {
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7F) c = '?';
    }
    return Status::Invalid("bad segment id '" + shown +
                           "': expected 3 upper-case letters or digits then the field separator");
  }
  segment.first_field = static_cast<std::uint32_t>(fields_.size());
  fields_.push_back({0, 3});
  const bool header = IsHeaderId(std::string_view(text, 3));
  if (header) fields_.push_back({3, 1});  // MSH-1 is the separator itself
  if (limit == 3 || text[3] != sep) {
    *line_length = 3;
    segment.field_count = static_cast<std::uint32_t>(fields_.size() - segment.first_field);
    return Status::Ok();
  }
  // Walk the structural bytes after the first separator: each separator closes a
  // field, the first line break (or the limit) closes the segment.
  std::size_t field_start = 4;
  std::size_t count = 0;
  std::size_t block = 4;
  while (true) {
    std::uint32_t mask;
    if (block + internal::kScanBlock <= readable) {
      mask = internal::StructuralMask16(text + block, sep);
    } else {
      mask = internal::StructuralMaskTail(text + block, readable - block, sep);
    }
    if (limit - block < internal::kScanBlock) mask &= (1u << (limit - block)) - 1;
    while (mask) {
      const std::size_t at = block + static_cast<std::size_t>(__builtin_ctz(mask));
      mask &= mask - 1;
      if (++count > max_fields) {
        return Status::OutOfRange("more than " + std::to_string(max_fields) + " fields", at);
      }
      fields_.push_back({static_cast<std::uint32_t>(field_start),
                         static_cast<std::uint32_t>(at - field_start)});
      if (text[at] != sep) {
        *line_length = at;
        segment.field_count = static_cast<std::uint32_t>(fields_.size() - segment.first_field);
        return Status::Ok();
      }
      field_start = at + 1;
    }
    block += internal::kScanBlock;
    if (block >= limit) break;
  }
  fields_.push_back({static_cast<std::uint32_t>(field_start),
                     static_cast<std::uint32_t>(limit - field_start)});
  *line_length = limit;
  segment.field_count = static_cast<std::uint32_t>(fields_.size() - segment.first_field);
  return Status::Ok();
}

Status Message::IndexOwned(Segment& segment) {
  std::string_view text = TextOf(segment);
  std::size_t line_length = 0;
  return IndexSegment(text.data(), text.size(), text.size(), internal::kMaxEditFields, segment,
                      &line_length);
}

std::string_view Message::TextOf(const Segment& segment) const {
  if (segment.owned >= 0) {
    return std::string_view(owned_[static_cast<std::size_t>(segment.owned)]).substr(0, segment.length);
  }
  return std::string_view(buffer_).substr(segment.begin, segment.length);
}

std::string_view Message::TerminatorOf(const Segment& segment) const {
  if (segment.owned >= 0) {
    return std::string_view(owned_[static_cast<std::size_t>(segment.owned)])
        .substr(segment.length, segment.terminator);
  }
  return std::string_view(buffer_).substr(segment.begin + segment.length, segment.terminator);
}

std::string_view Message::FieldSpan(const Segment& segment, int field) const {
  const Span& span = fields_[segment.first_field + static_cast<std::uint32_t>(field)];
  return TextOf(segment).substr(span.begin, span.length);
}

std::string_view Message::SegmentId(std::size_t index) const {
  return TextOf(segments_[index]).substr(0, 3);
}

std::string_view Message::SegmentText(std::size_t index) const {
  return TextOf(segments_[index]);
}

int Message::FieldCount(std::size_t index) const {
  return static_cast<int>(segments_[index].field_count) - 1;
}

std::optional<std::string_view> Message::FieldRaw(std::size_t index, int field) const {
  const Segment& segment = segments_[index];
  if (field < 0 || field >= static_cast<int>(segment.field_count)) return std::nullopt;
  return FieldSpan(segment, field);
}

int Message::FindSegment(std::string_view id, int occurrence) const {
  int seen = 0;
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    if (SegmentId(i) == id && ++seen == occurrence) return static_cast<int>(i);
  }
  return -1;
}

int Message::CountSegments(std::string_view id) const {
  int count = 0;
  for (std::size_t i = 0; i < segments_.size(); ++i) count += SegmentId(i) == id;
  return count;
}

int Message::ResolveSegment(const Path& path) const {
  return FindSegment(path.SegmentId(), path.occurrence == Path::kAll ? 1 : path.occurrence);
}

std::optional<std::string_view> Message::GetRaw(const Path& path) const {
  int index = ResolveSegment(path);
  if (index < 0) return std::nullopt;
  const Segment& segment = segments_[static_cast<std::size_t>(index)];
  if (path.field == 0) return TextOf(segment);
  if (path.field >= static_cast<int>(segment.field_count)) return std::nullopt;
  std::string_view field = FieldSpan(segment, path.field);
  // MSH-1 and MSH-2 hold the delimiters themselves: never split them.
  if (path.field <= 2 && IsHeaderId(path.SegmentId())) {
    if (path.component > 1 || path.subcomponent > 1 || path.repetition > 1) return std::nullopt;
    return field;
  }
  if (path.repetition == Path::kAll) return field;
  auto rep = NthPiece(field, delimiters_.repetition, static_cast<std::size_t>(path.repetition - 1));
  if (!rep || path.component == 0) return rep;
  auto comp = NthPiece(*rep, delimiters_.component, static_cast<std::size_t>(path.component - 1));
  if (!comp || path.subcomponent == 0) return comp;
  if (delimiters_.subcomponent == '\0') {
    return path.subcomponent == 1 ? comp : std::nullopt;
  }
  return NthPiece(*comp, delimiters_.subcomponent, static_cast<std::size_t>(path.subcomponent - 1));
}

std::optional<std::string> Message::GetDecoded(const Path& path) const {
  auto raw = GetRaw(path);
  if (!raw) return std::nullopt;
  // MSH-1/MSH-2 are the delimiters, not escaped text.
  if (path.field <= 2 && path.field > 0 && IsHeaderId(path.SegmentId())) return std::string(*raw);
  std::string decoded;
  UnescapeTo(*raw, delimiters_, &decoded);
  // ToUtf8 returns pure ASCII as is; it matters for bytes >= 0x80 (declared or not).
  return charset_.ToUtf8(decoded);
}

std::string Message::Get(std::string_view path_text) const {
  auto path = Path::Parse(path_text);
  if (!path.ok()) return {};
  auto value = GetDecoded(*path);
  return value ? std::move(*value) : std::string();
}

bool Message::IsNull(const Path& path) const {
  auto raw = GetRaw(path);
  return raw && *raw == "\"\"";
}

int Message::Count(const Path& path) const {
  if (path.field == 0) return CountSegments(path.SegmentId());
  Path whole = path;
  whole.repetition = Path::kAll;
  whole.component = whole.subcomponent = 0;
  auto field = GetRaw(whole);
  if (!field || field->empty()) return 0;
  if (path.field <= 2 && IsHeaderId(path.SegmentId())) return 1;
  int count = 1;
  for (char c : *field) count += c == delimiters_.repetition;
  return count;
}

namespace {
std::string_view HeaderValue(const Message& m, int field, int component) {
  Path path;
  std::memcpy(path.segment, "MSH", 3);
  path.field = field;
  path.component = component;
  return m.GetRaw(path).value_or(std::string_view());
}
}  // namespace

std::string_view Message::Version() const { return HeaderValue(*this, 12, 1); }
std::string_view Message::CharsetName() const { return HeaderValue(*this, 18, 0); }
std::string_view Message::ControlId() const { return HeaderValue(*this, 10, 0); }
std::string_view Message::MessageCode() const { return HeaderValue(*this, 9, 1); }
std::string_view Message::TriggerEvent() const { return HeaderValue(*this, 9, 2); }
std::string_view Message::StructureId() const { return HeaderValue(*this, 9, 3); }

// ---- Mutation ----

Status Message::ReplaceSegmentText(std::size_t index, std::string text) {
  Segment& segment = segments_[index];
  std::string_view terminator = TerminatorOf(segment);
  if (text.size() > UINT32_MAX / 2) return Status::OutOfRange("segment too large");
  std::string stored = std::move(text);
  const std::size_t length = stored.size();
  stored.append(terminator);
  owned_.push_back(std::move(stored));
  Segment updated = segment;
  updated.owned = static_cast<std::int32_t>(owned_.size() - 1);
  updated.length = static_cast<std::uint32_t>(length);
  JUNCTION_RETURN_IF_ERROR(IndexOwned(updated));
  segments_[index] = updated;
  modified_ = true;
  return Status::Ok();
}

Status Message::SetRaw(const Path& path, std::string_view raw) {
  if (raw.find_first_of("\r\n") != std::string_view::npos) {
    return Status::Invalid("a value cannot contain line breaks (they end segments)");
  }
  if (path.occurrence == Path::kAll) return Status::Invalid("[*] cannot be changed");
  if (path.field == 0 && raw.substr(0, 3) != path.SegmentId()) {
    return Status::Invalid("a segment replacement must start with " +
                           std::string(path.SegmentId()));
  }
  const bool header = IsHeaderId(path.SegmentId());
  const int found = ResolveSegment(path);
  std::string_view base =
      found >= 0 ? SegmentText(static_cast<std::size_t>(found)) : path.SegmentId();
  std::string text;
  if (path.field == 0) {
    text = std::string(raw);
  } else {
    auto edited =
        internal::EditSegment(base, header, delimiters_, path, internal::EditOp::kSet, raw);
    if (!edited.ok()) return edited.status();
    text = std::move(edited).value();
  }
  if (found >= 0) return ReplaceSegmentText(static_cast<std::size_t>(found), std::move(text));

  // The edit is known to succeed; only now create the missing segments, the last one edited.
  if (header) return Status::Invalid("header segments (MSH/BHS/FHS) cannot be created");
  const int missing = path.occurrence - CountSegments(path.SegmentId());
  if (missing > 100) {
    return Status::OutOfRange("path " + path.ToString() + " would create too many segments");
  }
  for (int i = 1; i < missing; ++i) {
    JUNCTION_RETURN_IF_ERROR(InsertSegment(segments_.size(), path.SegmentId()));
  }
  return InsertSegment(segments_.size(), text);
}

Status Message::Set(const Path& path, std::string_view text) {
  std::string raw;
  EscapeTo(text, delimiters_, &raw);
  return SetRaw(path, raw);
}

Status Message::Delete(const Path& path) {
  int found = ResolveSegment(path);
  if (found < 0) return Status::Ok();  // nothing to delete
  const std::size_t index = static_cast<std::size_t>(found);
  if (path.field == 0) return DeleteSegment(index);
  auto edited = internal::EditSegment(SegmentText(index), IsHeaderId(path.SegmentId()), delimiters_,
                                      path, internal::EditOp::kDelete, {});
  if (!edited.ok()) return edited.status();
  if (*edited == SegmentText(index)) return Status::Ok();
  return ReplaceSegmentText(index, std::move(edited).value());
}

Status Message::InsertSegment(std::size_t index, std::string_view raw_segment) {
  if (index > segments_.size()) return Status::OutOfRange("segment index past the end");
  if (index == 0) return Status::Invalid("nothing can come before the MSH segment");
  if (raw_segment.find_first_of("\r\n") != std::string_view::npos) {
    return Status::Invalid("a segment cannot contain line breaks");
  }
  if (IsHeaderId(raw_segment.substr(0, 3))) {
    return Status::Invalid("header segments (MSH/BHS/FHS) cannot be inserted");
  }
  // No terminator of its own: Encode() writes the message's line break between segments.
  std::string text(raw_segment);  // copied first: raw_segment may point into owned_
  owned_.push_back(std::move(text));
  Segment segment;
  segment.owned = static_cast<std::int32_t>(owned_.size() - 1);
  segment.length = static_cast<std::uint32_t>(raw_segment.size());
  Status status = IndexOwned(segment);
  if (!status.ok()) {
    owned_.pop_back();
    return status;
  }
  segments_.insert(segments_.begin() + static_cast<std::ptrdiff_t>(index), segment);
  modified_ = true;
  return Status::Ok();
}

Status Message::DeleteSegment(std::size_t index) {
  if (index >= segments_.size()) return Status::OutOfRange("segment index past the end");
  if (index == 0) return Status::Invalid("the MSH segment cannot be deleted");
  segments_.erase(segments_.begin() + static_cast<std::ptrdiff_t>(index));
  modified_ = true;
  return Status::Ok();
}

std::string Message::Encode() const {
  std::string out;
  out.reserve(buffer_.size() + 64);
  out.append(buffer_, 0, prefix_);
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    const Segment& segment = segments_[i];
    out.append(TextOf(segment));
    std::string_view terminator = TerminatorOf(segment);
    const bool last = i + 1 == segments_.size();
    if (!last) {
      // A segment that used to be last, or was inserted, has no line break of its own.
      out.append(terminator.empty() ? std::string_view(default_terminator_) : terminator);
    } else if (trailer_ == buffer_.size() || (buffer_[trailer_] != '\r' && buffer_[trailer_] != '\n')) {
      out.append(terminator);  // the trailer does not end the segment itself
    }
  }
  out.append(buffer_, trailer_, std::string::npos);
  return out;
}

}  // namespace junction::hl7
