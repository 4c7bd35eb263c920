#include "fhir/store/search_compile.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <set>
#include <vector>

#include "fhir/store/index_values.h"
#include "fhir/store/search_params.h"
#include "fhir/store/search_parse.h"

namespace junction::fhir::store_internal {
namespace {

constexpr std::int64_t kDayUs = 86'400'000'000;

Status BadValue(std::string_view name, std::string_view why) {
  return Status::Invalid("search parameter '" + std::string(name) + "': " + std::string(why));
}

std::int64_t SaturatingAdd(std::int64_t a, std::int64_t b) {
  if (b > 0 && a > kMaxTimeUs - b) return kMaxTimeUs;
  if (b < 0 && a < kMinTimeUs - b) return kMinTimeUs;
  return a + b;
}

std::int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const char* TableOf(ParamKind kind) {
  switch (kind) {
    case ParamKind::kToken:
      return "idx_token";
    case ParamKind::kString:
      return "idx_string";
    case ParamKind::kDate:
      return "idx_date";
    case ParamKind::kReference:
      return "idx_reference";
    case ParamKind::kQuantity:
      return "idx_quantity";
    case ParamKind::kNumber:
      return "idx_number";
    case ParamKind::kUri:
      return "idx_uri";
  }
  return "idx_token";
}

// The parts of a parameter name: "subject:Patient.name" -> name "subject",
// modifier "Patient", chain "name".
struct ParamName {
  std::string_view name, modifier, chain;
};

ParamName SplitName(std::string_view full) {
  ParamName out;
  std::size_t dot = full.find('.');
  std::string_view head = full.substr(0, dot);
  if (dot != std::string_view::npos) out.chain = full.substr(dot + 1);
  std::size_t colon = head.find(':');
  out.name = head.substr(0, colon);
  if (colon != std::string_view::npos) out.modifier = head.substr(colon + 1);
  return out;
}

Result<bool> ParseMissing(std::string_view name, std::string_view value) {
  if (value == "true") return true;
  if (value == "false") return false;
  return BadValue(name, ":missing takes true or false");
}

// "%v%"-style LIKE patterns: escape the LIKE wildcards with '\'.
std::string LikeEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '%' || c == '_' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

// Date prefixes over a target range [lo_col, hi_col] and the search range
// `s` (both ends inclusive), per R4 3.1.1.4.1 (ranges: "eq" = the search
// range contains the target's, "gt" = the target extends above it, ...).
// ap: the target overlaps the search range widened by 10% of its distance
// from now, at least one day on each side.
void DatePredicate(Prefix prefix, const TimeRange& s, std::string_view lo_col,
                   std::string_view hi_col, Sql* out) {
  auto lo = std::string(lo_col), hi = std::string(hi_col);
  auto contained = [&] {
    out->Text("(" + lo + " >= ").Add(s.lo_us).Text(" AND " + hi + " <= ").Add(s.hi_us).Text(")");
  };
  switch (prefix) {
    case Prefix::kEq:
      contained();
      break;
    case Prefix::kNe:
      out->Text("NOT ");
      contained();
      break;
    case Prefix::kGt:
      out->Text(hi + " > ").Add(s.hi_us);
      break;
    case Prefix::kLt:
      out->Text(lo + " < ").Add(s.lo_us);
      break;
    case Prefix::kGe:
      out->Text("(" + hi + " > ").Add(s.hi_us).Text(" OR ");
      contained();
      out->Text(")");
      break;
    case Prefix::kLe:
      out->Text("(" + lo + " < ").Add(s.lo_us).Text(" OR ");
      contained();
      out->Text(")");
      break;
    case Prefix::kSa:
      out->Text(lo + " > ").Add(s.hi_us);
      break;
    case Prefix::kEb:
      out->Text(hi + " < ").Add(s.lo_us);
      break;
    case Prefix::kAp: {
      std::int64_t now = NowUs();
      std::int64_t mid = s.lo_us / 2 + s.hi_us / 2;
      double distance = std::fabs(static_cast<double>(now) - static_cast<double>(mid));
      std::int64_t widen =
          std::max<std::int64_t>(kDayUs, static_cast<std::int64_t>(std::min(distance * 0.1, 1e17)));
      out->Text("(" + lo + " <= ").Add(SaturatingAdd(s.hi_us, widen)).Text(" AND " + hi + " >= ");
      out->Add(SaturatingAdd(s.lo_us, -widen)).Text(")");
      break;
    }
  }
}

namespace {

// Number and quantity prefixes over column `col`; eq/ne use the value's
// implicit precision range, ap is ±10% (at least the precision range).
void NumberPredicate(Prefix prefix, const SearchNumber& n, std::string_view col, Sql* out) {
  std::string c(col);
  auto in_range = [&](double lo, double hi) {
    out->Text("(" + c + " >= ").Add(lo).Text(" AND " + c + " < ").Add(hi).Text(")");
  };
  switch (prefix) {
    case Prefix::kEq:
      in_range(n.lo, n.hi);
      break;
    case Prefix::kNe:
      out->Text("NOT ");
      in_range(n.lo, n.hi);
      break;
    case Prefix::kGt:
    case Prefix::kSa:
      out->Text(c + " > ").Add(n.value);
      break;
    case Prefix::kLt:
    case Prefix::kEb:
      out->Text(c + " < ").Add(n.value);
      break;
    case Prefix::kGe:
      out->Text(c + " >= ").Add(n.value);
      break;
    case Prefix::kLe:
      out->Text(c + " <= ").Add(n.value);
      break;
    case Prefix::kAp: {
      double tenth = std::fabs(n.value) * 0.1;
      in_range(std::min(n.lo, n.value - tenth), std::max(n.hi, n.value + tenth));
      break;
    }
  }
}

// token "system|code", "|code", "system|", "code" over idx_token columns.
Status TokenTerm(std::string_view name, std::string_view term, Sql* out) {
  auto parts = SplitEscaped(term, '|');
  if (parts.size() == 1) {
    out->Text("code = ").Add(Unescape(parts[0]));
    return Status::Ok();
  }
  if (parts.size() != 2) return BadValue(name, "a token is code, system|code, |code or system|");
  std::string system = Unescape(parts[0]), code = Unescape(parts[1]);
  if (code.empty()) {
    out->Text("system = ").Add(std::move(system));
  } else {
    out->Text("(code = ")
        .Add(std::move(code))
        .Text(" AND system = ")
        .Add(std::move(system))
        .Text(")");
  }
  return Status::Ok();
}

// Types that have a parameter named `name` (for chains on any-type references).
std::vector<std::string> TypesWithParam(std::string_view name) {
  std::set<std::string> types;
  for (const auto& def : AllSearchParams()) {
    if (def.type != "Resource" && def.name == name) types.insert(def.type);
  }
  return {types.begin(), types.end()};
}

// Every type with parameters of its own.
std::vector<std::string> IndexedTypes() {
  std::set<std::string> types;
  for (const auto& def : AllSearchParams()) {
    if (def.type != "Resource") types.insert(def.type);
  }
  return {types.begin(), types.end()};
}

bool IsCommonParam(std::string_view name) { return name == "_id" || name == "_lastUpdated"; }

class Compiler {
 public:
  explicit Compiler(CompileContext& ctx) : ctx_(ctx) {}

