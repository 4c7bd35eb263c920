// Transaction and batch Bundles POSTed to the base: entries -> one WriteBatch
// -> transaction-response / batch-response. GET entries are answered in a
// batch (before its writes: batch entries may not depend on each other) and
// refused in a transaction.
#include "fhir/rest/rest_internal.h"

namespace junction::fhir::rest_internal {

Result<bool> BundleKind(const json::object& bundle) {
  const json::value* resource_type = bundle.if_contains("resourceType");
  if (resource_type == nullptr || !resource_type->is_string() ||
      resource_type->as_string() != "Bundle") {
    return Status::Invalid("not a Bundle (resourceType must be Bundle)");
  }
  const json::value* type = bundle.if_contains("type");
  bool atomic = false;
  if (type != nullptr && type->is_string() && type->as_string() == "transaction") {
    atomic = true;
  } else if (type == nullptr || !type->is_string() || type->as_string() != "batch") {
    return Status::Invalid("Bundle.type must be transaction or batch");
  }
  const json::value* entries = bundle.if_contains("entry");
  if (entries == nullptr) return Status::Invalid("Bundle.entry is missing");
  if (!entries->is_array()) return Status::Invalid("Bundle.entry must be an array");
  if (entries->as_array().size() > kMaxBundleEntries) {
    return Status::OutOfRange("more than " + std::to_string(kMaxBundleEntries) + " entries");
  }
  std::size_t index = 0;
  for (const auto& entry : entries->as_array()) {
    if (!entry.is_object())
      return Status::Invalid("entry " + std::to_string(index) + ": not an object");
    ++index;
  }
  return atomic;
}

}  // namespace junction::fhir::rest_internal

namespace junction::fhir {

using rest_internal::EntryToWriteOp;
namespace json = boost::json;

Result<WriteBatch> BundleToWriteBatch(const json::object& bundle) {
  auto atomic = rest_internal::BundleKind(bundle);
  if (!atomic.ok()) return atomic.status();
  WriteBatch batch;
  batch.atomic = *atomic;
  std::size_t index = 0;
  for (const auto& entry : bundle.at("entry").as_array()) {
    auto op = EntryToWriteOp(entry.as_object(), index++);
    if (!op.ok()) return op.status();
    batch.entries.push_back(std::move(*op));
  }
  return batch;
}

}  // namespace junction::fhir

