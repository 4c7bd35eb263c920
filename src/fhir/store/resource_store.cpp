// ResourceStore::Open, the writer thread (queue, group commit, callbacks)
// and Close. Reads are in resource_reads.cpp, write semantics in write_txn.cpp.
#include <stdlib.h>  // mkdtemp

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <system_error>
#include <utility>

#include "fhir/store/audit_trail.h"
#include "fhir/store/resource_store_impl.h"
#include "fhir/store/schema.h"
#include "fhir/store/write_txn.h"

namespace junction::fhir {

Result<std::unique_ptr<ResourceStore>> ResourceStore::Open(const ResourceStoreOptions& options) {
  if (options.sqlite_path.empty()) return Status::Invalid("FHIR store: sqlite_path is empty");
  if (options.max_batch == 0 || options.max_queue == 0 || options.max_resource_bytes == 0) {
    return Status::Invalid(
        "FHIR store: max_batch, max_queue and max_resource_bytes must be at least 1");
  }
  auto store = std::make_unique<store_internal::ResourceStoreImpl>(options);
  Status status = store->Init();
  if (!status.ok()) {
    (void)store->Close();
    return status;
  }
  return std::unique_ptr<ResourceStore>(std::move(store));
}

std::string AuditTrailPath(std::string_view sqlite_path) {
  std::string path(sqlite_path);
  constexpr std::string_view kExt = ".db";
  if (path.size() > kExt.size() &&
      path.compare(path.size() - kExt.size(), kExt.size(), kExt) == 0) {
    path.insert(path.size() - kExt.size(), "-audit");
    return path;
  }
  return path + "-audit";
}

int FailureStatus(const Status& status) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kOutOfRange:
      return 413;
    default:
      return 500;
  }
}

namespace store_internal {
namespace {

namespace fs = std::filesystem;

Status ClosedError() { return Status::Io("the FHIR store is closed"); }

}  // namespace

ResourceStoreImpl::ResourceStoreImpl(const ResourceStoreOptions& options)
    : options_(options), random_(std::random_device{}()) {}

ResourceStoreImpl::~ResourceStoreImpl() { (void)Close(); }

Status ResourceStoreImpl::Init() {
  if (options_.sqlite_path == ":memory:") {
    if (options_.read_only)
      return Status::Invalid("FHIR store: a :memory: store cannot be read-only");
    std::error_code ec;
    fs::path base = fs::temp_directory_path(ec);
    if (ec) return Status::Io("FHIR store: no temporary directory: " + ec.message());
    std::string pattern = (base / "junction-fhir-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      return Status::Io("FHIR store: cannot create a temporary directory");
    }
    temp_dir_ = pattern;
    path_ = (fs::path(temp_dir_) / "fhir.db").string();
  } else {
    path_ = options_.sqlite_path;
  }
  audit_path_ = AuditTrailPath(path_);
  if (options_.read_only) {
    std::error_code ec;
    if (!fs::exists(path_, ec)) return Status::Io("FHIR store: no database at " + path_);
    Result<std::unique_ptr<Reader>> reader = AcquireReader();
    if (!reader.ok()) return reader.status();
    ReleaseReader(std::move(*reader));
    return Status::Ok();
  }
  fs::path parent = fs::path(path_).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    fs::create_directories(parent, ec);
    if (ec) return Status::Io("FHIR store: cannot create " + parent.string() + ": " + ec.message());
  }
  JUNCTION_RETURN_IF_ERROR(OpenWriter());
  writer_thread_ = std::thread([this] { WriterLoop(); });
  return Status::Ok();
}

