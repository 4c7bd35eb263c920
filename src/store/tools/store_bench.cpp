// junction_store_bench: durable append throughput of the message store.
//
// Each "connection" is a thread that behaves like an MLLP sender waiting for
// its ACK: it appends one message, waits for the commit callback, then sends
// the next. That is the worst case for a store and exactly what group commit
// is for. Prints one line of figures; asserts nothing.
//
// --pipeline: each message goes the whole way through the writer like a
// channel with two destinations: Append, RecordProcessing (transformed bytes +
// 2 queued deliveries), then UpdateDelivery (sent) for both. One feeder keeps
// --connections messages in flight; msg_per_s counts finished messages (4
// writer operations each).
//
// --report-rows N: fills the store with N processed messages (2 deliveries
// each, a few still queued) through the same pipeline, then times Report,
// ListQueued, ListForProcessing and one Prune call of 500 rows.
//
//   junction_store_bench --connections 32 --seconds 5 [--path /tmp/b.db]
//       [--size 1024] [--max-batch 512] [--max-delay-us 0] [--no-durable] [--dedup]
//       [--pipeline] [--report-rows 1000000]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <semaphore>
#include <string>
#include <thread>
#include <vector>

#include "junction/store/store.h"

namespace {

using junction::Result;
using junction::Status;
using junction::store::AppendResult;
using junction::store::IncomingMessage;
using junction::store::Store;
using junction::store::StoreOptions;
using Clock = std::chrono::steady_clock;

struct Args {
  int connections = 1;
  double seconds = 3;
  std::size_t size = 1024;
  bool pipeline = false;
  std::uint64_t report_rows = 0;
  StoreOptions options;
};

bool ParseArgs(int argc, char** argv, Args& args) {
  args.options.sqlite_path = ":memory:";  // a private temp file, fsync'd like any other
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--no-durable") {
      args.options.durable = false;
    } else if (a == "--dedup") {
      args.options.detect_duplicates = true;
    } else if (a == "--pipeline") {
      args.pipeline = true;
    } else if ((v = next()) == nullptr) {
      std::fprintf(stderr, "missing value for %s\n", a.c_str());
      return false;
    } else if (a == "--connections") {
      args.connections = std::max(1, std::atoi(v));
    } else if (a == "--seconds") {
      args.seconds = std::atof(v);
    } else if (a == "--size") {
      args.size = static_cast<std::size_t>(std::atol(v));
    } else if (a == "--path") {
      args.options.sqlite_path = v;
    } else if (a == "--report-rows") {
      args.report_rows = static_cast<std::uint64_t>(std::atoll(v));
    } else if (a == "--max-batch") {
      args.options.max_batch = static_cast<std::size_t>(std::atol(v));
    } else if (a == "--max-delay-us") {
      args.options.max_delay_us = std::atol(v);
    } else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return false;
    }
  }
  return true;
}

IncomingMessage MakeMessage(int conn, std::uint64_t seq, std::size_t size) {
  IncomingMessage m;
  m.control_id = "C" + std::to_string(conn) + "-" + std::to_string(seq);
  m.channel = "bench";
  m.peer = "127.0.0.1:" + std::to_string(40000 + conn);
  m.message_type = "ADT";
  m.trigger_event = "A01";
  m.message_structure = "ADT_A01";
  m.version = "2.5.1";
  m.sending_application = "BENCH";
  m.sending_facility = "LAB";
  m.patient_id = std::to_string(100000 + seq % 5000);
  m.raw = "MSH|^~\\&|BENCH|LAB|JUNCTION|HOSP|20240101120000||ADT^A01^ADT_A01|" + m.control_id +
          "|P|2.5.1\rPID|1||" + m.patient_id + "^^^HOSP^MR||DOE^JOHN\r";
  if (m.raw.size() < size) m.raw.append(size - m.raw.size(), 'x');
  return m;
}

using junction::store::DeliveryId;
using junction::store::DeliveryState;
using junction::store::DeliveryUpdate;
using junction::store::MessageState;
using junction::store::NewDelivery;
using junction::store::ProcessingOutcome;