  // nullopt: `type` has no such parameter.
  Result<std::optional<Condition>> Param(std::string_view type, std::string_view alias,
                                         std::string_view full, std::string_view value, int depth) {
    if (depth > kMaxChainDepth) return BadValue(full, "chains and _has nest at most 3 levels");
    if (full.substr(0, 5) == "_has:") return Has(type, alias, full, value, depth);
    ParamName pn = SplitName(full);
    if (type.empty() && !IsCommonParam(pn.name)) return std::optional<Condition>();
    if (!pn.chain.empty()) return Chain(type, full, pn, value, depth);
    if (pn.name == "_id") return Id(alias, full, pn.modifier, value);
    if (pn.name == "_lastUpdated") return LastUpdated(alias, full, pn.modifier, value);
    const SearchParamDef* def = FindSearchParam(type, pn.name);
    if (def == nullptr) return std::optional<Condition>();
    Condition cond;
    cond.table = TableOf(def->kind);
    if (pn.modifier == "missing") {
      auto missing = ParseMissing(full, value);
      if (!missing.ok()) return missing.status();
      cond.negate = *missing;
      cond.sql.Text("param = ").Add(def->key);
      return std::optional<Condition>(std::move(cond));
    }
    if (def->kind == ParamKind::kReference && pn.modifier == "identifier") {
      return ReferenceIdentifier(type, alias, full, *def, value, depth);
    }
    auto terms = Terms(full, value);
    if (!terms.ok()) return terms.status();
    Sql any;
    for (std::size_t i = 0; i < terms->size(); ++i) {
      if (i > 0) any.Text(" OR ");
      JUNCTION_RETURN_IF_ERROR(Term(*def, full, pn.modifier, (*terms)[i], &cond.negate, &any));
    }
    cond.sql.Text("param = ").Add(def->key).Text(" AND (").Append(any).Text(")");
    cond.rank = cond.negate ? kNeverDrives : RankOf(def->kind, pn.modifier);
    return std::optional<Condition>(std::move(cond));
  }

