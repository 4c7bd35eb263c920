// The SQLite ResourceStore (private to junction::fhir_store): one writer
// thread with a queue and group commit (resource_store.cpp), a pool of
// reader connections (resource_reads.cpp). See resource_store.h for the
// contract.
//
// Thread safety: every public method may be called from any thread; the
// writer connection and ResourceWriter belong to the writer thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "fhir/store/audit_trail.h"
#include "fhir/store/resource_writer.h"
#include "fhir/store/sqlite_conn.h"
#include "junction/fhir/resource_store.h"

namespace junction::fhir::store_internal {

class ResourceStoreImpl final : public ResourceStore {
 public:
  explicit ResourceStoreImpl(const ResourceStoreOptions& options);
  ~ResourceStoreImpl() override;

  Status Init();

  Result<StoredResource> Read(std::string_view type, std::string_view id,
                              const Access& access) const override;
  Result<StoredResource> ReadVersion(std::string_view type, std::string_view id,
                                     std::int64_t version, const Access& access) const override;
  Result<HistoryPage> History(const HistoryRequest& request, const Access& access) const override;
  Result<SearchPage> Search(const SearchRequest& request, const Access& access) const override;
  Result<SearchPage> Everything(std::string_view patient_id, std::size_t offset, std::size_t count,
                                const Access& access) const override;

  void Apply(WriteBatch batch, const Access& access, WriteCallback done) override;
  Result<WriteOutcome> ApplyAndWait(WriteBatch batch, const Access& access) override;
  void AppendAudit(AuditRecord record, std::function<void(Status)> done) override;
  Status Close() override;

 private:
  // A queued write: a WriteBatch, or one audit event.
  struct Job {
    bool is_audit = false;
    WriteBatch batch;
    Access access;
    WriteCallback done;
    AuditRecord audit;
    std::function<void(Status)> audit_done;
    Result<WriteOutcome> result = Status(StatusCode::kInternal, "not run");
  };

  Status OpenWriter();
  Status Enqueue(Job job);
  void WriterLoop();
  void RunGroup(std::vector<Job>& jobs);
  void RunJob(Job& job, std::int64_t now_us);
  std::string NewId();
  std::int64_t NextTimestamp();

  // Readers (resource_reads.cpp): a connection (with the audit trail
  // attached when its file exists) and its prepared statements.
  struct Reader {
    explicit Reader(SqliteDb connection) : db(std::move(connection)), cache(db.get()) {}
    SqliteDb db;
    StmtCache cache;  // destroyed before db
  };
  Result<std::unique_ptr<Reader>> AcquireReader() const;
  void ReleaseReader(std::unique_ptr<Reader> reader) const;
  template <typename F>
  auto WithReader(F&& f) const -> decltype(f(static_cast<sqlite3*>(nullptr)));

  ResourceStoreOptions options_;
  std::string path_;
  std::string audit_path_;  // AuditTrailPath(path_)
  std::string temp_dir_;    // for ":memory:", removed by Close

  SqliteDb writer_db_;
  std::unique_ptr<ResourceWriter> writer_;
  AuditAppender audit_appender_;  // writer thread
  std::thread writer_thread_;
  std::thread::id writer_id_;
  std::mt19937_64 random_;
  std::int64_t last_us_ = 0;

  std::mutex mu_;
  std::condition_variable writer_cv_;
  std::deque<Job> queue_;
  bool closing_ = false;

  std::mutex close_mu_;
  bool closed_ = false;
  Status close_status_;
  std::size_t drain_failures_ = 0;  // writer thread only, read after join

  mutable std::mutex readers_mu_;
  mutable std::vector<std::unique_ptr<Reader>> idle_readers_;
  mutable bool readers_closed_ = false;
};

}  // namespace junction::fhir::store_internal
