// Authorization: the caller's scopes per resource type and interaction, the
// admin-only AuditEvent rule, and search parameters that reach other types.
#include "fhir/rest/rest_internal.h"
#include "fhir/store/search_params.h"

namespace junction::fhir::rest_internal {
namespace {

std::string_view InteractionName(Interaction interaction) {
  switch (interaction) {
    case Interaction::kCreate:
      return "create";
    case Interaction::kRead:
      return "read";
    case Interaction::kUpdate:
      return "update";
    case Interaction::kDelete:
      return "delete";
    case Interaction::kSearch:
      return "search";
  }
  return "access";
}

std::vector<std::string_view> Split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  while (true) {
    std::size_t cut = text.find(sep);
    parts.push_back(text.substr(0, cut));
    if (cut == std::string_view::npos) break;
    text.remove_prefix(cut + 1);
  }
  return parts;
}

// The declared target types of a reference parameter; empty when unknown or any.
std::vector<std::string> TargetsOf(std::string_view type, std::string_view param) {
  const auto* def = store_internal::FindSearchParam(type, param);
  if (def == nullptr) return {};
  return def->targets;
}

}  // namespace

bool Allowed(const Exchange& ex, std::string_view type, Interaction interaction) {
  if (type == "AuditEvent" && !ex.caller.admin) return false;
  return ex.caller.allows && ex.caller.allows(type, interaction);
}

std::optional<RestResponse> Authorize(const Exchange& ex, std::string_view type,
                                      Interaction interaction) {
  if (Allowed(ex, type, interaction)) return std::nullopt;
  if (type == "AuditEvent" && !ex.caller.admin) {
    return ErrorResponse(403, "AuditEvent is readable by administrators only");
  }
  return ErrorResponse(403, "the token's scopes do not allow " +
                                std::string(InteractionName(interaction)) + " on " +
                                std::string(type));
}

std::optional<RestResponse> AuthorizeSearchParams(const Exchange& ex, std::string_view type,
                                                  const Params& params) {
  for (const auto& [name, value] : params) {
    std::string_view base = std::string_view(name).substr(0, name.find(':'));
    std::vector<std::string> needed;  // types whose data the parameter reveals
    if (base == "_include" || base == "_revinclude") {
      // Type:param[:Target]; _revinclude returns Type, _include returns the targets.
      auto parts = Split(value, ':');
      if (parts.size() < 2) continue;  // "*" and malformed values: the store decides
      if (base == "_revinclude") {
        needed.emplace_back(parts[0]);
      } else if (parts.size() >= 3) {
        needed.emplace_back(parts[2]);
      } else {
        needed = TargetsOf(parts[0], parts[1]);
      }
    } else if (base == "_has") {
      // _has:Type:ref:param
      auto parts = Split(name, ':');
      if (parts.size() >= 2) needed.emplace_back(parts[1]);
    } else {
      std::size_t dot = name.find('.');
      if (dot == std::string::npos) continue;
      // A chain: "subject:Patient.name" or "subject.name" (the declared targets).
      std::string_view head = std::string_view(name).substr(0, dot);
      std::size_t colon = head.find(':');
      if (colon != std::string_view::npos) {
        needed.emplace_back(head.substr(colon + 1));
      } else {
        needed = TargetsOf(type, head);
      }
    }
    for (const auto& target : needed) {
      if (target.empty() || target == "*") continue;
      Interaction interaction =
          base == "_include" || base == "_revinclude" ? Interaction::kRead : Interaction::kSearch;
      if (auto refused = Authorize(ex, target, interaction)) return refused;
    }
  }
  return std::nullopt;
}

// Update-as-create also needs the create scope: always for a conditional
// update (it may create), else when the resource does not exist now.
// Conditional operations search, so they need the search scope too.
std::optional<RestResponse> AuthorizeWrite(const Exchange& ex, const WriteOp& op) {
  if (auto refused = Authorize(ex, op.type, WriteInteraction(op))) return refused;
  bool conditional = !op.condition.empty();
  if (op.method == "PUT") {
    bool may_create = conditional;
    if (!may_create) {
      auto current = ex.store->Read(op.type, op.id, ex.access);
      may_create = !current.ok() || current->deleted;
    }
    if (may_create) {
      if (auto refused = Authorize(ex, op.type, Interaction::kCreate)) return refused;
    }
  }
  if (conditional) return Authorize(ex, op.type, Interaction::kSearch);
  return std::nullopt;
}

}  // namespace junction::fhir::rest_internal
