// SMART on FHIR scopes (v1 and v2) and the checks made with them.
#include <algorithm>
#include <string>

#include "http/internal/auth_scopes.h"
#include "junction/http/auth.h"

namespace junction::http {
namespace {

constexpr std::size_t kMaxResourceTypeBytes = 64;

bool IsResourceType(std::string_view type) {
  if (type == "*") return true;
  if (type.empty() || type.size() > kMaxResourceTypeBytes) return false;
  if (type[0] < 'A' || type[0] > 'Z') return false;
  return std::all_of(type.begin(), type.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  });
}

// v2 permissions: the letters of "cruds", each at most once, in that order.
bool ParseV2Permissions(std::string_view letters, Scope* scope) {
  static constexpr std::string_view kOrder = "cruds";
  std::size_t next = 0;  // letters before this index of kOrder are used up
  for (char c : letters) {
    const std::size_t at = kOrder.find(c, next);
    if (at == std::string_view::npos) return false;  // unknown, repeated or out of order
    next = at + 1;
    switch (c) {
      case 'c':
        scope->create = true;
        break;
      case 'r':
        scope->read = true;
        break;
      case 'u':
        scope->update = true;
        break;
      case 'd':
        scope->del = true;
        break;
      case 's':
        scope->search = true;
        break;
      default:
        return false;
    }
  }
  return !letters.empty();
}

bool Grants(const Scope& s, Interaction interaction) {
  switch (interaction) {
    case Interaction::kCreate:
      return s.create;
    case Interaction::kRead:
      return s.read;
    case Interaction::kUpdate:
      return s.update;
    case Interaction::kDelete:
      return s.del;
    case Interaction::kSearch:
      return s.search;
  }
  return false;
}

}  // namespace

std::optional<Scope> ParseSmartScope(std::string_view text) {
  Scope scope;
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const std::string_view context = text.substr(0, slash);
  if (context == "patient") {
    scope.context = Scope::Context::kPatient;
  } else if (context == "user") {
    scope.context = Scope::Context::kUser;
  } else if (context == "system") {
    scope.context = Scope::Context::kSystem;
  } else {
    return std::nullopt;
  }
  const std::string_view rest = text.substr(slash + 1);
  const std::size_t dot = rest.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  const std::string_view type = rest.substr(0, dot);
  if (!IsResourceType(type)) return std::nullopt;
  scope.resource_type = std::string(type);
  const std::string_view permissions = rest.substr(dot + 1);

  // A v2 query suffix (`?category=...`) narrows the scope to matching
  // resources. Junction cannot enforce that narrowing, so such a scope is not
  // a SMART scope here: it grants nothing (fails closed).
  if (permissions.find('?') != std::string_view::npos) return std::nullopt;

  if (permissions == "read") {
    scope.read = scope.search = true;
  } else if (permissions == "write") {
    scope.create = scope.update = scope.del = true;
  } else if (permissions == "*") {
    scope.create = scope.read = scope.update = scope.del = scope.search = true;
  } else if (!ParseV2Permissions(permissions, &scope)) {
    return std::nullopt;
  }
  return scope;
}

bool Principal::Allows(std::string_view resource_type, Interaction interaction) const {
  for (const Scope& s : smart) {
    // patient/ scopes only mean something inside a patient context; without
    // a `patient` claim nobody would restrict the query, so they grant nothing.
    if (s.context == Scope::Context::kPatient && !patient) continue;
    if (s.resource_type != "*" && s.resource_type != resource_type) continue;
    if (Grants(s, interaction)) return true;
  }
  return false;
}

bool Principal::HasScope(std::string_view scope) const {
  return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

namespace internal {

bool ScopeCovers(std::string_view allowed, std::string_view requested) {
  if (allowed == requested) return true;
  const std::optional<Scope> a = ParseSmartScope(allowed);
  const std::optional<Scope> r = ParseSmartScope(requested);
  if (!a || !r) return false;
  if (a->context != r->context) return false;
  if (a->resource_type != "*" && a->resource_type != r->resource_type) return false;
  return (a->create || !r->create) && (a->read || !r->read) && (a->update || !r->update) &&
         (a->del || !r->del) && (a->search || !r->search);
}

bool AnyCovers(const std::vector<std::string>& allowed, std::string_view requested) {
  return std::any_of(allowed.begin(), allowed.end(),
                     [&](const std::string& a) { return ScopeCovers(a, requested); });
}

Result<std::vector<std::string>> SplitScopes(std::string_view text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t end = std::min(text.find(' ', pos), text.size());
    const std::string_view item = text.substr(pos, end - pos);
    pos = end + 1;
    if (item.empty()) continue;
    if (item.size() > kMaxScopeBytes) return Status::Invalid("scope longer than 256 bytes");
    // RFC 6749 section 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
    for (char c : item) {
      if (c < 0x21 || c > 0x7e || c == '"' || c == '\\') {
        return Status::Invalid("scope with a character outside RFC 6749 scope-token");
      }
    }
    if (std::find(out.begin(), out.end(), item) != out.end()) continue;
    if (out.size() == kMaxScopes) return Status::Invalid("more than 256 scopes");
    out.emplace_back(item);
  }
  return out;
}

}  // namespace internal
}  // namespace junction::http
