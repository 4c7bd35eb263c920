// junction_store_bench: durable append throughput of the message store.
//
// Each "connection" is a thread that behaves like an MLLP sender waiting for
// its ACK: it appends one message, waits for the commit callback, then sends
// the next. That is the worst case for a store and exactly what group commit
// is for. Prints one line of figures; asserts nothing.
//
//   junction_store_bench --connections 32 --seconds 5 [--path /tmp/b.db]
//       [--size 1024] [--max-batch 512] [--max-delay-us 0] [--no-durable] [--dedup]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!ParseArgs(argc, argv, args)) return 2;
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
    return all[std::min(all.size() - 1, static_cast<std::size_t>(p * static_cast<double>(all.size())))];
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
      stats.commits ? static_cast<double>(stats.appended) / static_cast<double>(stats.commits) : 0.0,
      static_cast<unsigned long long>(stats.max_batch), errors.load(), closed.ToString().c_str());
  return errors.load() == 0 && closed.ok() ? 0 : 1;
}
