// YAML profile loader. yaml-cpp throws on malformed input; every call into it is
// inside one try block here, so callers only ever see a Status.
#include "junction/profile/profile_yaml.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "junction/hl7/dictionary.h"

namespace junction::profile {
namespace {

constexpr int kMaxCount = 100'000;  // for min/max/repetition counts

// A rejected key or value, reported as "source:line: key: reason".
struct LoadError {
  int line = 0;  // 1-based
  std::string key;
  std::string reason;
};

class Loader {
 public:
  explicit Loader(std::string_view source) : source_(source) {}

  Result<hl7::Profile> Load(std::string_view text);

 private:
  Status Fail(const YAML::Node& at, std::string_view key, std::string_view reason) const {
    return Fail(at.Mark().line, key, reason);
  }
  Status Fail(int zero_based_line, std::string_view key, std::string_view reason) const {
    std::string m(source_);
    if (zero_based_line >= 0) m += ":" + std::to_string(zero_based_line + 1);
    m += ": ";
    if (!key.empty()) m += std::string(key) + ": ";
    m += reason;
    return Status::Invalid(std::move(m));
  }

  Status String(const YAML::Node& node, std::string_view key, std::string* out) const;
  Status Count(const YAML::Node& node, std::string_view key, int* out) const;
  Status Bool(const YAML::Node& node, std::string_view key, bool* out) const;
  // Checks that `node` is a mapping with unique keys from `known`; fills `lines`
  // (key -> 0-based line) for later reports.
  Status Keys(const YAML::Node& node, std::string_view what,
              std::initializer_list<std::string_view> known,
              std::map<std::string, int>* lines) const;

  Status Segment(const YAML::Node& node, hl7::Profile::SegmentRule* out) const;
  Status Field(const YAML::Node& node, hl7::Profile::FieldRule* out) const;

  std::string_view source_;
};

Status Loader::String(const YAML::Node& node, std::string_view key, std::string* out) const {
  if (!node.IsScalar()) return Fail(node, key, "expected a text value");
  *out = node.Scalar();
  return Status::Ok();
}

Status Loader::Count(const YAML::Node& node, std::string_view key, int* out) const {
  if (!node.IsScalar()) return Fail(node, key, "expected a whole number");
  const std::string& s = node.Scalar();
  if (s.empty() || s.size() > 6 ||
      !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Fail(node, key, "expected a whole number from 0 to " + std::to_string(kMaxCount));
  }
  int value = std::stoi(s);
  if (value > kMaxCount) {
    return Fail(node, key, "expected a whole number from 0 to " + std::to_string(kMaxCount));
  }
  *out = value;
  return Status::Ok();
}

Status Loader::Bool(const YAML::Node& node, std::string_view key, bool* out) const {
  if (node.IsScalar()) {
    const std::string& s = node.Scalar();
    if (s == "true" || s == "True" || s == "TRUE" || s == "yes") {
      *out = true;
      return Status::Ok();
    }
    if (s == "false" || s == "False" || s == "FALSE" || s == "no") {
      *out = false;
      return Status::Ok();
    }
  }
  return Fail(node, key, "expected true or false");
}

Status Loader::Keys(const YAML::Node& node, std::string_view what,
                    std::initializer_list<std::string_view> known,
                    std::map<std::string, int>* lines) const {
  if (!node.IsMap()) return Fail(node, what, "expected a mapping of keys to values");
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) return Fail(kv.first, what, "keys must be plain text");
    const std::string& key = kv.first.Scalar();
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      std::string list;
      for (std::string_view k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      return Fail(kv.first, key, "unknown key (expected one of: " + list + ")");
    }
    if (!lines->emplace(key, kv.first.Mark().line).second) {
      return Fail(kv.first, key, "given twice");
    }
  }
  return Status::Ok();
}

Status Loader::Segment(const YAML::Node& node, hl7::Profile::SegmentRule* out) const {
  std::map<std::string, int> lines;
  JUNCTION_RETURN_IF_ERROR(Keys(node, "segments", {"segment", "min", "max"}, &lines));
  if (!node["segment"]) return Fail(node, "segment", "missing (e.g. segment: PV1)");
  JUNCTION_RETURN_IF_ERROR(String(node["segment"], "segment", &out->segment));
  if (node["min"]) JUNCTION_RETURN_IF_ERROR(Count(node["min"], "min", &out->min));
  if (node["max"]) JUNCTION_RETURN_IF_ERROR(Count(node["max"], "max", &out->max));
  // Semantic checks (id form, min <= max) are CompileProfile's; run them on this
  // rule alone so the error points at its line.
  hl7::Profile one;
  one.segments.push_back(*out);
  Status s = hl7::CompileProfile(&one);
  if (!s.ok()) {
    // "segments[0] (XX): min: reason" -> key "min", reason.
    std::string_view m = s.message();
    std::size_t cut = m.find("): ");
    std::string_view rest = cut == std::string_view::npos ? m : m.substr(cut + 3);
    std::size_t colon = rest.find(": ");
    std::string key = colon == std::string_view::npos ? "" : std::string(rest.substr(0, colon));
    std::string reason(colon == std::string_view::npos ? rest : rest.substr(colon + 2));
    auto it = lines.find(key);
    return Fail(it != lines.end() ? it->second : node.Mark().line, key, reason);
  }
  return Status::Ok();
}