namespace junction::fhir::rest_internal {
namespace {

const json::object* ObjectAt(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_object() ? &value->as_object() : nullptr;
}

std::string_view StringAt(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string_view(value->as_string())
                                                : std::string_view{};
}

std::string_view EntryMethod(const json::object& entry) {
  const json::object* request = ObjectAt(entry, "request");
  return request != nullptr ? StringAt(*request, "method") : std::string_view{};
}

}  // namespace

Interaction WriteInteraction(const WriteOp& op) {
  if (op.method == "POST") return Interaction::kCreate;
  if (op.method == "DELETE") return Interaction::kDelete;
  return Interaction::kUpdate;
}

Result<WriteOp> EntryToWriteOp(const json::object& entry, std::size_t index) {
  std::string where = "entry " + std::to_string(index) + ": ";
  auto invalid = [&](std::string_view what) { return Status::Invalid(where + std::string(what)); };
  const json::object* request = ObjectAt(entry, "request");
  if (request == nullptr) return invalid("request is missing");
  WriteOp op;
  op.method = std::string(StringAt(*request, "method"));
  if (op.method != "POST" && op.method != "PUT" && op.method != "DELETE") {
    return invalid("request.method must be POST, PUT or DELETE (was '" + op.method + "')");
  }
  std::string_view url = StringAt(*request, "url");
  if (url.find("://") != std::string_view::npos) {
    return invalid("request.url must be relative (Type, Type/id or Type?query)");
  }
  while (!url.empty() && url.front() == '/') url.remove_prefix(1);
  std::size_t q = url.find('?');
  std::string_view path = url.substr(0, q);
  if (q != std::string_view::npos) op.condition = std::string(url.substr(q + 1));
  std::size_t slash = path.find('/');
  op.type = std::string(path.substr(0, slash));
  if (slash != std::string_view::npos) op.id = std::string(path.substr(slash + 1));
  if (!IsValidType(op.type)) return invalid("request.url names no resource type");
  if (slash != std::string_view::npos && !IsValidId(op.id))
    return invalid("request.url has an invalid id");
  if (!op.id.empty() && !op.condition.empty())
    return invalid("request.url has both an id and a query");
  if (op.method == "POST" && !op.id.empty()) return invalid("POST goes to Type, not Type/id");
  if (op.method != "POST" && op.id.empty() && op.condition.empty()) {
    return invalid("request.url needs an id or a query");
  }
  if (op.method == "POST" && !op.condition.empty())
    return invalid("POST takes no query (use ifNoneExist)");
  std::string_view if_none_exist = StringAt(*request, "ifNoneExist");
  if (!if_none_exist.empty()) {
    if (op.method != "POST") return invalid("ifNoneExist is for POST only");
    std::size_t mark = if_none_exist.find('?');
    op.condition = std::string(mark == std::string_view::npos ? if_none_exist
                                                              : if_none_exist.substr(mark + 1));
  }
  std::string_view if_match = StringAt(*request, "ifMatch");
  if (!if_match.empty()) {
    op.if_match = EtagVersion(if_match);
    if (op.if_match.empty()) return invalid("ifMatch must be an ETag like W/\"3\"");
  }
  op.full_url = std::string(StringAt(entry, "fullUrl"));
  if (op.method != "DELETE") {
    const json::object* resource = ObjectAt(entry, "resource");
    if (resource == nullptr) return invalid("resource is missing");
    if (StringAt(*resource, "resourceType") != op.type) {
      return invalid("resource.resourceType must be " + op.type);
    }
    op.resource = *resource;
    if (op.method == "POST") {
      op.resource.erase("id");
    } else if (!op.id.empty() && StringAt(op.resource, "id") != op.id) {
      return invalid("resource.id must equal the id in request.url");
    }
  }
  return op;
}

namespace {

// One entry of the response, in request order.
struct Slot {
  enum class Kind { kWrite, kGet, kDone } kind = Kind::kWrite;
  std::size_t write_index = 0;  // kWrite: index in the WriteBatch
  RestResponse response;        // kGet / kDone: the answer
};

RestResponse RunGet(Exchange& ex, std::string_view url) {
  while (!url.empty() && url.front() == '/') url.remove_prefix(1);
  std::size_t q = url.find('?');
  Params query = ParseQuery(q == std::string_view::npos ? "" : url.substr(q + 1), false);
  RestResponse error;
  auto route = ParseRoute(url.substr(0, q), &error);
  if (!route) return error;
  switch (route->kind) {
    case RouteKind::kInstance:
    case RouteKind::kVersion:
      return DoRead(ex, *route, query);
    case RouteKind::kBase:
    case RouteKind::kType:
      return DoSearch(ex, *route, std::move(query));
    case RouteKind::kSystemHistory:
    case RouteKind::kTypeHistory:
    case RouteKind::kInstanceHistory:
      return DoHistory(ex, *route, query);
    case RouteKind::kEverything:
      return DoEverything(ex, *route, query);
    default:
      return ErrorResponse(400, "this GET is not supported inside a batch");
  }
}

json::object ResponseEntry(const RestResponse& response) {
  json::object answer{{"status", StatusLine(response.status)}};
  json::object entry;
  for (const auto& [name, value] : response.headers) {
    if (name == "ETag") answer["etag"] = value;
  }
  std::string error;
  if (!response.body.empty()) {
    auto body = ParseJson(response.body, &error);
    if (body && body->is_object()) {
      if (response.status >= 400) {
        answer["outcome"] = std::move(*body);
      } else {
        if (const auto* meta = ObjectAt(body->as_object(), "meta")) {
          std::string_view updated = StringAt(*meta, "lastUpdated");
          if (!updated.empty()) answer["lastModified"] = updated;
        }
        entry["resource"] = std::move(*body);
      }
    }
  }
  entry["response"] = std::move(answer);
  return entry;
}

json::object WriteEntry(const Exchange& ex, const WriteResult& result, bool representation) {
  json::object answer{{"status", StatusLine(result.status)}};
  json::object entry;
  if (result.status >= 400) {
    answer["outcome"] = OutcomeObject("error", IssueCode(result.status), result.error);
  } else if (result.resource) {
    const StoredResource& stored = *result.resource;
    entry["fullUrl"] = ex.request.base_url + "/" + stored.type + "/" + stored.id;
    if (!stored.deleted) {
      answer["location"] =
          stored.type + "/" + stored.id + "/_history/" + std::to_string(stored.version);
    }
    answer["etag"] = Etag(stored.version);
    if (!stored.last_updated.empty()) answer["lastModified"] = stored.last_updated;
    std::string error;
    if (representation && !stored.json.empty()) {
      if (auto body = ParseJson(stored.json, &error)) entry["resource"] = std::move(*body);
    }
  }
  entry["response"] = std::move(answer);
  return entry;
}

void Complete(const ExchangePtr& ex, bool atomic, const std::vector<Slot>& slots,
              const std::vector<std::size_t>& write_entry, const Result<WriteOutcome>& outcome) {
  if (!outcome.ok()) {
    return Finish(ex, ErrorResponse(503, "the resource store cannot take writes now; retry later"));
  }
  if (!outcome->committed) {
    std::size_t failed = outcome->failed_entry < write_entry.size()
                             ? write_entry[outcome->failed_entry]
                             : outcome->failed_entry;
    return Finish(ex, ErrorResponse(outcome->status,
                                    "entry " + std::to_string(failed) + ": " + outcome->error));
  }
  bool representation = PreferValue(ex->request, "return") == "representation";
  json::array entries;
  for (const auto& slot : slots) {
    if (slot.kind != Slot::Kind::kWrite) {
      entries.push_back(ResponseEntry(slot.response));
      continue;
    }
    if (slot.write_index >= outcome->entries.size()) {
      entries.push_back(json::object{{"response", json::object{{"status", StatusLine(500)}}}});
      continue;
    }
    const WriteResult& result = outcome->entries[slot.write_index];
    if (result.resource) {
      ex->audit.references.push_back(result.resource->type + "/" + result.resource->id);
      // The references are resolved now (urn:uuid: -> Patient/id): the patients are known.
      std::string error;
      auto stored = ParseJson(result.resource->json, &error);
      if (stored && stored->is_object()) CollectPatients(stored->as_object(), &ex->audit.patients);
    }
    entries.push_back(WriteEntry(*ex, result, representation));
  }
  json::object bundle{{"resourceType", "Bundle"},
                      {"type", atomic ? "transaction-response" : "batch-response"},
                      {"entry", std::move(entries)}};
  Finish(ex, JsonResponse(200, bundle));
}

}  // namespace

void HandleBundle(const ExchangePtr& ex) {
  ex->audit.subtype = "batch";
  ex->audit.action = 'E';
  std::string message;
  auto body = ParseJson(ex->request.body, &message);
  if (!body) return Finish(ex, ErrorResponse(400, message));
  if (!body->is_object()) return Finish(ex, ErrorResponse(400, "the body must be a Bundle"));
  const json::object& bundle = body->as_object();
  auto kind = BundleKind(bundle);
  if (!kind.ok()) {
    int status = kind.status().code() == StatusCode::kOutOfRange ? 413 : 400;
    return Finish(ex, ErrorResponse(status, kind.status().message()));
  }
  bool atomic = *kind;
  if (atomic) ex->audit.subtype = "transaction";

  // GET entries are answered here (batch only); the others become WriteOps.
  std::vector<Slot> slots;
  std::vector<std::string> get_urls;
  WriteBatch parsed;
  std::size_t index = 0;
  for (const auto& value : bundle.at("entry").as_array()) {
    const json::object& entry = value.as_object();
    Slot slot;
    if (EntryMethod(entry) == "GET") {
      if (atomic) {
        return Finish(ex, ErrorResponse(400, "entry " + std::to_string(index) +
                                                 ": GET entries are supported in batch "
                                                 "Bundles only, not in transactions"));
      }
      slot.kind = Slot::Kind::kGet;
      get_urls.emplace_back(StringAt(*ObjectAt(entry, "request"), "url"));
    } else {
      auto op = EntryToWriteOp(entry, index);
      if (!op.ok()) return Finish(ex, ErrorResponse(400, op.status().message()));
      parsed.entries.push_back(std::move(*op));
    }
    slots.push_back(std::move(slot));
    ++index;
  }
  auto batch = &parsed;

  // Authorization of every write before anything is written.
  WriteBatch allowed;
  allowed.atomic = atomic;
  std::vector<std::size_t> write_entry;  // WriteBatch index -> entry index
  std::size_t next_write = 0, next_get = 0;
  std::string subtype = ex->audit.subtype;
  for (std::size_t i = 0; i < slots.size(); ++i) {
    Slot& slot = slots[i];
    if (slot.kind == Slot::Kind::kGet) {
      slot.response = RunGet(*ex, get_urls[next_get++]);
      continue;
    }
    WriteOp& op = batch->entries[next_write++];
    if (auto refused = AuthorizeWrite(*ex, op)) {
      if (atomic) {
        ex->audit.subtype = subtype;
        refused->body =
            json::serialize(OutcomeObject("error", "forbidden",
                                          "entry " + std::to_string(i) + ": " + op.method + " " +
                                              op.type + " is not allowed by the token's scopes"));
        return Finish(ex, std::move(*refused));
      }
      slot.kind = Slot::Kind::kDone;
      slot.response = std::move(*refused);
      continue;
    }
    if (!op.resource.empty()) CollectPatients(op.resource, &ex->audit.patients);
    slot.write_index = allowed.entries.size();
    write_entry.push_back(i);
    allowed.entries.push_back(std::move(op));
  }
  ex->audit.subtype = subtype;  // GET entries set their own
  ex->audit.action = 'E';
  ex->audit.type.clear();
  if (allowed.entries.empty()) {
    return Complete(ex, atomic, slots, write_entry, WriteOutcome{});
  }
  ex->store->Apply(
      std::move(allowed), ex->access,
      [ex, atomic, slots = std::move(slots), write_entry = std::move(write_entry)](
          Result<WriteOutcome> outcome) { Complete(ex, atomic, slots, write_entry, outcome); });
}

}  // namespace junction::fhir::rest_internal
