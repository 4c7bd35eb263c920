// Bearer-token authentication and SMART on FHIR scopes.
//
//   auto auth = http::Authenticator::Create(config.auth);
//   auto principal = (*auth)->Verify(request.Header("authorization"), NowSeconds());
//   if (!principal.ok()) -> 401 (principal.status().message() says why, no token content)
//   if (!principal->Allows("Observation", http::Interaction::kSearch)) -> 403
//   if (principal->patient) -> restrict every query to that patient's compartment
//
//   auto token = (*auth)->Mint({.client_id = "demo-app", .scopes = {"user/*.rs"}}, now);
//
// Verify checks the signature with libjwt (HS256 with the shared secret;
// RS256/ES256 with the public keys of the JWKS file, chosen by `kid`), then
// exp, nbf (with clock_skew), iss and aud. The algorithm must be one that is
// configured (never "none"; an HS256 token is refused when only RS256 keys are
// configured). Scopes come from the `scope` claim (space separated); the
// patient context from the `patient` claim.
//
// Scopes: SMART v1 (`patient/Observation.read`, `user/*.write`, `system/*.*`)
// and v2 (`patient/Observation.rs`, `user/*.cruds`); `admin`, `operator` and
// `viewer` are Junction's own (admin API; admin also reads AuditEvent).
//
// Thread safety: Authenticator is immutable after Create; use from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "junction/engine/config.h"
#include "junction/hl7/status.h"

namespace junction::http {

enum class Interaction { kCreate, kRead, kUpdate, kDelete, kSearch };

struct Scope {
  enum class Context { kPatient, kUser, kSystem };
  Context context = Context::kUser;
  std::string resource_type;  // "*" = all
  bool create = false, read = false, update = false, del = false, search = false;
};

// Parses one SMART scope (v1 or v2); nullopt for anything else (openid,
// launch, admin, ...: they are kept as plain strings in Principal::scopes).
std::optional<Scope> ParseSmartScope(std::string_view text);

struct Principal {
  std::string subject;    // sub
  std::string client_id;  // client_id or azp
  std::vector<std::string> scopes;       // as granted
  std::vector<Scope> smart;              // the parsed SMART scopes
  std::optional<std::string> patient;    // patient claim: compartment restriction
  std::int64_t expires_at = 0;           // exp (seconds)

  // Whether some scope grants `interaction` on `resource_type`. A principal
  // with a patient context is limited to patient/ scopes' compartment
  // (enforced by the caller in its queries).
  bool Allows(std::string_view resource_type, Interaction interaction) const;
  bool HasScope(std::string_view scope) const;  // exact, e.g. "admin"
};

struct MintRequest {
  std::string client_id;
  std::string subject;  // "" = client_id
  std::vector<std::string> scopes;
  std::optional<std::string> patient;
  std::int64_t ttl_seconds = 3600;
};

struct TokenResponse {
  std::string access_token;
  std::int64_t expires_in = 0;
  std::string scope;  // granted, space separated
  std::optional<std::string> patient;
};

class Authenticator {
 public:
  // kInvalidArgument when keys do not load (message names the file), or when
  // no verification key is configured (then use Closed()).
  static Result<std::unique_ptr<Authenticator>> Create(const engine::AuthConfig& config);
  virtual ~Authenticator() = default;

  // `authorization` is the header value ("Bearer <jwt>"). kPermissionDenied
  // style failures are kInvalidArgument with a reason safe to show
  // ("token expired", "bad signature", "wrong audience", "missing token").
  virtual Result<Principal> Verify(std::string_view authorization, std::int64_t now_seconds) const = 0;

  // Signs a token with the configured private key or secret.
  virtual Result<std::string> Mint(const MintRequest& request, std::int64_t now_seconds) const = 0;

  // OAuth2 client_credentials: checks the client secret (constant-time compare
  // of SHA-256), grants the requested scopes that the client may have
  // (all of its scopes when none are requested). kNotFound/kInvalidArgument
  // map to 401 invalid_client / 400 invalid_scope.
  virtual Result<TokenResponse> ClientCredentials(std::string_view client_id,
                                                  std::string_view client_secret,
                                                  std::string_view requested_scope,
                                                  std::int64_t now_seconds) const = 0;
};

}  // namespace junction::http