 private:
  static int RankOf(ParamKind kind, std::string_view modifier) {
    if (modifier == "text" || modifier == "contains" || modifier == "above") return kRankScan;
    switch (kind) {
      case ParamKind::kReference:
        return kRankReference;
      case ParamKind::kToken:
        return kRankToken;
      case ParamKind::kString:
      case ParamKind::kUri:
        return kRankString;
      case ParamKind::kDate:
      case ParamKind::kQuantity:
      case ParamKind::kNumber:
        return kRankRange;
    }
    return kRankScan;
  }

  Result<std::vector<std::string>> Terms(std::string_view full, std::string_view value) {
    auto terms = SplitEscaped(value, ',');
    if (terms.size() > kMaxOrTerms) return BadValue(full, "more than 100 values");
    return terms;
  }

  Status Term(const SearchParamDef& def, std::string_view full, std::string_view modifier,
              const std::string& term, bool* negate, Sql* out) {
    switch (def.kind) {
      case ParamKind::kToken:
        if (modifier == "not") {
          *negate = true;
          return TokenTerm(full, term, out);
        }
        if (modifier == "text") {
          out->Text("text LIKE ")
              .Add("%" + LikeEscape(NormalizeString(Unescape(term))) + "%")
              .Text(" ESCAPE '\\'");
          return Status::Ok();
        }
        if (!modifier.empty()) break;
        return TokenTerm(full, term, out);
      case ParamKind::kString: {
        std::string text = Unescape(term);
        if (modifier == "exact") {
          out->Text("value = ").Add(std::move(text));
        } else if (modifier == "contains") {
          out->Text("instr(norm, ").Add(NormalizeString(text)).Text(") > 0");
        } else if (modifier.empty()) {
          // Starts-with as a range on the (param, norm) index; 0xFF never
          // occurs in UTF-8, so norm + "\xff" bounds every continuation.
          std::string norm = NormalizeString(text);
          out->Text("(norm >= ").Add(norm).Text(" AND norm < ").Add(norm + "\xff").Text(")");
        } else {
          break;
        }
        return Status::Ok();
      }
      case ParamKind::kDate: {
        if (!modifier.empty()) break;
        auto [prefix, rest] = SplitPrefix(term);
        auto range = ParseDateRange(rest);
        if (!range) return BadValue(full, "not a FHIR date or dateTime");
        DatePredicate(prefix, *range, "lo_us", "hi_us", out);
        return Status::Ok();
      }
      case ParamKind::kNumber: {
        if (!modifier.empty()) break;
        auto [prefix, rest] = SplitPrefix(term);
        auto number = ParseSearchNumber(rest);
        if (!number) return BadValue(full, "not a number");
        NumberPredicate(prefix, *number, "value", out);
        return Status::Ok();
      }
      case ParamKind::kQuantity: {
        if (!modifier.empty()) break;
        auto parts = SplitEscaped(term, '|');
        if (parts.size() != 1 && parts.size() != 3)
          return BadValue(full, "a quantity is number or number|system|code");
        auto [prefix, rest] = SplitPrefix(parts[0]);
        auto number = ParseSearchNumber(rest);
        if (!number) return BadValue(full, "not a number");
        out->Text("(");
        NumberPredicate(prefix, *number, "value", out);
        if (parts.size() == 3) {
          std::string system = Unescape(parts[1]), code = Unescape(parts[2]);
          if (!system.empty()) out->Text(" AND system = ").Add(system);
          if (!code.empty() && !system.empty()) out->Text(" AND code = ").Add(code);
          if (!code.empty() && system.empty())
            out->Text(" AND (code = ").Add(code).Text(" OR unit = ").Add(code).Text(")");
        }
        out->Text(")");
        return Status::Ok();
      }
      case ParamKind::kReference:
        return ReferenceTerm(def, full, modifier, Unescape(term), out);
      case ParamKind::kUri: {
        std::string text = Unescape(term);
        if (modifier.empty()) {
          out->Text("value = ").Add(std::move(text));
        } else if (modifier == "below") {
          out->Text("(value >= ").Add(text).Text(" AND value < ").Add(text + "\xff").Text(")");
        } else if (modifier == "above") {
          out->Text("substr(").Add(std::move(text)).Text(", 1, length(value)) = value");
        } else {
          break;
        }
        return Status::Ok();
      }
    }
    return BadValue(full, "modifier ':" + std::string(modifier) + "' is not supported here");
  }

