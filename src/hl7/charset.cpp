// Charset: MSH-18 names (HL7 table 0211) and conversion to/from UTF-8.
// Policy (names, aliases, the ASCII fallback, U+FFFD) is in docs/hl7.md#character-sets.
#include "junction/hl7/charset.h"

#include <iconv.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace junction::hl7 {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

struct CharsetEntry {
  std::string_view hl7_name;    // canonical table 0211 spelling
  std::string_view iconv_name;  // glibc iconv name
  bool passthrough;
};

// HL7 table 0211. ISO IR87 is written with ISO 2022 escape sequences in
// practice (JIS X 0208 designated by ESC $ B), so it maps to ISO-2022-JP;
// ISO IR159 (JIS X 0212) needs ESC $ ( D, which glibc has in ISO-2022-JP-2.
constexpr CharsetEntry kCharsets[] = {
    {"ASCII", "ASCII", true},
    {"8859/1", "ISO-8859-1", false},
    {"8859/2", "ISO-8859-2", false},
    {"8859/3", "ISO-8859-3", false},
    {"8859/4", "ISO-8859-4", false},
    {"8859/5", "ISO-8859-5", false},
    {"8859/6", "ISO-8859-6", false},
    {"8859/7", "ISO-8859-7", false},
    {"8859/8", "ISO-8859-8", false},
    {"8859/9", "ISO-8859-9", false},
    {"8859/15", "ISO-8859-15", false},
    {"ISO IR6", "ASCII", true},
    {"ISO IR14", "ISO-IR-14", false},
    {"ISO IR87", "ISO-2022-JP", false},
    {"ISO IR159", "ISO-2022-JP-2", false},
    {"GB 18030-2000", "GB18030", false},
    {"KS X 1001", "EUC-KR", false},
    {"CNS 11643-1992", "EUC-TW", false},
    {"BIG-5", "BIG5", false},
    {"UNICODE", "UTF-16", false},
    {"UNICODE UTF-8", "UTF-8", true},
    {"UNICODE UTF-16", "UTF-16", false},
    {"UNICODE UTF-32", "UTF-32", false},
};

// Spellings senders use instead of the table 0211 names.
struct Alias {
  std::string_view alias;
  std::string_view hl7_name;
};
constexpr Alias kAliases[] = {
    {"US-ASCII", "ASCII"},        {"UTF-8", "UNICODE UTF-8"},   {"UTF8", "UNICODE UTF-8"},
    {"UTF-16", "UNICODE UTF-16"}, {"UTF-32", "UNICODE UTF-32"}, {"ISO-8859-1", "8859/1"},
    {"ISO-8859-2", "8859/2"},     {"ISO-8859-3", "8859/3"},     {"ISO-8859-4", "8859/4"},
    {"ISO-8859-5", "8859/5"},     {"ISO-8859-6", "8859/6"},     {"ISO-8859-7", "8859/7"},
    {"ISO-8859-8", "8859/8"},     {"ISO-8859-9", "8859/9"},     {"ISO-8859-15", "8859/15"},
};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 'a' + 'A');
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 'a' + 'A');
    if (x != y) return false;
  }
  return true;
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Length of the valid UTF-8 sequence at s[i], or 0 if it is invalid
// (overlong forms, surrogates and values above U+10FFFF are invalid).
std::size_t Utf8SequenceLength(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return 1;
  std::size_t len;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  const auto b1 = static_cast<unsigned char>(s[i + 1]);
  if (b1 < lo || b1 > hi) return 0;
  for (std::size_t k = 2; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if (b < 0x80 || b > 0xBF) return 0;
  }
  return len;
}

// Offset of the first byte that is not valid UTF-8, or npos.
std::size_t FirstInvalidUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const std::size_t len = Utf8SequenceLength(s, i);
    if (len == 0) return i;
    i += len;
  }
  return std::string_view::npos;
}

bool IsAscii(std::string_view s) {
  // Eight bytes at a time: the common case is long pure-ASCII text.
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t word;
    std::memcpy(&word, s.data() + i, 8);
    if (word & 0x8080808080808080ULL) return false;
  }
  for (; i < s.size(); ++i) {
    if (static_cast<unsigned char>(s[i]) >= 0x80) return false;
  }
  return true;
}

// Copies UTF-8, replacing each invalid byte with U+FFFD.
std::string RepairUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t len = Utf8SequenceLength(s, i);
    if (len == 0) {
      out.append(kReplacement);
      ++i;
    } else {
      out.append(s.data() + i, len);
      i += len;
    }
  }
  return out;
}

std::string Latin1ToUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 4);
  for (char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x80) {
      out.push_back(c);
    } else {
      out.push_back(static_cast<char>(0xC0 | (b >> 6)));
      out.push_back(static_cast<char>(0x80 | (b & 0x3F)));
    }
  }
  return out;
}

