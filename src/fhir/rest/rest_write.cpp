// create, update (update-as-create, conditional) and delete (conditional):
// one WriteOp in an atomic WriteBatch, answered from the writer's callback.
#include "fhir/rest/rest_internal.h"

namespace junction::fhir::rest_internal {
namespace {

enum class WriteKind { kCreate, kUpdate, kDelete };

// The body of a create or update: a JSON object of the route's type.
std::optional<json::object> ParseResourceBody(const Exchange& ex, const Route& route,
                                              RestResponse* error) {
  std::string_view content_type = ex.request.Header("content-type");
  if (content_type.find("xml") != std::string_view::npos) {
    *error = ErrorResponse(415, "only JSON (application/fhir+json) is supported");
    return std::nullopt;
  }
  std::string message;
  auto value = ParseJson(ex.request.body, &message);
  if (!value) {
    *error = ErrorResponse(400, message);
    return std::nullopt;
  }
  if (!value->is_object()) {
    *error = ErrorResponse(400, "the body must be a JSON object (a FHIR resource)");
    return std::nullopt;
  }
  const json::value* type = value->as_object().if_contains("resourceType");
  if (type == nullptr || !type->is_string() || type->as_string() != route.type) {
    *error = ErrorResponse(400, "the body's resourceType must be " + route.type);
    return std::nullopt;
  }
  return std::move(value->as_object());
}

RestResponse SuccessResponse(Exchange& ex, const WriteResult& result, WriteKind kind) {
  std::string prefer = PreferValue(ex.request, "return");
  RestResponse response;
  if (kind == WriteKind::kDelete) {
    if (prefer == "OperationOutcome") {
      return OutcomeResponse(200, "information", "informational", "deleted");
    }
    response.status = 204;
    return response;
  }
  response.status = result.status;
  if (result.resource) {
    const StoredResource& stored = *result.resource;
    AddVersionHeaders(ex.request.base_url, stored, true, &response);
    if (prefer == "minimal") return response;
    if (prefer == "OperationOutcome") {
      std::string what = result.created ? "created" : result.unchanged ? "unchanged" : "updated";
      RestResponse outcome = OutcomeResponse(result.status, "information", "informational",
                                             stored.type + "/" + stored.id + " " + what);
      outcome.headers = std::move(response.headers);
      return outcome;
    }
    response.body = stored.json;
  }
  return response;
}

RestResponse WriteResponse(Exchange& ex, const Result<WriteOutcome>& outcome, WriteKind kind) {
  if (!outcome.ok()) {
    return ErrorResponse(503, "the resource store cannot take writes now; retry later");
  }
  if (!outcome->committed) return ErrorResponse(outcome->status, outcome->error);
  if (outcome->entries.empty()) return ErrorResponse(500, "the store returned no result");
  const WriteResult& result = outcome->entries.front();
  if (result.status >= 400) return ErrorResponse(result.status, result.error);
  if (result.resource) {
    ex.audit.references.push_back(result.resource->type + "/" + result.resource->id + "/_history/" +
                                  std::to_string(result.resource->version));
    std::string error;
    if (!result.resource->json.empty()) {
      auto value = ParseJson(result.resource->json, &error);
      if (value && value->is_object()) CollectPatients(value->as_object(), &ex.audit.patients);
    }
  }
  return SuccessResponse(ex, result, kind);
}

void Submit(const ExchangePtr& ex, WriteOp op, WriteKind kind) {
  if (!op.resource.empty()) CollectPatients(op.resource, &ex->audit.patients);
  WriteBatch batch;
  batch.atomic = true;
  batch.entries.push_back(std::move(op));
  ex->store->Apply(std::move(batch), ex->access, [ex, kind](Result<WriteOutcome> outcome) {
    Finish(ex, WriteResponse(*ex, outcome, kind));
  });
}

// If-Match: W/"n" -> "n"; false (and a 400) when present but malformed.
bool ReadIfMatch(const Exchange& ex, WriteOp* op, RestResponse* error) {
  std::string_view header = ex.request.Header("if-match");
  if (header.empty()) return true;
  op->if_match = EtagVersion(header);
  if (op->if_match.empty()) {
    *error = ErrorResponse(400, "If-Match must be an ETag like W/\"3\"");
    return false;
  }
  return true;
}

// The common start of update and delete: the op for Type/id or Type?query,
// authorized, with If-Match. nullopt when the exchange is already finished.
std::optional<WriteOp> StartWrite(const ExchangePtr& ex, const Route& route, std::string method) {
  WriteOp op;
  op.method = std::move(method);
  op.type = route.type;
  op.id = route.id;
  if (route.id.empty()) {
    op.condition = ex->request.query;
    if (op.condition.empty()) {
      Finish(ex, ErrorResponse(400, op.method + " needs an id (Type/id) or a search (Type?query)"));
      return std::nullopt;
    }
  } else {
    ex->audit.references.push_back(route.type + "/" + route.id);
    if (route.type == "Patient") ex->audit.patients.insert(route.id);
  }
  if (auto refused = AuthorizeWrite(*ex, op)) {
    Finish(ex, std::move(*refused));
    return std::nullopt;
  }
  RestResponse error;
  if (!ReadIfMatch(*ex, &op, &error)) {
    Finish(ex, std::move(error));
    return std::nullopt;
  }
  return op;
}

}  // namespace

void HandleCreate(const ExchangePtr& ex, const Route& route) {
  ex->audit.subtype = "create";
  ex->audit.action = 'C';
  WriteOp op;
  op.method = "POST";
  op.type = route.type;
  op.condition = std::string(ex->request.Header("if-none-exist"));
  // "Type?a=b" is accepted as well as "a=b".
  if (auto q = op.condition.find('?'); q != std::string::npos) op.condition.erase(0, q + 1);
  if (auto refused = AuthorizeWrite(*ex, op)) return Finish(ex, std::move(*refused));
  RestResponse error;
  auto resource = ParseResourceBody(*ex, route, &error);
  if (!resource) return Finish(ex, std::move(error));
  resource->erase("id");  // the server assigns the id of a created resource
  op.resource = std::move(*resource);
  Submit(ex, std::move(op), WriteKind::kCreate);
}

void HandleUpdate(const ExchangePtr& ex, const Route& route) {
  ex->audit.subtype = "update";
  ex->audit.action = 'U';
  auto op = StartWrite(ex, route, "PUT");
  if (!op) return;
  RestResponse error;
  auto resource = ParseResourceBody(*ex, route, &error);
  if (!resource) return Finish(ex, std::move(error));
  const json::value* body_id = resource->if_contains("id");
  if (!route.id.empty()) {
    if (body_id == nullptr || !body_id->is_string()) {
      return Finish(ex, ErrorResponse(400, "the body must have an id equal to the URL's id"));
    }
    if (body_id->as_string() != route.id) {
      return Finish(ex, ErrorResponse(400, "the body's id differs from the URL's id"));
    }
  } else if (body_id != nullptr && (!body_id->is_string() || !IsValidId(body_id->as_string()))) {
    return Finish(ex, ErrorResponse(400, "the body's id is not a valid id"));
  }
  op->resource = std::move(*resource);
  Submit(ex, std::move(*op), WriteKind::kUpdate);
}

void HandleDelete(const ExchangePtr& ex, const Route& route) {
  ex->audit.subtype = "delete";
  ex->audit.action = 'D';
  auto op = StartWrite(ex, route, "DELETE");
  if (!op) return;
  Submit(ex, std::move(*op), WriteKind::kDelete);
}

}  // namespace junction::fhir::rest_internal
