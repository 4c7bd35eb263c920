// Golden tests for the `junction` command-line tool.
//
// Every directory under tests/golden/cases/ is one case, run with the case
// directory as the working directory. Recognised files (README.md in this
// directory explains them):
//   input.hl7                    the message(s); always checked: parse --json | format
//                                reproduces it byte for byte (when it parses)
//   parse.out / tree.out         `parse input.hl7` / `parse --tree input.hl7`
//   parse.json                   `parse --json input.hl7`
//   get.args  -> get.out         `get input.hl7 <args>`   (one argument per line)
//   set.args  -> set.out         `set input.hl7 <args>`
//   ack.out  (+ ack.args)        `ack input.hl7 --control-id ACK00001 --timestamp 20240101120000+0000 <args>`
//   validate.out (+ validate.args) `validate input.hl7 <args>`
//   stats.out                    `stats input.hl7` (stdout only; timing is on stderr)
//   NAME.cmd -> NAME.out         any command: the full argument list, one per line
//   NAME.exit                    expected exit code (default 0), for every command above
//   NAME.err                     expected stderr (optional), for every command above
//
// UPDATE_GOLDEN=1 rewrites the expectations from the actual output (review the
// diff before committing). JUNCTION_BIN names the binary (set by ctest).
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

struct RunResult {
  std::string out;
  std::string err;
  int exit_code = -1;
};

bool ReadFile(const fs::path& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

void WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::vector<std::string> ReadArgs(const fs::path& path) {
  std::string text;
  std::vector<std::string> args;
  if (!ReadFile(path, &text)) return args;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty() && line[0] == '#') continue;  // comment
    args.push_back(line);
  }
  return args;
}

// Runs the binary in `dir` with `args`, stdin from /dev/null or `stdin_file`.
RunResult RunJunction(const std::string& binary, const fs::path& dir, const std::vector<std::string>& args,
              const std::string& stdin_file = "/dev/null") {
  RunResult result;
  const fs::path tmp = fs::temp_directory_path() / ("junction_golden_" + std::to_string(getpid()));
  const std::string out_path = tmp.string() + ".out";
  const std::string err_path = tmp.string() + ".err";
  pid_t pid = fork();
  if (pid == 0) {
    if (chdir(dir.c_str()) != 0) _exit(126);
    int in = open(stdin_file.c_str(), O_RDONLY);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0 || err < 0) _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(binary.c_str()));
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  ReadFile(out_path, &result.out);
  ReadFile(err_path, &result.err);
  fs::remove(out_path);
  fs::remove(err_path);
  return result;
}

bool UpdateMode() {
  const char* v = std::getenv("UPDATE_GOLDEN");
  return v != nullptr && std::string(v) == "1";
}

