// File source: polls a directory and ingests the messages in matching files.
//
//   FileSource source(store, "lab-files", channel.file,
//                     [&](store::MessageId id, std::string raw) { worker.Submit(id, raw); });
//   source.Start();            // a thread polls every poll_interval
//   ...
//   source.Stop();
//
// Each file older than min_age whose name matches `pattern` is read (at most
// max_file_bytes), split into messages (single message, stream, FHS/BHS
// batch or MLLP-framed), and every message is stored durably (metadata as
// MLLP ingest; peer "file:<name>"). Only when all are committed is the file
// moved to move_to (or deleted when move_to is empty): the file is the
// sender's copy until then. A crash between the commit and the move stores
// the file's messages again on restart (at-least-once, like MLLP). A file with
// no message, or too big, is moved to error_dir and logged. Files are taken in
// name order. Logs never contain message content.
//
// Thread safety: Start/Stop/PollOnce from one thread; the callback runs on
// the poller thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "junction/engine/config.h"
#include "junction/hl7/status.h"
#include "junction/store/store.h"

namespace junction::engine {

struct FileSourceStats {
  std::uint64_t files = 0;     // files taken
  std::uint64_t messages = 0;  // messages stored
  std::uint64_t failed = 0;    // files moved to error_dir
};

class FileSource {
 public:
  using OnStored = std::function<void(store::MessageId id, std::string raw)>;
  FileSource(store::Store* store, std::string channel, FileSourceConfig config, OnStored on_stored);
  ~FileSource();
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  // Creates dir/move_to/error_dir if missing; kIoError when they cannot be made.
  Status Start();
  void Stop();  // finishes the file in hand, then returns
  // One scan; returns the number of messages stored (for tests).
  Result<std::size_t> PollOnce();
  FileSourceStats stats() const;

 private:
  store::Store* store_;
  std::string channel_;
  FileSourceConfig config_;
  OnStored on_stored_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::atomic<std::uint64_t> files_{0}, messages_{0}, failed_{0};
};

}  // namespace junction::engine
