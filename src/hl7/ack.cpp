#include "junction/hl7/ack.h"

#include <atomic>
#include <cstdio>
#include <ctime>
#include <utility>

#include "junction/hl7/charset.h"
#include "junction/hl7/escape.h"
#include "junction/hl7/path.h"

namespace junction::hl7 {
namespace {

// Bounds for the tolerant header scan of unparseable input.
constexpr std::size_t kMaxSalvageScan = 64 * 1024;  // bytes searched for an MSH line
constexpr std::size_t kMaxSalvagedField = 199;      // longer values are dropped

// The original message's header values, raw (escapes kept) in `delimiters`.
struct Header {
  Delimiters delimiters;
  std::string sending_app, sending_facility, receiving_app, receiving_facility;
  std::string control_id;     // MSH-10
  std::string processing_id;  // MSH-11, whole field
  std::string version_field;  // MSH-12, whole field
  std::string version;        // MSH-12.1
  std::string trigger;        // MSH-9.2
  std::string accept_ack;     // MSH-15
  std::string app_ack;        // MSH-16
  std::string charset_field;  // MSH-18, whole field
  std::string charset;        // MSH-18, first repetition
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Empty, blank and the explicit null "" all mean "not valued".
bool Valued(std::string_view s) {
  s = Trim(s);
  return !s.empty() && s != "\"\"";
}

// "2.5.1" -> 20501; nullopt when it is not a 2.x version.
std::optional<int> VersionKey(std::string_view v) {
  v = Trim(v);
  int parts[3] = {0, 0, 0};
  int count = 0;
  std::size_t i = 0;
  while (count < 3) {
    if (i >= v.size() || v[i] < '0' || v[i] > '9') return std::nullopt;
    int n = 0;
    while (i < v.size() && v[i] >= '0' && v[i] <= '9' && n < 100) n = n * 10 + (v[i++] - '0');
    parts[count++] = n;
    if (i == v.size()) break;
    if (v[i] != '.') return std::nullopt;
    ++i;
  }
  if (i != v.size() || count < 2 || parts[0] != 2 || parts[1] > 99 || parts[2] > 99) {
    return std::nullopt;
  }
  return parts[0] * 10000 + parts[1] * 100 + parts[2];
}

constexpr int kV231 = 20301;
constexpr int kV25 = 20500;
constexpr int kV28 = 20800;

char SeverityLetter(ErrorSeverity s) {
  switch (s) {
    case ErrorSeverity::kWarning:
      return 'W';
    case ErrorSeverity::kInformation:
      return 'I';
    case ErrorSeverity::kError:
      break;
  }
  return 'E';
}

bool IsKnownCode(std::string_view code) {
  return code == "AA" || code == "AE" || code == "AR" || code == "CA" || code == "CE" ||
         code == "CR";
}

// Writes UTF-8 text as field content: escaped for the delimiters, then converted
// to the message's charset. Characters the charset cannot hold become '?'.
class TextWriter {
 public:
  TextWriter(const Delimiters& d, std::string_view charset_name) : delimiters_(d) {
    if (!Valued(charset_name)) return;  // undeclared: pass bytes through
    auto cs = Charset::FromMsh18(Trim(charset_name));
    if (cs.ok() && !cs->is_utf8_compatible()) {
      charset_ = *cs;
      convert_ = true;
    }
  }

  std::string Write(std::string_view utf8) const {
    std::string escaped = Escape(utf8, delimiters_);
    if (!convert_) return escaped;
    auto converted = charset_.FromUtf8(escaped);
    if (converted.ok()) return std::move(converted).value();
    // Some character does not fit: convert one UTF-8 sequence at a time and
    // write '?' for each that fails.
    std::string out;
    out.reserve(escaped.size());
    for (std::size_t i = 0; i < escaped.size();) {
      if (static_cast<unsigned char>(escaped[i]) < 0x80) {
        out += escaped[i++];  // ASCII fits every charset HL7 names here
        continue;
      }
      std::size_t n = 1;
      while (i + n < escaped.size() &&
             (static_cast<unsigned char>(escaped[i + n]) & 0xC0) == 0x80 && n < 4) {
        ++n;
      }
      auto one = charset_.FromUtf8(std::string_view(escaped).substr(i, n));
      if (one.ok()) {
        out += *one;
      } else {
        out += '?';
      }
      i += n;
    }
    return out;
  }

