// Reading command inputs (files or stdin) and finding the messages in them.
// Glue only: splitting is junction::hl7::MessageSplitter (batch.h).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "junction/hl7/message.h"
#include "junction/hl7/status.h"

namespace junction::cli {

// Bytes of one input. Regular files are memory-mapped (one mapping, no copy);
// stdin and other streams are read whole. The name is "-" for stdin, the path otherwise.
class InputFile {
 public:
  InputFile() = default;
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  InputFile(InputFile&& other) noexcept;
  InputFile& operator=(InputFile&& other) noexcept;

  // Fails with kIoError and a message naming the file and the system error.
  static Result<InputFile> Open(const std::string& path);

  const std::string& name() const { return name_; }
  // How the file is named in messages: "<stdin>" for "-".
  std::string display_name() const { return name_ == "-" ? "<stdin>" : name_; }
  std::string_view bytes() const {
    return map_ != nullptr ? std::string_view(map_, map_size_) : data_;
  }

 private:
  std::string name_;
  std::string data_;
  const char* map_ = nullptr;
  std::size_t map_size_ = 0;
};

// Inputs larger than this are refused (kIoError), so a wrong path cannot exhaust memory.
inline constexpr std::size_t kMaxInputBytes = std::size_t{4} << 30;

// One message's bytes inside an input. A file holding exactly one message (no
// batch headers or stray lines) yields the whole file, so BOM and MLLP framing
// stay part of that message.
struct MessagePiece {
  std::size_t offset = 0;
  std::string_view bytes;
};

// Splits `bytes` into messages (plain, concatenated, batch or MLLP-framed).
// Fails when a bound is exceeded or there is no message at all.
Status SplitMessages(std::string_view bytes, std::vector<MessagePiece>* out);

// "file:offset: reason" for a failure at `base` + status offset (offset omitted
// when the status has none and base is 0).
std::string Located(const std::string& file, std::size_t base, const Status& status);

// What ForEachMessage hands to its visitor for each message that parses.
struct ParsedPiece {
  const std::string& file;  // display name of the input
  const MessagePiece& piece;
  std::size_t pieces_in_file;
  hl7::Message& message;
};

// The visitor's answer: kExitOk or kExitData (the message was bad) go on to the
// next message; any other exit code stops the walk and is returned as is.
using MessageVisitor = std::function<int(const ParsedPiece&)>;

// Opens each file, splits it into messages, parses them and calls `visit` for
// each one that parses. Unreadable files, unsplittable inputs and unparsable
// messages are reported on stderr as "file:offset: reason". Returns kExitIo
// when a file could not be read, else kExitData when any message was bad, else kExitOk.
int ForEachMessage(const std::vector<std::string>& files, const MessageVisitor& visit);

}  // namespace junction::cli
