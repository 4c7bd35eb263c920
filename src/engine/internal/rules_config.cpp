// Parsing of `tables:`, `filter:` and `transform:` into Tables and
// PipelineSpecData (rules_spec.h). Everything is checked here, so a bad rule,
// path, regex, table name or Lua syntax error stops the config at startup with
// `file:line: key: reason`. docs/rules.md describes the grammar.
// GCC 12 reports a false -Wmaybe-uninitialized inside libstdc++'s <regex>
// (std::function in the NFA states) at -O1 with sanitizers, as in
// src/hl7/internal/validate_pattern.cpp.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "engine/internal/rules_config.h"

#include <cctype>
#include <fstream>
#include <sstream>

#include "engine/internal/lua_sandbox.h"
#include "engine/internal/rules_spec.h"
#include "engine/internal/rules_values.h"

namespace junction::engine::internal {
namespace {

constexpr int kMaxRuleDepth = 32;
constexpr std::size_t kMaxSteps = 1000;
constexpr std::size_t kMaxPatternBytes = 1000;
constexpr std::size_t kMaxTableRows = 1'000'000;

using Op = Comparison::Op;

// "channels[0].transform" -> "transform": reasons name keys relative to the
// channel or destination.
std::string RelativeKey(const std::string& key) {
  const std::size_t dot = key.rfind('.');
  return dot == std::string::npos ? key : key.substr(dot + 1);
}

bool IsSegmentId(std::string_view id) {
  if (id.size() != 3) return false;
  for (char c : id) {
    if (!std::isupper(static_cast<unsigned char>(c)) &&
        !std::isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

bool IsHeaderId(std::string_view id) { return id == "MSH" || id == "BHS" || id == "FHS"; }

class RulesParser {
 public:
  RulesParser(ConfigParser& parser, const Tables& tables) : p_(parser), tables_(tables) {}

  // ---- paths ----

  Result<RulePath> ParsePath(const YAML::Node& node, int line, const std::string& key) {
    auto text = p_.NonEmpty(node, line, key);
    if (!text.ok()) return text.status();
    return PathFromText(*text, node, line, key);
  }

  Result<RulePath> PathFromText(const std::string& text, const YAML::Node& node, int line,
                                const std::string& key) {
    auto path = hl7::Path::Parse(text);
    if (!path.ok()) return p_.Error(node, line, key, path.status().message());
    RulePath rp;
    rp.text = text;
    rp.path = *path;
    rp.any_occurrence = text.size() <= 3 || text[3] != '[' || path->occurrence == hl7::Path::kAll;
    rp.every_occurrence = path->occurrence == hl7::Path::kAll;
    if (rp.path.occurrence == hl7::Path::kAll) rp.path.occurrence = 1;
    rp.any_repetition = !path->repetition_given || path->repetition == hl7::Path::kAll;
    return rp;
  }

  // A path a step writes to: a field (or part of one).
  Result<RulePath> FieldPath(const YAML::Node& node, int line, const std::string& key) {
    auto rp = ParsePath(node, line, key);
    if (!rp.ok()) return rp;
    if (rp->path.field == 0) {
      return p_.Error(node, line, key, "must name a field, e.g. PID-5 or PID-5.1");
    }
    if (rp->path.field <= 2 && IsHeaderId(rp->path.SegmentId())) {
      return p_.Error(node, line, key, "MSH-1 and MSH-2 are the delimiters and cannot be changed");
    }
    return rp;
  }

  // ---- templates ----

  Result<std::vector<TemplatePart>> ParseTemplate(const std::string& text, const YAML::Node& node,
                                                  int line, const std::string& key) {
    std::vector<TemplatePart> parts;
    std::string literal;
    for (std::size_t i = 0; i < text.size(); ++i) {
      const char c = text[i];
      if ((c == '{' || c == '}') && i + 1 < text.size() && text[i + 1] == c) {
        literal.push_back(c);
        ++i;
        continue;
      }
      if (c == '}') return p_.Error(node, line, key, "unmatched '}' (write }} for a brace)");
      if (c != '{') {
        literal.push_back(c);
        continue;
      }
      const std::size_t close = text.find('}', i);
      if (close == std::string::npos) {
        return p_.Error(node, line, key, "unclosed '{' (write {{ for a brace)");
      }
      if (!literal.empty()) parts.push_back({std::move(literal), std::nullopt});
      literal.clear();
      const std::string inner = text.substr(i + 1, close - i - 1);
      auto rp = PathFromText(inner, node, line, key);
      if (!rp.ok()) return rp.status();
      if (rp->every_occurrence) {
        return p_.Error(node, line, key, "a placeholder names one value ({" + inner + "})");
      }
      parts.push_back({std::string(), std::move(rp).value()});
      i = close;
    }
    if (!literal.empty()) parts.push_back({std::move(literal), std::nullopt});
    return parts;
  }

  // ---- Lua ----

  Result<std::string> LuaSource(const YAML::Node& node, int line, const std::string& key) {
    auto source = p_.NonEmpty(node, line, key);
    if (!source.ok()) return source;
    if (auto error = CheckLuaSyntax(*source)) {
      // A block scalar (`lua: |`) starts on the line after its key.
      const int base = ConfigParser::LineOf(node, line);
      const bool block = !source->empty() && source->back() == '\n';
      const int at = base + (error->line > 0 ? error->line - 1 : 0) + (block ? 1 : 0);
      return p_.ErrorAt(
          at, key, "lua syntax error: line " + std::to_string(error->line) + ": " + error->reason);
    }
    return source;
  }

  // ---- filters ----

  Status ParseRule(const YAML::Node& node, int line, const std::string& full,
                   const std::string& rel, int depth, Rule* out) {
    line = ConfigParser::LineOf(node, line);
    out->key = rel;
    if (depth > kMaxRuleDepth) {
      return p_.Error(node, line, full,
                      "rules nested deeper than " + std::to_string(kMaxRuleDepth));
    }
    if (node.IsSequence()) {
      out->kind = Rule::Kind::kAll;
      return Children(node, line, full, rel, depth, out);
    }
    if (!node.IsMap() || node.size() == 0) {
      return p_.Error(node, line, full,
                      "must be a rule: { path: ..., equals: ... }, all: [...], any: [...], not: "
                      "{...} or lua: ...");
    }
    for (const char* combinator : {"all", "any", "not", "lua"}) {
      if (!node[combinator].IsDefined()) continue;
      if (node.size() != 1) {
        return p_.Error(node, line, full,
                        std::string("'") + combinator + "' must be the only key of its rule");
      }
      const YAML::Node value = node[combinator];
      const std::string key = full + "." + combinator;
      const std::string rkey = rel + "." + combinator;
      const std::string c(combinator);
      if (c == "lua") {
        out->kind = Rule::Kind::kLua;
        auto source = LuaSource(value, line, key);
        if (!source.ok()) return source.status();
        out->lua_source = *source;
        return Status::Ok();
      }
      if (c == "not") {
        out->kind = Rule::Kind::kNot;
        out->children.emplace_back();
        return ParseRule(value, line, key, rkey, depth + 1, &out->children.back());
      }
      out->kind = c == "all" ? Rule::Kind::kAll : Rule::Kind::kAny;
      if (!value.IsSequence() || value.size() == 0) {
        return p_.Error(value, line, key, "must be a list of at least one rule");
      }
      return Children(value, line, key, rkey, depth, out);
    }
    return Leaf(node, line, full, out);
  }

  Status Children(const YAML::Node& list, int line, const std::string& full, const std::string& rel,
                  int depth, Rule* out) {
    std::size_t i = 0;
    for (const YAML::Node& child : list) {
      const std::string index = "[" + std::to_string(i++) + "]";
      out->children.emplace_back();
      JUNCTION_RETURN_IF_ERROR(
          ParseRule(child, line, full + index, rel + index, depth + 1, &out->children.back()));
    }
    return Status::Ok();
  }

  Status Leaf(const YAML::Node& node, int line, const std::string& full, Rule* out) {
    out->kind = Rule::Kind::kLeaf;
    bool have_path = false;
    std::string pattern;
    YAML::Node pattern_node;
    std::string pattern_key;
    JUNCTION_RETURN_IF_ERROR(p_.ForEachKey(
        node, line, full,
        {"path", "equals", "in", "matches", "exists", "empty", "gt", "ge", "lt", "le", "before",
         "after", "ignore_case"},
        [&](const std::string& key, const YAML::Node& v, int l) -> Status {
          const std::string name = key.substr(key.rfind('.') + 1);
          if (name == "path") {
            auto rp = ParsePath(v, l, key);
            if (!rp.ok()) return rp.status();
            out->path = std::move(rp).value();
            have_path = true;
            return Status::Ok();
          }
          if (name == "ignore_case") {
            auto b = p_.Bool(v, l, key);
            if (!b.ok()) return b.status();
            out->ignore_case = *b;
            return Status::Ok();
          }
          Comparison c;
          if (name == "equals") {
            c.op = Op::kEquals;
            auto s = p_.Scalar(v, l, key, "a string");
            if (!s.ok()) return s.status();
            c.values.push_back(*s);
            c.text = "equals " + *s;
          } else if (name == "in") {
            c.op = Op::kIn;
            if (!v.IsSequence() || v.size() == 0) {
              return p_.Error(v, l, key, "must be a list of at least one value");
            }
            c.text = "in [";
            std::size_t i = 0;
            for (const YAML::Node& item : v) {
              auto s = p_.Scalar(item, l, key + "[" + std::to_string(i) + "]", "a string");
              if (!s.ok()) return s.status();
              if (i++ > 0) c.text += ", ";
              c.text += *s;
              c.values.push_back(*s);
            }
            c.text += "]";
          } else if (name == "matches") {
            c.op = Op::kMatches;
            auto s = p_.NonEmpty(v, l, key);
            if (!s.ok()) return s.status();
            if (s->size() > kMaxPatternBytes) {
              return p_.Error(v, l, key,
                              "longer than " + std::to_string(kMaxPatternBytes) + " characters");
            }
            pattern = *s;
            pattern_node = v;
            pattern_key = key;
            c.text = "matches " + *s;
          } else if (name == "exists" || name == "empty") {
            c.op = name == "exists" ? Op::kExists : Op::kEmpty;
            auto b = p_.Bool(v, l, key);
            if (!b.ok()) return b.status();
            c.flag = *b;
            c.text = name == "exists" ? (*b ? "exists" : "does not exist")
                                      : (*b ? "is empty" : "is not empty");
          } else if (name == "gt" || name == "ge" || name == "lt" || name == "le") {
            c.op = name == "gt"   ? Op::kGt
                   : name == "ge" ? Op::kGe
                   : name == "lt" ? Op::kLt
                                  : Op::kLe;
            auto s = p_.Scalar(v, l, key, "a number");
            if (!s.ok()) return s.status();
            if (!ParseNumber(*s, &c.number)) return p_.Error(v, l, key, "must be a number");
            c.text = name + " " + *s;
          } else {  // before, after
            c.op = name == "before" ? Op::kBefore : Op::kAfter;
            auto s = p_.NonEmpty(v, l, key);
            if (!s.ok()) return s.status();
            auto date = hl7::ParseDtm(*s);
            if (!date.ok()) {
              return p_.Error(v, l, key,
                              "must be an HL7 date/time YYYY[MM[DD[HH[MM[SS]]]]][+/-ZZZZ]: " +
                                  date.status().message());
            }
            c.date = *date;
            c.text = name + " " + *s;
          }
          out->comparisons.push_back(std::move(c));
          return Status::Ok();
        }));
    if (!have_path) return p_.Error(node, line, full + ".path", "is required");
    if (out->comparisons.empty()) {
      return p_.Error(node, line, full,
                      "needs a comparison: equals, in, matches, exists, empty, gt, ge, lt, le, "
                      "before or after");
    }
    for (Comparison& c : out->comparisons) {
      if (out->ignore_case) {
        for (std::string& value : c.values) {
          for (char& ch : value)
            ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        }
      }
      if (c.op != Op::kMatches) continue;
      try {
        auto flags = std::regex::ECMAScript | std::regex::optimize;
        if (out->ignore_case) flags |= std::regex::icase;
        c.regex = std::make_shared<const std::regex>(pattern, flags);
      } catch (const std::regex_error& e) {
        return p_.Error(pattern_node, line, pattern_key,
                        std::string("invalid regular expression: ") + e.what());
      }
    }
    return Status::Ok();
  }

  // ---- transform steps ----

  Status ParseStep(const YAML::Node& node, int line, const std::string& full, Step* out) {
    line = ConfigParser::LineOf(node, line);
    if (!node.IsMap() || node.size() != 1) {
      return p_.Error(node, line, full,
                      "must be one step: set, copy, delete, map, format_date, add_segment, "
                      "remove_segment, rename_segment, version or lua");
    }
    return p_.ForEachKey(node, line, full,
                         {"set", "copy", "delete", "map", "format_date", "add_segment",
                          "remove_segment", "rename_segment", "version", "lua"},
                         [&](const std::string& key, const YAML::Node& v, int l) -> Status {
                           out->name = key.substr(key.rfind('.') + 1);
                           const std::string& n = out->name;
                           if (n == "set") return Set(v, l, key, out);
                           if (n == "copy") return Copy(v, l, key, out);
                           if (n == "delete") return Delete(v, l, key, out);
                           if (n == "map") return Map(v, l, key, out);
                           if (n == "format_date") return FormatDateStep(v, l, key, out);
                           if (n == "add_segment") return AddSegment(v, l, key, out);
                           if (n == "remove_segment") return RemoveSegment(v, l, key, out);
                           if (n == "rename_segment") return RenameSegment(v, l, key, out);
                           if (n == "version") return Version(v, l, key, out);
                           out->kind = Step::Kind::kLua;
                           auto source = LuaSource(v, l, key);
                           if (!source.ok()) return source.status();
                           out->lua_source = *source;
                           return Status::Ok();
                         });
  }

  // Requires the keys in `required` of a step mapping.
  Status Require(const YAML::Node& node, int line, const std::string& key,
                 std::initializer_list<const char*> required) {
    for (const char* name : required) {
      if (!node[name].IsDefined()) return p_.Error(node, line, key + "." + name, "is required");
    }
    return Status::Ok();
  }

  Status Set(const YAML::Node& v, int l, const std::string& key, Step* out) {
    out->kind = Step::Kind::kSet;
    bool have_value = false;
    JUNCTION_RETURN_IF_ERROR(
        p_.ForEachKey(v, l, key, {"path", "value", "template"},
                      [&](const std::string& k, const YAML::Node& x, int xl) -> Status {
                        if (k == key + ".path") {
                          auto rp = FieldPath(x, xl, k);
                          if (!rp.ok()) return rp.status();
                          out->path = std::move(rp).value();
                          return Status::Ok();
                        }
                        if (have_value)
                          return p_.Error(x, xl, k, "give either value or template, not both");
                        have_value = true;
                        auto s = p_.Scalar(x, xl, k, "a string");
                        if (!s.ok()) return s.status();
                        if (s->find_first_of("\r\n") != std::string::npos) {
                          return p_.Error(x, xl, k, "cannot contain line breaks");
                        }
                        if (k == key + ".value") {
                          out->value = *s;
                          return Status::Ok();
                        }
                        out->has_template = true;
                        auto parts = ParseTemplate(*s, x, xl, k);
                        if (!parts.ok()) return parts.status();
                        out->parts = std::move(parts).value();
                        return Status::Ok();
                      }));
    JUNCTION_RETURN_IF_ERROR(Require(v, l, key, {"path"}));
    if (!have_value) return p_.Error(v, l, key + ".value", "is required (or template)");
    return Status::Ok();
  }

  Status Copy(const YAML::Node& v, int l, const std::string& key, Step* out) {
    out->kind = Step::Kind::kCopy;
    JUNCTION_RETURN_IF_ERROR(
        p_.ForEachKey(v, l, key, {"from", "to"},
                      [&](const std::string& k, const YAML::Node& x, int xl) -> Status {
                        auto rp = k == key + ".to" ? FieldPath(x, xl, k) : ParsePath(x, xl, k);
                        if (!rp.ok()) return rp.status();
                        (k == key + ".to" ? out->path : out->from) = std::move(rp).value();
                        return Status::Ok();
                      }));
    JUNCTION_RETURN_IF_ERROR(Require(v, l, key, {"from", "to"}));
    if (out->from.every_occurrence && !out->path.every_occurrence) {
      return p_.Error(v["to"], l, key + ".to", "copying from SEG[*] needs a SEG[*] target too");
    }
    return Status::Ok();
  }

  // `delete: PID-19` or `delete: { path: PID-19 }`.
  Status Delete(const YAML::Node& v, int l, const std::string& key, Step* out) {
    out->kind = Step::Kind::kDelete;
    if (v.IsScalar()) {
      auto rp = ParsePath(v, l, key);
      if (!rp.ok()) return rp.status();
      out->path = std::move(rp).value();
    } else {
      JUNCTION_RETURN_IF_ERROR(p_.ForEachKey(
          v, l, key, {"path"}, [&](const std::string& k, const YAML::Node& x, int xl) {
            auto rp = ParsePath(x, xl, k);
            if (!rp.ok()) return rp.status();
            out->path = std::move(rp).value();
            return Status::Ok();
          }));
      JUNCTION_RETURN_IF_ERROR(Require(v, l, key, {"path"}));
    }
    if (out->path.path.SegmentId() == "MSH" && out->path.path.field == 0) {
      return p_.Error(v, l, key, "the MSH segment cannot be deleted");
    }
    if (out->path.path.field > 0 && out->path.path.field <= 2 &&
        IsHeaderId(out->path.path.SegmentId())) {
      return p_.Error(v, l, key, "MSH-1 and MSH-2 are the delimiters and cannot be deleted");
    }
    return Status::Ok();
  }

  Status Map(const YAML::Node& v, int l, const std::string& key, Step* out) {
    out->kind = Step::Kind::kMap;
    JUNCTION_RETURN_IF_ERROR(p_.ForEachKey(
        v, l, key, {"path", "table", "default"},
        [&](const std::string& k, const YAML::Node& x, int xl) -> Status {
          if (k == key + ".path") {
            auto rp = FieldPath(x, xl, k);
            if (!rp.ok()) return rp.status();
            out->path = std::move(rp).value();
          } else if (k == key + ".table") {
            auto s = p_.NonEmpty(x, xl, k);
            if (!s.ok()) return s.status();
            if (tables_.find(*s) == tables_.end()) {
              std::string known;
              for (const auto& [name, table] : tables_) known += (known.empty() ? "" : ", ") + name;
              return p_.Error(
                  x, xl, k,
                  "no table '" + *s + "' in tables:" +
                      (known.empty() ? " (none defined)" : " (defined: " + known + ")"));
            }
            out->value = *s;
          } else {
            auto s = p_.Scalar(x, xl, k, "a string");
            if (!s.ok()) return s.status();
            out->fallback = *s;
          }
          return Status::Ok();
        }));
    return Require(v, l, key, {"path", "table"});
  }

  Status FormatDateStep(const YAML::Node& v, int l, const std::string& key, Step* out) {
    out->kind = Step::Kind::kFormatDate;
    JUNCTION_RETURN_IF_ERROR(p_.ForEachKey(
        v, l, key, {"path", "to", "precision"},
        [&](const std::string& k, const YAML::Node& x, int xl) -> Status {
          if (k == key + ".path") {
            auto rp = FieldPath(x, xl, k);
            if (!rp.ok()) return rp.status();
            out->path = std::move(rp).value();
            return Status::Ok();
          }
          if (!out->value.empty() || out->precision) {
            return p_.Error(x, xl, k, "give either to or precision, not both");
          }
          auto s = p_.NonEmpty(x, xl, k);
          if (!s.ok()) return s.status();
          if (k == key + ".to") {
            Status check = CheckDatePattern(*s);
            if (!check.ok()) return p_.Error(x, xl, k, check.message());
            out->value = *s;
          } else {
            hl7::DatePrecision precision;
            if (!PrecisionFromName(*s, &precision)) {
              return p_.Error(x, xl, k,
                              "must be one of year, month, day, hour, minute, second, fraction");
            }
            out->precision = precision;
          }
          return Status::Ok();
        }));
    JUNCTION_RETURN_IF_ERROR(Require(v, l, key, {"path"}));
    if (out->value.empty() && !out->precision) {
      return p_.Error(v, l, key + ".to", "is required (or precision)");
    }
    return Status::Ok();
  }

  Status SegmentText(const YAML::Node& x, int xl, const std::string& k, Step* out) {
    auto s = p_.NonEmpty(x, xl, k);
    if (!s.ok()) return s.status();
    if (!IsSegmentId(s->substr(0, 3)) ||
        (s->size() > 3 && std::isalnum(static_cast<unsigned char>((*s)[3])))) {
      return p_.Error(x, xl, k, "must start with a 3-character segment id, e.g. NTE|1||text");
    }
    if (IsHeaderId(s->substr(0, 3))) return p_.Error(x, xl, k, "header segments cannot be added");
    if (s->find_first_of("\r\n") != std::string::npos) {
      return p_.Error(x, xl, k, "cannot contain line breaks");
    }
    auto parts = ParseTemplate(*s, x, xl, k);
    if (!parts.ok()) return parts.status();
    out->parts = std::move(parts).value();
    return Status::Ok();
  }

  Result<std::string> AnchorId(const YAML::Node& x, int xl, const std::string& k) {
    auto s = p_.NonEmpty(x, xl, k);
    if (!s.ok()) return s;
    if (!IsSegmentId(*s)) return p_.Error(x, xl, k, "must be a 3-character segment id");
    return s;
  }

  // `add_segment: "NTE|1||x"` or { segment, after | before | position }.
  Status AddSegment(const YAML::Node& v, int l, const std::string& key, Step* out) {
    out->kind = Step::Kind::kAddSegment;
    if (v.IsScalar()) return SegmentText(v, l, key, out);
    bool placed = false;
    JUNCTION_RETURN_IF_ERROR(p_.ForEachKey(
        v, l, key, {"segment", "after", "before", "position"},
        [&](const std::string& k, const YAML::Node& x, int xl) -> Status {
          if (k == key + ".segment") return SegmentText(x, xl, k, out);
          if (placed) return p_.Error(x, xl, k, "give one of after, before, position");
          placed = true;
          if (k == key + ".position") {
            auto n = p_.Int(x, xl, k, 2, 100'000);
            if (!n.ok()) return n.status();
            out->where = Step::Where::kIndex;
            out->index = static_cast<int>(*n);
            return Status::Ok();
          }
          auto id = AnchorId(x, xl, k);
          if (!id.ok()) return id.status();
          out->anchor = *id;
          out->where = k == key + ".after" ? Step::Where::kAfter : Step::Where::kBefore;
          if (out->where == Step::Where::kBefore && *id == "MSH") {
            return p_.Error(x, xl, k, "nothing can come before MSH");
          }
          return Status::Ok();
        }));
    return Require(v, l, key, {"segment"});
  }

  // `remove_segment: NTE` (every NTE), `NTE[2]`, or { segment: ... }.
  Status RemoveSegment(const YAML::Node& v, int l, const std::string& key, Step* out) {
    out->kind = Step::Kind::kRemoveSegment;
    YAML::Node node = v;
    std::string k = key;
    if (v.IsMap()) {
      JUNCTION_RETURN_IF_ERROR(
          p_.ForEachKey(v, l, key, {"segment"},
                        [](const std::string&, const YAML::Node&, int) { return Status::Ok(); }));
      JUNCTION_RETURN_IF_ERROR(Require(v, l, key, {"segment"}));
      node = v["segment"];
      k = key + ".segment";
    }
    auto rp = ParsePath(node, l, k);
    if (!rp.ok()) return rp.status();
    if (rp->path.field != 0) {
      return p_.Error(node, l, k, "must be a segment (NTE) or one occurrence (NTE[2])");
    }
    if (rp->path.SegmentId() == "MSH") return p_.Error(node, l, k, "MSH cannot be removed");
    rp->every_occurrence = rp->any_occurrence;  // unpinned: every occurrence
    out->path = std::move(rp).value();
    return Status::Ok();
  }

  Status RenameSegment(const YAML::Node& v, int l, const std::string& key, Step* out) {
    out->kind = Step::Kind::kRenameSegment;
    JUNCTION_RETURN_IF_ERROR(
        p_.ForEachKey(v, l, key, {"from", "to"},
                      [&](const std::string& k, const YAML::Node& x, int xl) -> Status {
                        auto id = AnchorId(x, xl, k);
                        if (!id.ok()) return id.status();
                        if (IsHeaderId(*id))
                          return p_.Error(x, xl, k, "header segments cannot be renamed");
                        (k == key + ".from" ? out->from_id : out->value) = *id;
                        return Status::Ok();
                      }));
    return Require(v, l, key, {"from", "to"});
  }

  Status Version(const YAML::Node& v, int l, const std::string& key, Step* out) {
    out->kind = Step::Kind::kVersion;
    auto s = p_.NonEmpty(v, l, key);
    if (!s.ok()) return s.status();
    if (s->size() > 20 || s->find_first_of("|^~\\&\r\n") != std::string::npos) {
      return p_.Error(v, l, key, "must be a version id such as 2.5.1");
    }
    out->value = *s;
    out->path.text = "MSH-12.1";
    out->path.path = *hl7::Path::Parse("MSH-12.1");
    return Status::Ok();
  }

 private:
  ConfigParser& p_;
  const Tables& tables_;
};

PipelineSpecData CopyOf(const PipelineSpec& spec) {
  return spec.data ? *spec.data : PipelineSpecData{};
}

// Splits one CSV line (RFC 4180 quoting) into fields; false on a bad quote.
bool SplitCsv(const std::string& line, std::vector<std::string>* fields) {
  fields->assign(1, std::string());
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields->back().push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields->back().push_back(c);
      }
    } else if (c == '"' && fields->back().empty()) {
      quoted = true;
    } else if (c == ',') {
      fields->emplace_back();
    } else {
      fields->back().push_back(c);
    }
  }
  return !quoted;
}

Status ReadCsvTable(ConfigParser& parser, const YAML::Node& node, int line, const std::string& key,
                    LookupTable* out) {
  auto file = parser.ReadableFile(node, line, key);
  if (!file.ok()) return file.status();
  std::ifstream in(*file, std::ios::binary);
  std::string text;
  std::vector<std::string> fields;
  int row = 0;
  while (std::getline(in, text)) {
    ++row;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.empty() || text[0] == '#') continue;
    auto bad = [&](const std::string& why) {
      return parser.Error(node, line, key, *file + " line " + std::to_string(row) + ": " + why);
    };
    if (!SplitCsv(text, &fields)) return bad("unclosed quote");
    if (fields.size() != 2) return bad("expected two columns: key,value");
    if (out->entries.size() >= kMaxTableRows) return bad("more than 1000000 rows");
    if (fields[0] == "*") {
      if (out->fallback) return bad("a second default (*) row");
      out->fallback = fields[1];
    } else if (!out->entries.emplace(fields[0], fields[1]).second) {
      return bad("key '" + fields[0] + "' appears twice");
    }
  }
  return Status::Ok();
}

}  // namespace

Status ParseTables(ConfigParser& parser, const YAML::Node& node, int line, Tables* out) {
  if (node.IsNull()) return Status::Ok();
  if (!node.IsMap()) return parser.Error(node, line, "tables", "must be a mapping of table names");
  for (auto it = node.begin(); it != node.end(); ++it) {
    const int l = ConfigParser::LineOf(it->first, line);
    const std::string name = it->first.IsScalar() ? it->first.Scalar() : std::string("?");
    const std::string key = "tables." + name;
    if (name.empty() || !it->first.IsScalar())
      return parser.Error(it->first, l, key, "bad table name");
    if (out->count(name) != 0) return parser.Error(it->first, l, key, "duplicate table");
    const YAML::Node table = it->second;
    if (!table.IsMap()) {
      return parser.Error(table, l, key,
                          "must be a mapping { key: value, \"*\": default } or { csv: file }");
    }
    LookupTable result;
    if (table.size() == 1 && table["csv"].IsDefined()) {
      JUNCTION_RETURN_IF_ERROR(ReadCsvTable(parser, table["csv"], l, key + ".csv", &result));
    } else {
      for (auto entry = table.begin(); entry != table.end(); ++entry) {
        const int el = ConfigParser::LineOf(entry->first, l);
        auto k = parser.Scalar(entry->first, el, key, "a string key");
        if (!k.ok()) return k.status();
        const std::string entry_key = key + "." + *k;
        auto v = parser.Scalar(entry->second, el, entry_key, "a string");
        if (!v.ok()) return v.status();
        if (*k == "*") {
          if (result.fallback) return parser.Error(entry->first, el, entry_key, "duplicate key");
          result.fallback = *v;
        } else if (!result.entries.emplace(*k, *v).second) {
          return parser.Error(entry->first, el, entry_key, "duplicate key");
        }
      }
    }
    (*out)[name] = std::move(result);
  }
  return Status::Ok();
}

Status ParseFilter(ConfigParser& parser, const YAML::Node& node, int line, const std::string& key,
                   const Tables& tables, PipelineSpec* spec) {
  if (node.IsNull()) return Status::Ok();
  RulesParser rules(parser, tables);
  Rule rule;
  JUNCTION_RETURN_IF_ERROR(rules.ParseRule(node, line, key, RelativeKey(key), 0, &rule));
  PipelineSpecData data = CopyOf(*spec);
  if (data.filter) return parser.Error(node, line, key, "a second filter");
  data.filter = std::move(rule);
  spec->data = std::make_shared<const PipelineSpecData>(std::move(data));
  return Status::Ok();
}

Status ParseTransform(ConfigParser& parser, const YAML::Node& node, int line,
                      const std::string& key, const Tables& tables, PipelineSpec* spec) {
  if (node.IsNull()) return Status::Ok();
  if (!node.IsSequence()) return parser.Error(node, line, key, "must be a list of steps");
  if (node.size() > kMaxSteps) {
    return parser.Error(node, line, key, "at most " + std::to_string(kMaxSteps) + " steps");
  }
  if (node.size() == 0) return Status::Ok();
  RulesParser rules(parser, tables);
  PipelineSpecData data = CopyOf(*spec);
  const std::string rel = RelativeKey(key);
  std::size_t i = 0;
  for (const YAML::Node& item : node) {
    const std::string index = "[" + std::to_string(i++) + "]";
    Step step;
    step.key = rel + index;
    JUNCTION_RETURN_IF_ERROR(rules.ParseStep(item, line, key + index, &step));
    data.steps.push_back(std::move(step));
  }
  spec->data = std::make_shared<const PipelineSpecData>(std::move(data));
  return Status::Ok();
}

}  // namespace junction::engine::internal
