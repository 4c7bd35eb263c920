#include "output.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace junction::cli {

bool WriteOut(std::string_view text) {
  if (text.empty()) return true;
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size()) {
    Complain(std::string("cannot write to stdout: ") + std::strerror(errno));
    return false;
  }
  return true;
}

bool FlushOut() {
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    Complain(std::string("cannot write to stdout: ") + std::strerror(errno));
    return false;
  }
  return true;
}

void Complain(std::string_view text) {
  std::string line = "junction: ";
  line.append(text);
  ComplainLine(line);
}

void ComplainLine(std::string_view line) {
  std::fflush(stdout);  // keep stdout and stderr in order on a terminal
  std::string text(line);
  text.push_back('\n');
  std::fwrite(text.data(), 1, text.size(), stderr);
}

void AppendVisible(std::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '\n': out->append("\\n"); continue;
      case '\r': out->append("\\r"); continue;
      case '\t': out->append("\\t"); continue;
      default: break;
    }
    if (u < 0x20 || u == 0x7F) {
      out->append("\\x");
      out->push_back(kHex[u >> 4]);
      out->push_back(kHex[u & 0xF]);
    } else {
      out->push_back(c);
    }
  }
}

}  // namespace junction::cli