// iconv descriptors are not thread-safe, and iconv_open is too slow to call
// per value, so each thread keeps a few open descriptors (bounded, FIFO).
class IconvCache {
 public:
  IconvCache() = default;
  IconvCache(const IconvCache&) = delete;
  IconvCache& operator=(const IconvCache&) = delete;
  ~IconvCache() {
    for (Entry& e : entries_) iconv_close(e.cd);
  }

  // Returns an open descriptor in its initial shift state, or nullptr.
  iconv_t Get(std::string_view to, std::string_view from) {
    for (Entry& e : entries_) {
      if (e.to == to && e.from == from) {
        iconv(e.cd, nullptr, nullptr, nullptr, nullptr);  // reset shift state
        return e.cd;
      }
    }
    iconv_t cd = iconv_open(std::string(to).c_str(), std::string(from).c_str());
    if (cd == reinterpret_cast<iconv_t>(-1)) return nullptr;
    if (entries_.size() >= kMaxEntries) {
      iconv_close(entries_.front().cd);
      entries_.erase(entries_.begin());
    }
    entries_.push_back({std::string(to), std::string(from), cd});
    return cd;
  }

 private:
  static constexpr std::size_t kMaxEntries = 8;
  struct Entry {
    std::string to;
    std::string from;
    iconv_t cd;
  };
  std::vector<Entry> entries_;
};

iconv_t CachedIconv(std::string_view to, std::string_view from) {
  thread_local IconvCache cache;
  return cache.Get(to, from);
}

// Bytes to skip after an invalid sequence, so UTF-16/32 stay aligned.
std::size_t CodeUnitSize(std::string_view iconv_name) {
  if (iconv_name.starts_with("UTF-16")) return 2;
  if (iconv_name.starts_with("UTF-32")) return 4;
  return 1;
}

// UTF-16/32 input: a byte order mark picks the byte order and is dropped;
// without one the data is big-endian (Unicode's rule; glibc would assume the
// host order). Returns the iconv name to use and trims `bytes`.
std::string_view UnicodeInputName(std::string_view iconv_name, std::string_view* bytes) {
  if (iconv_name == "UTF-16") {
    if (bytes->starts_with("\xFF\xFE")) {
      bytes->remove_prefix(2);
      return "UTF-16LE";
    }
    if (bytes->starts_with("\xFE\xFF")) bytes->remove_prefix(2);
    return "UTF-16BE";
  }
  if (iconv_name == "UTF-32") {
    using std::string_view_literals::operator""sv;
    if (bytes->starts_with("\xFF\xFE\x00\x00"sv)) {
      bytes->remove_prefix(4);
      return "UTF-32LE";
    }
    if (bytes->starts_with("\x00\x00\xFE\xFF"sv)) bytes->remove_prefix(4);
    return "UTF-32BE";
  }
  return iconv_name;
}

// UTF-16/32 output is big-endian without a byte order mark, so values can be
// converted one at a time and concatenated.
std::string_view UnicodeOutputName(std::string_view iconv_name) {
  if (iconv_name == "UTF-16") return "UTF-16BE";
  if (iconv_name == "UTF-32") return "UTF-32BE";
  return iconv_name;
}

// Sets in which bytes below 0x80 are always ASCII characters (so pure ASCII
// input needs no conversion). Not ISO IR14 (yen sign), not ISO-2022-JP (ESC
// switches to 7-bit JIS), not UTF-16/32.
bool IsAsciiSuperset(std::string_view iconv_name) {
  return iconv_name.starts_with("ISO-8859-") || iconv_name == "GB18030" || iconv_name == "EUC-KR" ||
         iconv_name == "EUC-TW" || iconv_name == "BIG5";
}

}  // namespace

Result<Charset> Charset::FromMsh18(std::string_view name) {
  std::string_view trimmed = TrimSpaces(name);
  if (trimmed.empty()) return Charset();
  for (const Alias& a : kAliases) {
    if (EqualsIgnoreCase(trimmed, a.alias)) {
      trimmed = a.hl7_name;
      break;
    }
  }
  for (const CharsetEntry& e : kCharsets) {
    if (EqualsIgnoreCase(trimmed, e.hl7_name)) {
      Charset cs;
      cs.hl7_name_ = std::string(e.hl7_name);
      cs.iconv_name_ = std::string(e.iconv_name);
      cs.passthrough_ = e.passthrough;
      return cs;
    }
  }
  // Bound the echoed name: it is untrusted input.
  constexpr std::size_t kMaxEcho = 64;
  return Status::Invalid("unknown character set in MSH-18: \"" +
                         std::string(trimmed.substr(0, kMaxEcho)) + "\"");
}