// Compares (or, in update mode, rewrites) NAME.out / NAME.exit / NAME.err.
void Check(const fs::path& dir, const std::string& name, const std::string& out_file,
           const RunResult& r, bool compare_stderr_always = false) {
  SCOPED_TRACE(dir.filename().string() + "/" + out_file);
  const fs::path out_path = dir / out_file;
  const fs::path exit_path = dir / (name + ".exit");
  const fs::path err_path = dir / (name + ".err");
  // Sanitizer reports or crashes are never acceptable.
  EXPECT_LT(r.exit_code, 4) << "crashed or unexpected exit; stderr:\n" << r.err;
  EXPECT_EQ(r.err.find("runtime error"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("Sanitizer"), std::string::npos) << r.err;
  if (UpdateMode()) {
    WriteFile(out_path, r.out);
    if (r.exit_code != 0 || fs::exists(exit_path)) {
      WriteFile(exit_path, std::to_string(r.exit_code) + "\n");
    }
    if (fs::exists(err_path) || compare_stderr_always) WriteFile(err_path, r.err);
    return;
  }
  std::string expected;
  ASSERT_TRUE(ReadFile(out_path, &expected)) << "missing " << out_path;
  EXPECT_EQ(r.out, expected);
  std::string exit_text = "0";
  if (ReadFile(exit_path, &exit_text)) {
    exit_text.erase(std::remove_if(exit_text.begin(), exit_text.end(), ::isspace), exit_text.end());
  }
  EXPECT_EQ(std::to_string(r.exit_code), exit_text) << "stderr:\n" << r.err;
  std::string expected_err;
  if (ReadFile(err_path, &expected_err)) {
    EXPECT_EQ(r.err, expected_err);
  }
}

std::vector<std::string> Concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, Case) {
  const char* bin = std::getenv("JUNCTION_BIN");
  if (bin == nullptr) GTEST_SKIP() << "JUNCTION_BIN not set (run through ctest)";
  const std::string binary = fs::absolute(bin).string();
  const fs::path dir = GetParam();
  const bool has_input = fs::exists(dir / "input.hl7");
  int checks = 0;

  if (has_input) {
    // Lossless round trip: parse --json | format == input, whenever it parses.
    RunResult json = RunJunction(binary, dir, {"parse", "--json", "input.hl7"});
    if (json.exit_code == 0) {
      const fs::path tmp = fs::temp_directory_path() /
                           ("junction_golden_" + std::to_string(getpid()) + ".json");
      WriteFile(tmp, json.out);
      RunResult back = RunJunction(binary, dir, {"format", "-"}, tmp.string());
      fs::remove(tmp);
      std::string input;
      ASSERT_TRUE(ReadFile(dir / "input.hl7", &input));
      EXPECT_EQ(back.exit_code, 0) << back.err;
      EXPECT_EQ(back.out, input) << "parse --json | format is not the input";
      ++checks;
    }
    if (fs::exists(dir / "parse.json")) {
      Check(dir, "parse", "parse.json", json);
      ++checks;
    }
    if (fs::exists(dir / "parse.out")) {
      Check(dir, "parse", "parse.out", RunJunction(binary, dir, {"parse", "input.hl7"}));
      ++checks;
    }
    if (fs::exists(dir / "tree.out")) {
      Check(dir, "tree", "tree.out", RunJunction(binary, dir, {"parse", "--tree", "input.hl7"}));
      ++checks;
    }
    if (fs::exists(dir / "get.args")) {
      Check(dir, "get", "get.out",
            RunJunction(binary, dir, Concat({"get", "input.hl7"}, ReadArgs(dir / "get.args"))));
      ++checks;
    }
    if (fs::exists(dir / "set.args")) {
      Check(dir, "set", "set.out",
            RunJunction(binary, dir, Concat({"set", "input.hl7"}, ReadArgs(dir / "set.args"))));
      ++checks;
    }
    if (fs::exists(dir / "ack.out") || fs::exists(dir / "ack.args")) {
      Check(dir, "ack", "ack.out",
            RunJunction(binary, dir,
                Concat({"ack", "input.hl7", "--control-id", "ACK00001", "--timestamp",
                        "20240101120000+0000"},
                       ReadArgs(dir / "ack.args"))));
      ++checks;
    }
    if (fs::exists(dir / "validate.out") || fs::exists(dir / "validate.args")) {
      Check(dir, "validate", "validate.out",
            RunJunction(binary, dir, Concat({"validate", "input.hl7"}, ReadArgs(dir / "validate.args"))));
      ++checks;
    }
    if (fs::exists(dir / "stats.out")) {
      Check(dir, "stats", "stats.out", RunJunction(binary, dir, {"stats", "input.hl7"}));
      ++checks;
    }
  }
  std::vector<fs::path> cmds;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".cmd") cmds.push_back(entry.path());
  }
  std::sort(cmds.begin(), cmds.end());
  for (const fs::path& cmd : cmds) {
    const std::string name = cmd.stem().string();
    Check(dir, name, name + ".out", RunJunction(binary, dir, ReadArgs(cmd)), /*compare_stderr_always=*/true);
    ++checks;
  }
  EXPECT_GT(checks, 0) << "case " << dir << " checks nothing";
}

std::vector<std::string> Cases() {
  std::vector<std::string> cases;
  const char* root = std::getenv("JUNCTION_SOURCE_DIR");
  const fs::path base = fs::path(root != nullptr ? root : ".") / "tests" / "golden" / "cases";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(base, ec)) {
    if (entry.is_directory()) cases.push_back(entry.path().string());
  }
  std::sort(cases.begin(), cases.end());
  return cases;
}

std::string CaseName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = fs::path(info.param).filename().string();
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Cases, GoldenTest, ::testing::ValuesIn(Cases()), CaseName);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(GoldenTest);

}  // namespace
