// One write entry in two steps (private to junction::fhir_store): Resolve
// decides what the entry does (which id, create or update, conditional
// matches, If-Match, validation) without writing; Execute writes it. A
// transaction resolves every entry first (conditions see the state before
// the transaction), rewrites references, then executes.
//
//   EntryPlan plan;
//   JUNCTION_RETURN_IF_ERROR(ResolveEntry(ctx, op, plan));
//   if (!plan.failed()) JUNCTION_RETURN_IF_ERROR(ExecuteEntry(ctx, op, plan, result));
//
// Returned Status errors are storage failures; FHIR failures are in
// plan.fail_status / result.status.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>

#include "fhir/store/write_txn.h"

namespace junction::fhir::store_internal {

enum class EntryAction {
  kCreate,   // a new resource, or a new version over a tombstone
  kUpdate,   // a new version (or unchanged)
  kDelete,   // a tombstone version
  kNothing,  // conditional create that matched (200), delete of nothing (204)
};

struct EntryPlan {
  EntryAction action = EntryAction::kNothing;
  std::string id;                     // the target id
  std::optional<CurrentRow> current;  // the current row, tombstone included
  int nothing_status = 200;
  boost::json::object resource;  // POST/PUT: the body, references rewritten later
  int fail_status = 0;           // >= 400 when the entry fails
  std::string error;

  bool failed() const { return fail_status != 0; }
  void Fail(int status, std::string message) {
    fail_status = status;
    error = std::move(message);
  }
};

Status ResolveEntry(WriteContext& ctx, const WriteOp& op, EntryPlan& plan);
Status ExecuteEntry(WriteContext& ctx, const WriteOp& op, EntryPlan& plan, WriteResult& result);

// Matches `query` against `type` (at most 2 rids) for conditional operations;
// a bad query fails the plan with 400.
Status MatchCondition(WriteContext& ctx, std::string_view type, std::string_view query,
                      std::vector<std::int64_t>& rids, EntryPlan& plan);

}  // namespace junction::fhir::store_internal