// One message through the writer as a two-destination channel would do it;
// `done` runs (on the writer thread) after the last delivery is recorded, with
// false when any step failed. Every step after Append is issued from the
// previous step's callback, which never waits for queue room.
void RunMessage(Store& store, IncomingMessage m, bool leave_queued,
                std::function<void(bool)> done) {
  std::string transformed = m.raw;  // a same-sized channel output
  Status queued = store.Append(std::move(m), [&store, transformed = std::move(transformed),
                                              leave_queued, done](Result<AppendResult> r) mutable {
    if (!r.ok()) return done(false);
    ProcessingOutcome p;
    p.id = r->id;
    p.state = MessageState::kQueued;
    p.transformed = std::move(transformed);
    p.has_transformed = true;
    p.deliveries.resize(2);
    p.deliveries[0].destination = "lab";
    p.deliveries[1].destination = "ris";
    Status s = store.RecordProcessing(
        std::move(p), [&store, leave_queued, done](Result<std::vector<DeliveryId>> ids) {
          if (!ids.ok()) return done(false);
          if (leave_queued) return done(true);
          auto remaining = std::make_shared<std::atomic<int>>(2);
          auto failed = std::make_shared<std::atomic<bool>>(false);
          for (DeliveryId id : *ids) {
            DeliveryUpdate u;
            u.id = id;
            u.state = DeliveryState::kSent;
            u.attempts = 1;
            u.response = "MSH|^~\\&|LAB|HOSP|JUNCTION|HOSP|20240101120000||ACK^A01|" +
                         std::to_string(id) + "|P|2.5.1\rMSA|AA|" + std::to_string(id) + "\r";
            Status q = store.UpdateDelivery(std::move(u), [remaining, failed, done](Status st) {
              if (!st.ok()) failed->store(true);
              if (remaining->fetch_sub(1) == 1) done(!failed->load());
            });
            if (!q.ok()) {
              failed->store(true);
              if (remaining->fetch_sub(1) == 1) done(false);
            }
          }
        });
    if (!s.ok()) done(false);
  });
  if (!queued.ok()) done(false);
}

// At most `limit` messages in flight: Acquire blocks the feeder, Release runs
// on the writer thread. A mutex and condition variable, so waiting costs no
// CPU the writer could use.
class Window {
 public:
  explicit Window(std::size_t limit) : limit_(limit) {}
  void Acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return in_flight_ < limit_; });
    ++in_flight_;
  }
  void Release() {
    std::lock_guard lock(mu_);
    --in_flight_;
    cv_.notify_all();
  }
  void Drain() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return in_flight_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::size_t limit_;
  std::size_t in_flight_ = 0;
};

double Millis(Clock::time_point since) {
  return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
}

// --report-rows: fill, then time the reads that must stay fast on big stores.
int RunReport(Args args) {
  args.options.queue_full = junction::store::QueueFullPolicy::kBlock;
  Result<std::unique_ptr<Store>> opened = Store::Open(args.options);
  if (!opened.ok()) {
    std::fprintf(stderr, "open: %s\n", opened.status().ToString().c_str());
    return 3;
  }
  Store& store = **opened;
  std::atomic<std::uint64_t> failures{0};
  Window window(4096);
  Clock::time_point fill_start = Clock::now();
  for (std::uint64_t i = 0; i < args.report_rows; ++i) {
    window.Acquire();
    // One message in 1000 keeps its deliveries queued, like a slow destination.
    RunMessage(store, MakeMessage(0, i, args.size), i % 1000 == 0, [&](bool ok) {
      if (!ok) failures.fetch_add(1);
      window.Release();
    });
  }
  window.Drain();
  Status flushed = store.Flush();
  double fill_ms = Millis(fill_start);

  Clock::time_point t = Clock::now();
  auto report = store.Report();
  double report_ms = Millis(t);
  junction::store::QueueQuery q;
  q.channel = "bench";
  q.destination = "lab";
  t = Clock::now();
  auto head = store.ListQueued(q);
  double queued_ms = Millis(t);
  t = Clock::now();
  auto todo = store.ListForProcessing("bench", 0, 256);
  double todo_ms = Millis(t);
  junction::store::PruneRequest prune;
  prune.channel = "bench";
  prune.before_us = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  t = Clock::now();
  auto pruned = store.PruneAndWait(prune);
  double prune_ms = Millis(t);
  std::int64_t size = store.SizeBytes();
  Status closed = store.Close();
  bool ok = failures == 0 && flushed.ok() && report.ok() && head.ok() && todo.ok() && pruned.ok();
  std::printf(
      "rows=%llu fill_s=%.1f fill_msg_per_s=%.0f report_ms=%.1f list_queued_ms=%.2f "
      "queued_rows=%zu list_for_processing_ms=%.2f prune_500_ms=%.1f pruned=%zu db_mb=%.1f "
      "ok=%d close=%s\n",
      static_cast<unsigned long long>(args.report_rows), fill_ms / 1000,
      static_cast<double>(args.report_rows) * 1000 / fill_ms, report_ms, queued_ms,
      head.ok() ? head->size() : 0, todo_ms, prune_ms, pruned.ok() ? *pruned : 0,
      static_cast<double>(size) / (1 << 20), ok ? 1 : 0, closed.ToString().c_str());
  return ok && closed.ok() ? 0 : 1;
}