  Status ReferenceTerm(const SearchParamDef& def, std::string_view full, std::string_view modifier,
                       const std::string& term, Sql* out) {
    if (!modifier.empty()) {
      if (!IsValidTypeName(modifier))
        return BadValue(full, "modifier ':" + std::string(modifier) + "' is not supported");
      if (!def.targets.empty() &&
          std::find(def.targets.begin(), def.targets.end(), modifier) == def.targets.end()) {
        return BadValue(full, std::string(modifier) + " is not a target type of this reference");
      }
      std::string id = term;
      if (auto ref = SplitReference(term)) {
        if (ref->type != modifier)
          return BadValue(full, "the reference type differs from the modifier");
        id = ref->id;
      }
      out->Text("(target_type = ")
          .Add(std::string(modifier))
          .Text(" AND target_id = ")
          .Add(std::move(id))
          .Text(")");
      return Status::Ok();
    }
    if (term.find("://") != std::string::npos || term.substr(0, 4) == "urn:") {
      out->Text("url = ").Add(term);
      return Status::Ok();
    }
    if (auto ref = SplitReference(term)) {
      out->Text("(target_type = ").Add(ref->type).Text(" AND target_id = ").Add(ref->id).Text(")");
      return Status::Ok();
    }
    if (def.targets.size() == 1) {
      out->Text("(target_id = ")
          .Add(term)
          .Text(" AND target_type = ")
          .Add(def.targets[0])
          .Text(")");
    } else {
      out->Text("target_id = ").Add(term);
    }
    return Status::Ok();
  }

