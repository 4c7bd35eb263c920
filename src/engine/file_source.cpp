// File source: see junction/engine/file_source.h. A file is the sender's copy
// until every message in it is committed; only then is it moved (or deleted).
// Logs name files and counts, never message content.
#include "junction/engine/file_source.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include <spdlog/spdlog.h>

#include "junction/engine/ingest.h"
#include "junction/engine/sender.h"
#include "junction/hl7/batch.h"
#include "junction/hl7/message.h"

namespace junction::engine {
namespace {

namespace fs = std::filesystem;

// Messages handed to the store before waiting for their commit (one group
// commit covers many; the store's queue stays far from full).
constexpr std::size_t kAppendChunk = 256;

std::string ErrorDir(const FileSourceConfig& c) {
  return c.error_dir.empty() ? c.dir + "/error" : c.error_dir;
}

Status MakeDir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::Io("cannot create directory " + dir + ": " + ec.message());
  return Status::Ok();
}

// Moves `from` into `dir`, keeping the name; a name already taken there gets
// ".1", ".2", ... so earlier files are never overwritten. Falls back to copy +
// remove across file systems.
Status MoveInto(const fs::path& from, const std::string& dir) {
  JUNCTION_RETURN_IF_ERROR(MakeDir(dir));
  const std::string name = from.filename().string();
  fs::path to = fs::path(dir) / name;
  std::error_code ec;
  for (int i = 1; fs::exists(to, ec) && i < 100000; ++i) {
    to = fs::path(dir) / (name + "." + std::to_string(i));
  }
  fs::rename(from, to, ec);
  if (ec == std::errc::cross_device_link) {
    ec.clear();
    fs::copy_file(from, to, ec);
    if (!ec) fs::remove(from, ec);
  }
  if (ec) return Status::Io("cannot move " + from.string() + " to " + dir + ": " + ec.message());
  return Status::Ok();
}

Result<std::string> ReadFile(const fs::path& path, std::size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Io("cannot open " + path.string());
  std::string text;
  char buffer[65536];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > limit) {
      return Status::OutOfRange("larger than max_file_bytes (" + std::to_string(limit) + ")");
    }
  }
  if (in.bad()) return Status::Io("read error on " + path.string());
  return text;
}

Status MoveOrDelete(const FileSourceConfig& config, const fs::path& path) {
  if (config.move_to.empty()) {
    std::error_code ec;
    fs::remove(path, ec);
    if (ec) return Status::Io("cannot delete " + path.string() + ": " + ec.message());
    return Status::Ok();
  }
  return MoveInto(path, config.move_to);
}

// Files whose messages are committed but whose move failed, per source: they
// must never be stored again. Kept here because FileSource's header has no
// member for it.
std::mutex unmoved_mutex;
std::map<const void*, std::set<std::string>>& Unmoved() {
  static auto* unmoved = new std::map<const void*, std::set<std::string>>();
  return *unmoved;
}
bool IsUnmoved(const void* source, const std::string& name) {
  std::lock_guard lock(unmoved_mutex);
  auto it = Unmoved().find(source);
  return it != Unmoved().end() && it->second.count(name) != 0;
}
void SetUnmoved(const void* source, const std::string& name, bool unmoved) {
  std::lock_guard lock(unmoved_mutex);
  if (unmoved) {
    Unmoved()[source].insert(name);
  } else if (auto it = Unmoved().find(source); it != Unmoved().end()) {
    it->second.erase(name);
    if (it->second.empty()) Unmoved().erase(it);
  }
}
void ForgetSource(const void* source) {
  std::lock_guard lock(unmoved_mutex);
  Unmoved().erase(source);
}

void Reject(const fs::path& path, const std::string& reason, const std::string& channel,
            const FileSourceConfig& config, std::atomic<std::uint64_t>* failed) {
  failed->fetch_add(1);
  const std::string name = path.filename().string();
  Status moved = MoveInto(path, ErrorDir(config));
  spdlog::warn("channel {}: file {}: {}; {}", channel, name, reason,
               moved.ok() ? "moved to " + ErrorDir(config) : moved.message());
}

// Appends every message, waits for the commits, then hands the new ones to
// `on_stored` in file order. Unparseable messages are stored with status error.
Result<std::size_t> StoreAll(store::Store* store, const std::string& channel,
                             const std::string& file_name, std::vector<std::string> raws,
                             const FileSource::OnStored& on_stored,
                             std::atomic<std::uint64_t>* counter) {
  std::size_t stored = 0;
  for (std::size_t begin = 0; begin < raws.size(); begin += kAppendChunk) {
    const std::size_t end = std::min(raws.size(), begin + kAppendChunk);
    struct Slot {
      std::optional<Result<store::AppendResult>> result;
      std::string parse_error;
    };
    std::vector<Slot> slots(end - begin);
    std::mutex mu;
    std::condition_variable done;
    std::size_t outstanding = 0;
    for (std::size_t i = begin; i < end; ++i) {
      Slot* slot = &slots[i - begin];
      auto incoming = [&]() {
        store::IncomingMessage in;
        auto parsed = hl7::Message::Parse(std::string_view(raws[i]));
        if (parsed.ok()) {
          ExtractMetadata(*parsed, &in);
        } else {
          in.state = store::MessageState::kError;
          slot->parse_error = "unparseable message: " + parsed.status().ToString();
        }
        in.raw = raws[i];
        in.channel = channel;
        in.peer = "file:" + file_name;
        return in;
      };
      auto callback = [&, slot](Result<store::AppendResult> r) {
        std::lock_guard lock(mu);
        slot->result = std::move(r);
        if (--outstanding == 0) done.notify_all();
      };
      {
        std::lock_guard lock(mu);
        ++outstanding;
      }
      Status queued = store->Append(incoming(), callback);
      if (queued.code() == StatusCode::kOutOfRange && store->Flush().ok()) {
        queued = store->Append(incoming(), callback);  // the queue was full; it has room now
      }
      if (!queued.ok()) {
        std::lock_guard lock(mu);
        --outstanding;
        slot->result = Result<store::AppendResult>(queued);
      }
    }
    {
      std::unique_lock lock(mu);
      done.wait(lock, [&] { return outstanding == 0; });
    }
    // Every committed message goes to the channel, even when a later one failed.
    Status first_error;
    for (std::size_t i = begin; i < end; ++i) {
      Slot& slot = slots[i - begin];
      if (!slot.result->ok()) {
        if (first_error.ok()) first_error = slot.result->status();
        continue;
      }
      const store::AppendResult& r = **slot.result;
      if (r.duplicate) continue;
      ++stored;
      counter->fetch_add(1);
      if (!slot.parse_error.empty()) {
        Status st = store->UpdateStatusAndWait(r.id, store::MessageState::kError, slot.parse_error);
        if (!st.ok() && first_error.ok()) first_error = st;
        continue;
      }
      if (on_stored) on_stored(r.id, std::move(raws[i]));
    }
    if (!first_error.ok()) return first_error;
  }
  return stored;
}

}  // namespace

