// Crash safety: every append whose callback reported success must survive a
// SIGKILL of the process, exactly once.
//
// A forked child appends from several threads and writes each acknowledged
// (id, control id) to a pipe from the commit callback, i.e. at the moment an
// MLLP connection would send its ACK. The parent kills the child at a random
// moment, then checks the database file directly.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <semaphore>
#include <string>
#include <thread>
#include <vector>

#include "junction/store/store.h"
#include "unit/store/store_test_util.h"

namespace junction::store {
namespace {

using testing::SampleMessage;
using testing::TempDir;

// One acknowledged append; 16 bytes, so each write() to the pipe is atomic.
struct AckRecord {
  std::int64_t id;
  std::uint32_t control_seq;  // the seq in the control id that was sent
  std::uint16_t thread;
  std::uint16_t duplicate;
};
static_assert(sizeof(AckRecord) == 16);

constexpr int kThreads = 6;
constexpr int kCycles = 6;

std::string ControlId(int cycle, int thread, std::uint32_t seq) {
  return "c" + std::to_string(cycle) + "-t" + std::to_string(thread) + "-" + std::to_string(seq);
}

// Runs in the child; never returns.
[[noreturn]] void RunChild(const std::string& path, int cycle, int fd) {
  StoreOptions options;
  options.sqlite_path = path;
  options.detect_duplicates = true;
  Result<std::unique_ptr<Store>> store = Store::Open(options);
  if (!store.ok()) _exit(3);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::binary_semaphore acked(0);
      for (std::uint32_t seq = 0; seq < 1'000'000; ++seq) {
        // Every 5th message re-sends the previous one, like a sender that
        // missed its ACK: it must be answered as a duplicate, not stored twice.
        std::uint32_t control_seq = (seq % 5 == 4) ? seq - 1 : seq;
        IncomingMessage m = SampleMessage(ControlId(cycle, t, control_seq));
        Status queued = (*store)->Append(std::move(m), [&, t, control_seq](Result<AppendResult> r) {
          if (r.ok()) {
            AckRecord rec{r->id, control_seq, static_cast<std::uint16_t>(t),
                          static_cast<std::uint16_t>(r->duplicate ? 1 : 0)};
            if (write(fd, &rec, sizeof rec) != static_cast<ssize_t>(sizeof rec)) _exit(4);
          }
          acked.release();
        });
        if (!queued.ok()) _exit(5);
        acked.acquire();
      }
    });
  }
  // The parent kills us long before this; the bound keeps a lost child finite.
  std::this_thread::sleep_for(std::chrono::seconds(20));
  _exit(6);
}

// Reads what is available from `fd` into `buffer` for up to `timeout_ms`.
// Returns false at end of file.
bool ReadSome(int fd, std::string& buffer, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) <= 0) return true;
  char chunk[4096];
  ssize_t n = read(fd, chunk, sizeof chunk);
  if (n <= 0) return false;
  buffer.append(chunk, static_cast<std::size_t>(n));
  return true;
}

struct Checker {
  sqlite3* db = nullptr;
  explicit Checker(const std::string& path) {
    sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);  // RW: WAL recovery
  }
  ~Checker() { sqlite3_close_v2(db); }

  std::string Text(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    std::string out = "<error>";
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      out = text ? reinterpret_cast<const char*>(text) : "";
    }
    sqlite3_finalize(stmt);
    return out;
  }
  std::string ControlIdOf(std::int64_t id) {
    return Text("SELECT control_id FROM messages WHERE id = " + std::to_string(id));
  }
  std::int64_t CountControlId(const std::string& control_id) {
    sqlite3_stmt* stmt = nullptr;
    std::int64_t n = -1;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM messages WHERE control_id = ?", -1, &stmt,
                           nullptr) == SQLITE_OK) {
      sqlite3_bind_text(stmt, 1, control_id.c_str(), -1, SQLITE_TRANSIENT);
      if (sqlite3_step(stmt) == SQLITE_ROW) n = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
    return n;
  }
};

TEST(StoreCrash, AcknowledgedAppendsSurviveSigkill) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  const std::string path = dir.File("crash/junction.db");
  std::mt19937 rng(std::random_device{}());
  std::size_t total_acks = 0;

  for (int cycle = 0; cycle < kCycles; ++cycle) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      RunChild(path, cycle, fds[1]);
    }
    close(fds[1]);

    // Wait for the first acks (so the child is really writing), then let it
    // run a random while longer and kill it mid-stream.
    std::string buffer;
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    bool open = true;
    while (open && buffer.size() < 20 * sizeof(AckRecord) &&
           std::chrono::steady_clock::now() < give_up) {
      open = ReadSome(fds[0], buffer, 50);
    }
    auto kill_at = std::chrono::steady_clock::now() +
                   std::chrono::milliseconds(std::uniform_int_distribution<int>(20, 300)(rng));
    while (open && std::chrono::steady_clock::now() < kill_at) open = ReadSome(fds[0], buffer, 5);
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int wstatus = 0;
    ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(wstatus)) << "child exited early with " << WEXITSTATUS(wstatus);
    // Everything written before the kill is still in the pipe.
    while (ReadSome(fds[0], buffer, 1000)) {
    }
    close(fds[0]);
    ASSERT_EQ(buffer.size() % sizeof(AckRecord), 0u);
    std::size_t n = buffer.size() / sizeof(AckRecord);
    ASSERT_GE(n, 20u) << "cycle " << cycle;
    total_acks += n;

    Checker check(path);
    ASSERT_NE(check.db, nullptr);
    ASSERT_EQ(check.Text("PRAGMA integrity_check"), "ok") << "cycle " << cycle;
    std::map<std::string, std::int64_t> first_id;  // control id -> id acked as new
    std::vector<AckRecord> dups;
    for (std::size_t i = 0; i < n; ++i) {
      AckRecord rec;
      std::memcpy(&rec, buffer.data() + i * sizeof rec, sizeof rec);
      std::string control_id = ControlId(cycle, rec.thread, rec.control_seq);
      ASSERT_EQ(check.ControlIdOf(rec.id), control_id) << "acked id " << rec.id << " lost";
      ASSERT_EQ(check.CountControlId(control_id), 1) << control_id << " not stored exactly once";
      if (rec.duplicate) {
        dups.push_back(rec);
      } else {
        ASSERT_TRUE(first_id.emplace(control_id, rec.id).second) << control_id << " acked new twice";
      }
    }
    for (const AckRecord& d : dups) {
      auto it = first_id.find(ControlId(cycle, d.thread, d.control_seq));
      if (it != first_id.end()) {
        EXPECT_EQ(it->second, d.id);
      }
    }
  }
  EXPECT_GT(total_acks, 0u);

  // The store itself reopens after the crashes and keeps working.
  StoreOptions options;
  options.sqlite_path = path;
  Result<std::unique_ptr<Store>> store = Store::Open(options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_TRUE((*store)->AppendAndWait(SampleMessage("after-crash")).ok());
}

}  // namespace
}  // namespace junction::store