  Result<std::optional<Condition>> Id(std::string_view alias, std::string_view full,
                                      std::string_view modifier, std::string_view value) {
    if (!modifier.empty() && modifier != "not")
      return BadValue(full, "modifier ':" + std::string(modifier) + "' is not supported");
    auto terms = Terms(full, value);
    if (!terms.ok()) return terms.status();
    Condition cond;
    cond.rank = modifier == "not" ? kNeverDrives : kRankId;
    cond.sql.Text(std::string(alias) + (modifier == "not" ? ".id NOT IN (" : ".id IN ("));
    for (std::size_t i = 0; i < terms->size(); ++i) {
      if (i > 0) cond.sql.Text(", ");
      cond.sql.Add(Unescape((*terms)[i]));
    }
    cond.sql.Text(")");
    return std::optional<Condition>(std::move(cond));
  }

  Result<std::optional<Condition>> LastUpdated(std::string_view alias, std::string_view full,
                                               std::string_view modifier, std::string_view value) {
    if (!modifier.empty())
      return BadValue(full, "modifier ':" + std::string(modifier) + "' is not supported");
    auto terms = Terms(full, value);
    if (!terms.ok()) return terms.status();
    std::string col = std::string(alias) + ".last_updated_us";
    Condition cond;
    cond.sql.Text("(");
    for (std::size_t i = 0; i < terms->size(); ++i) {
      if (i > 0) cond.sql.Text(" OR ");
      auto [prefix, rest] = SplitPrefix((*terms)[i]);
      auto range = ParseDateRange(rest);
      if (!range) return BadValue(full, "not a FHIR date or dateTime");
      DatePredicate(prefix, *range, col, col, &cond.sql);
    }
    cond.sql.Text(")");
    return std::optional<Condition>(std::move(cond));
  }

  // subject:identifier=s|v matches either the logical identifier inside the
  // Reference element (token rows under "<key>:identifier", see
  // index_extract.cpp) or the identifier of the referenced, visible target
  // (the chain subject.identifier). A plain condition: an OR of two probes,
  // and as a driver the UNION of both rid sets.
  Result<std::optional<Condition>> ReferenceIdentifier(std::string_view type,
                                                       std::string_view alias,
                                                       std::string_view full,
                                                       const SearchParamDef& def,
                                                       std::string_view value, int depth) {
    ParamName chain_name{.name = def.name, .modifier = {}, .chain = "identifier"};
    auto chain = Chain(type, full, chain_name, value, depth);
    if (!chain.ok()) return chain.status();
    auto terms = Terms(full, value);
    if (!terms.ok()) return terms.status();
    Sql tokens;
    tokens.Text("param = ").Add(def.key + ":identifier").Text(" AND (");
    for (std::size_t i = 0; i < terms->size(); ++i) {
      if (i > 0) tokens.Text(" OR ");
      JUNCTION_RETURN_IF_ERROR(TokenTerm(full, (*terms)[i], &tokens));
    }
    tokens.Text(")");
    std::string a(alias);
    Condition cond;
    cond.rank = kRankToken;
    cond.sql
        .Text("(EXISTS (SELECT 1 FROM idx_token INDEXED BY idx_token_rid WHERE rid = " + a +
              ".rid AND ")
        .Append(tokens)
        .Text(")");
    cond.driver_sql.Text("SELECT rid FROM idx_token WHERE ").Append(tokens);
    if (chain->has_value()) {
      const Condition& c = **chain;
      cond.sql.Text(" OR ");
      AppendCondition(c, alias, false, &cond.sql);
      cond.driver_sql.Text(" UNION ");
      if (!c.driver_sql.text.empty()) {
        cond.driver_sql.Append(c.driver_sql);
      } else {
        cond.driver_sql
            .Text("SELECT " + c.table_alias + ".rid FROM " + c.table + " " + c.table_alias +
                  " WHERE ")
            .Append(c.sql);
      }
    }
    cond.sql.Text(")");
    return std::optional<Condition>(std::move(cond));
  }