std::string Charset::ToUtf8(std::string_view bytes) const {
  if (passthrough_) {
    if (iconv_name_ == "ASCII") {
      // Senders often leave MSH-18 empty and send UTF-8 or Latin-1 anyway.
      if (IsAscii(bytes)) return std::string(bytes);
      if (FirstInvalidUtf8(bytes) == std::string_view::npos) return std::string(bytes);
      return Latin1ToUtf8(bytes);
    }
    if (FirstInvalidUtf8(bytes) == std::string_view::npos) return std::string(bytes);
    return RepairUtf8(bytes);
  }

  // Most values in these sets are plain ASCII, which they all contain as is.
  if (IsAsciiSuperset(iconv_name_) && IsAscii(bytes)) return std::string(bytes);
  // Latin-1 maps each byte to the same code point: no converter needed.
  if (iconv_name_ == "ISO-8859-1") return Latin1ToUtf8(bytes);

  std::string out;
  const std::string_view from = UnicodeInputName(iconv_name_, &bytes);
  iconv_t cd = CachedIconv("UTF-8", from);
  if (cd == nullptr) {
    // No converter installed: keep ASCII, mark everything else as unknown.
    out.reserve(bytes.size());
    for (char c : bytes) {
      if (static_cast<unsigned char>(c) < 0x80) {
        out.push_back(c);
      } else {
        out.append(kReplacement);
      }
    }
    return out;
  }
  out.reserve(bytes.size() + bytes.size() / 2);
  const std::size_t unit = CodeUnitSize(iconv_name_);
  char buf[4096];
  // glibc's iconv takes a non-const input pointer but does not write through it.
  char* in = const_cast<char*>(bytes.data());
  std::size_t in_left = bytes.size();
  while (in_left > 0) {
    char* o = buf;
    std::size_t o_left = sizeof(buf);
    const std::size_t r = iconv(cd, &in, &in_left, &o, &o_left);
    out.append(buf, static_cast<std::size_t>(o - buf));
    if (r != static_cast<std::size_t>(-1)) continue;
    if (errno == E2BIG && o != buf) continue;
    if (errno == EILSEQ) {
      out.append(kReplacement);
      const std::size_t skip = unit < in_left ? unit : in_left;
      in += skip;
      in_left -= skip;
      continue;
    }
    // EINVAL (truncated at the end) or anything unexpected: one replacement.
    out.append(kReplacement);
    break;
  }
  char* o = buf;
  std::size_t o_left = sizeof(buf);
  iconv(cd, nullptr, nullptr, &o, &o_left);  // flush any pending shift state
  out.append(buf, static_cast<std::size_t>(o - buf));
  return out;
}

Result<std::string> Charset::FromUtf8(std::string_view utf8) const {
  const std::size_t bad = FirstInvalidUtf8(utf8);
  if (bad != std::string_view::npos) return Status::Invalid("input is not valid UTF-8", bad);
  if (passthrough_) {
    if (iconv_name_ == "ASCII") {
      for (std::size_t i = 0; i < utf8.size(); ++i) {
        if (static_cast<unsigned char>(utf8[i]) >= 0x80) {
          return Status::Invalid("character cannot be written in ASCII (MSH-18 empty or ASCII)", i);
        }
      }
    }
    return std::string(utf8);
  }
  iconv_t cd = CachedIconv(UnicodeOutputName(iconv_name_), "UTF-8");
  if (cd == nullptr) {
    return Status::Invalid("no converter from UTF-8 to " + iconv_name_ + " on this system");
  }
  std::string out;
  out.reserve(utf8.size() + 8);
  char buf[4096];
  char* in = const_cast<char*>(utf8.data());
  std::size_t in_left = utf8.size();
  while (in_left > 0) {
    char* o = buf;
    std::size_t o_left = sizeof(buf);
    const std::size_t r = iconv(cd, &in, &in_left, &o, &o_left);
    out.append(buf, static_cast<std::size_t>(o - buf));
    if (r != static_cast<std::size_t>(-1)) continue;
    if (errno == E2BIG && o != buf) continue;
    const auto offset = static_cast<std::size_t>(in - utf8.data());
    if (errno == EILSEQ) {
      return Status::Invalid("character cannot be written in " + hl7_name_, offset);
    }
    return Status::Invalid("conversion to " + hl7_name_ + " failed", offset);
  }
  char* o = buf;
  std::size_t o_left = sizeof(buf);
  iconv(cd, nullptr, nullptr, &o, &o_left);  // return to the initial shift state
  out.append(buf, static_cast<std::size_t>(o - buf));
  return out;
}

}  // namespace junction::hl7
