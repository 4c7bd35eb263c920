// Fuzz target: Path::Parse, then reads and edits of a fixed message at that path.
//
// Input: up to 16 operations, one per line: a mode byte, the path text, a space,
// the value. Modes: g get, s Set, r SetRaw, d Delete, i InsertSegment (value is the
// segment, path ignored), x DeleteSegment (path's occurrence picks the index),
// R SetRaw whose value is the rest of the input (line breaks included).
//
// Invariants checked:
//  - Path::Parse(p.ToString()) gives back p;
//  - a read of an unmodified message points into the message's own bytes;
//  - after SetRaw succeeds with a value free of separators, GetRaw returns it;
//  - after Set succeeds, GetDecoded returns the text (line breaks as "\n");
//  - after Delete succeeds, the addressed value is absent or empty (or, for a
//    repetition, the repetition count drops by one);
//  - a failed edit leaves the message unchanged; InsertSegment(0) is refused;
//  - after any edits, Encode() parses again to the same segments and values.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "junction/hl7/escape.h"
#include "junction/hl7/message.h"
#include "junction/hl7/path.h"

namespace {

using junction::hl7::Message;
using junction::hl7::Path;

constexpr std::string_view kMessage =
    "MSH|^~\\&|LAB|HOSP^1.2.3&ISO|EHR|HOSP|20240102030405||ORU^R01^ORU_R01|CTRL-1|P|2.5.1\r"
    "PID|1||123^^^HOSP^MR~456^^^STATE^SS||DOE^JOHN^Q\\T\\A^JR||19700101|M|||1 MAIN "
    "ST^^TOWN^ST^12345||\"\"\r"
    "PV1|1|I|WARD^101^A\r"
    "OBR|1|ORD1|FIL1|CBC^Blood count^LN\r"
    "OBX|1|NM|718-7^Hemoglobin^LN||13.5|g/dL|12-16|N|||F\r"
    "OBX|2|ST|NOTE^Comment||Line one\\.br\\line \\F\\ two~second rep||||||F\r"
    "NTE|1||free text\r";

bool IsHeader(std::string_view id) { return id == "MSH" || id == "BHS" || id == "FHS"; }

bool SamePath(const Path& a, const Path& b) {
  return a.SegmentId() == b.SegmentId() && a.occurrence == b.occurrence && a.field == b.field &&
         a.repetition == b.repetition && a.component == b.component &&
         a.subcomponent == b.subcomponent;
}

std::string NormalizeBreaks(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

bool HasAny(std::string_view s, std::string_view chars) {
  return s.find_first_of(chars) != std::string_view::npos;
}

// A path that names one value (no [*]) and not the delimiters in MSH-1/MSH-2.
bool Addressable(const Path& p) {
  return p.occurrence != Path::kAll && p.repetition != Path::kAll &&
         !(IsHeader(p.SegmentId()) && p.field >= 1 && p.field <= 2);
}

const Message& Fixed() {
  static const Message* m = [] {
    auto parsed = Message::Parse(kMessage);
    if (!parsed.ok()) junction::fuzz::Fail(__FILE__, __LINE__, "fixed message parses");
    return new Message(std::move(parsed).value());
  }();
  return *m;
}

void CheckRead(const Message& m, const Path& p, bool pristine) {
  auto raw = m.GetRaw(p);
  if (raw && pristine && !raw->empty()) {
    const std::string_view all = m.original();
    JFUZZ_CHECK(raw->data() >= all.data() && raw->data() + raw->size() <= all.data() + all.size());
  }
  auto decoded = m.GetDecoded(p);
  JFUZZ_CHECK(raw.has_value() == decoded.has_value());
  (void)m.IsNull(p);
  JFUZZ_CHECK(m.Count(p) >= 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  Message m = Fixed();
  bool edited = false;
  // False once an edit may legitimately change how the bytes re-parse: raw line
  // breaks or MLLP bytes in a value, or new delimiters in MSH-1/MSH-2.
  bool reparse_same = true;
  const auto& d = m.delimiters();
  const std::string separators{d.field, d.component, d.repetition, d.subcomponent};

  for (int op = 0; op < 16 && !input.empty(); ++op) {
    const char mode = input[0];
    input.remove_prefix(1);
    std::string_view line = input;
    if (mode == 'R') {
      input = {};
    } else {
      const std::size_t nl = input.find('\n');
      line = input.substr(0, nl);
      input = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);
    }
    const std::size_t space = line.find(' ');
    const std::string_view path_text = line.substr(0, space);
    const std::string_view value =
        space == std::string_view::npos ? std::string_view() : line.substr(space + 1);

    if (mode == 'i') {
      // MLLP bytes are accepted in a segment but a trailing 0x1C reads as framing.
      if (HasAny(value, std::string_view("\x0b\x1c", 2))) reparse_same = false;
      const std::size_t before = m.SegmentCount();
      const std::size_t index = path_text.empty() ? before : path_text.size() % (before + 1);
      if (m.InsertSegment(index, value).ok()) {
        // MSH must stay first (DeleteSegment(0) is refused for the same reason).
        if (index == 0) junction::fuzz::Fail(__FILE__, __LINE__, "InsertSegment(0) accepted", value);
        JFUZZ_CHECK(m.SegmentCount() == before + 1);
        JFUZZ_CHECK_EQ(m.SegmentText(index), value);
        edited = true;
      }
      continue;
    }

    auto parsed = Path::Parse(path_text);
    if (!parsed.ok()) {
      JFUZZ_CHECK(!parsed.status().message().empty());
      continue;
    }
    const Path p = *parsed;
    const std::string shown = p.ToString();
    auto reparsed = Path::Parse(shown);
    JFUZZ_CHECK(reparsed.ok());
    if (!SamePath(p, *reparsed)) junction::fuzz::Fail(__FILE__, __LINE__, "path round trip", path_text, shown);

    CheckRead(m, p, !edited);
    // A failed edit must leave the message as it was.
    const std::string before_edit = mode == 'g' ? std::string() : m.Encode();
    auto unchanged = [&] { JFUZZ_CHECK_EQ(m.Encode(), before_edit); };
    if ((mode == 'r' || mode == 'R') && HasAny(value, std::string_view("\r\n\x0b\x1c", 4))) {
      reparse_same = false;
    }
    if (IsHeader(p.SegmentId()) && p.field <= 2 && mode != 'g') reparse_same = false;
    switch (mode) {
      case 's': {
        if (!m.Set(p, value).ok()) {
          unchanged();
          break;
        }
        edited = true;
        if (!Addressable(p) || p.field == 0) break;
        auto got = m.GetDecoded(p);
        // Decoded values are UTF-8: bytes that are not (in an ASCII message) read as Latin-1.
        const std::string want = m.charset().ToUtf8(NormalizeBreaks(value));
        if (want.empty()) {
          JFUZZ_CHECK(!got || got->empty());
        } else {
          JFUZZ_CHECK(got.has_value());
          JFUZZ_CHECK_EQ(*got, want);
        }
        break;
      }
      case 'r':
      case 'R': {
        if (!m.SetRaw(p, value).ok()) {
          unchanged();
          break;
        }
        edited = true;
        if (!Addressable(p)) break;
        if (p.field == 0 ? HasAny(value, "\r\n") : HasAny(value, separators + "\r\n")) break;
        auto got = m.GetRaw(p);
        if (value.empty()) {
          JFUZZ_CHECK(!got || got->empty());
        } else {
          JFUZZ_CHECK(got.has_value());
          JFUZZ_CHECK_EQ(*got, value);
        }
        break;
      }
      case 'd': {
        const std::size_t before = m.SegmentCount();
        const bool existed = m.GetRaw(p).has_value();
        const int reps_before = m.Count(p);
        if (!m.Delete(p).ok()) {
          unchanged();
          break;
        }
        edited = true;
        if (p.field == 0) {
          if (existed && p.occurrence != Path::kAll) JFUZZ_CHECK(m.SegmentCount() == before - 1);
          break;
        }
        if (!Addressable(p)) break;
        if (p.repetition_given && p.component == 0) {
          // A repetition is removed and later ones move up.
          if (p.repetition <= reps_before) JFUZZ_CHECK(m.Count(p) == reps_before - 1);
          break;
        }
        auto got = m.GetRaw(p);
        JFUZZ_CHECK(!got || got->empty());
        break;
      }
      case 'x': {
        const std::size_t before = m.SegmentCount();
        const auto index = static_cast<std::size_t>(p.occurrence == Path::kAll ? 0 : p.occurrence);
        if (m.DeleteSegment(index).ok()) {
          JFUZZ_CHECK(m.SegmentCount() == before - 1);
          edited = true;
        } else {
          unchanged();
        }
        break;
      }
      default:
        break;
    }
    CheckRead(m, p, !edited);
  }

  // Whatever was done, the result is a message that parses to the same thing.
  const std::string out = m.Encode();
  if (!edited) {
    JFUZZ_CHECK_EQ(out, kMessage);
    return 0;
  }
  if (!reparse_same) return 0;
  auto again = Message::Parse(out);
  if (!again.ok()) junction::fuzz::Fail(__FILE__, __LINE__, "edited message re-parses", out, again.status().ToString());
  JFUZZ_CHECK(again->SegmentCount() == m.SegmentCount());
  for (std::size_t s = 0; s < m.SegmentCount(); ++s) {
    JFUZZ_CHECK_EQ(again->SegmentText(s), m.SegmentText(s));
  }
  return 0;
}