  // subject:Patient.name=x, patient.identifier=s|v, subject.name=x (every
  // allowed target type that has the parameter): idx_reference rows whose
  // target is a current, visible resource matching the rest of the chain.
  Result<std::optional<Condition>> Chain(std::string_view type, std::string_view full,
                                         const ParamName& pn, std::string_view value, int depth) {
    const SearchParamDef* def = FindSearchParam(type, pn.name);
    if (def == nullptr) return std::optional<Condition>();
    if (def->kind != ParamKind::kReference)
      return BadValue(full, "only reference parameters can be chained");
    std::vector<std::string> candidates;
    if (!pn.modifier.empty()) {
      if (!IsValidTypeName(pn.modifier))
        return BadValue(full, "a chain's modifier must be a resource type");
      if (!def->targets.empty() &&
          std::find(def->targets.begin(), def->targets.end(), pn.modifier) == def->targets.end()) {
        return BadValue(full, std::string(pn.modifier) + " is not a target type of this reference");
      }
      candidates.emplace_back(pn.modifier);
    } else if (!def->targets.empty()) {
      candidates = def->targets;
    } else {
      std::string_view next = pn.chain.substr(0, pn.chain.find_first_of(":."));
      candidates = IsCommonParam(next) || next == "_has" ? IndexedTypes() : TypesWithParam(next);
    }
    Condition cond;
    cond.table = "idx_reference";
    cond.table_alias = ctx_.Alias("ir");
    const std::string& ir = cond.table_alias;
    std::vector<Sql> alternatives;
    for (const auto& target : candidates) {
      std::string t = ctx_.Alias("t");
      auto inner = Param(target, t, pn.chain, value, depth + 1);
      if (!inner.ok()) return inner.status();
      if (!inner->has_value()) continue;
      Sql alt;
      alt.Text("(" + ir + ".target_type = ").Add(target);
      alt.Text(" AND " + ir + ".target_id IN (SELECT " + t + ".id FROM resources " + t + " WHERE ");
      std::vector<Condition> conds;
      conds.push_back(std::move(**inner));
      AppendWhere(t, {target}, conds, *ctx_.access, &alt);
      alt.Text("))");
      alternatives.push_back(std::move(alt));
    }
    if (alternatives.empty()) return std::optional<Condition>();
    cond.sql.Text(ir + ".param = ").Add(def->key).Text(" AND (");
    for (std::size_t i = 0; i < alternatives.size(); ++i) {
      if (i > 0) cond.sql.Text(" OR ");
      cond.sql.Append(alternatives[i]);
    }
    cond.sql.Text(")");
    if (alternatives.size() > 1) {
      // Several target types: one index range per type (an OR would make
      // SQLite walk every row of the parameter).
      for (std::size_t i = 0; i < alternatives.size(); ++i) {
        if (i > 0) cond.driver_sql.Text(" UNION ALL ");
        cond.driver_sql.Text("SELECT " + ir + ".rid FROM idx_reference " + ir + " WHERE " + ir +
                             ".param = ");
        cond.driver_sql.Add(def->key).Text(" AND ").Append(alternatives[i]);
      }
    }
    cond.rank = kRankReference;
    return std::optional<Condition>(std::move(cond));
  }

