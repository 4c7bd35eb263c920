// Pipeline (rules.h): runs a PipelineSpecData (internal/rules_spec.h) on
// messages. Filters see every occurrence of an unpinned segment or repetition
// (docs/rules.md, "Repeating segments and fields"); transform steps run in
// order and the first failure stops the message with kError.
//
// GCC 12 reports a false -Wmaybe-uninitialized inside libstdc++'s <regex>
// (std::function in the NFA states) at -O1 with sanitizers, as in
// src/hl7/internal/validate_pattern.cpp.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "junction/engine/rules.h"

#include <algorithm>
#include <cctype>
#include <regex>
#include <unordered_map>

#include "engine/internal/lua_sandbox.h"
#include "engine/internal/rules_spec.h"
#include "engine/internal/rules_values.h"

namespace junction::engine {

namespace {
constexpr std::size_t kMaxDescribe = 200;  // characters of a rule description in a reason

std::string Clip(std::string text) {
  if (text.size() > kMaxDescribe) {
    text.resize(kMaxDescribe - 3);
    text += "...";
  }
  return text;
}
}  // namespace

std::string Rule::Describe() const {
  switch (kind) {
    case Kind::kLeaf: {
      std::string out = path.text;
      for (std::size_t i = 0; i < comparisons.size(); ++i) {
        out += i == 0 ? " " : " and ";
        out += comparisons[i].text;
      }
      if (ignore_case) out += " (ignore case)";
      return out;
    }
    case Kind::kLua:
      return "lua";
    case Kind::kNot:
      return "not (" + children.front().Describe() + ")";
    case Kind::kAll:
    case Kind::kAny: {
      std::string out = kind == Kind::kAll ? "all of (" : "any of (";
      for (std::size_t i = 0; i < children.size(); ++i) {
        if (i > 0) out += "; ";
        out += children[i].Describe();
        if (out.size() > kMaxDescribe) break;
      }
      return Clip(out + ")");
    }
  }
  return {};
}

namespace {

using internal::LuaOutcome;
using internal::LuaSandbox;
using Op = Comparison::Op;

// Regular expressions only see values up to this size (std::regex recurses per
// character); longer values never match.
constexpr std::size_t kMaxRegexInput = 4096;

class PassPipeline final : public Pipeline {
 public:
  StageResult Run(hl7::Message*, const MessageContext&) override { return {}; }
  bool empty() const override { return true; }
};

bool NeedsDecoding(std::string_view raw, const hl7::Delimiters& d) {
  for (char c : raw) {
    if (c == d.escape || static_cast<unsigned char>(c) >= 0x80) return true;
  }
  return false;
}

void Lower(std::string_view in, std::string* out) {
  out->assign(in);
  for (char& c : *out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

// Ends a script's message access on every way out of Run.
class MessageScope {
 public:
  MessageScope(LuaSandbox* lua, hl7::Message* message, const MessageContext& context) : lua_(lua) {
    if (lua_ != nullptr) lua_->BeginMessage(message, context);
  }
  ~MessageScope() {
    if (lua_ != nullptr) lua_->EndMessage();
  }
  MessageScope(const MessageScope&) = delete;
  MessageScope& operator=(const MessageScope&) = delete;

 private:
  LuaSandbox* lua_;
};

class RulesPipeline final : public Pipeline {
 public:
  RulesPipeline(std::shared_ptr<const PipelineSpecData> spec, std::shared_ptr<const Tables> tables)
      : spec_(std::move(spec)),
        tables_(tables ? std::move(tables) : std::make_shared<const Tables>()) {}

  Status Init(LuaLimits limits) {
    if (spec_->filter) JUNCTION_RETURN_IF_ERROR(CompileRule(*spec_->filter, limits));
    step_tables_.assign(spec_->steps.size(), nullptr);
    for (std::size_t i = 0; i < spec_->steps.size(); ++i) {
      const Step& step = spec_->steps[i];
      if (step.kind == Step::Kind::kMap) {
        auto it = tables_->find(step.value);
        if (it == tables_->end()) {
          return Status::Invalid(step.key + " (map): no table '" + step.value + "'");
        }
        step_tables_[i] = &it->second;
      } else if (step.kind == Step::Kind::kLua) {
        JUNCTION_RETURN_IF_ERROR(CompileChunk(&step, step.lua_source, step.key, limits));
      }
    }
    return Status::Ok();
  }

  bool empty() const override { return false; }

  StageResult Run(hl7::Message* message, const MessageContext& context) override {
    StageResult result;
    try {
      MessageScope scope(lua_.get(), message, context);
      if (spec_->filter) {
        std::string reason;
        switch (Eval(*spec_->filter, *message, &reason)) {
          case Verdict::kMatch:
            break;
          case Verdict::kNoMatch:
            return {StageResult::Kind::kFiltered, std::move(reason)};
          case Verdict::kError:
            return {StageResult::Kind::kError, std::move(reason)};
        }
      }
      for (std::size_t i = 0; i < spec_->steps.size(); ++i) {
        const Step& step = spec_->steps[i];
        if (step.kind == Step::Kind::kLua) {
          LuaOutcome r = lua_->Run(chunks_.at(&step), /*read_only=*/false);
          if (r.kind == LuaOutcome::Kind::kFiltered) {
            return {StageResult::Kind::kFiltered, step.key + " (lua): " + r.reason};
          }
          if (r.kind == LuaOutcome::Kind::kError) {
            return {StageResult::Kind::kError, step.key + " (lua): " + r.reason};
          }
          continue;
        }
        Status status = Apply(step, i, message);
        if (!status.ok()) {
          return {StageResult::Kind::kError,
                  step.key + " (" + step.name + "): " + status.message()};
        }
      }
    } catch (const std::exception& e) {
      return {StageResult::Kind::kError, std::string("rules: ") + e.what()};
    }
    return result;
  }

 private:
  enum class Verdict { kMatch, kNoMatch, kError };

  Status CompileChunk(const void* owner, const std::string& source, const std::string& name,
                      LuaLimits limits) {
    if (!lua_) {
      auto sandbox = LuaSandbox::Create(limits, tables_);
      if (!sandbox.ok()) return sandbox.status();
      lua_ = std::move(sandbox).value();
    }
    auto chunk = lua_->Compile(source, name);
    if (!chunk.ok()) return chunk.status();
    chunks_[owner] = *chunk;
    return Status::Ok();
  }

  Status CompileRule(const Rule& rule, LuaLimits limits) {
    if (rule.kind == Rule::Kind::kLua) {
      return CompileChunk(&rule, rule.lua_source, rule.key, limits);
    }
    for (const Rule& child : rule.children) JUNCTION_RETURN_IF_ERROR(CompileRule(child, limits));
    return Status::Ok();
  }

  // ---- Filters ----

  // Calls f(value) for each value the path addresses (nullopt when absent);
  // true as soon as f returns true.
  template <typename F>
  bool AnyValue(const hl7::Message& m, const RulePath& rp, F&& f) {
    hl7::Path path = rp.path;
    const int occurrences = rp.any_occurrence ? std::max(1, m.CountSegments(path.SegmentId())) : 1;
    const bool each_repetition = rp.any_repetition && path.field > 0;
    for (int occurrence = 1; occurrence <= occurrences; ++occurrence) {
      if (rp.any_occurrence) path.occurrence = occurrence;
      int repetitions = 1;
      if (each_repetition) {
        path.repetition = 1;
        repetitions = std::max(1, m.Count(path));
      }
      for (int repetition = 1; repetition <= repetitions; ++repetition) {
        if (each_repetition) path.repetition = repetition;
        std::optional<std::string_view> value = m.GetRaw(path);
        if (value && NeedsDecoding(*value, m.delimiters())) {
          decoded_ = m.GetDecoded(path).value_or(std::string());
          value = decoded_;
        }
        if (f(value)) return true;
      }
    }
    return false;
  }

  // One per-value comparison (equals, in, matches, numbers, dates).
  bool Holds(const Comparison& c, std::string_view value, bool ignore_case,
             const hl7::Delimiters& d) {
    switch (c.op) {
      case Op::kEquals:
      case Op::kIn: {
        std::string_view v = value;
        if (ignore_case) {
          Lower(value, &lowered_);
          v = lowered_;
        }
        return std::find(c.values.begin(), c.values.end(), v) != c.values.end();
      }
      case Op::kMatches:
        if (value.size() > kMaxRegexInput) return false;
        return std::regex_search(value.begin(), value.end(), *c.regex);
      case Op::kGt:
      case Op::kGe:
      case Op::kLt:
      case Op::kLe: {
        double n = 0;
        if (!internal::ParseNumber(value, &n)) return false;
        return c.op == Op::kGt   ? n > c.number
               : c.op == Op::kGe ? n >= c.number
               : c.op == Op::kLt ? n < c.number
                                 : n <= c.number;
      }
      case Op::kBefore:
      case Op::kAfter: {
        auto date = hl7::ParseTs(value, d);
        if (!date.ok()) return false;
        const int order = internal::CompareDates(*date, c.date);
        return c.op == Op::kBefore ? order < 0 : order > 0;
      }
      case Op::kExists:
      case Op::kEmpty:
        return true;  // aggregates, checked in EvalLeaf
    }
    return false;
  }

  bool EvalLeaf(const Rule& rule, const hl7::Message& m) {
    bool per_value = false;
    for (const Comparison& c : rule.comparisons) {
      if (c.op == Op::kExists) {
        const bool any = AnyValue(
            m, rule.path, [](std::optional<std::string_view> v) { return v && !v->empty(); });
        if (any != c.flag) return false;
      } else if (c.op == Op::kEmpty) {
        const bool any_valued = AnyValue(m, rule.path, [](std::optional<std::string_view> v) {
          return v && !v->empty() && *v != "\"\"";
        });
        if (any_valued == c.flag) return false;
      } else {
        per_value = true;
      }
    }
    if (!per_value) return true;
    const hl7::Delimiters& d = m.delimiters();
    return AnyValue(m, rule.path, [&](std::optional<std::string_view> v) {
      const std::string_view value = v.value_or(std::string_view());
      for (const Comparison& c : rule.comparisons) {
        if (!Holds(c, value, rule.ignore_case, d)) return false;
      }
      return true;
    });
  }

  Verdict Eval(const Rule& rule, const hl7::Message& m, std::string* reason) {
    switch (rule.kind) {
      case Rule::Kind::kAll:
        for (const Rule& child : rule.children) {
          const Verdict v = Eval(child, m, reason);
          if (v != Verdict::kMatch) return v;
        }
        return Verdict::kMatch;
      case Rule::Kind::kAny:
        for (const Rule& child : rule.children) {
          const Verdict v = Eval(child, m, reason);
          if (v != Verdict::kNoMatch) return v;
        }
        *reason = rule.key + ": " + rule.Describe();
        return Verdict::kNoMatch;
      case Rule::Kind::kNot: {
        const Verdict v = Eval(rule.children.front(), m, reason);
        if (v == Verdict::kError) return v;
        if (v == Verdict::kNoMatch) return Verdict::kMatch;
        *reason = rule.key + ": " + rule.Describe();
        return Verdict::kNoMatch;
      }
      case Rule::Kind::kLeaf: {
        bool matched = false;
        try {
          matched = EvalLeaf(rule, m);
        } catch (const std::regex_error&) {
          *reason = rule.key + ": " + rule.Describe() +
                    ": the regular expression is too complex for this value";
          return Verdict::kError;
        }
        if (matched) return Verdict::kMatch;
        *reason = rule.key + ": " + rule.Describe();
        return Verdict::kNoMatch;
      }
      case Rule::Kind::kLua: {
        LuaOutcome r = lua_->Run(chunks_.at(&rule), /*read_only=*/true);
        if (r.kind == LuaOutcome::Kind::kOk) {
          if (r.truthy) return Verdict::kMatch;
          *reason = rule.key + " (lua): returned false";
          return Verdict::kNoMatch;
        }
        *reason = rule.key + " (lua): " + r.reason;
        return r.kind == LuaOutcome::Kind::kFiltered ? Verdict::kNoMatch : Verdict::kError;
      }
    }
    return Verdict::kError;
  }

  // ---- Transform steps ----

  // The occurrences a step path addresses: all existing ones for "SEG[*]",
  // otherwise the one it names.
  std::vector<int> Occurrences(const hl7::Message& m, const RulePath& rp) const {
    if (!rp.every_occurrence) return {rp.path.occurrence};
    std::vector<int> out(static_cast<std::size_t>(m.CountSegments(rp.path.SegmentId())));
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<int>(i) + 1;
    return out;
  }

  static hl7::Path At(const RulePath& rp, int occurrence) {
    hl7::Path p = rp.path;
    p.occurrence = occurrence;
    return p;
  }

  // Raw template text; placeholders on `segment` without a pinned occurrence
  // take `occurrence` (the one a [*] step is working on).
  std::string Render(const std::vector<TemplatePart>& parts, const hl7::Message& m,
                     std::string_view segment, int occurrence) const {
    std::string out;
    for (const TemplatePart& part : parts) {
      if (!part.path) {
        out += part.literal;
        continue;
      }
      hl7::Path p = part.path->path;
      if (part.path->any_occurrence && p.SegmentId() == segment) p.occurrence = occurrence;
      if (auto raw = m.GetRaw(p)) out.append(*raw);
    }
    return out;
  }

  Status Apply(const Step& step, std::size_t index, hl7::Message* m) {
    switch (step.kind) {
      case Step::Kind::kSet:
        for (int occurrence : Occurrences(*m, step.path)) {
          const hl7::Path p = At(step.path, occurrence);
          Status s = step.has_template
                         ? m->SetRaw(p, Render(step.parts, *m, p.SegmentId(), occurrence))
                         : m->Set(p, step.value);
          if (!s.ok()) return Status::Invalid(step.path.text + ": " + s.message());
        }
        return Status::Ok();
      case Step::Kind::kCopy: {
        std::vector<int> targets = Occurrences(*m, step.path);
        for (int occurrence : targets) {
          const hl7::Path from =
              step.from.every_occurrence ? At(step.from, occurrence) : step.from.path;
          auto raw = m->GetRaw(from);
          if (!raw) continue;             // nothing to copy: the target stays as it is
          const std::string value(*raw);  // SetRaw may move the source text
          Status s = m->SetRaw(At(step.path, occurrence), value);
          if (!s.ok()) return Status::Invalid(step.path.text + ": " + s.message());
        }
        return Status::Ok();
      }
      case Step::Kind::kDelete: {
        std::vector<int> occurrences = Occurrences(*m, step.path);
        std::reverse(occurrences.begin(), occurrences.end());  // whole segments shift
        for (int occurrence : occurrences) {
          Status s = m->Delete(At(step.path, occurrence));
          if (!s.ok()) return Status::Invalid(step.path.text + ": " + s.message());
        }
        return Status::Ok();
      }
      case Step::Kind::kMap: {
        const LookupTable& table = *step_tables_[index];
        for (int occurrence : Occurrences(*m, step.path)) {
          const hl7::Path p = At(step.path, occurrence);
          const std::string key = m->GetDecoded(p).value_or(std::string());
          const std::string* value = nullptr;
          auto it = table.entries.find(key);
          if (it != table.entries.end()) {
            value = &it->second;
          } else if (step.fallback) {
            value = &*step.fallback;
          } else if (table.fallback) {
            value = &*table.fallback;
          }
          if (value == nullptr) continue;  // no entry, no default: unchanged
          Status s = m->Set(p, *value);
          if (!s.ok()) return Status::Invalid(step.path.text + ": " + s.message());
        }
        return Status::Ok();
      }
      case Step::Kind::kFormatDate:
        for (int occurrence : Occurrences(*m, step.path)) {
          hl7::Path p = At(step.path, occurrence);
          if (p.component == 0) p.component = 1;  // TS: the time is component 1
          auto raw = m->GetRaw(p);
          if (!raw || raw->empty() || *raw == "\"\"") continue;
          auto date = hl7::ParseDtm(*raw);
          if (!date.ok()) {
            return Status::Invalid(step.path.text +
                                   ": not an HL7 date/time: " + date.status().message());
          }
          const std::string out = step.precision
                                      ? internal::WithPrecision(*date, *step.precision).ToHl7()
                                      : internal::FormatDate(*date, step.value);
          Status s = m->Set(p, out);
          if (!s.ok()) return Status::Invalid(step.path.text + ": " + s.message());
        }
        return Status::Ok();
      case Step::Kind::kAddSegment: {
        const std::string text = Render(step.parts, *m, {}, 1);
        std::size_t at = m->SegmentCount();
        if (step.where == Step::Where::kIndex) {
          at = std::min<std::size_t>(static_cast<std::size_t>(step.index - 1), at);
        } else if (step.where != Step::Where::kEnd) {
          const int count = m->CountSegments(step.anchor);
          if (count > 0) {
            const int found =
                m->FindSegment(step.anchor, step.where == Step::Where::kAfter ? count : 1);
            at = static_cast<std::size_t>(found) + (step.where == Step::Where::kAfter ? 1 : 0);
          }
        }
        Status s = m->InsertSegment(at, text);
        if (!s.ok()) return s;
        return Status::Ok();
      }
      case Step::Kind::kRemoveSegment: {
        std::vector<int> occurrences = Occurrences(*m, step.path);
        std::reverse(occurrences.begin(), occurrences.end());
        for (int occurrence : occurrences) {
          const int found = m->FindSegment(step.path.path.SegmentId(), occurrence);
          if (found < 0) continue;
          JUNCTION_RETURN_IF_ERROR(m->DeleteSegment(static_cast<std::size_t>(found)));
        }
        return Status::Ok();
      }
      case Step::Kind::kRenameSegment:
        for (std::size_t i = 1; i < m->SegmentCount(); ++i) {
          if (m->SegmentId(i) != step.from_id) continue;
          std::string text(m->SegmentText(i));
          text.replace(0, 3, step.value);
          JUNCTION_RETURN_IF_ERROR(m->DeleteSegment(i));
          JUNCTION_RETURN_IF_ERROR(m->InsertSegment(i, text));
        }
        return Status::Ok();
      case Step::Kind::kVersion:
        return m->Set(step.path.path, step.value);
      case Step::Kind::kLua:
        break;  // run by Run
    }
    return Status::Ok();
  }

  std::shared_ptr<const PipelineSpecData> spec_;
  std::shared_ptr<const Tables> tables_;
  std::unique_ptr<LuaSandbox> lua_;
  std::unordered_map<const void*, int> chunks_;  // rule or step -> compiled chunk
  std::vector<const LookupTable*> step_tables_;  // by step index (map steps)
  std::string decoded_;                          // scratch for decoded values
  std::string lowered_;                          // scratch for ignore_case
};

}  // namespace

Result<std::unique_ptr<Pipeline>> Pipeline::Compile(const PipelineSpec& spec,
                                                    std::shared_ptr<const Tables> tables,
                                                    LuaLimits limits) {
  if (spec.empty()) return std::unique_ptr<Pipeline>(new PassPipeline());
  auto pipeline = std::make_unique<RulesPipeline>(spec.data, std::move(tables));
  JUNCTION_RETURN_IF_ERROR(pipeline->Init(limits));
  return std::unique_ptr<Pipeline>(std::move(pipeline));
}

}  // namespace junction::engine
