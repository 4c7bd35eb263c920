// File source against a temporary directory and a temporary store.
#include "junction/engine/file_source.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "engine_test_util.h"

namespace junction::engine {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::OpenTempStore;
using testing::Replace;
using testing::WithControlId;

class FileSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("junction_fsrc_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    store_ = OpenTempStore();
    ASSERT_TRUE(store_);
    config_.dir = (root_ / "in").string();
    config_.move_to = (root_ / "done").string();
    config_.min_age = 0ms;
    config_.poll_interval = 20ms;
    fs::create_directories(config_.dir);
  }
  void TearDown() override {
    if (store_) {
      EXPECT_TRUE(store_->Close().ok());
    }
    fs::remove_all(root_);
  }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(fs::path(config_.dir) / name, std::ios::binary) << text;
  }
  std::vector<std::string> Files(const fs::path& dir) {
    std::vector<std::string> names;
    if (!fs::exists(dir)) return names;
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.is_regular_file()) names.push_back(e.path().filename());
    }
    std::sort(names.begin(), names.end());
    return names;
  }
  std::unique_ptr<FileSource> Make() {
    return std::make_unique<FileSource>(
        store_.get(), "files", config_,
        [this](store::MessageId id, std::string raw) { OnStored(id, std::move(raw)); });
  }
  virtual void OnStored(store::MessageId id, std::string raw) {
    std::lock_guard lock(mu_);
    stored_.emplace_back(id, std::move(raw));
  }

  fs::path root_;
  std::unique_ptr<store::Store> store_;
  FileSourceConfig config_;
  std::mutex mu_;
  std::vector<std::pair<store::MessageId, std::string>> stored_;
};

TEST_F(FileSourceTest, StoresMessagesAndMovesFilesInNameOrder) {
  // b: one message with LF line ends; a: a batch of three.
  std::string lf = WithControlId("B1");
  std::replace(lf.begin(), lf.end(), '\r', '\n');
  Write("b.hl7", lf);
  Write("a.hl7", "FHS|^~\\&|X\rBHS|^~\\&|X\r" + WithControlId("A1") + WithControlId("A2") +
                     WithControlId("A3") + "BTS|3\rFTS|1\r");
  Write("notes.txt", "ignored: pattern is *.hl7");
  Write(".hidden.hl7", WithControlId("H1"));
  auto source = Make();
  auto n = source->PollOnce();
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 4u);

  ASSERT_EQ(stored_.size(), 4u);
  std::vector<std::string> ids;
  for (const auto& [id, raw] : stored_) {
    auto rec = store_->Get(id);
    ASSERT_TRUE(rec.ok()) << rec.status().ToString();
    EXPECT_EQ(rec->raw, raw);
    EXPECT_EQ(rec->channel, "files");
    EXPECT_EQ(rec->state, store::MessageState::kReceived);
    EXPECT_EQ(rec->message_type, "ADT");
    ids.push_back(rec->control_id);
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"A1", "A2", "A3", "B1"}));
  EXPECT_EQ(store_->Get(stored_[0].first)->peer, "file:a.hl7");
  EXPECT_EQ(stored_[0].second, WithControlId("A1"));
  // LF line ends become CR (the HL7 segment terminator).
  EXPECT_EQ(stored_[3].second, WithControlId("B1"));

  EXPECT_EQ(Files(config_.dir), (std::vector<std::string>{".hidden.hl7", "notes.txt"}));
  EXPECT_EQ(Files(config_.move_to), (std::vector<std::string>{"a.hl7", "b.hl7"}));
  FileSourceStats s = source->stats();
  EXPECT_EQ(s.files, 2u);
  EXPECT_EQ(s.messages, 4u);
  EXPECT_EQ(s.failed, 0u);

  // Nothing left: a second poll stores nothing.
  EXPECT_EQ(*source->PollOnce(), 0u);
  // The same name again is kept next to the first copy, not over it.
  Write("a.hl7", WithControlId("A9"));
  EXPECT_EQ(*source->PollOnce(), 1u);
  EXPECT_EQ(Files(config_.move_to), (std::vector<std::string>{"a.hl7", "a.hl7.1", "b.hl7"}));
}

class CommitOrderTest : public FileSourceTest {
 protected:
  void OnStored(store::MessageId id, std::string raw) override {
    // Runs after the commit: the message is readable, the file still in place.
    auto rec = store_->Get(id);
    committed_before_move_ = rec.ok() && rec->raw == raw &&
                             fs::exists(fs::path(config_.dir) / "m.hl7") &&
                             !fs::exists(fs::path(config_.move_to) / "m.hl7");
    FileSourceTest::OnStored(id, std::move(raw));
  }
  bool committed_before_move_ = false;
};

