#include "junction/engine/reload.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace junction::engine {
namespace {

namespace fs = std::filesystem;

class ReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("junction_reload_test_" + std::to_string(getpid()));
    fs::create_directories(dir_);
    pid_file_ = (dir_ / "junction.pid").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  void WritePidFile(const std::string& text) {
    std::ofstream(pid_file_, std::ios::binary | std::ios::trunc) << text;
  }

  // A child that waits for a signal; the caller reaps it.
  static pid_t StartChild() {
    const pid_t pid = fork();
    if (pid == 0) {
      for (;;) pause();
    }
    return pid;
  }

  fs::path dir_;
  std::string pid_file_;
};

TEST_F(ReloadTest, ReadPidFileAcceptsOneProcessId) {
  EXPECT_EQ(ReadPidFile(pid_file_).status().code(), StatusCode::kIoError);
  WritePidFile(" 4321\n");
  auto pid = ReadPidFile(pid_file_);
  ASSERT_TRUE(pid.ok()) << pid.status().ToString();
  EXPECT_EQ(*pid, 4321);
  for (const char* bad : {"", "abc", "12 13", "0", "1", "-42", "99999999999999999999"}) {
    WritePidFile(bad);
    EXPECT_EQ(ReadPidFile(pid_file_).status().code(), StatusCode::kInvalidArgument) << bad;
  }
  WritePidFile(std::string(100, '7'));
  EXPECT_EQ(ReadPidFile(pid_file_).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ReloadTest, SignalsTheLiveProcessWithSighup) {
  const pid_t child = StartChild();
  ASSERT_GT(child, 0);
  WritePidFile(std::to_string(child) + "\n");

  // Its name is this test binary's, not "junction": refused, nothing sent.
  auto refused = RequestReload(pid_file_, "junction");
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument) << refused.status().ToString();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  int status = 0;
  EXPECT_EQ(waitpid(child, &status, WNOHANG), 0) << "the child must still run";

  auto sent = RequestReload(pid_file_, "");
  ASSERT_TRUE(sent.ok()) << sent.status().ToString();
  EXPECT_EQ(*sent, child);
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGHUP);
}

TEST_F(ReloadTest, StalePidFileIsNotFound) {
  const pid_t child = fork();
  if (child == 0) _exit(0);
  ASSERT_GT(child, 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);  // gone and reaped
  WritePidFile(std::to_string(child));
  auto r = RequestReload(pid_file_, "");
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound) << r.status().ToString();
  EXPECT_NE(r.status().message().find("stale"), std::string::npos);
}

}  // namespace
}  // namespace junction::engine