 private:
  Delimiters delimiters_;
  Charset charset_;
  bool convert_ = false;
};

// ERL / ELD location components: SEG^occurrence^field[^rep^comp^sub].
std::string LocationText(std::string_view location, char sep, bool full) {
  if (location.empty()) return {};
  auto path = Path::Parse(location);
  if (!path.ok()) return {};
  auto num = [](int v) { return std::to_string(v < 1 ? 1 : v); };
  std::string out(path->SegmentId());
  out += sep;
  out += num(path->occurrence);
  if (path->field <= 0) return out;
  out += sep;
  out += std::to_string(path->field);
  if (full && (path->repetition_given || path->component > 0)) {
    out += sep;
    out += num(path->repetition);
    if (path->component > 0) {
      out += sep;
      out += std::to_string(path->component);
      if (path->subcomponent > 0) {
        out += sep;
        out += std::to_string(path->subcomponent);
      }
    }
  }
  return out;
}

Result<std::string> BuildAck(const Header& h, const AckOptions& options, AckMode default_mode) {
  std::string code = options.code;
  if (code.empty()) {
    code = std::string(CodeFor(options.mode.value_or(default_mode), options.outcome));
  } else if (!IsKnownCode(code)) {
    return Status::Invalid("acknowledgment code '" + code + "' is not one of AA AE AR CA CE CR");
  }
  const bool accepted = code == "AA" || code == "CA";
  const Delimiters& d = h.delimiters;
  const TextWriter writer(d, h.charset);
  const int version = VersionKey(h.version).value_or(kV25);

  const std::string timestamp = options.timestamp.empty() ? NowTimestamp() : options.timestamp;
  const std::string control_id =
      options.control_id.empty() ? NewControlId(timestamp) : options.control_id;

  const char f = d.field;
  char enc_buf[5];
  std::string out;
  out.reserve(256);
  out += "MSH";
  out += f;
  out += d.EncodingCharacters(enc_buf);
  out += f;
  out += Valued(h.receiving_app) ? h.receiving_app : writer.Write(options.application);
  out += f;
  out += Valued(h.receiving_facility) ? h.receiving_facility : writer.Write(options.facility);
  out += f;
  out += h.sending_app;
  out += f;
  out += h.sending_facility;
  out += f;
  out += writer.Write(timestamp);
  out += f;  // MSH-8 security
  out += f;
  out += "ACK";
  if (version >= kV231) {
    out += d.component;
    out += h.trigger;
    out += d.component;
    out += "ACK";
  } else if (!h.trigger.empty()) {
    out += d.component;
    out += h.trigger;
  }
  out += f;
  out += writer.Write(control_id);
  out += f;
  out += h.processing_id;
  out += f;
  out += h.version_field;
  if (!h.charset_field.empty()) {
    for (int field = 13; field <= 18; ++field) out += f;
    out += h.charset_field;
  }
  out += '\r';

  // Errors to write; from 2.8 on MSA-3 is gone, so a lone text becomes an ERR.
  std::vector<AckError> errors = options.errors;
  const bool msa3 = version < kV28;
  if (!msa3 && errors.empty() && !options.text.empty()) {
    errors.push_back(
        AckError{"", accepted ? error_code::kAccepted : error_code::kApplicationInternalError,
                 accepted ? ErrorSeverity::kInformation : ErrorSeverity::kError, options.text});
  }

  out += "MSA";
  out += f;
  out += code;
  out += f;
  out += h.control_id;
  std::string text = options.text;
  if (text.empty() && version < kV25) {
    // Before 2.5 ERR has no user-message field: carry the messages in MSA-3.
    for (const AckError& e : errors) {
      if (e.message.empty()) continue;
      if (!text.empty()) text += "; ";
      text += e.message;
    }
  }
  if (msa3 && !text.empty()) {
    out += f;
    out += writer.Write(text);
  }
  out += '\r';

  if (errors.empty()) return out;
  auto code_text = [&](const AckError& e, char sep) {
    std::string s = std::to_string(e.code);
    s += sep;
    s += writer.Write(ErrorCodeText(e.code));
    s += sep;
    s += "HL70357";
    return s;
  };
  if (version < kV25) {
    // One ERR; ERR-1 repeats, one ELD per error.
    out += "ERR";
    out += f;
    for (std::size_t i = 0; i < errors.size(); ++i) {
      const AckError& e = errors[i];
      if (i > 0) out += d.repetition;
      std::string location = LocationText(e.location, d.component, /*full=*/false);
      if (location.empty()) location.assign(1, d.component);  // ^ keeps positions
      // Pad to three components so the code lands in ERR-1.4.
      int comps = 1;
      for (char c : location) comps += c == d.component;
      while (comps < 3) {
        location += d.component;
        ++comps;
      }
      out += location;
      out += d.component;
      if (d.subcomponent != '\0') {
        out += code_text(e, d.subcomponent);
      } else {
        out += std::to_string(e.code);
      }
    }
    out += '\r';
    return out;
  }
  for (const AckError& e : errors) {
    out += "ERR";
    out += f;  // ERR-1 (ELD) not used from 2.5 on
    out += f;
    out += LocationText(e.location, d.component, /*full=*/true);
    out += f;
    out += code_text(e, d.component);
    out += f;
    out += SeverityLetter(e.severity);
    if (!e.message.empty()) {
      out += f;  // ERR-5 application error code
      out += f;  // ERR-6 application error parameter
      out += f;  // ERR-7 diagnostic information
      out += f;
      out += writer.Write(e.message);
    }
    out += '\r';
  }
  return out;
}

std::string Str(std::optional<std::string_view> v) { return v ? std::string(*v) : std::string(); }

}  // namespace

std::string_view ErrorCodeText(int code) {
  switch (code) {
    case 0:
      return "Message accepted";
    case 100:
      return "Segment sequence error";
    case 101:
      return "Required field missing";
    case 102:
      return "Data type error";
    case 103:
      return "Table value not found";
    case 104:
      return "Value too long";
    case 200:
      return "Unsupported message type";
    case 201:
      return "Unsupported event code";
    case 202:
      return "Unsupported processing id";
    case 203:
      return "Unsupported version id";
    case 204:
      return "Unknown key identifier";
    case 205:
      return "Duplicate key identifier";
    case 206:
      return "Application record locked";
    case 207:
      return "Application internal error";
    default:
      return "";
  }
}

AckMode ModeFor(const Message& original) {
  const int msh = original.FindSegment("MSH");
  if (msh < 0) return AckMode::kOriginal;
  const auto i = static_cast<std::size_t>(msh);
  return Valued(original.FieldRaw(i, 15).value_or("")) ||
                 Valued(original.FieldRaw(i, 16).value_or(""))
             ? AckMode::kEnhanced
             : AckMode::kOriginal;
}

std::string_view CodeFor(AckMode mode, AckOutcome outcome) {
  const bool enhanced = mode == AckMode::kEnhanced;
  switch (outcome) {
    case AckOutcome::kAccept:
      return enhanced ? "CA" : "AA";
    case AckOutcome::kError:
      return enhanced ? "CE" : "AE";
    case AckOutcome::kReject:
      return enhanced ? "CR" : "AR";
  }
  return "AE";
}

namespace {
bool ShouldSend(const Message& original, int field, AckOutcome outcome) {
  const int msh = original.FindSegment("MSH");
  if (msh < 0) return true;
  const std::string_view v =
      Trim(original.FieldRaw(static_cast<std::size_t>(msh), field).value_or(""));
  if (v == "NE") return false;
  if (v == "ER") return outcome != AckOutcome::kAccept;
  if (v == "SU") return outcome == AckOutcome::kAccept;
  return true;  // AL, empty or unknown
}
}  // namespace

bool ShouldSendAcceptAck(const Message& original, AckOutcome outcome) {
  return ShouldSend(original, 15, outcome);
}
bool ShouldSendApplicationAck(const Message& original, AckOutcome outcome) {
  return ShouldSend(original, 16, outcome);
}

std::string NowTimestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%d%H%M%S+0000", &tm);
  return buf;
}

std::string NewControlId(std::string_view timestamp) {
  static std::atomic<std::uint32_t> counter{0};
  std::string ts = timestamp.empty() ? NowTimestamp() : std::string(timestamp);
  std::string out;
  for (char c : ts) {
    if (c < '0' || c > '9') break;  // stop at the zone or fraction
    if (out.size() == 14) break;
    out.push_back(c);
  }
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%06u",
                static_cast<unsigned>(counter.fetch_add(1, std::memory_order_relaxed) % 1000000));
  out += buf;
  return out;
}

