#include "fhir/store/write_txn.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <set>
#include <vector>

#include "fhir/store/index_values.h"
#include "fhir/store/write_entry.h"

namespace junction::fhir::store_internal {
namespace {

namespace json = boost::json;

int MethodRank(std::string_view method) {
  if (method == "DELETE") return 0;
  if (method == "POST") return 1;
  return 2;
}

// "Patient?identifier=s|v": a conditional reference (type, query).
bool SplitConditional(std::string_view ref, std::string_view& type, std::string_view& query) {
  std::size_t q = ref.find('?');
  if (q == std::string_view::npos || q == 0) return false;
  type = ref.substr(0, q);
  query = ref.substr(q + 1);
  return IsValidTypeName(type);
}

// Rewrites every Reference.reference in `node`: fullUrls of the batch to
// "Type/id", conditional references to the one resource they match.
Status RewriteReferences(WriteContext& ctx, json::value& node,
                         const std::map<std::string, std::string, std::less<>>& full_urls,
                         EntryPlan& plan) {
  if (node.is_array()) {
    for (json::value& element : node.get_array()) {
      JUNCTION_RETURN_IF_ERROR(RewriteReferences(ctx, element, full_urls, plan));
      if (plan.failed()) return Status::Ok();
    }
    return Status::Ok();
  }
  if (!node.is_object()) return Status::Ok();
  for (auto& [key, value] : node.get_object()) {
    if (key == "reference" && value.is_string()) {
      std::string_view ref = value.get_string();
      if (auto it = full_urls.find(ref); it != full_urls.end()) {
        value = it->second;
        continue;
      }
      if (ref.rfind("urn:uuid:", 0) == 0) {
        // A placeholder for an entry of this Bundle, and there is none: it
        // would be stored dangling (and mean nothing outside the Bundle).
        plan.Fail(400, "the reference " + std::string(ref.substr(0, 80)) +
                           " is not the fullUrl of any entry of the Bundle");
        return Status::Ok();
      }
      std::string_view type, query;
      if (!SplitConditional(ref, type, query)) continue;
      std::vector<std::int64_t> rids;
      JUNCTION_RETURN_IF_ERROR(MatchCondition(ctx, type, query, rids, plan));
      if (plan.failed()) return Status::Ok();
      if (rids.size() != 1) {
        plan.Fail(412, "conditional reference to " + std::string(type) + " matches " +
                           (rids.empty() ? "nothing" : "more than one resource"));
        return Status::Ok();
      }
      Result<std::optional<CurrentRow>> row = ctx.writer->CurrentByRid(rids[0]);
      if (!row.ok()) return row.status();
      if (!*row) return Status(StatusCode::kInternal, "FHIR store: a matched resource vanished");
      value = std::string(type) + "/" + (*row)->resource.id;
      continue;
    }
    JUNCTION_RETURN_IF_ERROR(RewriteReferences(ctx, value, full_urls, plan));
    if (plan.failed()) return Status::Ok();
  }
  return Status::Ok();
}

Status RewriteIn(WriteContext& ctx, EntryPlan& plan,
                 const std::map<std::string, std::string, std::less<>>& full_urls) {
  if (plan.failed() || plan.resource.empty()) return Status::Ok();
  json::value holder(std::move(plan.resource));
  Status status = RewriteReferences(ctx, holder, full_urls, plan);
  plan.resource = std::move(holder.get_object());
  return status;
}

bool Writes(const EntryPlan& plan) {
  return !plan.failed() && plan.action != EntryAction::kNothing;
}

Result<WriteOutcome> ApplyTransaction(WriteContext& ctx, WriteBatch& batch) {
  const std::size_t n = batch.entries.size();
  WriteOutcome outcome;
  std::vector<EntryPlan> plans(n);
  JUNCTION_RETURN_IF_ERROR(ctx.writer->Exec("SAVEPOINT fhir_batch"));

  // Fails the whole transaction because of entry `i`.
  auto fail = [&](std::size_t i, int status, std::string error) -> Result<WriteOutcome> {
    JUNCTION_RETURN_IF_ERROR(ctx.writer->Exec("ROLLBACK TO fhir_batch; RELEASE fhir_batch"));
    WriteOutcome failed;
    failed.committed = false;
    failed.status = status;
    failed.error = "entry " + std::to_string(i) + ": " + std::move(error);
    failed.failed_entry = i;
    return failed;
  };
  // Storage errors: undo and report.
  auto abort = [&](Status status) -> Result<WriteOutcome> {
    (void)ctx.writer->Exec("ROLLBACK TO fhir_batch; RELEASE fhir_batch");
    return status;
  };

  // 1. What each entry does, against the state before the transaction.
  std::map<std::string, std::string, std::less<>> full_urls;
  std::set<std::string> targets;
  for (std::size_t i = 0; i < n; ++i) {
    const WriteOp& op = batch.entries[i];
    Status status = ResolveEntry(ctx, op, plans[i]);
    if (!status.ok()) return abort(status);
    if (plans[i].failed()) return fail(i, plans[i].fail_status, plans[i].error);
    std::string target = op.type + "/" + plans[i].id;
    if (Writes(plans[i]) && !targets.insert(target).second) {
      return fail(i, 400, "more than one entry changes " + target);
    }
    if (!op.full_url.empty() && op.method != "DELETE") full_urls[op.full_url] = target;
  }
  // 2. References to other entries and conditional references.
  for (std::size_t i = 0; i < n; ++i) {
    if (!Writes(plans[i])) continue;
    Status status = RewriteIn(ctx, plans[i], full_urls);
    if (!status.ok()) return abort(status);
    if (plans[i].failed()) return fail(i, plans[i].fail_status, plans[i].error);
  }
  // 3. DELETE, then POST, then PUT (FHIR transaction processing order).
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return MethodRank(batch.entries[a].method) < MethodRank(batch.entries[b].method);
  });
  outcome.entries.resize(n);
  for (std::size_t i : order) {
    Status status = ExecuteEntry(ctx, batch.entries[i], plans[i], outcome.entries[i]);
    if (!status.ok()) return abort(status);
    if (outcome.entries[i].status >= 400) {
      return fail(i, outcome.entries[i].status, outcome.entries[i].error);
    }
  }
  JUNCTION_RETURN_IF_ERROR(ctx.writer->Exec("RELEASE fhir_batch"));
  outcome.status = 200;
  return outcome;
}