// --pipeline: one feeder keeps `connections` messages in flight (no thread
// per connection: the writer gets the CPU, not the scheduler).
int RunPipeline(const Args& args) {
  Result<std::unique_ptr<Store>> opened = Store::Open(args.options);
  if (!opened.ok()) {
    std::fprintf(stderr, "open: %s\n", opened.status().ToString().c_str());
    return 3;
  }
  Store& store = **opened;
  Window window(static_cast<std::size_t>(args.connections));
  std::atomic<std::uint64_t> done{0}, failures{0};
  std::mutex lat_mu;
  std::vector<std::uint32_t> lat;
  Clock::time_point start = Clock::now();
  auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(args.seconds));
  for (std::uint64_t seq = 0; Clock::now() < deadline; ++seq) {
    window.Acquire();
    Clock::time_point t0 = Clock::now();
    RunMessage(store, MakeMessage(0, seq, args.size), false, [&, t0](bool ok) {
      if (!ok) failures.fetch_add(1);
      done.fetch_add(1);
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
      {
        std::lock_guard lock(lat_mu);
        lat.push_back(static_cast<std::uint32_t>(us));
      }
      window.Release();
    });
  }
  window.Drain();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  Status closed = store.Close();
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) -> std::uint32_t {
    if (lat.empty()) return 0;
    return lat[std::min(lat.size() - 1,
                        static_cast<std::size_t>(p * static_cast<double>(lat.size())))];
  };
  auto stats = store.Stats();
  double msgs = static_cast<double>(done.load());
  std::printf(
      "pipeline in_flight=%d size=%zu durable=%d max_batch=%zu messages=%llu seconds=%.2f "
      "msg_per_s=%.0f writer_ops_per_s=%.0f p50_us=%u p99_us=%u commits=%llu "
      "max_batch_seen=%llu errors=%llu close=%s\n",
      args.connections, args.size, args.options.durable ? 1 : 0, args.options.max_batch,
      static_cast<unsigned long long>(done.load()), elapsed, msgs / elapsed, 4 * msgs / elapsed,
      pct(0.5), pct(0.99), static_cast<unsigned long long>(stats.commits),
      static_cast<unsigned long long>(stats.max_batch),
      static_cast<unsigned long long>(failures.load()), closed.ToString().c_str());
  return failures == 0 && closed.ok() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!ParseArgs(argc, argv, args)) return 2;
  if (args.report_rows > 0) return RunReport(args);
  if (args.pipeline) return RunPipeline(args);
  Result<std::unique_ptr<Store>> opened = Store::Open(args.options);
  if (!opened.ok()) {
    std::fprintf(stderr, "open: %s\n", opened.status().ToString().c_str());
    return 3;
  }
  Store& store = **opened;

  std::atomic<bool> stop{false};
  std::atomic<int> errors{0};
  std::vector<std::vector<std::uint32_t>> latencies(static_cast<std::size_t>(args.connections));
  std::vector<std::thread> threads;
  Clock::time_point start = Clock::now();
  for (int c = 0; c < args.connections; ++c) {
    threads.emplace_back([&, c] {
      std::binary_semaphore acked(0);
      std::vector<std::uint32_t>& lat = latencies[static_cast<std::size_t>(c)];
      for (std::uint64_t seq = 0; !stop.load(std::memory_order_relaxed); ++seq) {
        IncomingMessage m = MakeMessage(c, seq, args.size);
        Clock::time_point t0 = Clock::now();
        Status queued = store.Append(std::move(m), [&](Result<AppendResult> r) {
          if (!r.ok()) errors.fetch_add(1);
          acked.release();
        });
        if (!queued.ok()) {
          errors.fetch_add(1);
          continue;
        }
        acked.acquire();
        lat.push_back(static_cast<std::uint32_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count()));
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(args.seconds));
  stop = true;
  for (std::thread& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  Status closed = store.Close();

  std::vector<std::uint32_t> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) -> std::uint32_t {
    if (all.empty()) return 0;
    return all[std::min(all.size() - 1,
                        static_cast<std::size_t>(p * static_cast<double>(all.size())))];
  };
  auto stats = store.Stats();
  std::printf(
      "connections=%d size=%zu durable=%d max_batch=%zu max_delay_us=%lld messages=%zu "
      "seconds=%.2f msg_per_s=%.0f p50_us=%u p99_us=%u commits=%llu avg_batch=%.1f "
      "max_batch_seen=%llu errors=%d close=%s\n",
      args.connections, args.size, args.options.durable ? 1 : 0, args.options.max_batch,
      static_cast<long long>(args.options.max_delay_us), all.size(), elapsed,
      static_cast<double>(all.size()) / elapsed, pct(0.5), pct(0.99),
      static_cast<unsigned long long>(stats.commits),
      stats.commits ? static_cast<double>(stats.appended) / static_cast<double>(stats.commits)
                    : 0.0,
      static_cast<unsigned long long>(stats.max_batch), errors.load(), closed.ToString().c_str());
  return errors.load() == 0 && closed.ok() ? 0 : 1;
}