TEST_F(CommitOrderTest, FileMovesOnlyAfterTheCommit) {
  Write("m.hl7", WithControlId("M1"));
  auto source = Make();
  ASSERT_EQ(*source->PollOnce(), 1u);
  EXPECT_TRUE(committed_before_move_);
  EXPECT_EQ(Files(config_.move_to), std::vector<std::string>{"m.hl7"});
}

TEST_F(FileSourceTest, StoreFailureLeavesTheFileInPlace) {
  Write("m.hl7", WithControlId("M1"));
  auto source = Make();
  ASSERT_TRUE(store_->Close().ok());
  auto n = source->PollOnce();
  EXPECT_FALSE(n.ok());
  EXPECT_EQ(Files(config_.dir), std::vector<std::string>{"m.hl7"});
  EXPECT_TRUE(Files(config_.move_to).empty());
  EXPECT_EQ(source->stats().files, 0u);
  store_.reset();
}

TEST_F(FileSourceTest, EmptyAndOversizedFilesGoToTheErrorDir) {
  config_.max_file_bytes = 1000;
  Write("empty.hl7", "");
  Write("junk.hl7", "no message here\r\n");
  Write("big.hl7", WithControlId(std::string(2000, 'x')));
  auto source = Make();
  auto n = source->PollOnce();
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 0u);
  EXPECT_TRUE(stored_.empty());
  EXPECT_TRUE(Files(config_.dir).empty());
  EXPECT_EQ(Files(fs::path(config_.dir) / "error"),
            (std::vector<std::string>{"big.hl7", "empty.hl7", "junk.hl7"}));
  EXPECT_EQ(source->stats().failed, 3u);
  EXPECT_EQ(source->stats().files, 0u);
}

TEST_F(FileSourceTest, UnparseableMessagesAreStoredAsErrors) {
  // The second message's MSH-2 repeats an encoding character.
  Write("m.hl7", WithControlId("OK1") + Replace(WithControlId("BAD"), "^~\\&", "^^^^"));
  auto source = Make();
  ASSERT_EQ(*source->PollOnce(), 2u);
  ASSERT_EQ(stored_.size(), 1u);  // only the good one goes to the channel
  auto list = store_->List({});
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  int errors = 0;
  for (const auto& rec : *list) {
    if (rec.state == store::MessageState::kError) {
      ++errors;
      EXPECT_NE(rec.error.find("unparseable"), std::string::npos) << rec.error;
    }
  }
  EXPECT_EQ(errors, 1);
  EXPECT_EQ(Files(config_.move_to), std::vector<std::string>{"m.hl7"});
}

TEST_F(FileSourceTest, YoungFilesWaitForMinAge) {
  config_.min_age = 1h;
  Write("m.hl7", WithControlId("M1"));
  auto source = Make();
  EXPECT_EQ(*source->PollOnce(), 0u);
  EXPECT_EQ(Files(config_.dir), std::vector<std::string>{"m.hl7"});
  fs::last_write_time(fs::path(config_.dir) / "m.hl7", fs::file_time_type::clock::now() - 2h);
  EXPECT_EQ(*source->PollOnce(), 1u);
  EXPECT_TRUE(Files(config_.dir).empty());
}

TEST_F(FileSourceTest, WithoutMoveToFilesAreDeleted) {
  config_.move_to.clear();
  Write("m.hl7", WithControlId("M1"));
  auto source = Make();
  EXPECT_EQ(*source->PollOnce(), 1u);
  EXPECT_TRUE(Files(config_.dir).empty());
}

TEST_F(FileSourceTest, PollerThreadPicksUpNewFiles) {
  config_.dir = (root_ / "new-in").string();  // Start creates it
  config_.error_dir = (root_ / "bad").string();
  auto source = Make();
  ASSERT_TRUE(source->Start().ok());
  EXPECT_TRUE(fs::is_directory(config_.dir));
  EXPECT_TRUE(fs::is_directory(config_.move_to));
  EXPECT_TRUE(fs::is_directory(config_.error_dir));
  Write("m.hl7", WithControlId("T1"));
  Write("e.hl7", "");
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline &&
         (source->stats().messages < 1 || source->stats().failed < 1)) {
    std::this_thread::sleep_for(10ms);
  }
  source->Stop();
  EXPECT_EQ(source->stats().messages, 1u);
  EXPECT_EQ(Files(config_.move_to), std::vector<std::string>{"m.hl7"});
  EXPECT_EQ(Files(config_.error_dir), std::vector<std::string>{"e.hl7"});
  std::lock_guard lock(mu_);
  ASSERT_EQ(stored_.size(), 1u);
}

TEST_F(FileSourceTest, StartFailsWhenTheDirectoryCannotBeMade) {
  std::ofstream(root_ / "blocker") << "x";
  config_.dir = (root_ / "blocker" / "in").string();
  auto source = Make();
  Status st = source->Start();
  EXPECT_EQ(st.code(), StatusCode::kIoError) << st.ToString();
}

}  // namespace
}  // namespace junction::engine
