#include "junction/hl7/batch.h"

#include <cstring>
#include <utility>

namespace junction::hl7 {
namespace {

constexpr unsigned char kFrameStart = 0x0B;
constexpr unsigned char kFrameEnd = 0x1C;

bool IsAlnum(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

bool IsBlank(const char* p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    if (p[i] != ' ' && p[i] != '\t') return false;
  }
  return true;
}

bool IsWhitespace(unsigned char c) { return c == '\r' || c == '\n' || c == ' ' || c == '\t'; }

enum class LineKind { kMessageHeader, kControl, kOther };

// Classifies a line by its first bytes. Headers need a field separator after the
// id ("MSH|"); trailers may stand alone ("BTS"). The separator must not be a
// letter or digit, so a segment id like "MSHX" is not mistaken for a header.
LineKind Classify(const char* p, std::size_t n) {
  if (n < 3) return LineKind::kOther;
  const char c0 = p[0];
  if (c0 != 'M' && c0 != 'B' && c0 != 'F') return LineKind::kOther;  // fast path
  const bool has_sep = n > 3 && !IsAlnum(static_cast<unsigned char>(p[3]));
  if (std::memcmp(p, "MSH", 3) == 0) return has_sep ? LineKind::kMessageHeader : LineKind::kOther;
  if (std::memcmp(p, "BHS", 3) == 0 || std::memcmp(p, "FHS", 3) == 0) {
    return has_sep ? LineKind::kControl : LineKind::kOther;
  }
  if (std::memcmp(p, "BTS", 3) == 0 || std::memcmp(p, "FTS", 3) == 0) {
    return (n == 3 || has_sep) ? LineKind::kControl : LineKind::kOther;
  }
  return LineKind::kOther;
}

std::size_t SkipBom(std::string_view in, std::size_t pos) {
  if (in.size() - pos >= 3 && static_cast<unsigned char>(in[pos]) == 0xEF &&
      static_cast<unsigned char>(in[pos + 1]) == 0xBB &&
      static_cast<unsigned char>(in[pos + 2]) == 0xBF) {
    return pos + 3;
  }
  return pos;
}

// Printable id for messages: non-printable bytes become '?'.
std::string PrintableId(const char (&id)[4]) {
  std::string out;
  for (int i = 0; i < 3 && id[i] != '\0'; ++i) {
    const unsigned char c = static_cast<unsigned char>(id[i]);
    out.push_back(c >= 0x20 && c < 0x7F ? static_cast<char>(c) : '?');
  }
  return out;
}

}  // namespace

std::string_view ControlSegment::id() const {
  switch (kind) {
    case Kind::kFileHeader:
      return "FHS";
    case Kind::kBatchHeader:
      return "BHS";
    case Kind::kBatchTrailer:
      return "BTS";
    case Kind::kFileTrailer:
      return "FTS";
  }
  return "???";
}

// ---------------------------------------------------------------------------
// MessageSplitter

MessageSplitter::MessageSplitter(std::string_view input, const SplitOptions& options)
    : input_(input), options_(options) {
  pos_ = SkipBom(input_, 0);
  // Prime the caches: NextTerminator only searches again once pos_ passes them.
  next_cr_ = Find('\r', pos_);
  next_lf_ = Find('\n', pos_);
  next_fs_ = Find(static_cast<char>(kFrameEnd), pos_);
}

std::size_t MessageSplitter::Find(char c, std::size_t from) const {
  const std::size_t n = input_.size();
  if (from >= n) return n;
  const void* p = std::memchr(input_.data() + from, c, n - from);
  return p ? static_cast<std::size_t>(static_cast<const char*>(p) - input_.data()) : n;
}

std::size_t MessageSplitter::NextTerminator(std::size_t from) {
  auto refresh = [&](std::size_t& cached, char c) {
    if (cached < from) cached = Find(c, from);
  };
  refresh(next_cr_, '\r');
  refresh(next_lf_, '\n');
  refresh(next_fs_, static_cast<char>(kFrameEnd));
  std::size_t t = next_cr_ < next_lf_ ? next_cr_ : next_lf_;
  return t < next_fs_ ? t : next_fs_;
}

void MessageSplitter::AddFinding(std::size_t offset, std::string message) {
  ++finding_count_;
  if (findings_.size() < options_.max_findings) {
    findings_.push_back(SplitFinding{offset, std::move(message)});
  }
}

bool MessageSplitter::Fail(Status status) {
  status_ = std::move(status);
  failed_ = true;
  msg_open_ = false;
  return false;
}

bool MessageSplitter::EmitMessage(Item* item) {
  msg_open_ = false;
  if (message_count_ >= options_.max_messages) {
    return Fail(Status::OutOfRange(
        "more than " + std::to_string(options_.max_messages) + " messages (max_messages)",
        msg_begin_));
  }
  ++message_count_;
  item->kind = Item::Kind::kMessage;
  item->offset = msg_begin_;
  item->length = msg_end_ - msg_begin_;
  std::memcpy(item->id, "MSH", 4);
  return true;
}

bool MessageSplitter::NextItem(Item* item) {
  if (failed_) return false;
  const std::size_t n = input_.size();
  const char* data = input_.data();
  while (true) {
    if (pos_ >= n) {
      if (msg_open_) return EmitMessage(item);
      return false;
    }
    if (framed_ && !in_frame_) {
      // Between MLLP frames: skip to the next start byte; whitespace is expected
      // there, anything else is reported.
      const void* p = std::memchr(data + pos_, kFrameStart, n - pos_);
      const std::size_t vt = p ? static_cast<std::size_t>(static_cast<const char*>(p) - data) : n;
      std::size_t junk = 0;
      for (std::size_t i = pos_; i < vt; ++i) {
        if (!IsWhitespace(static_cast<unsigned char>(data[i]))) ++junk;
      }
      if (junk > 0) {
        junk_bytes_ += junk;
        AddFinding(pos_, std::to_string(junk) + " bytes outside MLLP frames skipped");
      }
      if (vt == n) {
        pos_ = n;
        continue;
      }
      pos_ = SkipBom(input_, vt + 1);
      in_frame_ = true;
      continue;
    }

    const unsigned char c = static_cast<unsigned char>(data[pos_]);
    if (c == '\r' || c == '\n') {
      ++pos_;
      continue;
    }
    if (c == kFrameStart) {
      if (msg_open_) return EmitMessage(item);
      framed_ = in_frame_ = true;
      pos_ = SkipBom(input_, pos_ + 1);
      continue;
    }
    if (c == kFrameEnd) {
      if (msg_open_) return EmitMessage(item);
      in_frame_ = false;
      ++pos_;
      continue;
    }

    // A line: text up to \r, \n or the frame end byte.
    const std::size_t term = NextTerminator(pos_);
    const std::size_t text_length = term - pos_;
    if (text_length > options_.max_line_bytes) {
      return Fail(Status::OutOfRange("segment of " + std::to_string(text_length) +
                                         " bytes exceeds max_line_bytes (" +
                                         std::to_string(options_.max_line_bytes) + ")",
                                     pos_));
    }
    std::size_t next = term;
    if (term < n) {
      if (data[term] == '\r') {
        next = term + 1;
        if (next < n && data[next] == '\n') ++next;  // \r\n is one terminator
      } else if (data[term] == '\n') {
        next = term + 1;
      }  // the frame end byte is left for the next round
    }
    if ((c == ' ' || c == '\t') && IsBlank(data + pos_, text_length)) {
      pos_ = next;  // a whitespace-only line counts as blank
      continue;
    }

    const LineKind kind = Classify(data + pos_, text_length);
    if (kind != LineKind::kOther && msg_open_) {
      return EmitMessage(item);  // the line is read again on the next call
    }
    if (kind == LineKind::kMessageHeader) {
      msg_open_ = true;
      msg_begin_ = pos_;
      msg_end_ = next;
      pos_ = next;
    } else if (msg_open_) {
      msg_end_ = next;
      pos_ = next;
    } else {
      item->kind = kind == LineKind::kControl ? Item::Kind::kControl : Item::Kind::kStray;
      item->offset = pos_;
      item->length = text_length;
      const std::size_t id_length = text_length < 3 ? text_length : 3;
      std::memset(item->id, 0, sizeof(item->id));
      std::memcpy(item->id, data + pos_, id_length);
      pos_ = next;
      return true;
    }
    if (msg_end_ - msg_begin_ > options_.max_message_bytes) {
      return Fail(Status::OutOfRange("message of more than " +
                                         std::to_string(options_.max_message_bytes) +
                                         " bytes (max_message_bytes)",
                                     msg_begin_));
    }
  }
}

bool MessageSplitter::Next(MessageSpan* span) {
  Item item;
  while (NextItem(&item)) {
    switch (item.kind) {
      case Item::Kind::kMessage:
        span->offset = item.offset;
        span->length = item.length;
        return true;
      case Item::Kind::kControl:
        ++skipped_control_;
        break;
      case Item::Kind::kStray:
        ++skipped_segments_;
        if (findings_.size() >= options_.max_findings) {
          ++finding_count_;  // counted only; don't build a string nobody keeps
        } else {
          AddFinding(item.offset,
                     "segment '" + PrintableId(item.id) + "' outside any message skipped");
        }
        break;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------
// SplitBatch

namespace {

// Reads field 1 of a trailer ("BTS|3|..." -> 3). The separator is the byte after
// the id, so a file with a non-default field separator works too.
std::optional<std::uint64_t> ReadCount(std::string_view text, bool* malformed) {
  *malformed = false;
  if (text.size() <= 4) return std::nullopt;
  const char sep = text[3];
  std::string_view field = text.substr(4);
  field = field.substr(0, field.find(sep));
  while (!field.empty() && field.front() == ' ') field.remove_prefix(1);
  while (!field.empty() && field.back() == ' ') field.remove_suffix(1);
  if (field.empty()) return std::nullopt;
  if (field.size() > 18) {
    *malformed = true;
    return std::nullopt;
  }
  std::uint64_t value = 0;
  for (char ch : field) {
    if (ch < '0' || ch > '9') {
      *malformed = true;
      return std::nullopt;
    }
    value = value * 10 + static_cast<std::uint64_t>(ch - '0');
  }
  return value;
}

std::string At(std::size_t offset) { return "offset " + std::to_string(offset); }

}  // namespace

Result<Batch> SplitBatch(std::string_view input, const SplitOptions& options) {
  using Kind = ControlSegment::Kind;
  Batch batch;
  MessageSplitter splitter(input, options);

  std::optional<std::size_t> fhs;       // index into batch.headers
  constexpr std::size_t kNoBhs = static_cast<std::size_t>(-1);
  std::size_t open_bhs = kNoBhs;  // index into batch.headers
  bool fts_seen = false;
  bool in_loose_run = false;       // messages outside any BHS..BTS
  std::size_t batches = 0;         // BHS batches + runs of loose messages
  std::size_t batch_messages = 0;  // messages in the open BHS batch
  // The previous item, to name what a stray segment follows.
  enum class Prev { kNothing, kMessage, kFhs, kBhs, kBts, kFts } prev = Prev::kNothing;
  std::size_t prev_offset = 0;

  auto add_trailer_count = [&](ControlSegment& seg, std::string_view text, std::size_t actual,
                               const char* field, const char* what) {
    bool malformed = false;
    seg.declared_count = ReadCount(text, &malformed);
    seg.actual_count = actual;
    if (malformed) {
      batch.warnings.push_back({seg.offset, std::string(field) + " is not a count; " +
                                                std::to_string(actual) + " " + what + " found"});
    } else if (seg.declared_count && *seg.declared_count != actual) {
      batch.warnings.push_back({seg.offset, std::string(field) + " declares " +
                                                std::to_string(*seg.declared_count) + " " + what +
                                                " but " + std::to_string(actual) + " found"});
    }
  };

  MessageSplitter::Item item;
  while (splitter.NextItem(&item)) {
    const std::size_t off = item.offset;
    if (item.kind == MessageSplitter::Item::Kind::kMessage) {
      if (fts_seen) return Status::Invalid("MSH after FTS", off);
      if (open_bhs == kNoBhs && !in_loose_run) {
        in_loose_run = true;
        ++batches;
      }
      if (open_bhs != kNoBhs) ++batch_messages;
      batch.messages.push_back(MessageSpan{item.offset, item.length});
      prev = Prev::kMessage;
      prev_offset = off;
      continue;
    }
    if (item.kind == MessageSplitter::Item::Kind::kStray) {
      const std::string id = PrintableId(item.id);
      switch (prev) {
        case Prev::kNothing:
          return Status::Invalid("segment '" + id + "' at " + At(off) + " before any MSH", off);
        case Prev::kFhs:
        case Prev::kBhs:
          return Status::Invalid((prev == Prev::kFhs ? "FHS" : "BHS") + std::string(" at ") +
                                     At(prev_offset) + " followed by " + id + " with no MSH",
                                 off);
        case Prev::kBts:
        case Prev::kFts:
          return Status::Invalid("segment '" + id + "' after " +
                                     (prev == Prev::kBts ? "BTS" : "FTS") + " at " +
                                     At(prev_offset) + ", outside any message",
                                 off);
        case Prev::kMessage:  // cannot happen: the splitter joins it to the message
          return Status::Invalid("segment '" + id + "' outside any message", off);
      }
    }

    // A control segment.
    const std::string_view text = input.substr(item.offset, item.length);
    ControlSegment seg;
    seg.offset = item.offset;
    seg.length = item.length;
    const std::string_view id(item.id, 3);
    if (id == "FHS") {
      if (fhs) {
        return Status::Invalid(
            "second FHS (FHS at " + At(batch.headers[*fhs].offset) + " already opened the file)",
            off);
      }
      if (prev != Prev::kNothing) return Status::Invalid("FHS not at the start of the file", off);
      seg.kind = Kind::kFileHeader;
      fhs = batch.headers.size();
      prev = Prev::kFhs;
    } else if (id == "BHS") {
      if (fts_seen) return Status::Invalid("BHS after FTS", off);
      if (open_bhs != kNoBhs) {
        return Status::Invalid("second BHS inside an open batch (BHS at " +
                                   At(batch.headers[open_bhs].offset) + " not closed by BTS)",
                               off);
      }
      seg.kind = Kind::kBatchHeader;
      open_bhs = batch.headers.size();
      in_loose_run = false;
      batch_messages = 0;
      ++batches;
      prev = Prev::kBhs;
    } else if (id == "BTS") {
      if (open_bhs == kNoBhs) return Status::Invalid("BTS without BHS", off);
      seg.kind = Kind::kBatchTrailer;
      add_trailer_count(seg, text, batch_messages, "BTS-1", "messages");
      open_bhs = kNoBhs;
      prev = Prev::kBts;
    } else {  // FTS
      if (!fhs) return Status::Invalid("FTS without FHS", off);
      if (fts_seen) return Status::Invalid("second FTS", off);
      if (open_bhs != kNoBhs) {
        return Status::Invalid("FTS inside an open batch (BHS at " +
                                   At(batch.headers[open_bhs].offset) + " not closed by BTS)",
                               off);
      }
      seg.kind = Kind::kFileTrailer;
      add_trailer_count(seg, text, batches, "FTS-1", "batches");
      fts_seen = true;
      in_loose_run = false;
      prev = Prev::kFts;
    }
    prev_offset = off;
    batch.headers.push_back(seg);
  }
  if (!splitter.status().ok()) return splitter.status();

  if (open_bhs != kNoBhs) {
    batch.warnings.push_back({batch.headers[open_bhs].offset, "BHS not closed by BTS"});
  }
  if (fhs && !fts_seen) {
    batch.warnings.push_back({batch.headers[*fhs].offset, "FHS not closed by FTS"});
  }
  for (const SplitFinding& f : splitter.findings()) batch.warnings.push_back(f);
  batch.framed = splitter.framed();
  return batch;
}

}  // namespace junction::hl7
