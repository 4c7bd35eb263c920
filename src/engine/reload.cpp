#include "junction/engine/reload.h"

#include <signal.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>

namespace junction::engine {
namespace {

constexpr std::size_t kMaxPidFileBytes = 64;

std::string_view Trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// The kernel's name of the process (comm, at most 15 bytes); "" when unknown.
std::string ProcessName(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  if (in) std::getline(in, name);
  return name;
}

}  // namespace

Result<int> ReadPidFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Io("pid file " + path + ": " + std::strerror(errno));
  std::string text(kMaxPidFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxPidFileBytes) {
    return Status::Invalid("pid file " + path + ": longer than " +
                           std::to_string(kMaxPidFileBytes) + " bytes; not a pid file");
  }
  const std::string_view digits = Trim(text);
  int pid = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
  if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size()) {
    return Status::Invalid("pid file " + path + ": does not hold a process id");
  }
  if (pid <= 1) {
    return Status::Invalid("pid file " + path + ": process id " + std::to_string(pid) +
                           " refused (must be greater than 1)");
  }
  return pid;
}

Result<int> RequestReload(const std::string& pid_file, std::string_view expected_name) {
  auto pid = ReadPidFile(pid_file);
  if (!pid.ok()) return pid.status();
  if (kill(*pid, 0) != 0) {
    if (errno == ESRCH) {
      return Status::NotFound("no process " + std::to_string(*pid) + " (from " + pid_file +
                              "; is junction serve running? the pid file may be stale)");
    }
    return Status::Io("process " + std::to_string(*pid) + ": " + std::strerror(errno));
  }
  if (!expected_name.empty()) {
    const std::string name = ProcessName(*pid);
    if (!name.empty() && name.rfind(expected_name, 0) != 0) {
      return Status::Invalid("process " + std::to_string(*pid) + " (from " + pid_file + ") is '" +
                             name + "', not " + std::string(expected_name) +
                             "; the pid file may be stale");
    }
  }
  if (kill(*pid, SIGHUP) != 0) {
    return Status::Io("process " + std::to_string(*pid) + ": SIGHUP: " + std::strerror(errno));
  }
  return *pid;
}

}  // namespace junction::engine