  // _has:Observation:patient:code=x: some current, visible Observation whose
  // `patient` references this resource matches code=x.
  Result<std::optional<Condition>> Has(std::string_view type, std::string_view alias,
                                       std::string_view full, std::string_view value, int depth) {
    std::string_view rest = full.substr(5);
    std::size_t c1 = rest.find(':');
    std::size_t c2 = c1 == std::string_view::npos ? c1 : rest.find(':', c1 + 1);
    if (c2 == std::string_view::npos || c1 == 0 || c2 == c1 + 1 || c2 + 1 == rest.size()) {
      return BadValue(full, "_has takes _has:Type:reference:parameter");
    }
    if (type.empty()) return std::optional<Condition>();
    std::string_view source = rest.substr(0, c1), ref_name = rest.substr(c1 + 1, c2 - c1 - 1);
    std::string_view inner_name = rest.substr(c2 + 1);
    if (!IsValidTypeName(source))
      return BadValue(full, "not a resource type: " + std::string(source));
    const SearchParamDef* def = FindSearchParam(source, ref_name);
    if (def == nullptr) return std::optional<Condition>();
    if (def->kind != ParamKind::kReference)
      return BadValue(full, std::string(ref_name) + " is not a reference");
    if (!def->targets.empty() &&
        std::find(def->targets.begin(), def->targets.end(), type) == def->targets.end()) {
      return BadValue(full, std::string(ref_name) + " never references " + std::string(type));
    }
    std::string ir = ctx_.Alias("ir"), s = ctx_.Alias("s");
    auto inner = Param(source, s, inner_name, value, depth + 1);
    if (!inner.ok()) return inner.status();
    if (!inner->has_value()) return std::optional<Condition>();
    Condition cond;
    // Driven by the sources' rids (the unary plus keeps SQLite off the
    // (param, ...) and (target_type, ...) indexes, which hold every row).
    cond.sql.Text(std::string(alias) + ".id IN (SELECT " + ir + ".target_id FROM idx_reference " +
                  ir + " WHERE +" + ir + ".param = ");
    cond.sql.Add(def->key).Text(" AND +" + ir + ".target_type = ").Add(std::string(type));
    cond.sql.Text(" AND " + ir + ".rid IN (SELECT " + s + ".rid FROM resources " + s + " WHERE ");
    std::vector<Condition> conds;
    conds.push_back(std::move(**inner));
    AppendWhere(s, {std::string(source)}, conds, *ctx_.access, &cond.sql);
    cond.sql.Text("))");
    return std::optional<Condition>(std::move(cond));
  }