Result<WriteOutcome> ApplyBatch(WriteContext& ctx, WriteBatch& batch) {
  WriteOutcome outcome;
  outcome.entries.resize(batch.entries.size());
  const std::map<std::string, std::string, std::less<>> no_full_urls;
  for (std::size_t i = 0; i < batch.entries.size(); ++i) {
    const WriteOp& op = batch.entries[i];
    WriteResult& result = outcome.entries[i];
    JUNCTION_RETURN_IF_ERROR(ctx.writer->Exec("SAVEPOINT fhir_entry"));
    EntryPlan plan;
    Status status = ResolveEntry(ctx, op, plan);
    if (status.ok() && Writes(plan)) status = RewriteIn(ctx, plan, no_full_urls);
    if (status.ok()) status = ExecuteEntry(ctx, op, plan, result);
    if (!status.ok()) {
      (void)ctx.writer->Exec("ROLLBACK TO fhir_entry; RELEASE fhir_entry");
      return status;
    }
    if (result.status >= 400) {
      result.resource.reset();
      JUNCTION_RETURN_IF_ERROR(ctx.writer->Exec("ROLLBACK TO fhir_entry; RELEASE fhir_entry"));
    } else {
      JUNCTION_RETURN_IF_ERROR(ctx.writer->Exec("RELEASE fhir_entry"));
    }
  }
  return outcome;
}

}  // namespace

Result<WriteOutcome> ApplyWriteBatch(WriteContext& ctx, WriteBatch& batch) {
  return batch.atomic ? ApplyTransaction(ctx, batch) : ApplyBatch(ctx, batch);
}

}  // namespace junction::fhir::store_internal
