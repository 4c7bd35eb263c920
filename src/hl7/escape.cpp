// Escape sequence codec. The decoding table and the policy for sequences that
// are kept or malformed are in docs/hl7.md#escapes; keep the two in step.
#include "junction/hl7/escape.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>

#include "hl7/internal/hex.h"

namespace junction::hl7 {
namespace {

// The longest text between two escape characters that is still read as an
// escape sequence. Longer runs are plain text, which also bounds the work done
// per escape character (the closing one is searched for in this window only).
constexpr std::size_t kMaxEscapeBody = 4096;

// Upper bound on the count in \.sp n\ and \.sk n\; larger counts would let a
// few bytes of input expand into a large output, so they are kept verbatim.
constexpr int kMaxFormatCount = 99;

// Parses the optional argument of a formatting command: "" (absent), or
// optional spaces, an optional sign (only when `allow_sign`; .in/.ti take
// relative indents like "+4") and 1-2 digits. nullopt = not a valid argument.
std::optional<int> ParseFormatArg(std::string_view arg, int absent_value, bool allow_sign) {
  if (arg.empty()) return absent_value;
  std::size_t i = 0;
  while (i < arg.size() && arg[i] == ' ') ++i;
  bool negative = false;
  if (allow_sign && i < arg.size() && (arg[i] == '+' || arg[i] == '-')) {
    negative = arg[i] == '-';
    ++i;
  }
  if (i == arg.size()) return std::nullopt;
  int value = 0;
  for (; i < arg.size(); ++i) {
    const char c = arg[i];
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
    if (value > kMaxFormatCount) return std::nullopt;
  }
  return negative ? -value : value;
}

// Decodes one formatting command body (the text after '.'). Returns false when
// it is not a recognised, well-formed command (the caller keeps it verbatim).
bool DecodeFormatting(std::string_view cmd, std::string* out) {
  if (cmd.size() < 2) return false;
  const std::string_view name = cmd.substr(0, 2);
  const std::string_view arg = cmd.substr(2);
  if (name == "br" || name == "fi" || name == "nf" || name == "ce") {
    if (!arg.empty()) return false;
    // .br and .ce end the current line; .fi/.nf (fill mode) have no plain-text form.
    if (name == "br" || name == "ce") out->push_back('\n');
    return true;
  }
  if (name == "sp" || name == "sk") {
    const std::optional<int> n = ParseFormatArg(arg, 1, /*allow_sign=*/false);
    if (!n) return false;
    out->append(static_cast<std::size_t>(*n), name == "sp" ? '\n' : ' ');
    return true;
  }
  if (name == "in" || name == "ti") {
    // Indents have no plain-text form; they are dropped once validated.
    return ParseFormatArg(arg, 0, /*allow_sign=*/true).has_value();
  }
  return false;
}

// Decodes one escape body (the text between the escape characters). Returns
// false when the sequence is to be kept verbatim.
bool DecodeBody(std::string_view body, const Delimiters& d, std::string* out) {
  if (body.empty()) return false;
  if (body.size() == 1) {
    char c = '\0';
    switch (body[0]) {
      case 'F':
        c = d.field;
        break;
      case 'S':
        c = d.component;
        break;
      case 'T':
        c = d.subcomponent;
        break;
      case 'R':
        c = d.repetition;
        break;
      case 'E':
        c = d.escape;
        break;
      case 'P':
        c = d.truncation;
        break;
      default:
        return false;  // includes \H\ and \N\ (kept)
    }
    if (c == '\0') return false;  // \T\ or \P\ when the message declares none
    out->push_back(c);
    return true;
  }
  switch (body[0]) {
    case 'X': {
      const std::string_view hex = body.substr(1);
      if (!internal::IsHexBytes(hex)) return false;
      internal::AppendHexBytes(hex, out);
      return true;
    }
    case '.':
      return DecodeFormatting(body.substr(1), out);
    default:
      return false;  // \Cxxyy\ \Mxxyyzz\ \Zxx\ and unknown codes are kept
  }
}

}  // namespace

void UnescapeTo(std::string_view raw, const Delimiters& d, std::string* out) {
  const char esc = d.escape;
  const char* p = raw.data();
  const char* const end = p + raw.size();
  const void* first = raw.empty() ? nullptr : std::memchr(p, esc, raw.size());
  if (first == nullptr) {
    out->append(raw);
    return;
  }
  // Decoded text is rarely longer than the input, so make room once; keep growth
  // geometric for callers that append many values to one string.
  if (out->capacity() - out->size() < raw.size()) {
    out->reserve(std::max(out->size() + raw.size(), 2 * out->capacity()));
  }
  auto* e = static_cast<const char*>(first);
  while (true) {
    out->append(p, e);
    // Look for the closing escape character within the bounded window.
    const char* body = e + 1;
    const std::size_t avail = static_cast<std::size_t>(end - body);
    const std::size_t window = avail < kMaxEscapeBody + 1 ? avail : kMaxEscapeBody + 1;
    const auto* close =
        window == 0 ? nullptr : static_cast<const char*>(std::memchr(body, esc, window));
    if (close == nullptr) {
      // No closing character: the escape character is plain text. Only it is
      // consumed, so a later escape character still starts a sequence.
      out->push_back(esc);
      p = body;
    } else {
      const std::string_view seq(body, static_cast<std::size_t>(close - body));
      if (!DecodeBody(seq, d, out)) out->append(e, close + 1);  // kept verbatim
      p = close + 1;
    }
    if (p >= end) return;
    const void* next = std::memchr(p, esc, static_cast<std::size_t>(end - p));
    if (next == nullptr) {
      out->append(p, end);
      return;
    }
    e = static_cast<const char*>(next);
  }
}

std::string Unescape(std::string_view raw, const Delimiters& d) {
  std::string out;
  UnescapeTo(raw, d, &out);
  return out;
}

void EscapeTo(std::string_view text, const Delimiters& d, std::string* out) {
  // Bitset of bytes that need escaping, built per call because delimiters
  // vary per message (32 bytes: cheap enough for short values).
  std::uint64_t special[4] = {0, 0, 0, 0};
  auto mark = [&special](char c) {
    const auto u = static_cast<unsigned char>(c);
    special[u >> 6] |= std::uint64_t{1} << (u & 63);
  };
  for (char c : {d.field, d.component, d.subcomponent, d.repetition, d.truncation, d.escape}) {
    if (c != '\0') mark(c);
  }
  mark('\r');
  mark('\n');
  // The MLLP start and end blocks may never appear inside a message.
  mark('\x0b');
  mark('\x1c');

  const char esc = d.escape;
  std::size_t run = 0;  // start of the pending plain run
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n; ++i) {
    const auto u = static_cast<unsigned char>(text[i]);
    if ((special[u >> 6] >> (u & 63) & 1) == 0) continue;
    out->append(text.data() + run, i - run);
    const char c = text[i];
    out->push_back(esc);
    // The escape character is tested first so it wins if a caller passes
    // clashing delimiters; FromHeader never produces those.
    if (c == esc) {
      out->push_back('E');
    } else if (c == '\r' || c == '\n') {
      const bool crlf = c == '\r' && i + 1 < n && text[i + 1] == '\n';
      if (d.IsSeparator('.') || esc == '.' || d.truncation == '.') {
        // "\.br\" would contain a delimiter (or the escape itself) here, so the break is
        // written as the hex data of a line feed: it decodes to the same "\n" as \.br\.
        out->append("X0A");
      } else {
        out->append(".br");
      }
      if (crlf) ++i;  // CRLF is one break
    } else if (c == '\x0b' || c == '\x1c') {
      out->append(c == '\x0b' ? "X0B" : "X1C");
    } else if (c == d.field) {
      out->push_back('F');
    } else if (c == d.component) {
      out->push_back('S');
    } else if (c == d.repetition) {
      out->push_back('R');
    } else if (c == d.subcomponent) {
      out->push_back('T');
    } else {
      out->push_back('P');  // the truncation character: the only one left
    }
    out->push_back(esc);
    run = i + 1;
  }
  out->append(text.data() + run, n - run);
}

std::string Escape(std::string_view text, const Delimiters& d) {
  std::string out;
  out.reserve(text.size());
  EscapeTo(text, d, &out);
  return out;
}

}  // namespace junction::hl7
