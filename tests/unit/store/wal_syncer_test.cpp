// WalSyncer: reports run in submission order, after a sync, and none is lost
// when stopping; a durable store reports its callbacks from the syncer.
#include "store/internal/wal_syncer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <vector>

#include "junction/store/store.h"
#include "unit/store/store_test_util.h"

namespace junction::store {
namespace {

using internal::WalSyncer;
using testing::SampleMessage;
using testing::TempDir;

TEST(WalSyncer, ReportsInOrderAndDrainsOnStop) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  const std::string wal = dir.File("x.db-wal");
  std::ofstream(wal) << "frames";
  WalSyncer syncer;
  ASSERT_TRUE(syncer.Start(wal).ok());
  EXPECT_TRUE(syncer.running());
  EXPECT_FALSE(syncer.OnSyncerThread());

  std::mutex mu;
  std::vector<int> order;
  std::atomic<int> on_syncer{0};
  constexpr int kJobs = 500;  // more than kMaxPendingJobs: Submit has to wait
  for (int i = 0; i < kJobs; ++i) {
    syncer.Submit(/*committed=*/i % 3 != 0, [&, i](const Status& synced) {
      EXPECT_TRUE(synced.ok()) << synced.ToString();
      if (syncer.OnSyncerThread()) on_syncer.fetch_add(1);
      std::lock_guard lock(mu);
      order.push_back(i);
    });
  }
  syncer.Stop();
  EXPECT_FALSE(syncer.running());
  ASSERT_EQ(order.size(), static_cast<std::size_t>(kJobs));
  for (int i = 0; i < kJobs; ++i) EXPECT_EQ(order[i], i);
  EXPECT_EQ(on_syncer.load(), kJobs);
  // One fsync covers every commit that piled up: never more than one per job.
  EXPECT_GE(syncer.syncs(), 1u);
  EXPECT_LE(syncer.syncs(), static_cast<std::uint64_t>(kJobs));
  syncer.Stop();  // idempotent
}

TEST(WalSyncer, MissingWalIsAnError) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  WalSyncer syncer;
  Status s = syncer.Start(dir.File("none.db-wal"));
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_FALSE(syncer.running());
}

TEST(WalSyncer, DurableStoreReportsAfterTheSyncAndRefusesWaitsInCallbacks) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  StoreOptions o;
  o.sqlite_path = dir.File("durable.db");
  o.durable = true;
  auto store = testing::MustOpen(o);
  ASSERT_TRUE(store);
  std::atomic<int> reported{0};
  Status nested;
  ASSERT_TRUE(store
                  ->Append(SampleMessage("S1"),
                           [&](Result<AppendResult> r) {
                             EXPECT_TRUE(r.ok());
                             // A callback that waits on the store would wait forever.
                             nested = store->Flush();
                             reported.fetch_add(1);
                           })
                  .ok());
  ASSERT_TRUE(store->Flush().ok());
  EXPECT_EQ(reported.load(), 1);
  EXPECT_EQ(nested.code(), StatusCode::kInvalidArgument);
  // What was reported is in the file, seen by a fresh connection.
  EXPECT_EQ(testing::SqlInt(o.sqlite_path, "SELECT count(*) FROM messages"), 1);
  EXPECT_EQ(testing::SqlInt(o.sqlite_path, "SELECT count(*) FROM message_raw"), 1);
}

}  // namespace
}  // namespace junction::store