Result<std::string> MakeAckText(const Message& original, const AckOptions& options) {
  const int msh = original.FindSegment("MSH");
  if (msh < 0) return Status::Invalid("message has no MSH segment");
  const auto i = static_cast<std::size_t>(msh);
  Header h;
  h.delimiters = original.delimiters();
  h.sending_app = Str(original.FieldRaw(i, 3));
  h.sending_facility = Str(original.FieldRaw(i, 4));
  h.receiving_app = Str(original.FieldRaw(i, 5));
  h.receiving_facility = Str(original.FieldRaw(i, 6));
  h.control_id = Str(original.FieldRaw(i, 10));
  h.processing_id = Str(original.FieldRaw(i, 11));
  h.version_field = Str(original.FieldRaw(i, 12));
  h.version = std::string(original.Version());
  h.trigger = std::string(original.TriggerEvent());
  h.charset_field = Str(original.FieldRaw(i, 18));
  h.charset = std::string(original.CharsetName());
  return BuildAck(h, options, ModeFor(original));
}

Result<Message> MakeAck(const Message& original, const AckOptions& options) {
  auto text = MakeAckText(original, options);
  if (!text.ok()) return text.status();
  return Message::Parse(std::move(text).value());
}

// ---------------------------------------------------------------------------
// NAK for bytes that do not parse.

