#include "input.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "exit_codes.h"
#include "junction/hl7/batch.h"
#include "junction/hl7/message.h"
#include "output.h"

namespace junction::cli {

InputFile::~InputFile() {
  if (map_ != nullptr) munmap(const_cast<char*>(map_), map_size_);
}

InputFile::InputFile(InputFile&& other) noexcept
    : name_(std::move(other.name_)),
      data_(std::move(other.data_)),
      map_(std::exchange(other.map_, nullptr)),
      map_size_(std::exchange(other.map_size_, 0)) {}

InputFile& InputFile::operator=(InputFile&& other) noexcept {
  if (this != &other) {
    if (map_ != nullptr) munmap(const_cast<char*>(map_), map_size_);
    name_ = std::move(other.name_);
    data_ = std::move(other.data_);
    map_ = std::exchange(other.map_, nullptr);
    map_size_ = std::exchange(other.map_size_, 0);
  }
  return *this;
}

namespace {

Status IoError(const std::string& name, const char* what) {
  return Status::Io((name == "-" ? std::string("<stdin>") : name) + ": " + what + ": " +
                    std::strerror(errno));
}

// Reads a stream to its end.
Status ReadAll(int fd, const std::string& name, std::string* out) {
  char buffer[1 << 16];
  while (true) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError(name, "cannot read");
    }
    if (n == 0) return Status::Ok();
    if (out->size() + static_cast<std::size_t>(n) > kMaxInputBytes) {
      return Status::Io(name + ": input larger than " + std::to_string(kMaxInputBytes) + " bytes");
    }
    out->append(buffer, static_cast<std::size_t>(n));
  }
}

}  // namespace

Result<InputFile> InputFile::Open(const std::string& path) {
  InputFile file;
  file.name_ = path;
  if (path == "-") {
    Status status = ReadAll(STDIN_FILENO, path, &file.data_);
    if (!status.ok()) return status;
    return file;
  }
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IoError(path, "cannot open");
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    Status status = IoError(path, "cannot stat");
    close(fd);
    return status;
  }
  if (S_ISDIR(st.st_mode)) {
    close(fd);
    return Status::Io(path + ": is a directory");
  }
  Status status;
  if (S_ISREG(st.st_mode) && st.st_size > 0) {
    const auto size = static_cast<std::size_t>(st.st_size);
    if (size > kMaxInputBytes) {
      close(fd);
      return Status::Io(path + ": file larger than " + std::to_string(kMaxInputBytes) + " bytes");
    }
    void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map != MAP_FAILED) {
      madvise(map, size, MADV_SEQUENTIAL);
      file.map_ = static_cast<const char*>(map);
      file.map_size_ = size;
    } else {
      status = ReadAll(fd, path, &file.data_);  // e.g. a file system without mmap
    }
  } else {
    status = ReadAll(fd, path, &file.data_);  // pipes, devices, empty files
  }
  close(fd);
  if (!status.ok()) return status;
  return file;
}

Status SplitMessages(std::string_view bytes, std::vector<MessagePiece>* out) {
  out->clear();
  hl7::MessageSplitter splitter(bytes);
  hl7::MessageSpan span;
  while (splitter.Next(&span))
    out->push_back({span.offset, bytes.substr(span.offset, span.length)});
  if (!splitter.status().ok()) return splitter.status();
  if (out->empty()) {
    return Status::Invalid("no HL7 message found: expected a line starting with MSH", 0);
  }
  if (out->size() == 1 && splitter.skipped_segments() == 0 &&
      splitter.skipped_control_segments() == 0 && splitter.junk_bytes() == 0 &&
      hl7::Message::Parse(bytes).ok()) {
    (*out)[0] = {0, bytes};  // keep BOM and framing with the message
  }
  return Status::Ok();
}

std::string Located(const std::string& file, std::size_t base, const Status& status) {
  std::string out = file;
  if (status.has_offset() || base > 0) {
    out += ":" + std::to_string(base + (status.has_offset() ? status.offset() : 0));
  }
  out += ": " + status.message();
  return out;
}

int ForEachMessage(const std::vector<std::string>& files, const MessageVisitor& visit) {
  int rc = kExitOk;
  auto bad_data = [&rc] {
    if (rc == kExitOk) rc = kExitData;
  };
  for (const std::string& file : files) {
    auto input = InputFile::Open(file);
    if (!input.ok()) {
      ComplainLine(input.status().message());
      rc = kExitIo;
      continue;
    }
    const std::string name = input->display_name();
    std::vector<MessagePiece> pieces;
    Status split = SplitMessages(input->bytes(), &pieces);
    if (!split.ok()) {
      ComplainLine(Located(name, 0, split));
      bad_data();
      continue;
    }
    for (const MessagePiece& piece : pieces) {
      auto message = hl7::Message::Parse(piece.bytes);
      if (!message.ok()) {
        ComplainLine(Located(name, piece.offset, message.status()));
        bad_data();
        continue;
      }
      const int verdict = visit({name, piece, pieces.size(), *message});
      if (verdict == kExitData) {
        bad_data();
      } else if (verdict != kExitOk) {
        return verdict;
      }
    }
  }
  return rc;
}

}  // namespace junction::cli
