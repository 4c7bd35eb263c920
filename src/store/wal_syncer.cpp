#include "store/internal/wal_syncer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

namespace junction::store::internal {
namespace {

Status ErrnoStatus(const std::string& what) {
  return Status::Io("store: " + what + ": " + std::strerror(errno));
}

// A new file's directory entry is durable only once its directory is synced.
Status SyncDirectoryOf(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("cannot open " + dir);
  const int rc = ::fsync(fd);
  Status status = rc == 0 ? Status::Ok() : ErrnoStatus("cannot sync " + dir);
  ::close(fd);
  return status;
}

}  // namespace

WalSyncer::~WalSyncer() { Stop(); }

Status WalSyncer::Start(const std::string& wal_path) {
  if (fd_ >= 0) return Status::Invalid("store: the WAL syncer is already running");
  const int fd = ::open(wal_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("cannot open the WAL " + wal_path);
  Status status = SyncDirectoryOf(wal_path);
  if (status.ok() && ::fdatasync(fd) != 0) status = ErrnoStatus("cannot sync the WAL");
  if (!status.ok()) {
    ::close(fd);
    return status;
  }
  fd_ = fd;
  std::lock_guard lock(mu_);
  thread_ = std::thread([this] { Loop(); });
  id_ = thread_.get_id();
  return Status::Ok();
}

void WalSyncer::Submit(bool committed, Report report) {
  {
    std::unique_lock lock(mu_);
    space_cv_.wait(lock, [&] { return queue_.size() < kMaxPendingJobs || stopping_; });
    queue_.push_back(Job{committed, std::move(report)});
  }
  work_cv_.notify_one();
}

void WalSyncer::Loop() {
  std::deque<Job> jobs;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) return;  // stopping and nothing left
      jobs.swap(queue_);
    }
    space_cv_.notify_all();
    bool any_committed = false;
    for (const Job& job : jobs) any_committed = any_committed || job.committed;
    Status synced;
    if (any_committed) {
      // One fsync covers every commit written before it.
      if (::fdatasync(fd_) != 0) synced = ErrnoStatus("syncing the WAL failed");
      std::lock_guard lock(mu_);
      ++syncs_;
    }
    for (Job& job : jobs) job.report(job.committed ? synced : Status::Ok());
    jobs.clear();
  }
}

void WalSyncer::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  space_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

bool WalSyncer::OnSyncerThread() const {
  std::lock_guard lock(mu_);
  return std::this_thread::get_id() == id_;
}

std::uint64_t WalSyncer::syncs() const {
  std::lock_guard lock(mu_);
  return syncs_;
}

}  // namespace junction::store::internal
