#include "junction/hl7/json.h"

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "junction/hl7/batch.h"

namespace junction::hl7 {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// Length of the UTF-8 sequence at p (1-4) and its code point, or 0 when invalid.
std::size_t DecodeUtf8(const unsigned char* p, std::size_t n, std::uint32_t* cp) {
  const unsigned char c = p[0];
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  std::size_t len = 0;
  std::uint32_t value = 0;
  std::uint32_t min = 0;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2, value = c & 0x1Fu, min = 0x80;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3, value = c & 0x0Fu, min = 0x800;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4, value = c & 0x07u, min = 0x10000;
  } else {
    return 0;
  }
  if (n < len) return 0;
  for (std::size_t i = 1; i < len; ++i) {
    if ((p[i] & 0xC0u) != 0x80u) return 0;
    value = (value << 6) | (p[i] & 0x3Fu);
  }
  if (value < min || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return 0;
  *cp = value;
  return len;
}

void AppendUtf8(std::uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

void AppendU4(std::uint32_t v, std::string* out) {
  out->append("\\u");
  for (int shift = 12; shift >= 0; shift -= 4) out->push_back(kHex[(v >> shift) & 0xF]);
}

// Writes one ASCII byte, escaped as JSON requires (and 0x7F for visibility).
void AppendAsciiEscaped(unsigned char c, std::string* out) {
  switch (c) {
    case '"': out->append("\\\""); return;
    case '\\': out->append("\\\\"); return;
    case '\n': out->append("\\n"); return;
    case '\r': out->append("\\r"); return;
    case '\t': out->append("\\t"); return;
    default: break;
  }
  if (c < 0x20 || c == 0x7F) {
    AppendU4(c, out);
  } else {
    out->push_back(static_cast<char>(c));
  }
}

// `latin1`: every byte is the code point of its value. Otherwise the bytes are
// UTF-8; invalid sequences become U+FFFD.
void AppendString(std::string_view bytes, bool latin1, std::string* out) {
  out->push_back('"');
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t n = bytes.size();
  std::size_t i = 0;
  while (i < n) {
    if (p[i] < 0x80) {
      AppendAsciiEscaped(p[i], out);
      ++i;
      continue;
    }
    if (latin1) {
      AppendU4(p[i], out);
      ++i;
      continue;
    }
    std::uint32_t cp = 0;
    std::size_t len = DecodeUtf8(p + i, n - i, &cp);
    if (len == 0) {
      out->append("\\ufffd");
      ++i;
    } else if (cp == 0xFEFF || cp == 0x2028 || cp == 0x2029) {
      AppendU4(cp, out);  // invisible or line-breaking in many viewers
      i += len;
    } else {
      out->append(bytes.substr(i, len));
      i += len;
    }
  }
  out->push_back('"');
}

bool IsHeaderId(std::string_view id) { return id == "MSH" || id == "BHS" || id == "FHS"; }

// field = string | [repetition]; repetition = string | [component];
// component = string | [subcomponent]. A level is an array when the text holds
// its own separator or any deeper one, so "A^B" is [["A","B"]]. `seps` holds the
// repetition, component and subcomponent separators ('\0' when not declared).
void AppendNested(std::string_view raw, const char (&seps)[3], int level, bool latin1,
                  std::string* out) {
  bool split = false;
  for (int l = level; l < 3 && !split; ++l) {
    split = seps[l] != '\0' && raw.find(seps[l]) != std::string_view::npos;
  }
  if (!split) {
    AppendString(raw, latin1, out);
    return;
  }
  out->push_back('[');
  const char sep = seps[level] != '\0' ? seps[level] : '\0';
  auto emit = [&](std::string_view piece, std::size_t index) {
    if (index > 0) out->push_back(',');
    if (level == 2) {
      AppendString(piece, latin1, out);
    } else {
      AppendNested(piece, seps, level + 1, latin1, out);
    }
  };
  if (sep == '\0') {
    emit(raw, 0);
  } else {
    ForEachPiece(raw, sep, emit);
  }
  out->push_back(']');
}

}  // namespace

bool IsValidUtf8(std::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t n = bytes.size();
  std::size_t i = 0;
  while (i < n) {
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    std::uint32_t cp = 0;
    std::size_t len = DecodeUtf8(p + i, n - i, &cp);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

void AppendJsonString(std::string_view text, std::string* out) { AppendString(text, false, out); }

std::string JsonString(std::string_view text) {
  std::string out;
  AppendJsonString(text, &out);
  return out;
}

Result<std::string> MessageToJson(const Message& message, const JsonWriteOptions& options) {
  // A modified message is described as it would be sent: re-read its encoding.
  std::optional<Message> reparsed;
  const Message* m = &message;
  if (message.modified()) {
    auto again = Message::Parse(message.Encode());
    if (!again.ok()) {
      return Status(again.status().code(),
                    "the modified message does not parse: " + again.status().message(),
                    again.status().offset());
    }
    reparsed.emplace(std::move(again).value());
    m = &*reparsed;
  }
  const std::string_view bytes = m->original();
  const bool latin1 =
      !(IsValidUtf8(options.before) && IsValidUtf8(bytes) && IsValidUtf8(options.after));
  const Delimiters& d = m->delimiters();
  const char seps[3] = {d.repetition, d.component, d.subcomponent};
  const bool pretty = options.pretty;
  const char* key_sep = pretty ? ",\n  " : ",";

  // Segments follow each other in `bytes`: text, terminator, text, ...
  std::size_t pos = bytes.find("MSH");
  if (pos == std::string_view::npos) return Status(StatusCode::kInternal, "no MSH in message");

  std::string out;
  out.reserve(bytes.size() * 2 + 256);
  out.append(pretty ? "{\n  " : "{");
  out.append("\"bytes\":");
  if (pretty) out.push_back(' ');
  out.append(latin1 ? "\"latin-1\"" : "\"utf-8\"");
  out.append(key_sep);
  out.append(pretty ? "\"delimiters\": " : "\"delimiters\":");
  {
    std::string delims;
    if (auto f1 = m->FieldRaw(0, 1)) delims.append(*f1);
    if (auto f2 = m->FieldRaw(0, 2)) delims.append(*f2);
    AppendString(delims, latin1, &out);
  }
  out.append(key_sep);
  out.append(pretty ? "\"prefix\": " : "\"prefix\":");
  {
    std::string prefix(options.before);
    prefix.append(bytes.substr(0, pos));
    AppendString(prefix, latin1, &out);
  }
  out.append(key_sep);
  out.append(pretty ? "\"segments\": [" : "\"segments\":[");

  const std::size_t count = m->SegmentCount();
  for (std::size_t i = 0; i < count; ++i) {
    const std::string_view text = m->SegmentText(i);
    if (bytes.substr(pos, text.size()) != text) {
      return Status(StatusCode::kInternal, "segment " + std::to_string(i + 1) +
                                               " is not where the message bytes put it");
    }
    pos += text.size();
    std::size_t term_end = pos;
    if (i + 1 < count) {
      while (term_end < bytes.size() && (bytes[term_end] == '\r' || bytes[term_end] == '\n' ||
                                         bytes[term_end] == ' ' || bytes[term_end] == '\t')) {
        ++term_end;
      }
    } else if (term_end < bytes.size() && (bytes[term_end] == '\r' || bytes[term_end] == '\n')) {
      ++term_end;
      if (bytes[term_end - 1] == '\r' && term_end < bytes.size() && bytes[term_end] == '\n') {
        ++term_end;
      }
    }
    const std::string_view id = m->SegmentId(i);
    const bool header = IsHeaderId(id);
    out.append(i == 0 ? "" : ",");
    out.append(pretty ? "\n    {\"id\": " : "{\"id\":");
    AppendString(id, latin1, &out);
    out.append(pretty ? ", \"fields\": [" : ",\"fields\":[");
    const int fields = m->FieldCount(i);
    for (int f = 1; f <= fields; ++f) {
      if (f > 1) out.push_back(',');
      std::string_view raw = m->FieldRaw(i, f).value_or(std::string_view());
      if (header && f <= 2) {
        AppendString(raw, latin1, &out);
      } else {
        AppendNested(raw, seps, 0, latin1, &out);
      }
    }
    out.append(pretty ? "], \"terminator\": " : "],\"terminator\":");
    AppendString(bytes.substr(pos, term_end - pos), latin1, &out);
    out.push_back('}');
    pos = term_end;
  }
  out.append(pretty ? "\n  ]" : "]");
  out.append(key_sep);
  out.append(pretty ? "\"trailer\": " : "\"trailer\":");
  {
    std::string trailer(bytes.substr(pos));
    trailer.append(options.after);
    AppendString(trailer, latin1, &out);
  }
  out.append(pretty ? "\n}" : "}");
  return out;
}

Result<std::string> FileToJson(std::string_view bytes, bool pretty) {
  MessageSplitter splitter(bytes);
  std::vector<MessageSpan> spans;
  MessageSpan span;
  while (splitter.Next(&span)) spans.push_back(span);
  if (!splitter.status().ok()) return splitter.status();
  if (spans.empty()) {
    return Status::Invalid("no HL7 message found: expected a line starting with MSH", 0);
  }
  if (spans.size() == 1 && splitter.skipped_segments() == 0 &&
      splitter.skipped_control_segments() == 0 && splitter.junk_bytes() == 0) {
    // One message: keep BOM and MLLP framing inside the message's own prefix/trailer.
    auto whole = Message::Parse(bytes);
    if (whole.ok()) {
      JsonWriteOptions options;
      options.pretty = pretty;
      return MessageToJson(*whole, options);
    }
  }
  std::string out = pretty ? "[\n" : "[";
  std::size_t previous_end = 0;
  for (std::size_t i = 0; i < spans.size(); ++i) {
    const MessageSpan& s = spans[i];
    auto message = Message::Parse(bytes.substr(s.offset, s.length));
    if (!message.ok()) {
      const Status& st = message.status();
      return Status(st.code(), "message " + std::to_string(i + 1) + ": " + st.message(),
                    s.offset + (st.has_offset() ? st.offset() : 0));
    }
    JsonWriteOptions options;
    options.pretty = pretty;
    options.before = bytes.substr(previous_end, s.offset - previous_end);
    previous_end = s.offset + s.length;
    if (i + 1 == spans.size()) options.after = bytes.substr(previous_end);
    auto json = MessageToJson(*message, options);
    if (!json.ok()) return json.status();
    if (i > 0) out.append(pretty ? ",\n" : ",");
    out.append(*json);
  }
  out.append(pretty ? "\n]" : "]");
  return out;
}

// ---- Reading ----

namespace {

struct JsonValue {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  std::size_t offset = 0;  // where the value starts in the JSON text
  std::string text;        // string contents (UTF-8) or the number's literal
  std::vector<JsonValue> items;
  // Object members as parallel vectors: a vector of pairs holding JsonValue
  // would need JsonValue complete here, which not every standard library allows.
  std::vector<std::string> keys;
  std::vector<JsonValue> values;

  const JsonValue* Member(std::string_view key) const;
};

const JsonValue* JsonValue::Member(std::string_view key) const {
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (keys[i] == key) return &values[i];
  }
  return nullptr;
}

class JsonParser {
 public:
  JsonParser(std::string_view input, std::size_t max_depth) : in_(input), max_depth_(max_depth) {}

  Status Parse(JsonValue* out) {
    SkipSpace();
    JUNCTION_RETURN_IF_ERROR(ParseValue(out, 0));
    SkipSpace();
    if (pos_ != in_.size()) return Error("unexpected text after the JSON value");
    return Status::Ok();
  }

 private:
  Status Error(std::string what) const { return Status::Invalid("JSON: " + what, pos_); }

  void SkipSpace() {
    while (pos_ < in_.size() &&
           (in_[pos_] == ' ' || in_[pos_] == '\t' || in_[pos_] == '\n' || in_[pos_] == '\r')) {
      ++pos_;
    }
  }

  Status ParseValue(JsonValue* out, std::size_t depth) {
    if (pos_ >= in_.size()) return Error("expected a value, found the end of the input");
    out->offset = pos_;
    const char c = in_[pos_];
    if (c == '{' || c == '[') {
      if (depth >= max_depth_) return Error("nesting deeper than " + std::to_string(max_depth_));
      return c == '{' ? ParseObject(out, depth + 1) : ParseArray(out, depth + 1);
    }
    if (c == '"') {
      out->kind = JsonValue::Kind::kString;
      return ParseString(&out->text);
    }
    if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber(out);
    for (std::string_view word : {"true", "false", "null"}) {
      if (in_.substr(pos_, word.size()) == word) {
        out->kind = word == "null" ? JsonValue::Kind::kNull : JsonValue::Kind::kBool;
        out->text = std::string(word);
        pos_ += word.size();
        return Status::Ok();
      }
    }
    return Error("expected a value (object, array, string, number, true, false or null)");
  }

  Status ParseObject(JsonValue* out, std::size_t depth) {
    out->kind = JsonValue::Kind::kObject;
    ++pos_;
    SkipSpace();
    if (pos_ < in_.size() && in_[pos_] == '}') {
      ++pos_;
      return Status::Ok();
    }
    while (true) {
      SkipSpace();
      if (pos_ >= in_.size() || in_[pos_] != '"') return Error("expected a quoted key");
      std::string key;
      JUNCTION_RETURN_IF_ERROR(ParseString(&key));
      SkipSpace();
      if (pos_ >= in_.size() || in_[pos_] != ':') return Error("expected ':' after a key");
      ++pos_;
      SkipSpace();
      JsonValue value;
      JUNCTION_RETURN_IF_ERROR(ParseValue(&value, depth));
      out->keys.push_back(std::move(key));
      out->values.push_back(std::move(value));
      SkipSpace();
      if (pos_ < in_.size() && in_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < in_.size() && in_[pos_] == '}') {
        ++pos_;
        return Status::Ok();
      }
      return Error("expected ',' or '}' in an object");
    }
  }

  Status ParseArray(JsonValue* out, std::size_t depth) {
    out->kind = JsonValue::Kind::kArray;
    ++pos_;
    SkipSpace();
    if (pos_ < in_.size() && in_[pos_] == ']') {
      ++pos_;
      return Status::Ok();
    }
    while (true) {
      SkipSpace();
      JsonValue value;
      JUNCTION_RETURN_IF_ERROR(ParseValue(&value, depth));
      out->items.push_back(std::move(value));
      SkipSpace();
      if (pos_ < in_.size() && in_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < in_.size() && in_[pos_] == ']') {
        ++pos_;
        return Status::Ok();
      }
      return Error("expected ',' or ']' in an array");
    }
  }

  Status ParseNumber(JsonValue* out) {
    out->kind = JsonValue::Kind::kNumber;
    const std::size_t start = pos_;
    if (in_[pos_] == '-') ++pos_;
    auto digits = [&] {
      std::size_t begin = pos_;
      while (pos_ < in_.size() && in_[pos_] >= '0' && in_[pos_] <= '9') ++pos_;
      return pos_ > begin;
    };
    if (!digits()) return Error("expected digits in a number");
    if (pos_ < in_.size() && in_[pos_] == '.') {
      ++pos_;
      if (!digits()) return Error("expected digits after '.'");
    }
    if (pos_ < in_.size() && (in_[pos_] == 'e' || in_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < in_.size() && (in_[pos_] == '+' || in_[pos_] == '-')) ++pos_;
      if (!digits()) return Error("expected digits in an exponent");
    }
    out->text = std::string(in_.substr(start, pos_ - start));
    return Status::Ok();
  }

  Status ParseHex4(std::uint32_t* v) {
    if (in_.size() - pos_ < 4) return Error("expected 4 hex digits after \\u");
    *v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = in_[pos_++];
      std::uint32_t digit = 0;
      if (c >= '0' && c <= '9') {
        digit = static_cast<std::uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        digit = static_cast<std::uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        digit = static_cast<std::uint32_t>(c - 'A' + 10);
      } else {
        --pos_;
        return Error("expected a hex digit after \\u");
      }
      *v = (*v << 4) | digit;
    }
    return Status::Ok();
  }

  Status ParseString(std::string* out) {
    ++pos_;  // opening quote
    const auto* p = reinterpret_cast<const unsigned char*>(in_.data());
    while (true) {
      if (pos_ >= in_.size()) return Error("unterminated string");
      const unsigned char c = p[pos_];
      if (c == '"') {
        ++pos_;
        return Status::Ok();
      }
      if (c < 0x20) return Error("control character in a string (escape it)");
      if (c == '\\') {
        if (++pos_ >= in_.size()) return Error("unterminated escape");
        const char e = in_[pos_++];
        switch (e) {
          case '"': out->push_back('"'); break;
          case '\\': out->push_back('\\'); break;
          case '/': out->push_back('/'); break;
          case 'b': out->push_back('\b'); break;
          case 'f': out->push_back('\f'); break;
          case 'n': out->push_back('\n'); break;
          case 'r': out->push_back('\r'); break;
          case 't': out->push_back('\t'); break;
          case 'u': {
            std::uint32_t cp = 0;
            JUNCTION_RETURN_IF_ERROR(ParseHex4(&cp));
            if (cp >= 0xD800 && cp <= 0xDBFF) {
              std::uint32_t low = 0;
              if (in_.substr(pos_, 2) != "\\u") return Error("unpaired surrogate");
              pos_ += 2;
              JUNCTION_RETURN_IF_ERROR(ParseHex4(&low));
              if (low < 0xDC00 || low > 0xDFFF) return Error("unpaired surrogate");
              cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
              return Error("unpaired surrogate");
            }
            AppendUtf8(cp, out);
            break;
          }
          default:
            --pos_;
            return Error(std::string("unknown escape \\") + e);
        }
        continue;
      }
      if (c < 0x80) {
        out->push_back(static_cast<char>(c));
        ++pos_;
        continue;
      }
      std::uint32_t cp = 0;
      std::size_t len = DecodeUtf8(p + pos_, in_.size() - pos_, &cp);
      if (len == 0) return Error("invalid UTF-8");
      out->append(in_.substr(pos_, len));
      pos_ += len;
    }
  }

  std::string_view in_;
  std::size_t max_depth_;
  std::size_t pos_ = 0;
};

Status Expect(const JsonValue& v, bool ok, std::string what) {
  if (ok) return Status::Ok();
  return Status::Invalid("JSON: expected " + what, v.offset);
}

// The bytes a JSON string stands for in the message's byte mode.
Status StringBytes(const JsonValue& v, bool latin1, std::string_view what, std::string* out) {
  JUNCTION_RETURN_IF_ERROR(Expect(v, v.kind == JsonValue::Kind::kString,
                                  std::string(what) + " to be a string"));
  if (!latin1) {
    out->append(v.text);
    return Status::Ok();
  }
  const auto* p = reinterpret_cast<const unsigned char*>(v.text.data());
  std::size_t i = 0;
  while (i < v.text.size()) {
    std::uint32_t cp = 0;
    std::size_t len = DecodeUtf8(p + i, v.text.size() - i, &cp);
    if (len == 0 || cp > 0xFF) {
      return Status::Invalid(
          "JSON: " + std::string(what) + " holds a character above U+00FF in \"latin-1\" mode",
          v.offset);
    }
    out->push_back(static_cast<char>(cp));
    i += len;
  }
  return Status::Ok();
}

Status AppendNestedBytes(const JsonValue& v, const char (&seps)[3], int level, bool latin1,
                         std::string* out) {
  static constexpr std::string_view kLevel[] = {"a field", "a repetition", "a component"};
  if (v.kind == JsonValue::Kind::kString) return StringBytes(v, latin1, kLevel[level], out);
  JUNCTION_RETURN_IF_ERROR(Expect(v, v.kind == JsonValue::Kind::kArray,
                                  std::string(kLevel[level]) + " to be a string or an array"));
  JUNCTION_RETURN_IF_ERROR(
      Expect(v, !v.items.empty(), std::string(kLevel[level]) + " array to be non-empty"));
  if (seps[level] == '\0' && v.items.size() > 1) {
    return Status::Invalid("JSON: subcomponents need a subcomponent separator in \"delimiters\"",
                           v.offset);
  }
  for (std::size_t i = 0; i < v.items.size(); ++i) {
    if (i > 0) out->push_back(seps[level]);
    if (level == 2) {
      JUNCTION_RETURN_IF_ERROR(StringBytes(v.items[i], latin1, "a subcomponent", out));
    } else {
      JUNCTION_RETURN_IF_ERROR(AppendNestedBytes(v.items[i], seps, level + 1, latin1, out));
    }
  }
  return Status::Ok();
}

Status AppendMessageBytes(const JsonValue& obj, std::string* out) {
  JUNCTION_RETURN_IF_ERROR(
      Expect(obj, obj.kind == JsonValue::Kind::kObject, "a message object"));
  for (std::size_t i = 0; i < obj.keys.size(); ++i) {
    const std::string& key = obj.keys[i];
    const JsonValue& value = obj.values[i];
    if (key != "bytes" && key != "delimiters" && key != "prefix" && key != "segments" &&
        key != "trailer") {
      return Status::Invalid("JSON: unknown key \"" + key + "\" in a message object",
                             value.offset);
    }
  }
  bool latin1 = false;
  if (const JsonValue* mode = obj.Member("bytes")) {
    JUNCTION_RETURN_IF_ERROR(Expect(*mode,
                                    mode->kind == JsonValue::Kind::kString &&
                                        (mode->text == "utf-8" || mode->text == "latin-1"),
                                    "\"bytes\" to be \"utf-8\" or \"latin-1\""));
    latin1 = mode->text == "latin-1";
  }
  const JsonValue* delimiters_value = obj.Member("delimiters");
  if (delimiters_value == nullptr) {
    return Status::Invalid("JSON: expected a \"delimiters\" key in a message object", obj.offset);
  }
  std::string delimiters_text;
  JUNCTION_RETURN_IF_ERROR(
      StringBytes(*delimiters_value, latin1, "\"delimiters\"", &delimiters_text));
  auto delimiters = Delimiters::FromHeader("MSH" + delimiters_text + delimiters_text.substr(0, 1));
  if (delimiters_text.size() < 4 || !delimiters.ok()) {
    return Status::Invalid("JSON: \"delimiters\" must be the field separator and 3-5 encoding "
                           "characters, e.g. \"|^~\\\\&\"",
                           delimiters_value->offset);
  }
  const char field_sep = delimiters->field;
  const char seps[3] = {delimiters->repetition, delimiters->component, delimiters->subcomponent};

  if (const JsonValue* prefix = obj.Member("prefix")) {
    JUNCTION_RETURN_IF_ERROR(StringBytes(*prefix, latin1, "\"prefix\"", out));
  }
  const JsonValue* segments = obj.Member("segments");
  if (segments == nullptr) {
    return Status::Invalid("JSON: expected a \"segments\" key in a message object", obj.offset);
  }
  JUNCTION_RETURN_IF_ERROR(Expect(
      *segments, segments->kind == JsonValue::Kind::kArray && !segments->items.empty(),
      "\"segments\" to be a non-empty array"));
  for (const JsonValue& segment : segments->items) {
    JUNCTION_RETURN_IF_ERROR(
        Expect(segment, segment.kind == JsonValue::Kind::kObject, "a segment object"));
    for (std::size_t i = 0; i < segment.keys.size(); ++i) {
      const std::string& key = segment.keys[i];
      const JsonValue& value = segment.values[i];
      if (key != "id" && key != "fields" && key != "terminator") {
        return Status::Invalid("JSON: unknown key \"" + key + "\" in a segment object",
                               value.offset);
      }
    }
    const JsonValue* id = segment.Member("id");
    if (id == nullptr) {
      return Status::Invalid("JSON: expected an \"id\" key in a segment object", segment.offset);
    }
    std::string id_bytes;
    JUNCTION_RETURN_IF_ERROR(StringBytes(*id, latin1, "\"id\"", &id_bytes));
    out->append(id_bytes);
    const bool header = IsHeaderId(id_bytes);
    if (const JsonValue* fields = segment.Member("fields")) {
      JUNCTION_RETURN_IF_ERROR(
          Expect(*fields, fields->kind == JsonValue::Kind::kArray, "\"fields\" to be an array"));
      for (std::size_t f = 0; f < fields->items.size(); ++f) {
        const JsonValue& field = fields->items[f];
        if (header && f < 2) {
          // MSH-1 is the separator itself and MSH-2 follows it directly.
          std::string text;
          JUNCTION_RETURN_IF_ERROR(StringBytes(field, latin1, "MSH-1 and MSH-2", &text));
          if (f == 0 && text != delimiters_text.substr(0, 1)) {
            return Status::Invalid("JSON: MSH-1 differs from the first character of \"delimiters\"",
                                   field.offset);
          }
          if (f == 1 && text != delimiters_text.substr(1)) {
            return Status::Invalid("JSON: MSH-2 differs from \"delimiters\" after its first character",
                                   field.offset);
          }
          out->append(text);
          continue;
        }
        out->push_back(field_sep);
        JUNCTION_RETURN_IF_ERROR(AppendNestedBytes(field, seps, 0, latin1, out));
      }
    }
    if (const JsonValue* terminator = segment.Member("terminator")) {
      JUNCTION_RETURN_IF_ERROR(StringBytes(*terminator, latin1, "\"terminator\"", out));
    }
  }
  if (const JsonValue* trailer = obj.Member("trailer")) {
    JUNCTION_RETURN_IF_ERROR(StringBytes(*trailer, latin1, "\"trailer\"", out));
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> JsonToEr7(std::string_view json, const JsonReadOptions& options) {
  if (json.size() > options.max_bytes) {
    return Status::OutOfRange("JSON input of " + std::to_string(json.size()) +
                              " bytes exceeds the limit of " + std::to_string(options.max_bytes));
  }
  JsonValue root;
  JsonParser parser(json, options.max_depth);
  JUNCTION_RETURN_IF_ERROR(parser.Parse(&root));
  std::string out;
  if (root.kind == JsonValue::Kind::kArray) {
    if (root.items.empty()) {
      return Status::Invalid("JSON: expected at least one message object in the array", 0);
    }
    if (root.items.size() > options.max_messages) {
      return Status::OutOfRange("JSON: more than " + std::to_string(options.max_messages) +
                                " messages");
    }
    for (const JsonValue& item : root.items) {
      JUNCTION_RETURN_IF_ERROR(AppendMessageBytes(item, &out));
    }
  } else {
    JUNCTION_RETURN_IF_ERROR(AppendMessageBytes(root, &out));
  }
  return out;
}
}  // namespace junction::hl7
