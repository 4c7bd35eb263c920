#include "fhir/store/write_entry.h"

#include <vector>

#include "fhir/store/index_extract.h"
#include "fhir/store/index_values.h"
#include "fhir/store/r4_types.h"
#include "fhir/store/search_query.h"

namespace junction::fhir::store_internal {
namespace {

namespace json = boost::json;

// The resource without the store's own meta (versionId, lastUpdated): what
// "the same content" compares.
json::object WithoutStoreMeta(json::object o) {
  if (json::value* meta = o.if_contains("meta"); meta != nullptr && meta->is_object()) {
    meta->get_object().erase("versionId");
    meta->get_object().erase("lastUpdated");
    if (meta->get_object().empty()) o.erase("meta");
  }
  return o;
}

// "3", "\"3\"" or "W/\"3\"" -> 3; -1 when not a version.
std::int64_t ParseIfMatch(std::string_view text) {
  if (text.rfind("W/", 0) == 0) text.remove_prefix(2);
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"')
    text = text.substr(1, text.size() - 2);
  if (text.empty() || text.size() > 18) return -1;
  std::int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::string_view BodyId(const json::object& resource) {
  const json::value* id = resource.if_contains("id");
  return id != nullptr && id->is_string() ? std::string_view(id->get_string()) : std::string_view();
}

Status Load(WriteContext& ctx, std::string_view type, std::string_view id, EntryPlan& plan) {
  Result<std::optional<CurrentRow>> current = ctx.writer->Current(type, id);
  if (!current.ok()) return current.status();
  plan.current = std::move(*current);
  return Status::Ok();
}

Status LoadRid(WriteContext& ctx, std::int64_t rid, EntryPlan& plan) {
  Result<std::optional<CurrentRow>> current = ctx.writer->CurrentByRid(rid);
  if (!current.ok()) return current.status();
  plan.current = std::move(*current);
  if (!plan.current)
    return Status(StatusCode::kInternal, "FHIR store: a matched resource vanished");
  plan.id = plan.current->resource.id;
  return Status::Ok();
}

bool Live(const EntryPlan& plan) { return plan.current && !plan.current->resource.deleted; }

// If-Match (PUT and DELETE): the current version must be the expected one;
// otherwise the plan fails with 412. False when it failed.
bool CheckIfMatch(const WriteOp& op, EntryPlan& plan) {
  if (op.if_match.empty()) return true;
  std::int64_t expected = ParseIfMatch(op.if_match);
  if (!Live(plan)) {
    plan.Fail(412, "If-Match: there is no current version of " + op.type + "/" + plan.id);
    return false;
  }
  if (expected != plan.current->resource.version) {
    plan.Fail(412,
              "If-Match: the current version is " + std::to_string(plan.current->resource.version));
    return false;
  }
  return true;
}

// With a patient restriction, an existing resource may be changed only when
// it is in that patient's compartment.
Status CheckExistingAccess(WriteContext& ctx, EntryPlan& plan) {
  if (!ctx.access->patient || !Live(plan)) return Status::Ok();
  Result<bool> in = ctx.writer->InCompartment(plan.current->rid, *ctx.access->patient);
  if (!in.ok()) return in.status();
  if (!*in) plan.Fail(403, "the resource is outside the patient's compartment");
  return Status::Ok();
}

Status ResolvePut(WriteContext& ctx, const WriteOp& op, EntryPlan& plan) {
  std::string_view body_id = BodyId(plan.resource);
  if (!op.condition.empty()) {
    std::vector<std::int64_t> rids;
    JUNCTION_RETURN_IF_ERROR(MatchCondition(ctx, op.type, op.condition, rids, plan));
    if (plan.failed()) return Status::Ok();
    if (rids.size() > 1) {
      plan.Fail(412, "conditional update: more than one " + op.type + " matches");
      return Status::Ok();
    }
    if (rids.size() == 1) {
      JUNCTION_RETURN_IF_ERROR(LoadRid(ctx, rids[0], plan));
      if (!body_id.empty() && body_id != plan.id) {
        plan.Fail(400, "conditional update: the resource id differs from the matching " + op.type);
        return Status::Ok();
      }
    } else if (!body_id.empty()) {
      if (!IsValidId(body_id)) {
        plan.Fail(400, "invalid resource id");
        return Status::Ok();
      }
      plan.id = std::string(body_id);
      JUNCTION_RETURN_IF_ERROR(Load(ctx, op.type, plan.id, plan));
    } else {
      plan.id = ctx.new_id();
    }
  } else {
    if (!IsValidId(op.id)) {
      plan.Fail(400, "invalid resource id (expected [A-Za-z0-9-.]{1,64})");
      return Status::Ok();
    }
    if (!body_id.empty() && body_id != op.id) {
      plan.Fail(400, "the resource id differs from the id in the URL");
      return Status::Ok();
    }
    plan.id = op.id;
    JUNCTION_RETURN_IF_ERROR(Load(ctx, op.type, plan.id, plan));
  }
  if (!CheckIfMatch(op, plan)) return Status::Ok();
  plan.action = Live(plan) ? EntryAction::kUpdate : EntryAction::kCreate;
  return CheckExistingAccess(ctx, plan);
}

Status ResolvePost(WriteContext& ctx, const WriteOp& op, EntryPlan& plan) {
  if (!op.condition.empty()) {
    std::vector<std::int64_t> rids;
    JUNCTION_RETURN_IF_ERROR(MatchCondition(ctx, op.type, op.condition, rids, plan));
    if (plan.failed()) return Status::Ok();
    if (rids.size() > 1) {
      plan.Fail(412, "conditional create: more than one " + op.type + " matches");
      return Status::Ok();
    }
    if (rids.size() == 1) {
      JUNCTION_RETURN_IF_ERROR(LoadRid(ctx, rids[0], plan));
      plan.action = EntryAction::kNothing;
      plan.nothing_status = 200;
      return Status::Ok();
    }
  }
  plan.id = ctx.new_id();
  plan.action = EntryAction::kCreate;
  return Status::Ok();
}

Status ResolveDelete(WriteContext& ctx, const WriteOp& op, EntryPlan& plan) {
  plan.nothing_status = 204;
  if (!op.condition.empty()) {
    std::vector<std::int64_t> rids;
    JUNCTION_RETURN_IF_ERROR(MatchCondition(ctx, op.type, op.condition, rids, plan));
    if (plan.failed()) return Status::Ok();
    if (rids.size() > 1) {
      plan.Fail(412, "conditional delete: more than one " + op.type + " matches");
      return Status::Ok();
    }
    if (rids.empty()) {
      plan.action = EntryAction::kNothing;
      return Status::Ok();
    }
    JUNCTION_RETURN_IF_ERROR(LoadRid(ctx, rids[0], plan));
  } else {
    if (!IsValidId(op.id)) {
      plan.Fail(400, "invalid resource id (expected [A-Za-z0-9-.]{1,64})");
      return Status::Ok();
    }
    plan.id = op.id;
    JUNCTION_RETURN_IF_ERROR(Load(ctx, op.type, plan.id, plan));
  }
  if (!CheckIfMatch(op, plan)) return Status::Ok();
  // Deleting what is not there (or is deleted already) succeeds and adds nothing.
  plan.action = Live(plan) ? EntryAction::kDelete : EntryAction::kNothing;
  return CheckExistingAccess(ctx, plan);
}

}  // namespace

Status MatchCondition(WriteContext& ctx, std::string_view type, std::string_view query,
                      std::vector<std::int64_t>& rids, EntryPlan& plan) {
  Result<std::vector<std::int64_t>> found =
      MatchRids(ctx.writer->db(), type, query, *ctx.access, 2);
  if (found.ok()) {
    rids = std::move(*found);
    return Status::Ok();
  }
  if (found.status().code() == StatusCode::kInvalidArgument) {
    plan.Fail(400, "condition: " + found.status().message());
    return Status::Ok();
  }
  if (found.status().code() == StatusCode::kUnimplemented) {
    plan.Fail(501, "condition: " + found.status().message());
    return Status::Ok();
  }
  return found.status();
}

Status ResolveEntry(WriteContext& ctx, const WriteOp& op, EntryPlan& plan) {
  if (!IsValidTypeName(op.type)) {
    plan.Fail(400, "invalid resource type");
    return Status::Ok();
  }
  if (!IsR4ResourceType(op.type)) {
    plan.Fail(400, op.type + " is not a FHIR R4 resource type");
    return Status::Ok();
  }
  if (op.method == "DELETE") return ResolveDelete(ctx, op, plan);
  if (op.method != "POST" && op.method != "PUT") {
    plan.Fail(400, "method " + op.method.substr(0, 16) + " is not supported in a write");
    return Status::Ok();
  }
  const json::value* rt = op.resource.if_contains("resourceType");
  if (rt == nullptr || !rt->is_string() || rt->get_string() != op.type) {
    plan.Fail(400, "the resource's resourceType is not " + op.type);
    return Status::Ok();
  }
  plan.resource = op.resource;
  return op.method == "POST" ? ResolvePost(ctx, op, plan) : ResolvePut(ctx, op, plan);
}

Status ExecuteEntry(WriteContext& ctx, const WriteOp& op, EntryPlan& plan, WriteResult& result) {
  if (plan.failed()) {
    result.status = plan.fail_status;
    result.error = plan.error;
    return Status::Ok();
  }
  switch (plan.action) {
    case EntryAction::kNothing:
      result.status = plan.nothing_status;
      if (plan.nothing_status == 200 && plan.current) result.resource = plan.current->resource;
      return Status::Ok();
    case EntryAction::kDelete: {
      Result<CurrentRow> row = ctx.writer->Delete(*plan.current, ctx.now_us);
      if (!row.ok()) return row.status();
      result.status = 204;
      result.resource = std::move(row->resource);
      return Status::Ok();
    }
    case EntryAction::kCreate:
    case EntryAction::kUpdate:
      break;
  }
  json::object& resource = plan.resource;
  resource["id"] = plan.id;
  if (plan.action == EntryAction::kUpdate) {
    boost::system::error_code ec;
    json::value stored = json::parse(plan.current->resource.json, ec);
    if (!ec && stored.is_object() &&
        WithoutStoreMeta(stored.get_object()) == WithoutStoreMeta(resource)) {
      result.status = 200;
      result.unchanged = true;
      result.resource = plan.current->resource;
      return Status::Ok();
    }
  }
  std::int64_t version = plan.current ? plan.current->resource.version + 1 : 1;
  json::value& meta_value = resource["meta"];
  if (!meta_value.is_object()) meta_value = json::object();
  json::object& meta = meta_value.get_object();
  meta["versionId"] = std::to_string(version);
  meta["lastUpdated"] = FormatInstant(ctx.now_us);
  std::string text = json::serialize(resource);
  if (text.size() > ctx.max_resource_bytes) {
    plan.Fail(413, "the resource is " + std::to_string(text.size()) +
                       " bytes, more than the limit of " + std::to_string(ctx.max_resource_bytes));
    result.status = plan.fail_status;
    result.error = plan.error;
    return Status::Ok();
  }
  IndexRows rows = ExtractIndex(op.type, plan.id, resource);
  if (ctx.access->patient && rows.compartment.count(*ctx.access->patient) == 0) {
    plan.Fail(403, "the resource is outside the patient's compartment");
    result.status = plan.fail_status;
    result.error = plan.error;
    return Status::Ok();
  }
  Result<CurrentRow> row = ctx.writer->Write(op.type, plan.id, plan.current ? plan.current->rid : 0,
                                             version, op.method, std::move(text), ctx.now_us, rows);
  if (!row.ok()) return row.status();
  result.created = plan.action == EntryAction::kCreate;
  result.status = result.created ? 201 : 200;
  result.resource = std::move(row->resource);
  return Status::Ok();
}

}  // namespace junction::fhir::store_internal