Status Loader::Field(const YAML::Node& node, hl7::Profile::FieldRule* out) const {
  std::map<std::string, int> lines;
  JUNCTION_RETURN_IF_ERROR(Keys(node, "fields",
                                {"path", "required", "allowed", "min_repetitions",
                                 "max_repetitions", "pattern"},
                                &lines));
  if (!node["path"]) return Fail(node, "path", "missing (e.g. path: PID-3)");
  JUNCTION_RETURN_IF_ERROR(String(node["path"], "path", &out->path));
  if (node["required"]) JUNCTION_RETURN_IF_ERROR(Bool(node["required"], "required", &out->required));
  if (node["min_repetitions"]) {
    JUNCTION_RETURN_IF_ERROR(Count(node["min_repetitions"], "min_repetitions", &out->min_repetitions));
  }
  if (node["max_repetitions"]) {
    JUNCTION_RETURN_IF_ERROR(Count(node["max_repetitions"], "max_repetitions", &out->max_repetitions));
  }
  if (node["pattern"]) JUNCTION_RETURN_IF_ERROR(String(node["pattern"], "pattern", &out->pattern));
  if (const YAML::Node allowed = node["allowed"]) {
    if (!allowed.IsSequence() || allowed.size() == 0) {
      return Fail(allowed, "allowed", "expected a non-empty list of values, e.g. [F, M, U]");
    }
    if (allowed.size() > kMaxAllowedValues) {
      return Fail(allowed, "allowed", "more than " + std::to_string(kMaxAllowedValues) + " values");
    }
    for (const YAML::Node& v : allowed) {
      std::string value;
      JUNCTION_RETURN_IF_ERROR(String(v, "allowed", &value));
      out->allowed.insert(std::move(value));
    }
  }
  hl7::Profile one;
  one.fields.push_back(*out);
  Status s = hl7::CompileProfile(&one);
  if (!s.ok()) {
    std::string_view m = s.message();
    std::size_t cut = m.find("): ");
    std::string_view rest = cut == std::string_view::npos ? m : m.substr(cut + 3);
    std::size_t colon = rest.find(": ");
    std::string key = colon == std::string_view::npos ? "" : std::string(rest.substr(0, colon));
    std::string reason(colon == std::string_view::npos ? rest : rest.substr(colon + 2));
    auto it = lines.find(key);
    return Fail(it != lines.end() ? it->second : node.Mark().line, key, reason);
  }
  return Status::Ok();
}

Result<hl7::Profile> Loader::Load(std::string_view text) {
  if (text.size() > kMaxProfileBytes) {
    return Fail(-1, "", "larger than " + std::to_string(kMaxProfileBytes) + " bytes");
  }
  hl7::Profile profile;
  try {
    YAML::Node root = YAML::Load(std::string(text));
    if (!root || root.IsNull()) return Fail(-1, "", "empty profile");
    std::map<std::string, int> lines;
    JUNCTION_RETURN_IF_ERROR(
        Keys(root, "", {"name", "message_type", "version", "segments", "fields"}, &lines));
    if (!root["name"]) return Fail(root, "name", "missing (every profile needs a name)");
    JUNCTION_RETURN_IF_ERROR(String(root["name"], "name", &profile.name));
    if (profile.name.empty()) return Fail(root["name"], "name", "must not be empty");
    if (root["message_type"]) {
      JUNCTION_RETURN_IF_ERROR(String(root["message_type"], "message_type", &profile.message_type));
    }
    if (root["version"]) {
      const YAML::Node v = root["version"];
      JUNCTION_RETURN_IF_ERROR(String(v, "version", &profile.version));
      if (!profile.version.empty() && hl7::Dictionary::ForVersion(profile.version) == nullptr) {
        return Fail(v, "version", "unknown HL7 version (quote it: \"2.5.1\"; 2.1 to 2.9)");
      }
    }
    if (const YAML::Node segments = root["segments"]) {
      if (!segments.IsSequence()) return Fail(segments, "segments", "expected a list of rules");
      if (segments.size() > kMaxRules) return Fail(segments, "segments", "too many rules");
      for (const YAML::Node& s : segments) {
        hl7::Profile::SegmentRule rule;
        JUNCTION_RETURN_IF_ERROR(Segment(s, &rule));
        profile.segments.push_back(std::move(rule));
      }
    }
    if (const YAML::Node fields = root["fields"]) {
      if (!fields.IsSequence()) return Fail(fields, "fields", "expected a list of rules");
      if (fields.size() > kMaxRules) return Fail(fields, "fields", "too many rules");
      for (const YAML::Node& f : fields) {
        hl7::Profile::FieldRule rule;
        JUNCTION_RETURN_IF_ERROR(Field(f, &rule));
        profile.fields.push_back(std::move(rule));
      }
    }
    Status s = hl7::CompileProfile(&profile);
    if (!s.ok()) {
      auto it = lines.find("message_type");
      return Fail(it != lines.end() ? it->second : -1, "", s.message());
    }
  } catch (const YAML::Exception& e) {
    return Fail(e.mark.is_null() ? -1 : e.mark.line, "", "not valid YAML: " + e.msg);
  }
  return profile;
}

}  // namespace

Result<hl7::Profile> ParseProfileYaml(std::string_view text, std::string_view source) {
  return Loader(source).Load(text);
}

Result<hl7::Profile> LoadProfileYaml(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Status::Io(file + ": cannot open profile");
  std::string text;
  char buf[8192];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxProfileBytes) {
      return Status::Invalid(file + ": larger than " + std::to_string(kMaxProfileBytes) + " bytes");
    }
  }
  if (in.bad()) return Status::Io(file + ": read error");
  return ParseProfileYaml(text, file);
}

}  // namespace junction::profile
