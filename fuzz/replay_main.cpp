// A main for fuzz targets built without libFuzzer: runs LLVMFuzzerTestOneInput
// once over every file in the directories (searched recursively) or files given
// as arguments, so each corpus and its regression cases replay under ctest with
// the ordinary compiler and sanitizers.
//
//   fuzz_parse_replay fuzz/corpus/fuzz_parse fuzz/regressions/fuzz_parse
//
// A missing argument path is skipped with a note (a target may have no
// regressions yet); finding no input at all is an error. A failing invariant
// aborts inside the target, naming the file being replayed just before.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {

namespace fs = std::filesystem;

// Inputs are capped like `-max_len` would in a fuzzing run, so a stray large file
// in a corpus cannot make the test slow.
constexpr std::size_t kMaxInputBytes = 1u << 20;

bool ReadFile(const fs::path& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    const fs::path root(argv[i]);
    std::error_code ec;
    if (fs::is_regular_file(root, ec)) {
      files.push_back(root);
    } else if (fs::is_directory(root, ec)) {
      for (const auto& entry : fs::recursive_directory_iterator(root, ec)) {
        if (entry.is_regular_file(ec)) files.push_back(entry.path());
      }
    } else {
      std::fprintf(stderr, "replay: %s does not exist, skipped\n", argv[i]);
    }
  }
  std::sort(files.begin(), files.end());  // a stable order makes failures reproducible
  if (files.empty()) {
    std::fprintf(stderr, "replay: no inputs found\n");
    return 1;
  }
  std::string bytes;
  for (const fs::path& file : files) {
    if (!ReadFile(file, &bytes)) {
      std::fprintf(stderr, "replay: cannot read %s\n", file.c_str());
      return 1;
    }
    if (bytes.size() > kMaxInputBytes) bytes.resize(kMaxInputBytes);
    std::fprintf(stderr, "replay: %s\n", file.c_str());
    // An exact-size copy, as libFuzzer passes it, so ASan sees any read past the end.
    auto exact = std::make_unique<std::uint8_t[]>(bytes.size());
    std::copy(bytes.begin(), bytes.end(), exact.get());
    LLVMFuzzerTestOneInput(exact.get(), bytes.size());
  }
  std::fprintf(stderr, "replay: %zu inputs ok\n", files.size());
  return 0;
}
