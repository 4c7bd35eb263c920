// Compiles one FHIR search parameter (name with modifiers, chains or _has,
// and its value) into an SQL condition over a `resources` row (private to
// junction::fhir_store, used by search_query.cpp).
//
//   CompileContext ctx{.access = &access};
//   Sql where;
//   auto known = CompileParam(ctx, "Observation", "r", "patient.name", "smith", &where);
//   // where.text: "r.rid IN (SELECT ir0.rid FROM idx_reference ir0 WHERE ...)"
//
// Every condition is an `rid IN (SELECT ... FROM idx_*)` subquery (the index
// tables' (param, value) indexes drive it). Chain targets and _has sources are
// themselves `resources` rows restricted to current ones and, with
// Access.patient, to the patient's compartment, inside the same SQL.
//
// Thread safety: a context is used by one thread.
#pragma once

#include <string>
#include <string_view>

#include "fhir/store/search_sql.h"
#include "junction/fhir/resource_store.h"

namespace junction::fhir::store_internal {

// Bounds on what one search may ask (documented in the report of RunSearch).
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

// Appends a condition on the resources row `alias` (of resource type `type`,
// "" for a system-wide search) for `name`=`value`. Returns false (nothing
// appended) when `type` has no such parameter, the chain's target types have
// none, or a _has names an unknown parameter; kInvalidArgument naming the
// parameter for a bad value, an unsupported modifier or a bound exceeded.
Result<bool> CompileParam(CompileContext& ctx, std::string_view type, std::string_view alias,
                          std::string_view name, std::string_view value, Sql* out);

// Appends the ORDER BY expression for `_sort` key `name` (without '-') on
// alias `alias`: the lowest indexed value ascending, the highest descending,
// with resources lacking a value last. Returns false (nothing appended) when
// `type` has no such parameter.
bool AppendSortExpression(std::string_view type, std::string_view alias, std::string_view name,
                          bool descending, Sql* out);

}  // namespace junction::fhir::store_internal
