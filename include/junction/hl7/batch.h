// Batch and stream splitting: finding the messages in a file's bytes.
//
//   // Strict: validates FHS/BHS/BTS/FTS structure, reports where it breaks.
//   auto batch = junction::hl7::SplitBatch(file_bytes);
//   if (!batch.ok()) { std::cerr << batch.status().ToString(); return 1; }
//   for (const MessageSpan& m : batch->messages)
//     auto msg = Message::Parse(file_bytes.substr(m.offset, m.length));
//
//   // Lenient and streaming: one message at a time, O(1) extra memory.
//   MessageSplitter splitter(file_bytes);
//   MessageSpan span;
//   while (splitter.Next(&span)) Handle(file_bytes.substr(span.offset, span.length));
//   if (!splitter.status().ok()) ...  // a bound was exceeded
//
// Accepted forms, freely mixed: a single message; concatenated messages; segment
// terminators \r, \n or \r\n; FHS/BHS ... MSH ... BTS/FTS batch files (FHS and BHS
// optional, several BHS..BTS inside one FHS..FTS); MLLP frames (0x0B ... 0x1C 0x0D),
// with anything between frames skipped; blank lines and whitespace between messages;
// a UTF-8 byte order mark at the start.
//
// A message starts at a line beginning "MSH" + field separator, where a line begins
// at the start of the buffer or right after \r or \n ("MSH" inside a field is
// data). It ends after the terminator of its last non-blank segment, before the
// next MSH/BHS/FHS/BTS/FTS line, MLLP end byte or the end of the input.
//
// Ownership: the splitter and the spans refer to the caller's buffer, which must
// outlive them. Thread safety: a MessageSplitter is used by one thread at a time;
// SplitBatch is a pure function.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "junction/hl7/status.h"

namespace junction::hl7 {

// A byte range of the input holding one message (no BOM, no MLLP bytes).
struct MessageSpan {
  std::size_t offset = 0;
  std::size_t length = 0;
};

struct SplitOptions {
  std::size_t max_messages = 10'000'000;
  std::size_t max_message_bytes = 64u << 20;  // same as ParseOptions::max_bytes
  std::size_t max_line_bytes = 64u << 20;     // one segment, without terminator
  std::size_t max_findings = 1000;            // warnings kept; later ones are counted only
};

// Something odd but not fatal, with the byte offset where it was seen.
struct SplitFinding {
  std::size_t offset = 0;
  std::string message;
  std::string ToString() const { return "offset " + std::to_string(offset) + ": " + message; }
};

// A batch or file header/trailer segment.
struct ControlSegment {
  enum class Kind { kFileHeader, kBatchHeader, kBatchTrailer, kFileTrailer };
  Kind kind = Kind::kBatchHeader;
  std::size_t offset = 0;  // start of the segment text
  std::size_t length = 0;  // segment text, without terminator
  // Trailers only: the count BTS-1 / FTS-1 declares (nullopt when empty or not a
  // number) and the count actually found (messages in the batch / batches in the file).
  std::optional<std::uint64_t> declared_count;
  std::size_t actual_count = 0;

  std::string_view id() const;  // "FHS", "BHS", "BTS" or "FTS"
};

struct Batch {
  std::vector<MessageSpan> messages;
  std::vector<ControlSegment> headers;  // in input order
  std::vector<SplitFinding> warnings;        // count mismatches, unclosed BHS/FHS, junk, ...
  bool framed = false;                  // the input used MLLP framing
};

// Splits and validates. Errors (with the offset in Status::offset()): a second
// FHS, FHS not at the start, a second BHS inside an open batch, BTS without BHS,
// FTS without FHS, content after FTS, a header followed by a segment other than
// MSH, a segment outside any message, and exceeded bounds.
Result<Batch> SplitBatch(std::string_view input, const SplitOptions& options = {});

// Lenient streaming splitter: yields each message span in order, skipping batch
// headers/trailers, stray segments outside messages and bytes between MLLP frames
// (all counted, and the first few kept as findings). Only exceeded bounds stop it.
class MessageSplitter {
 public:
  // What the low-level scanner yields; SplitBatch builds on it.
  struct Item {
    enum class Kind { kMessage, kControl, kStray };
    Kind kind = Kind::kMessage;
    std::size_t offset = 0;
    std::size_t length = 0;     // message: through its last terminator; others: text only
    char id[4] = {0, 0, 0, 0};  // segment id of the first line
  };

  explicit MessageSplitter(std::string_view input, const SplitOptions& options = {});

  // Stores the next message in *span and returns true; false at the end of the
  // input or after an error (see status()).
  bool Next(MessageSpan* span);
  // Lower level: the next message, control segment or stray segment.
  bool NextItem(Item* item);

  const Status& status() const { return status_; }
  std::size_t messages() const { return message_count_; }
  std::size_t skipped_segments() const { return skipped_segments_; }
  std::size_t skipped_control_segments() const { return skipped_control_; }
  std::size_t junk_bytes() const { return junk_bytes_; }  // non-blank bytes between frames
  bool framed() const { return framed_; }
  const std::vector<SplitFinding>& findings() const { return findings_; }
  std::size_t finding_count() const { return finding_count_; }  // including dropped ones

 private:
  std::size_t Find(char c, std::size_t from) const;  // memchr; input size when absent
  std::size_t NextTerminator(std::size_t from);
  void AddFinding(std::size_t offset, std::string message);
  bool Fail(Status status);
  bool EmitMessage(Item* item);

  std::string_view input_;
  SplitOptions options_;
  std::size_t pos_ = 0;
  // Cached positions of the next \r, \n and 0x1C at or after pos_ (input size when
  // none), so each byte is scanned by memchr about once.
  std::size_t next_cr_ = 0;
  std::size_t next_lf_ = 0;
  std::size_t next_fs_ = 0;
  bool framed_ = false;    // a frame start byte has been seen
  bool in_frame_ = false;  // between 0x0B and 0x1C
  bool msg_open_ = false;
  std::size_t msg_begin_ = 0;
  std::size_t msg_end_ = 0;
  std::size_t message_count_ = 0;
  std::size_t skipped_segments_ = 0;
  std::size_t skipped_control_ = 0;
  std::size_t junk_bytes_ = 0;
  std::size_t finding_count_ = 0;
  std::vector<SplitFinding> findings_;
  Status status_;
  bool failed_ = false;
};

}  // namespace junction::hl7