std::string MakeNakForUnparseable(std::string_view raw_bytes, std::string_view reason,
                                  const AckOptions& options) {
  std::string_view in = raw_bytes.substr(0, kMaxSalvageScan);
  // Skip a BOM, an MLLP start byte and blank lines.
  if (in.size() >= 3 && in.substr(0, 3) == "\xEF\xBB\xBF") in.remove_prefix(3);
  while (!in.empty() && (in.front() == '\x0b' || in.front() == '\r' || in.front() == '\n' ||
                         in.front() == ' ' || in.front() == '\t')) {
    in.remove_prefix(1);
  }

  Header h;  // default delimiters |^~\&
  int err = error_code::kApplicationInternalError;
  std::size_t msh = std::string_view::npos;
  if (in.substr(0, 3) == "MSH") {
    msh = 0;
  } else {
    err = error_code::kSegmentSequenceError;  // MSH is not the first segment
    for (std::size_t p = in.find("MSH"); p != std::string_view::npos; p = in.find("MSH", p + 1)) {
      if (p > 0 && (in[p - 1] == '\r' || in[p - 1] == '\n')) {
        msh = p;
        break;
      }
    }
  }

  if (msh != std::string_view::npos) {
    std::string_view line = in.substr(msh);
    line = line.substr(0, line.find_first_of(std::string_view("\r\n\x1c", 3)));
    auto delims = Delimiters::FromHeader(line);
    if (!delims.ok() && err != error_code::kSegmentSequenceError) {
      err = error_code::kDataTypeError;
    }
    // With usable delimiters every value can be echoed raw. Otherwise split on
    // the byte after "MSH" when it is plausible, and keep only values that hold
    // no default delimiter, so the NAK itself stays well-formed.
    char sep = '\0';
    if (delims.ok()) {
      h.delimiters = *delims;
      sep = delims->field;
    } else if (line.size() > 3) {
      const auto c = static_cast<unsigned char>(line[3]);
      if (c > 0x20 && c < 0x7F &&
          !((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) {
        sep = line[3];
      }
    }
    if (sep != '\0') {
      std::vector<std::string_view> fields;  // fields[n] = MSH-n for n >= 2
      fields.push_back("MSH");
      fields.push_back("");  // MSH-1
      std::string_view rest = line.substr(4);
      while (fields.size() <= 18) {
        const std::size_t end = rest.find(sep);
        fields.push_back(rest.substr(0, end));
        if (end == std::string_view::npos) break;
        rest.remove_prefix(end + 1);
      }
      const Delimiters& d = h.delimiters;
      auto raw = [&](std::size_t n) -> std::string_view {
        if (n >= fields.size() || fields[n].size() > kMaxSalvagedField) return {};
        return fields[n];
      };
      auto get = [&](std::size_t n) -> std::string {
        const std::string_view v = raw(n);
        for (char c : v) {
          const auto u = static_cast<unsigned char>(c);
          if (u < 0x20 || u == 0x7F) return {};
          if (!delims.ok() && (d.IsSeparator(c) || c == d.escape)) return {};
        }
        return std::string(v);
      };
      h.sending_app = get(3);
      h.sending_facility = get(4);
      h.receiving_app = get(5);
      h.receiving_facility = get(6);
      h.control_id = get(10);
      h.processing_id = get(11);
      h.accept_ack = get(15);
      h.app_ack = get(16);
      // MSH-9.2 and MSH-12.1 are split out even when the whole field cannot be
      // echoed; they are kept only when they look like what they should be.
      auto is_code = [](std::string_view v) {
        if (v.empty() || v.size() > 7) return false;
        for (char c : v) {
          if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                c == '_')) {
            return false;
          }
        }
        return true;
      };
      const std::string_view trigger = NthPiece(raw(9), d.component, 1).value_or("");
      if (is_code(trigger)) h.trigger = std::string(trigger);
      const std::string_view version_id = NthPiece(raw(12), d.component, 0).value_or("");
      if (VersionKey(version_id)) {
        h.version = std::string(Trim(version_id));
        const std::string whole = get(12);
        h.version_field = delims.ok() && !whole.empty() ? whole : h.version;
      }
      const std::string charset = get(18);
      h.charset = std::string(NthPiece(charset, d.repetition, 0).value_or(""));
      if (!h.charset.empty() && Charset::FromMsh18(Trim(h.charset)).ok()) {
        h.charset_field = charset;
      } else {
        h.charset.clear();  // unknown charset: do not claim it
      }
    }
  }
  if (h.version.empty()) {
    h.version = "2.5";
    h.version_field = "2.5";
  }

  AckOptions opt = options;
  if (opt.text.empty()) opt.text = std::string(reason);
  if (opt.errors.empty()) {
    opt.errors.push_back(AckError{"", err, ErrorSeverity::kError, std::string(reason)});
    if (err == error_code::kSegmentSequenceError) opt.errors.back().location = "MSH";
  }
  if (opt.code.empty() || !IsKnownCode(opt.code)) {
    const bool enhanced = Valued(h.accept_ack) || Valued(h.app_ack);
    opt.code = enhanced ? "CR" : "AR";
  }
  auto text = BuildAck(h, opt, AckMode::kOriginal);
  return text.ok() ? std::move(text).value() : std::string();
}

}  // namespace junction::hl7