  CompileContext& ctx_;
};

}  // namespace

void AppendCondition(const Condition& cond, std::string_view alias, bool driver, Sql* out) {
  std::string a(alias);
  if (cond.table.empty()) {
    // A plain condition drives through its rid set when it has one.
    if (driver && !cond.negate && !cond.driver_sql.text.empty()) {
      out->Text(a + ".rid IN (").Append(cond.driver_sql).Text(")");
    } else {
      out->Append(cond.sql);
    }
    return;
  }
  std::string t = cond.table_alias.empty() ? cond.table : cond.table_alias;
  std::string from = cond.table + (cond.table_alias.empty() ? "" : " " + cond.table_alias);
  if (driver && !cond.negate && !cond.driver_sql.text.empty()) {
    out->Text(a + ".rid IN (").Append(cond.driver_sql);
  } else if (driver && !cond.negate) {
    out->Text(a + ".rid IN (SELECT " + t + ".rid FROM " + from + " WHERE ").Append(cond.sql);
  } else {
    // A probe per candidate row through the rid index (without INDEXED BY,
    // SQLite, lacking statistics, may walk the (param, value) index instead).
    out->Text(std::string(cond.negate ? "NOT " : "") + "EXISTS (SELECT 1 FROM " + from +
              " INDEXED BY " + cond.table + "_rid WHERE " + t + ".rid = " + a + ".rid AND ");
    out->Append(cond.sql);
  }
  out->Text(")");
}

void AppendWhere(std::string_view alias, const std::vector<std::string>& types,
                 const std::vector<Condition>& conds, const Access& access, Sql* out) {
  std::string a(alias);
  // The driver: the best ranked index lookup, unless an _id list is there
  // (the (type, id) index) or the patient's compartment is a better start
  // (bounded by one patient's record; only references are more selective).
  int best = -1;
  bool by_id = false;
  for (std::size_t i = 0; i < conds.size(); ++i) {
    const Condition& c = conds[i];
    if (c.table.empty() && c.rank == kRankId) by_id = true;
    if ((!c.table.empty() || !c.driver_sql.text.empty()) && !c.negate && c.rank < kNeverDrives &&
        (best < 0 || c.rank < conds[static_cast<std::size_t>(best)].rank)) {
      best = static_cast<int>(i);
    }
  }
  if (by_id) best = -1;
  bool by_access = access.patient.has_value() && !by_id &&
                   (best < 0 || conds[static_cast<std::size_t>(best)].rank > kRankReference);
  if (by_access) best = -1;
  bool by_rid = best >= 0 || by_access;
  out->Text(a + ".deleted = 0");
  if (types.size() == 1) {
    out->Text(" AND " + TypeEquals(a, by_rid)).Add(types[0]);
  } else if (!types.empty()) {
    out->Text(std::string(" AND ") + (by_rid ? "+" : "") + a + ".type IN (");
    for (std::size_t i = 0; i < types.size(); ++i) {
      if (i > 0) out->Text(", ");
      out->Add(types[i]);
    }
    out->Text(")");
  }
  if (access.patient) {
    if (by_access) {
      out->Text(" AND " + a + ".rid IN (SELECT rid FROM compartments WHERE patient = ")
          .Add(*access.patient)
          .Text(")");
    } else {
      out->Text(" AND EXISTS (SELECT 1 FROM compartments WHERE patient = ")
          .Add(*access.patient)
          .Text(" AND rid = " + a + ".rid)");
    }
  }
  if (best >= 0) {
    out->Text(" AND ");
    AppendCondition(conds[static_cast<std::size_t>(best)], alias, true, out);
  }
  for (std::size_t i = 0; i < conds.size(); ++i) {
    if (static_cast<int>(i) == best) continue;
    out->Text(" AND ");
    AppendCondition(conds[i], alias, false, out);
  }
}

std::string TypeEquals(std::string_view alias, bool rid_driven) {
  return (rid_driven ? "+" : "") + std::string(alias) + ".type = ";
}

Result<std::optional<Condition>> CompileParam(CompileContext& ctx, std::string_view type,
                                              std::string_view alias, std::string_view name,
                                              std::string_view value) {
  return Compiler(ctx).Param(type, alias, name, value, 0);
}

bool AppendSortExpression(std::string_view type, std::string_view alias, std::string_view name,
                          bool descending, Sql* out) {
  std::string a(alias);
  const char* dir = descending ? " DESC" : " ASC";
  if (name == "_id") {
    out->Text(a + ".id" + dir);
    return true;
  }
  if (name == "_lastUpdated") {
    out->Text(a + ".last_updated_us" + dir);
    return true;
  }
  if (type.empty()) return false;
  const SearchParamDef* def = FindSearchParam(type, name);
  if (def == nullptr) return false;
  std::string column;
  switch (def->kind) {
    case ParamKind::kToken:
      column = "code";
      break;
    case ParamKind::kString:
      column = "norm";
      break;
    case ParamKind::kDate:
      column = descending ? "hi_us" : "lo_us";
      break;
    case ParamKind::kReference:
      column = "target_type || '/' || target_id";
      break;
    case ParamKind::kQuantity:
    case ParamKind::kNumber:
    case ParamKind::kUri:
      column = "value";
      break;
  }
  std::string agg = std::string(descending ? "MAX(" : "MIN(") + column + ")";
  // Resources without a value sort last in both directions.
  for (int pass = 0; pass < 2; ++pass) {
    out->Text("(SELECT " + agg + " FROM " + TableOf(def->kind) + " INDEXED BY " +
              TableOf(def->kind) + "_rid WHERE rid = " + a + ".rid AND param = ");
    out->Add(def->key).Text(")");
    out->Text(pass == 0 ? " IS NULL, " : dir);
  }
  return true;
}

}  // namespace junction::fhir::store_internal