Status ResourceStoreImpl::OpenWriter() {
  Result<SqliteDb> db = OpenSqlite(path_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 10'000);
  if (!db.ok()) return Status::Io(db.status().message() + " (" + path_ + ")");
  writer_db_ = std::move(*db);
  sqlite3* w = writer_db_.get();
  {
    Result<SqliteStmt> mode = SqliteStmt::Prepare(w, "PRAGMA journal_mode = WAL");
    if (!mode.ok()) return mode.status();
    int rc = mode->Step();
    if (rc != SQLITE_ROW || mode->ColumnText(0) != "wal") {
      return Status::Io("FHIR store: the file system does not support WAL mode");
    }
  }
  JUNCTION_RETURN_IF_ERROR(
      ExecSql(w, options_.durable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL"));
  JUNCTION_RETURN_IF_ERROR(ExecSql(w,
                                   "PRAGMA journal_size_limit = 67108864;"
                                   "PRAGMA cache_size = -16384;"
                                   "PRAGMA temp_store = MEMORY;"));
  // The audit trail: its own file, written in the same group commits.
  JUNCTION_RETURN_IF_ERROR(AttachAuditTrail(w, audit_path_));
  {
    Result<SqliteStmt> mode = SqliteStmt::Prepare(w, "PRAGMA audit.journal_mode = WAL");
    if (!mode.ok()) return mode.status();
    int rc = mode->Step();
    if (rc != SQLITE_ROW || mode->ColumnText(0) != "wal") {
      return Status::Io("FHIR store: the file system does not support WAL mode (audit trail)");
    }
  }
  JUNCTION_RETURN_IF_ERROR(ExecSql(w, options_.durable ? "PRAGMA audit.synchronous = FULL"
                                                       : "PRAGMA audit.synchronous = NORMAL"));
  JUNCTION_RETURN_IF_ERROR(ExecSql(w,
                                   "PRAGMA audit.journal_size_limit = 67108864;"
                                   "PRAGMA audit.cache_size = -4096;"));
  JUNCTION_RETURN_IF_ERROR(ExecSql(w, kAuditSchemaSql));
  JUNCTION_RETURN_IF_ERROR(ExecSql(w, "BEGIN IMMEDIATE"));
  Status status = ExecSql(w, kSchemaSql);
  std::string version;
  if (status.ok()) {
    std::string insert = "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', '" +
                         std::to_string(kSchemaVersion) + "')";
    status = ExecSql(w, insert.c_str());
  }
  if (status.ok()) {
    Result<SqliteStmt> get =
        SqliteStmt::Prepare(w, "SELECT value FROM meta WHERE key = 'schema_version'");
    if (!get.ok()) {
      status = get.status();
    } else if (get->Step() == SQLITE_ROW) {
      version = get->ColumnText(0);
    }
  }
  if (status.ok() && version != std::to_string(kSchemaVersion)) {
    status = Status::Io("FHIR store: schema version " + version + " of " + path_ +
                        " is not the supported " + std::to_string(kSchemaVersion));
  }
  JUNCTION_RETURN_IF_ERROR(ExecSql(w, status.ok() ? "COMMIT" : "ROLLBACK"));
  JUNCTION_RETURN_IF_ERROR(status);
  writer_ = std::make_unique<ResourceWriter>(w);
  Result<std::int64_t> last = writer_->MaxLastUpdated();
  if (!last.ok()) return last.status();
  last_us_ = *last;
  return Status::Ok();
}

// ---------------------------------------------------------------- queueing

Status ResourceStoreImpl::Enqueue(Job job) {
  std::unique_lock lock(mu_);
  if (closing_ || !writer_thread_.joinable()) return ClosedError();
  // Callbacks (on the writer thread) may queue more even when full: only
  // the writer makes room, so it must never be refused its own follow-ups.
  if (queue_.size() >= options_.max_queue && std::this_thread::get_id() != writer_id_) {
    return Status::OutOfRange("FHIR store write queue is full");
  }
  queue_.push_back(std::move(job));
  if (queue_.size() == 1) writer_cv_.notify_one();
  return Status::Ok();
}

void ResourceStoreImpl::Apply(WriteBatch batch, const Access& access, WriteCallback done) {
  if (options_.read_only) {
    if (done) done(Status::Io("the FHIR store is open read-only"));
    return;
  }
  Job job;
  job.batch = std::move(batch);
  job.access = access;
  job.done = std::move(done);
  // On refusal the job comes back untouched only through this copy of the callback.
  WriteCallback refused = job.done;
  Status status = Enqueue(std::move(job));
  if (!status.ok() && refused) refused(std::move(status));
}

Result<WriteOutcome> ResourceStoreImpl::ApplyAndWait(WriteBatch batch, const Access& access) {
  {
    std::lock_guard lock(mu_);
    if (std::this_thread::get_id() == writer_id_) {
      return Status::Invalid("FHIR store: ApplyAndWait called from a store callback");
    }
  }
  auto promise = std::make_shared<std::promise<Result<WriteOutcome>>>();
  std::future<Result<WriteOutcome>> future = promise->get_future();
  Apply(std::move(batch), access,
        [promise](Result<WriteOutcome> result) { promise->set_value(std::move(result)); });
  return future.get();
}

void ResourceStoreImpl::AppendAudit(AuditRecord record, std::function<void(Status)> done) {
  if (options_.read_only) {
    if (done) done(Status::Io("the FHIR store is open read-only"));
    return;
  }
  Job job;
  job.is_audit = true;
  job.audit = std::move(record);
  job.audit_done = std::move(done);
  std::function<void(Status)> refused = job.audit_done;
  Status status = Enqueue(std::move(job));
  if (!status.ok() && refused) refused(std::move(status));
}

// ---------------------------------------------------------------- the writer

std::string ResourceStoreImpl::NewId() {
  // UUID version 4 (random), as FHIR servers commonly assign.
  std::uint64_t hi = random_(), lo = random_();
  hi = (hi & ~0xF000ULL) | 0x4000ULL;                  // version 4
  lo = (lo & ~(0xC000ULL << 48)) | (0x8000ULL << 48);  // variant 10
  char buf[64];
  std::snprintf(buf, sizeof buf, "%08llx-%04llx-%04llx-%04llx-%012llx",
                static_cast<unsigned long long>(hi >> 32),
                static_cast<unsigned long long>((hi >> 16) & 0xFFFF),
                static_cast<unsigned long long>(hi & 0xFFFF),
                static_cast<unsigned long long>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFULL));
  return buf;
}

std::int64_t ResourceStoreImpl::NextTimestamp() {
  auto now =
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  std::int64_t us = static_cast<std::int64_t>(now.time_since_epoch().count()) * 1000;
  last_us_ = std::max(last_us_, us);  // never before an earlier version
  return last_us_;
}

void ResourceStoreImpl::WriterLoop() {
  {
    std::lock_guard lock(mu_);
    writer_id_ = std::this_thread::get_id();
  }
  std::vector<Job> jobs;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      writer_cv_.wait(lock, [&] { return !queue_.empty() || closing_; });
      if (queue_.empty()) return;  // closing and nothing left
      std::size_t n = std::min(queue_.size(), options_.max_batch);
      for (std::size_t i = 0; i < n; ++i) {
        jobs.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    RunGroup(jobs);
    jobs.clear();
  }
}

void ResourceStoreImpl::RunJob(Job& job, std::int64_t now_us) {
  if (job.is_audit) {
    Result<std::int64_t> seq = audit_appender_.Append(writer_db_.get(), job.audit, now_us);
    job.result =
        seq.ok() ? Result<WriteOutcome>(WriteOutcome{}) : Result<WriteOutcome>(seq.status());
    return;
  }
  WriteContext ctx{writer_.get(), &job.access, now_us, options_.max_resource_bytes,
                   [this] { return NewId(); }};
  job.result = ApplyWriteBatch(ctx, job.batch);
}

void ResourceStoreImpl::RunGroup(std::vector<Job>& jobs) {
  sqlite3* w = writer_db_.get();
  Status group = ExecSql(w, "BEGIN IMMEDIATE");
  std::int64_t now_us = NextTimestamp();
  for (Job& job : jobs) {
    if (!group.ok()) {
      job.result = group;
      continue;
    }
    RunJob(job, now_us);
    // A failure that ended the SQLite transaction (disk full, I/O) ends the group.
    if (sqlite3_get_autocommit(w) != 0)
      group = Status::Io("FHIR store: the transaction was aborted");
  }
  if (group.ok()) group = ExecSql(w, "COMMIT");
  if (!group.ok()) {
    if (sqlite3_get_autocommit(w) == 0) (void)ExecSql(w, "ROLLBACK");
    for (Job& job : jobs) job.result = group;
  }
  bool draining;
  {
    std::lock_guard lock(mu_);
    draining = closing_;
  }
  // Only now, after the commit, does anyone hear about their write.
  for (Job& job : jobs) {
    if (draining && !job.result.ok()) ++drain_failures_;
    if (job.is_audit) {
      if (job.audit_done) job.audit_done(job.result.ok() ? Status::Ok() : job.result.status());
    } else if (job.done) {
      job.done(std::move(job.result));
    }
  }
}

// ---------------------------------------------------------------- closing

Status ResourceStoreImpl::Close() {
  {
    std::lock_guard lock(mu_);
    // The writer cannot wait for itself to finish.
    if (std::this_thread::get_id() == writer_id_) {
      return Status::Invalid("FHIR store: Close called from a store callback");
    }
  }
  std::lock_guard close_lock(close_mu_);
  if (closed_) return close_status_;
  closed_ = true;
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  writer_cv_.notify_all();
  if (writer_thread_.joinable()) writer_thread_.join();  // drains the queue first
  writer_.reset();
  audit_appender_ = AuditAppender();  // its statement goes before the connection
  writer_db_.reset();
  {
    std::lock_guard lock(readers_mu_);
    readers_closed_ = true;
    idle_readers_.clear();
  }
  if (drain_failures_ != 0) {
    close_status_ = Status::Io("FHIR store: " + std::to_string(drain_failures_) +
                               " queued writes failed while closing");
  }
  if (!temp_dir_.empty()) {
    std::error_code ec;
    fs::remove_all(temp_dir_, ec);
  }
  return close_status_;
}

}  // namespace store_internal
}  // namespace junction::fhir
