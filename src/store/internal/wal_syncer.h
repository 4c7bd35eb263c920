// WalSyncer: makes the writer's commits durable on a second thread
// (pipelined group commit).
//
// With synchronous=NORMAL, SQLite's COMMIT writes the WAL but does not fsync
// it. The writer hands each finished batch to the syncer and goes on with the
// next one; the syncer fdatasyncs the WAL once for every batch that piled up
// meanwhile and only then reports them, in submission order. A caller still
// hears "stored" only once its commit is on disk, as with synchronous=FULL,
// but the next batch is executed and written during the fsync instead of
// after it, so the writer is no longer idle for the disk's flush latency.
//
//   WalSyncer syncer;
//   JUNCTION_RETURN_IF_ERROR(syncer.Start(db_path + "-wal"));
//   syncer.Submit(/*committed=*/true, [](const Status& synced) { /* callbacks */ });
//   syncer.Stop();  // reports everything submitted, then joins
//
// Committed data is visible to readers before it is synced; that only widens
// the window in which a crash makes something happen twice (at-least-once),
// never what was acknowledged.
//
// Thread safety: Submit may be called from any thread; reports run on the
// syncer thread, one at a time, in submission order. Submit waits while
// kMaxPendingJobs are waiting (the writer cannot run ahead without bound).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "junction/hl7/status.h"

namespace junction::store::internal {

class WalSyncer {
 public:
  // Gets the status of the fsync that covered the job: Ok, or the I/O error
  // (for a job submitted with committed=false: always Ok, nothing to sync).
  using Report = std::function<void(const Status& synced)>;
  static constexpr std::size_t kMaxPendingJobs = 64;

  WalSyncer() = default;
  WalSyncer(const WalSyncer&) = delete;
  WalSyncer& operator=(const WalSyncer&) = delete;
  ~WalSyncer();

  // Opens `wal_path` (which must exist: the WAL of an open connection), syncs
  // its directory entry once and starts the thread.
  Status Start(const std::string& wal_path);
  bool running() const { return fd_ >= 0; }
  void Submit(bool committed, Report report);
  // Reports everything submitted, then joins. Idempotent.
  void Stop();
  bool OnSyncerThread() const;
  std::uint64_t syncs() const;

 private:
  struct Job {
    bool committed;
    Report report;
  };
  void Loop();

  int fd_ = -1;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_;   // a job arrived or stopping
  std::condition_variable space_cv_;  // a job was taken
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::thread::id id_;
  std::uint64_t syncs_ = 0;
};

}  // namespace junction::store::internal
