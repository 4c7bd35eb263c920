// Compiles one FHIR search parameter (name with modifiers, chains or _has,
// and its value) into an SQL condition over a `resources` row (private to
// junction::fhir_store, used by search_query.cpp).
//
//   CompileContext ctx{.access = &access};
//   auto cond = CompileParam(ctx, "Observation", "r", "patient.name", "smith");
//   Sql where;
//   AppendWhere("r", {"Observation"}, {**cond}, access, &where);
//   // where.text: "r.deleted = 0 AND +r.type = ? AND r.rid IN (SELECT ir0.rid
//   //              FROM idx_reference ir0 WHERE ir0.param = ? AND ...)"
//
// Conditions are lookups in the index tables. Chain targets and _has sources are
// themselves `resources` rows restricted to current ones and, with
// Access.patient, to the patient's compartment, inside the same SQL.
//
// Thread safety: a context is used by one thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/store/index_values.h"
#include "fhir/store/search_parse.h"
#include "fhir/store/search_sql.h"
#include "junction/fhir/resource_store.h"

namespace junction::fhir::store_internal {

// Bounds on what one search may ask; beyond them: kInvalidArgument.
inline constexpr std::size_t kMaxSearchParams = 100;
inline constexpr std::size_t kMaxValueBytes = 1024;
inline constexpr std::size_t kMaxOrTerms = 100;
inline constexpr int kMaxChainDepth = 3;  // chain and _has levels

struct CompileContext {
  const Access* access = nullptr;
  int next_alias = 0;

  std::string Alias(std::string_view base) {
    return std::string(base) + std::to_string(next_alias++);
  }
};

// One compiled parameter. Either an index lookup (`table` set): rows of
// `table` (named `table_alias` inside `sql`, or the table's own name) for
// which `sql` holds, linked to the resource by rid; or a plain condition
// (`table` empty) on the resources row itself (_id, _lastUpdated, _has).
// `negate`: the resource has no such row (:not, :missing=true).
struct Condition {
  std::string table;
  std::string table_alias;
  Sql sql;
  // When set, the rid subquery to use when this condition drives the query
  // (a UNION of index ranges) instead of "SELECT rid FROM table WHERE sql".
  Sql driver_sql;
  bool negate = false;
  int rank = 100;  // how well it drives a query; lower is better (kRank*)
};
inline constexpr int kRankId = 0;
inline constexpr int kRankReference = 1;
inline constexpr int kRankToken = 2;
inline constexpr int kRankString = 3;
inline constexpr int kRankRange = 4;
inline constexpr int kRankScan = 5;
inline constexpr int kNeverDrives = 100;

// Compiles `name`=`value` for resources of `type` ("" for a system-wide
// search) on the resources row named `alias`. nullopt when `type` has no
// such parameter, the chain's target types have none, or a _has names an
// unknown parameter; kInvalidArgument naming the parameter for a bad value,
// an unsupported modifier or a bound exceeded.
Result<std::optional<Condition>> CompileParam(CompileContext& ctx, std::string_view type,
                                              std::string_view alias, std::string_view name,
                                              std::string_view value);

// Query plans. SQLite has no statistics here, so the WHERE clause is written
// to be driven by one index: the best ranked lookup becomes
// `<a>.rid IN (SELECT rid FROM idx_... WHERE param = ? AND ...)` (or the
// patient's compartment rids, or the (type, id) index for _id), and every
// other lookup an `EXISTS` probe through the table's rid index. The type test
// is then written "+<a>.type = ?": the unary plus keeps SQLite from walking
// every resource of the type through the (type, last_updated_us) index.
//
// AppendWhere writes "<a>.deleted = 0 AND <type test> [AND <access>] AND
// <conditions>"; `types` empty = any type, several = `_type`.
void AppendWhere(std::string_view alias, const std::vector<std::string>& types,
                 const std::vector<Condition>& conds, const Access& access, Sql* out);
void AppendCondition(const Condition& cond, std::string_view alias, bool driver, Sql* out);
std::string TypeEquals(std::string_view alias, bool rid_driven);

// A date prefix (R4 range rules) over the target range [lo_col, hi_col] and
// the search range `s`, appended to `out` as one parenthesised predicate.
void DatePredicate(Prefix prefix, const TimeRange& s, std::string_view lo_col,
                   std::string_view hi_col, Sql* out);

// Appends the ORDER BY expression for `_sort` key `name` (without '-') on
// alias `alias`: the lowest indexed value ascending, the highest descending,
// with resources lacking a value last. Returns false (nothing appended) when
// `type` has no such parameter.
bool AppendSortExpression(std::string_view type, std::string_view alias, std::string_view name,
                          bool descending, Sql* out);

}  // namespace junction::fhir::store_internal
