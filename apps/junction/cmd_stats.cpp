// junction stats FILE...: counts every message, segment, field and component;
// the parse-throughput benchmark (timing goes to stderr).
#include <bit>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "exit_codes.h"
#include "input.h"
#include "output.h"
#include "junction/hl7/batch.h"
#include "junction/hl7/message.h"

namespace junction::cli {
namespace {

struct StatsOptions {
  std::vector<std::string> files;
  std::size_t max_errors = 20;
};

struct Counts {
  std::size_t files = 0;
  std::size_t bytes = 0;
  std::size_t messages = 0;
  std::size_t segments = 0;
  std::size_t fields = 0;
  std::size_t components = 0;  // non-empty, across every repetition
  std::size_t parse_errors = 0;
  std::size_t control_segments = 0;  // FHS/BHS/BTS/FTS
  std::size_t stray_segments = 0;
  std::size_t junk_bytes = 0;
  std::map<std::string, std::size_t, std::less<>> types;  // "ADT^A01" -> count
  std::vector<std::string> errors;                        // the first few, "file:offset: reason"
};

// The high bit of each byte of `word` that equals the byte repeated in `pattern`
// (exact: no false positives from borrows).
inline std::uint64_t ZeroBytes(std::uint64_t x) {
  constexpr std::uint64_t kLow7 = 0x7F7F7F7F7F7F7F7FULL;
  return ~(((x & kLow7) + kLow7) | x | kLow7);
}

// Non-empty pieces between field, repetition and component separators
// (subcomponents stay inside their component). A piece is non-empty exactly where
// a non-separator byte follows a separator (or the start), so the count is the
// number of such transitions: 8 bytes at a time, branch-free, then the tail.
std::size_t CountComponents(std::string_view text, const hl7::Delimiters& d, bool header) {
  std::size_t start = 4;  // after "SEG|"
  std::size_t count = 0;
  if (header) {
    // MSH-1 and MSH-2 are the delimiters themselves: one component each.
    std::size_t end = text.find(d.field, 4);
    start = end == std::string_view::npos ? text.size() : end;
    count = 2;
  }
  if (start >= text.size()) return count;
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  const std::uint64_t f = kOnes * static_cast<unsigned char>(d.field);
  const std::uint64_t c = kOnes * static_cast<unsigned char>(d.component);
  const std::uint64_t r = kOnes * static_cast<unsigned char>(d.repetition);
  const char* p = text.data() + start;
  std::size_t n = text.size() - start;
  std::uint64_t prev_sep = 0x80;  // the start counts as a separator
  while (n >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    const std::uint64_t sep = ZeroBytes(w ^ f) | ZeroBytes(w ^ c) | ZeroBytes(w ^ r);
    const std::uint64_t before = (sep << 8) | prev_sep;  // separator flag of the previous byte
    count += static_cast<std::size_t>(std::popcount(~sep & before & 0x8080808080808080ULL));
    prev_sep = sep >> 56;  // 0x80 when the last byte was a separator
    p += 8;
    n -= 8;
  }
  bool prev = prev_sep != 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char ch = p[i];
    const bool is_sep = ch == d.field || ch == d.component || ch == d.repetition;
    count += static_cast<std::size_t>(prev && !is_sep);
    prev = is_sep;
  }
  return count;
}

void CountMessage(const hl7::Message& m, Counts* c, std::string* key) {
  ++c->messages;
  const std::size_t segments = m.SegmentCount();
  c->segments += segments;
  const hl7::Delimiters& d = m.delimiters();
  for (std::size_t i = 0; i < segments; ++i) {
    c->fields += static_cast<std::size_t>(m.FieldCount(i));
    const std::string_view text = m.SegmentText(i);
    const std::string_view id = text.substr(0, 3);
    c->components += CountComponents(text, d, id == "MSH" || id == "BHS" || id == "FHS");
  }
  key->assign(m.MessageCode());
  key->push_back('^');
  key->append(m.TriggerEvent());
  auto it = c->types.find(*key);
  if (it != c->types.end()) {
    ++it->second;
  } else {
    c->types.emplace(*key, 1);
  }
}

void AddError(const StatsOptions& o, std::string line, Counts* c) {
  ++c->parse_errors;
  if (c->errors.size() < o.max_errors) c->errors.push_back(std::move(line));
}

int Run(const StatsOptions& o) {
  Counts c;
  bool io_failed = false;
  std::string key;
  const auto started = std::chrono::steady_clock::now();
  const std::clock_t cpu_started = std::clock();
  for (const std::string& file : o.files) {
    auto input = InputFile::Open(file);
    if (!input.ok()) {
      ComplainLine(input.status().message());
      io_failed = true;
      continue;
    }
    ++c.files;
    const std::string_view bytes = input->bytes();
    c.bytes += bytes.size();
    hl7::MessageSplitter splitter(bytes);
    hl7::MessageSpan span;
    std::size_t found = 0;
    while (splitter.Next(&span)) {
      ++found;
      auto message = hl7::Message::Parse(bytes.substr(span.offset, span.length));
      if (!message.ok()) {
        ++c.messages;
        AddError(o, Located(input->display_name(), span.offset, message.status()), &c);
        continue;
      }
      CountMessage(*message, &c, &key);
    }
    if (!splitter.status().ok()) {
      AddError(o, Located(input->display_name(), 0, splitter.status()), &c);
    } else if (found == 0) {
      AddError(o, input->display_name() + ":0: no HL7 message found (expected a line starting with MSH)",
               &c);
    }
    c.control_segments += splitter.skipped_control_segments();
    c.stray_segments += splitter.skipped_segments();
    c.junk_bytes += splitter.junk_bytes();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // CPU time too: on a busy machine the wall clock says more about the load than the parser.
  const double cpu_seconds = static_cast<double>(std::clock() - cpu_started) / CLOCKS_PER_SEC;

  std::string out;
  auto line = [&out](const char* label, std::size_t value) {
    out.append(label);
    out.append(": ");
    out.append(std::to_string(value));
    out.push_back('\n');
  };
  line("files", c.files);
  line("bytes", c.bytes);
  line("messages", c.messages);
  if (!c.types.empty()) {
    out.append("message types:\n");
    for (const auto& [type, count] : c.types) {
      out.append("  " + type + ": " + std::to_string(count) + "\n");
    }
  }
  line("segments", c.segments);
  line("fields", c.fields);
  line("non-empty components", c.components);
  if (c.control_segments > 0) line("batch header/trailer segments", c.control_segments);
  if (c.stray_segments > 0) line("segments outside messages (skipped)", c.stray_segments);
  if (c.junk_bytes > 0) line("bytes between frames (skipped)", c.junk_bytes);
  line("parse errors", c.parse_errors);
  for (const std::string& e : c.errors) out.append("  " + e + "\n");
  if (c.parse_errors > c.errors.size()) {
    out.append("  ... and " + std::to_string(c.parse_errors - c.errors.size()) + " more\n");
  }
  if (!WriteOut(out)) return kExitIo;

  char timing[200];
  const double mb = static_cast<double>(c.bytes) / 1e6;
  std::snprintf(timing, sizeof timing,
                "stats: %.2f MB in %.4f s (CPU %.4f s): %.1f MB/s, %.0f messages/s (CPU: %.1f MB/s)",
                mb, seconds, cpu_seconds, seconds > 0 ? mb / seconds : 0.0,
                seconds > 0 ? static_cast<double>(c.messages) / seconds : 0.0,
                cpu_seconds > 0 ? mb / cpu_seconds : 0.0);
  ComplainLine(timing);
  if (io_failed) return kExitIo;
  return c.parse_errors > 0 ? kExitData : kExitOk;
}

}  // namespace

void AddStatsCommand(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<StatsOptions>();
  CLI::App* cmd = app.add_subcommand(
      "stats",
      "Split every message out of the files (plain, concatenated, batches, MLLP-framed; \\r, "
      "\\n or \\r\\n line ends), parse each one and print counts: messages, messages per type "
      "(MSH-9.1^MSH-9.2), segments, fields, non-empty components, and parse errors as "
      "`file:offset: reason`. Elapsed time and MB/s go to stderr. Exits 1 when a message does "
      "not parse.");
  cmd->add_option("FILE", o->files, "input files, or - for stdin")->required();
  cmd->add_option("--max-errors", o->max_errors, "parse errors listed (all are counted)")
      ->capture_default_str();
  cmd->footer(kExitCodesHelp);
  cmd->callback([o, exit_code] { *exit_code = Run(*o); });
}

}  // namespace junction::cli
