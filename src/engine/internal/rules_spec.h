// The parsed form of `filter:` and `transform:` (PipelineSpecData), shared by
// the config parser (rules_config.cpp), which builds it, and the runtime
// (rules.cpp), which runs it. Everything costly is done here once: paths are
// parsed, regular expressions compiled, table names checked, Lua syntax checked.
//
//   PipelineSpec spec;                       // from ParseFilter / ParseTransform
//   const PipelineSpecData& d = *spec.data;
//   if (d.filter) ... d.filter->kind ...     // the rule tree
//   for (const Step& s : d.steps) ...
//
// Ownership and thread safety: immutable once built, shared (shared_ptr<const>)
// by every Pipeline compiled from it, on any thread. std::regex is only read.
#pragma once

#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "junction/engine/rules.h"
#include "junction/hl7/datetime.h"
#include "junction/hl7/path.h"

namespace junction::engine {

// A path as written in the config, parsed once.
struct RulePath {
  std::string text;  // as written, for reasons
  hl7::Path path;
  // Filters: true unless the text pins the segment occurrence ("OBX[2]-5").
  bool any_occurrence = false;
  // Filters: true unless the text pins the repetition ("PID-3[2].1").
  bool any_repetition = false;
  // Transforms: "OBX[*]-5" applies the step to every OBX.
  bool every_occurrence = false;
};

// One comparison of a leaf rule.
struct Comparison {
  enum class Op { kEquals, kIn, kMatches, kExists, kEmpty, kGt, kGe, kLt, kLe, kBefore, kAfter };
  Op op = Op::kEquals;
  std::vector<std::string> values;          // equals (1), in (n); lower-cased when ignore_case
  std::shared_ptr<const std::regex> regex;  // matches
  bool flag = true;                         // exists / empty
  double number = 0;                        // gt ge lt le
  hl7::DateTime date;                       // before / after
  std::string text;                         // "matches ^[0-9]+$" for reasons
};

// A filter rule tree node.
struct Rule {
  enum class Kind { kAll, kAny, kNot, kLeaf, kLua };
  Kind kind = Kind::kLeaf;
  std::string key;             // relative config key, e.g. "filter.all[1]"
  std::vector<Rule> children;  // all / any: n; not: 1
  // kLeaf
  RulePath path;
  std::vector<Comparison> comparisons;  // every one must hold (on the same value)
  bool ignore_case = false;
  // kLua
  std::string lua_source;

  // "PID-3.1 matches ^[0-9]+$", "not (OBX-11 equals P)": config text only, no message data.
  std::string Describe() const;
};

// A piece of a `template:` text: literal raw text or a path placeholder.
struct TemplatePart {
  std::string literal;
  std::optional<RulePath> path;
};

struct Step {
  enum class Kind {
    kSet,            // path + value (text) or template (raw)
    kCopy,           // from -> to (raw)
    kDelete,         // path
    kMap,            // path + table (+ default)
    kFormatDate,     // path + to (strftime-like pattern) or precision
    kAddSegment,     // template (raw segment) + position
    kRemoveSegment,  // path (segment, optional occurrence)
    kRenameSegment,  // from id -> to id
    kVersion,        // MSH-12.1
    kLua,
  };
  Kind kind = Kind::kSet;
  std::string key;    // "transform[3]"
  std::string name;   // "set", "map", ... (for reasons)
  RulePath path;      // set, delete, map, format_date, remove_segment; copy: to
  RulePath from;      // copy
  std::string value;  // set value, version, rename target id, map table name, format pattern
  bool has_template = false;
  std::vector<TemplatePart> parts;              // set template, add_segment text
  std::optional<std::string> fallback;          // map: per-step default
  std::optional<hl7::DatePrecision> precision;  // format_date: HL7 precision
  std::string from_id;                          // rename_segment
  // add_segment: where the new segment goes.
  enum class Where { kEnd, kAfter, kBefore, kIndex };
  Where where = Where::kEnd;
  std::string anchor;  // kAfter/kBefore: segment id (last/first occurrence)
  int index = 0;       // kIndex: 1-based position
  std::string lua_source;
};

struct PipelineSpecData {
  std::optional<Rule> filter;
  std::vector<Step> steps;
};

}  // namespace junction::engine