FileSource::FileSource(store::Store* store, std::string channel, FileSourceConfig config,
                       OnStored on_stored)
    : store_(store),
      channel_(std::move(channel)),
      config_(std::move(config)),
      on_stored_(std::move(on_stored)) {}

FileSource::~FileSource() {
  Stop();
  ForgetSource(this);
}

Status FileSource::Start() {
  JUNCTION_RETURN_IF_ERROR(MakeDir(config_.dir));
  if (!config_.move_to.empty()) JUNCTION_RETURN_IF_ERROR(MakeDir(config_.move_to));
  JUNCTION_RETURN_IF_ERROR(MakeDir(ErrorDir(config_)));
  if (thread_.joinable()) return Status::Ok();
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this] {
    spdlog::info("channel {}: polling {} for {}", channel_, config_.dir, config_.pattern);
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      lock.unlock();
      auto n = PollOnce();
      if (!n.ok()) spdlog::warn("channel {}: file source: {}", channel_, n.status().message());
      lock.lock();
      wake_.wait_for(lock, config_.poll_interval, [this] { return stopping_; });
    }
  });
  return Status::Ok();
}

void FileSource::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

FileSourceStats FileSource::stats() const { return {files_, messages_, failed_}; }

Result<std::size_t> FileSource::PollOnce() {
  std::error_code ec;
  if (!fs::is_directory(config_.dir, ec)) {
    return Status::Io("file source directory " + config_.dir + " does not exist");
  }
  // Candidates: regular files matching the pattern (FNM_PERIOD: hidden and
  // temporary ".name" files never match), old enough, in name order.
  std::vector<fs::path> files;
  const auto now = fs::file_time_type::clock::now();
  for (fs::directory_iterator it(config_.dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code e;
    if (!it->is_regular_file(e)) continue;
    const std::string name = it->path().filename().string();
    if (::fnmatch(config_.pattern.c_str(), name.c_str(), FNM_PERIOD) != 0) continue;
    const auto mtime = it->last_write_time(e);
    if (e || now - mtime < config_.min_age) continue;
    files.push_back(it->path());
  }
  if (ec) return Status::Io("cannot list " + config_.dir + ": " + ec.message());
  std::sort(files.begin(), files.end());

  std::size_t stored_total = 0;
  for (const fs::path& path : files) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_ && thread_.joinable()) break;
    }
    const std::string name = path.filename().string();
    if (IsUnmoved(this, name)) {
      // Stored earlier; only the move failed. Never store it twice.
      if (MoveOrDelete(config_, path).ok()) SetUnmoved(this, name, false);
      continue;
    }
    auto text = ReadFile(path, config_.max_file_bytes);
    if (!text.ok()) {
      if (text.status().code() != StatusCode::kOutOfRange) {
        spdlog::warn("channel {}: file {}: {}", channel_, name, text.status().message());
        continue;  // perhaps gone or unreadable right now; try again next poll
      }
      Reject(path, text.status().message(), channel_, config_, &failed_);
      continue;
    }
    std::vector<std::string> messages;
    hl7::MessageSplitter splitter(*text);
    hl7::MessageSpan span;
    while (splitter.Next(&span)) {
      messages.push_back(
          NormalizeSegments(std::string_view(*text).substr(span.offset, span.length)));
    }
    if (!splitter.status().ok()) {
      Reject(path, "cannot split into messages: " + splitter.status().ToString(), channel_, config_,
             &failed_);
      continue;
    }
    if (messages.empty()) {
      Reject(path, "no HL7 message (MSH) found", channel_, config_, &failed_);
      continue;
    }
    auto stored = StoreAll(store_, channel_, name, std::move(messages), on_stored_, &messages_);
    if (!stored.ok()) {
      // Not the file's fault (store closed or failing): leave it for the next poll.
      spdlog::error("channel {}: file {}: messages not stored: {}", channel_, name,
                    stored.status().message());
      return stored.status();
    }
    stored_total += *stored;
    files_.fetch_add(1);
    Status moved = MoveOrDelete(config_, path);
    if (!moved.ok()) {
      SetUnmoved(this, name, true);
      spdlog::error("channel {}: file {}: stored, but {}", channel_, name, moved.message());
    } else {
      spdlog::debug("channel {}: file {}: {} messages stored", channel_, name, *stored);
    }
  }
  return stored_total;
}

}  // namespace junction::engine
