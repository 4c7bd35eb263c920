// The YAML reading helpers behind LoadConfig, shared by the parts of the config
// parser that live in their own files (rules, destinations, sources). Every
// error has the form `file:line: key: reason`.
//
// yaml-cpp throws on malformed YAML; callers run inside ParseConfig's try
// block. Values are read as scalar strings and checked here.
#pragma once

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <set>
#include <string>
#include <string_view>

#include "junction/hl7/status.h"

namespace junction::engine::internal {

class ConfigParser {
 public:
  explicit ConfigParser(std::string file) : file_(std::move(file)) {}
  const std::string& file() const { return file_; }

  Status Error(const YAML::Node& node, int fallback_line, const std::string& key,
               const std::string& reason) const {
    int line = fallback_line;
    if (node.IsDefined() && node.Mark().line >= 0) line = node.Mark().line + 1;
    return Status::Invalid(file_ + ":" + std::to_string(line) + ": " + key + ": " + reason);
  }

  // For a missing key: the line of the key that should have held it.
  Status ErrorAt(int line, const std::string& key, const std::string& reason) const {
    return Status::Invalid(file_ + ":" + std::to_string(line) + ": " + key + ": " + reason);
  }

  static int LineOf(const YAML::Node& node, int fallback) {
    return node.IsDefined() && node.Mark().line >= 0 ? node.Mark().line + 1 : fallback;
  }

  // Calls f(key, value, line) for each entry of a mapping; a null node is an
  // empty mapping. Unknown and repeated keys are errors.
  Status ForEachKey(const YAML::Node& map, int line, const std::string& prefix,
                    std::initializer_list<std::string_view> known,
                    const std::function<Status(const std::string&, const YAML::Node&, int)>& f) {
    if (map.IsNull()) return Status::Ok();
    if (!map.IsMap()) return Error(map, line, prefix, "must be a mapping (key: value)");
    std::set<std::string> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      const YAML::Node key_node = it->first;
      const int key_line = LineOf(key_node, line);
      const std::string key = key_node.IsScalar() ? key_node.Scalar() : std::string("?");
      const std::string full = prefix.empty() ? key : prefix + "." + key;
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        std::string expected;
        for (std::string_view k : known) {
          if (!expected.empty()) expected += ", ";
          expected += k;
        }
        return Error(key_node, key_line, full, "unknown key (expected one of: " + expected + ")");
      }
      if (!seen.insert(key).second) return Error(key_node, key_line, full, "duplicate key");
      JUNCTION_RETURN_IF_ERROR(f(full, it->second, key_line));
    }
    return Status::Ok();
  }

  Result<std::string> Scalar(const YAML::Node& node, int line, const std::string& key,
                             const char* what) {
    if (!node.IsScalar()) return Error(node, line, key, std::string("must be ") + what);
    return node.Scalar();
  }

  Result<std::string> NonEmpty(const YAML::Node& node, int line, const std::string& key) {
    auto s = Scalar(node, line, key, "a string");
    if (!s.ok()) return s;
    if (s->empty()) return Error(node, line, key, "must not be empty");
    return s;
  }

  Result<bool> Bool(const YAML::Node& node, int line, const std::string& key) {
    auto s = Scalar(node, line, key, "true or false");
    if (!s.ok()) return s.status();
    std::string v = *s;
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
    if (v == "true" || v == "yes" || v == "on") return true;
    if (v == "false" || v == "no" || v == "off") return false;
    return Error(node, line, key, "must be true or false");
  }

  Result<std::int64_t> Int(const YAML::Node& node, int line, const std::string& key,
                           std::int64_t min, std::int64_t max) {
    const std::string range =
        "must be an integer from " + std::to_string(min) + " to " + std::to_string(max);
    auto s = Scalar(node, line, key, "an integer");
    if (!s.ok()) return s.status();
    std::int64_t value = 0;
    const char* first = s->data();
    const char* last = first + s->size();
    if (first != last && *first == '+') ++first;
    auto [ptr, ec] = std::from_chars(first, last, value);
    if (first == last || ec != std::errc() || ptr != last || value < min || value > max) {
      return Error(node, line, key, range);
    }
    return value;
  }

  Result<std::string> Enum(const YAML::Node& node, int line, const std::string& key,
                           std::initializer_list<std::string_view> values) {
    std::string list;
    for (std::string_view v : values) {
      if (!list.empty()) list += ", ";
      list += v;
    }
    auto s = Scalar(node, line, key, "a string");
    if (!s.ok()) return s.status();
    if (std::find(values.begin(), values.end(), *s) == values.end()) {
      return Error(node, line, key, "must be one of " + list);
    }
    return s;
  }

  Result<std::string> ReadableFile(const YAML::Node& node, int line, const std::string& key) {
    auto s = NonEmpty(node, line, key);
    if (!s.ok()) return s;
    std::ifstream in(*s, std::ios::binary);
    if (!in) return Error(node, line, key, "cannot read file '" + *s + "'");
    return s;
  }

 private:
  std::string file_;
};

}  // namespace junction::engine::internal
