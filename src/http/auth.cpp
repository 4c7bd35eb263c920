// Bearer tokens: verification and minting with libjwt, OAuth2
// client_credentials. The token header is read here first so that the key
// (and the algorithm it belongs to) is chosen before libjwt sees the token:
// libjwt trusts the token's `alg`, which would let an HS256 token be checked
// with an RSA public key as the HMAC secret.
#include <jwt.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "http/internal/auth_crypto.h"
#include "http/internal/auth_scopes.h"
#include "junction/http/auth.h"

namespace junction::http {
namespace {

namespace json = boost::json;
using internal::KeyAlg;
using internal::SigningKey;
using internal::VerifyKey;

constexpr std::size_t kMaxTokenBytes = 16 * 1024;
constexpr std::size_t kMinHs256SecretBytes = 32;
constexpr std::int64_t kMaxTokenTtlSeconds = 30 * 24 * 3600;
constexpr std::size_t kMaxPatientIdBytes = 64;
constexpr std::size_t kJtiBytes = 16;

struct JwtFree {
  void operator()(jwt_t* p) const { jwt_free(p); }
};
using Jwt = std::unique_ptr<jwt_t, JwtFree>;

Status Fail(const char* reason) { return Status::Invalid(reason); }

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// "Bearer <token>" (scheme case-insensitive, RFC 6750 section 2.1).
std::optional<std::string_view> BearerToken(std::string_view header) {
  while (!header.empty() && (header.front() == ' ' || header.front() == '\t')) {
    header.remove_prefix(1);
  }
  while (!header.empty() && (header.back() == ' ' || header.back() == '\t'))
    header.remove_suffix(1);
  constexpr std::string_view kScheme = "bearer";
  if (header.size() <= kScheme.size() || !IEquals(header.substr(0, kScheme.size()), kScheme)) {
    return std::nullopt;
  }
  std::string_view token = header.substr(kScheme.size());
  if (token.front() != ' ') return std::nullopt;
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  if (token.empty() || token.find_first_of(" \t,") != std::string_view::npos) return std::nullopt;
  return token;
}

// Decodes one base64url JSON object segment.
std::optional<json::object> DecodeSegment(std::string_view segment) {
  auto bytes = internal::Base64UrlDecode(segment);
  if (!bytes) return std::nullopt;
  boost::system::error_code ec;
  json::value v = json::parse(*bytes, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

// A NumericDate (RFC 7519): a JSON number of seconds; fractions are dropped.
std::optional<std::int64_t> NumericDate(const json::value& v) {
  if (v.is_int64()) return v.as_int64();
  if (v.is_uint64()) {
    const auto u = v.as_uint64();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return std::numeric_limits<std::int64_t>::max();
    }
    return static_cast<std::int64_t>(u);
  }
  if (v.is_double()) {
    const double d = v.as_double();
    if (!std::isfinite(d)) return std::nullopt;
    if (d >= 9.2e18) return std::numeric_limits<std::int64_t>::max();
    if (d <= -9.2e18) return std::numeric_limits<std::int64_t>::min();
    return static_cast<std::int64_t>(d);
  }
  return std::nullopt;
}

const json::string* StringClaim(const json::object& claims, std::string_view name) {
  const json::value* v = claims.if_contains(name);
  return v ? v->if_string() : nullptr;
}

bool AudienceMatches(const json::value* aud, std::string_view audience) {
  if (!aud) return false;
  if (const json::string* s = aud->if_string()) return *s == audience;
  if (const json::array* a = aud->if_array()) {
    return std::any_of(a->begin(), a->end(), [&](const json::value& item) {
      return item.is_string() && item.as_string() == audience;
    });
  }
  return false;
}

bool IsFhirId(std::string_view id) {
  if (id.empty() || id.size() > kMaxPatientIdBytes) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.';
  });
}

bool IsHex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) {
    if (!out.empty()) out.push_back(' ');
    out += s;
  }
  return out;
}

// Checks the signature of `token` with one key; the algorithm is fixed by
// the caller, and libjwt's idea of it must agree.
bool SignatureValid(const std::string& token, jwt_alg_t alg, std::string_view key) {
  jwt_t* raw = nullptr;
  const int rc = jwt_decode(&raw, token.c_str(), reinterpret_cast<const unsigned char*>(key.data()),
                            static_cast<int>(key.size()));
  Jwt jwt(raw);
  return rc == 0 && jwt && jwt_get_alg(jwt.get()) == alg;
}

class AuthenticatorImpl final : public Authenticator {
 public:
  AuthenticatorImpl(engine::AuthConfig config, std::vector<VerifyKey> verify_keys,
                    std::optional<SigningKey> signing_key, std::string signing_kid)
      : config_(std::move(config)),
        verify_keys_(std::move(verify_keys)),
        signing_key_(std::move(signing_key)),
        signing_kid_(std::move(signing_kid)) {}

  Result<Principal> Verify(std::string_view authorization, std::int64_t now) const override;
  Result<std::string> Mint(const MintRequest& request, std::int64_t now) const override;
  Result<TokenResponse> ClientCredentials(std::string_view client_id,
                                          std::string_view client_secret,
                                          std::string_view requested_scope,
                                          std::int64_t now) const override;

 private:
  Status CheckSignature(const std::string& token, const json::object& header) const;
  Result<Principal> CheckClaims(const json::object& claims, std::int64_t now) const;

  // Tokens whose signature and claims held: a client sends the same token
  // with every request, and verifying it (JSON, base64, HMAC or RSA) costs
  // more than the rest of a read. Keyed by the whole token text, so a hit
  // is the same signed bytes; exp and nbf/iat are checked again on every
  // hit against the current time. Failures are not kept.
  struct VerifiedToken {
    Principal principal;
    std::int64_t exp = 0;
    std::int64_t not_before = std::numeric_limits<std::int64_t>::min();  // max(nbf, iat)
  };
  static constexpr std::size_t kMaxVerifiedTokens = 4096;
  std::optional<Result<Principal>> FromCache(std::string_view token, std::int64_t now) const;
  void Remember(std::string_view token, const Principal& principal, std::int64_t not_before) const;

  engine::AuthConfig config_;  // clients' secret_sha256 lower-cased
  std::vector<VerifyKey> verify_keys_;
  std::optional<SigningKey> signing_key_;  // RS256 or ES256; else HS256 signs when configured
  std::string signing_kid_;

  mutable std::mutex verified_mu_;
  mutable std::unordered_map<std::string, VerifiedToken> verified_;
};

std::optional<Result<Principal>> AuthenticatorImpl::FromCache(std::string_view token,
                                                              std::int64_t now) const {
  std::lock_guard lock(verified_mu_);
  auto it = verified_.find(std::string(token));
  if (it == verified_.end()) return std::nullopt;
  const std::int64_t skew = config_.clock_skew.count();
  if (now - skew >= it->second.exp) {
    verified_.erase(it);
    return Result<Principal>(Fail("token expired"));
  }
  if (it->second.not_before > now + skew) return Result<Principal>(Fail("token not yet valid"));
  return Result<Principal>(it->second.principal);
}

void AuthenticatorImpl::Remember(std::string_view token, const Principal& principal,
                                 std::int64_t not_before) const {
  std::lock_guard lock(verified_mu_);
  if (verified_.size() >= kMaxVerifiedTokens) verified_.clear();  // bounded; rebuilt on use
  verified_[std::string(token)] = VerifiedToken{principal, principal.expires_at, not_before};
}

Status AuthenticatorImpl::CheckSignature(const std::string& token,
                                         const json::object& header) const {
  const json::string* alg = StringClaim(header, "alg");
  if (!alg) return Fail("malformed token");
  // Extensions that must be understood: Junction understands none.
  if (header.contains("crit")) return Fail("unsupported token header");
  // libjwt 1.10 accepts only typ "JWT" (any case); RFC 9068 "at+jwt" is refused
  // here with a clear reason rather than as a bad signature.
  if (const json::value* typ = header.if_contains("typ")) {
    if (!typ->is_string() || !IEquals(typ->as_string(), "JWT")) {
      return Fail("unsupported token type");
    }
  }
  if (*alg == "HS256") {
    if (config_.hs256_secret.empty()) return Fail("unsupported algorithm");
    if (!SignatureValid(token, JWT_ALG_HS256, config_.hs256_secret)) return Fail("bad signature");
    return Status::Ok();
  }
  KeyAlg key_alg;
  jwt_alg_t jwt_alg;
  if (*alg == "RS256") {
    key_alg = KeyAlg::kRs256;
    jwt_alg = JWT_ALG_RS256;
  } else if (*alg == "ES256") {
    key_alg = KeyAlg::kEs256;
    jwt_alg = JWT_ALG_ES256;
  } else {
    return Fail("unsupported algorithm");  // none, HS384, PS256, ...
  }
  const json::value* kid_value = header.if_contains("kid");
  if (kid_value && !kid_value->is_string()) return Fail("malformed token");
  bool any_key = false;
  for (const VerifyKey& key : verify_keys_) {
    if (key.alg != key_alg) continue;
    if (kid_value && kid_value->as_string() != key.kid) continue;
    any_key = true;
    if (SignatureValid(token, jwt_alg, key.public_pem)) return Status::Ok();
  }
  if (!any_key) return Fail(kid_value ? "unknown key" : "unsupported algorithm");
  return Fail("bad signature");
}

Result<Principal> AuthenticatorImpl::CheckClaims(const json::object& claims,
                                                 std::int64_t now) const {
  const std::int64_t skew = config_.clock_skew.count();
  const json::value* exp_value = claims.if_contains("exp");
  if (!exp_value) return Fail("token has no exp");
  const std::optional<std::int64_t> exp = NumericDate(*exp_value);
  if (!exp) return Fail("malformed token");
  if (now - skew >= *exp) return Fail("token expired");
  for (const char* name : {"nbf", "iat"}) {
    const json::value* v = claims.if_contains(name);
    if (!v) continue;
    const std::optional<std::int64_t> t = NumericDate(*v);
    if (!t) return Fail("malformed token");
    // nbf in the future, or issued in the future: not valid yet.
    if (*t > now + skew) return Fail("token not yet valid");
  }
  const json::string* iss = StringClaim(claims, "iss");
  if (!iss || *iss != config_.issuer) return Fail("wrong issuer");
  if (!AudienceMatches(claims.if_contains("aud"), config_.audience)) {
    return Fail("wrong audience");
  }

  Principal p;
  p.expires_at = *exp;
  if (const json::string* sub = StringClaim(claims, "sub")) p.subject = std::string(*sub);
  if (const json::string* id = StringClaim(claims, "client_id")) {
    p.client_id = std::string(*id);
  } else if (const json::string* azp = StringClaim(claims, "azp")) {
    p.client_id = std::string(*azp);
  }
  if (const json::value* scope = claims.if_contains("scope")) {
    if (!scope->is_string()) return Fail("malformed token");
    auto scopes = internal::SplitScopes(scope->as_string());
    if (!scopes.ok()) return Fail("malformed token");
    p.scopes = std::move(*scopes);
    for (const std::string& s : p.scopes) {
      if (auto smart = ParseSmartScope(s)) p.smart.push_back(std::move(*smart));
    }
  }
  if (const json::value* patient = claims.if_contains("patient")) {
    if (!patient->is_string() || !IsFhirId(patient->as_string())) return Fail("malformed token");
    p.patient = std::string(patient->as_string());
  }
  return p;
}

Result<Principal> AuthenticatorImpl::Verify(std::string_view authorization,
                                            std::int64_t now) const {
  const std::optional<std::string_view> token = BearerToken(authorization);
  if (!token) return Fail("missing bearer token");
  if (token->size() > kMaxTokenBytes) return Fail("token too large");
  const std::size_t dot1 = token->find('.');
  const std::size_t dot2 = dot1 == std::string_view::npos ? dot1 : token->find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token->find('.', dot2 + 1) != std::string_view::npos) {
    return Fail("malformed token");  // not a JWS compact serialization (JWE has 5 parts)
  }
  if (auto cached = FromCache(*token, now)) return std::move(*cached);
  const std::optional<json::object> header = DecodeSegment(token->substr(0, dot1));
  if (!header) return Fail("malformed token");
  const std::string token_text(*token);
  JUNCTION_RETURN_IF_ERROR(CheckSignature(token_text, *header));
  // The payload is read only after the signature holds.
  const std::optional<json::object> claims =
      DecodeSegment(token->substr(dot1 + 1, dot2 - dot1 - 1));
  if (!claims) return Fail("malformed token");
  Result<Principal> principal = CheckClaims(*claims, now);
  if (principal.ok()) {
    std::int64_t not_before = std::numeric_limits<std::int64_t>::min();
    for (const char* name : {"nbf", "iat"}) {
      if (const json::value* v = claims->if_contains(name)) {
        if (auto t = NumericDate(*v)) not_before = std::max(not_before, *t);
      }
    }
    Remember(*token, *principal, not_before);
  }
  return principal;
}

Result<std::string> AuthenticatorImpl::Mint(const MintRequest& request, std::int64_t now) const {
  if (request.client_id.empty()) return Status::Invalid("mint: client_id is empty");
  if (request.ttl_seconds <= 0 || request.ttl_seconds > kMaxTokenTtlSeconds) {
    return Status::Invalid("mint: ttl must be between 1 second and 30 days");
  }
  bool patient_scope = false;
  for (const std::string& s : request.scopes) {
    auto split = internal::SplitScopes(s);
    if (!split.ok() || split->size() != 1 || split->front() != s) {
      return Status::Invalid("mint: not a single scope: \"" + s + "\"");
    }
    const auto smart = ParseSmartScope(s);
    patient_scope = patient_scope || (smart && smart->context == Scope::Context::kPatient);
  }
  if (request.scopes.size() > internal::kMaxScopes) return Status::Invalid("mint: too many scopes");
  if (request.patient && !IsFhirId(*request.patient)) {
    return Status::Invalid("mint: patient must be a FHIR id ([A-Za-z0-9-.]{1,64})");
  }
  if (patient_scope && !request.patient) {
    return Status::Invalid("mint: patient/ scopes need a patient");
  }

  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return Status(StatusCode::kInternal, "mint: out of memory");
  Jwt jwt(raw);
  const std::string jti = internal::RandomHex(kJtiBytes);
  if (jti.empty()) return Status(StatusCode::kInternal, "mint: no random bytes");
  const std::string& subject = request.subject.empty() ? request.client_id : request.subject;
  const std::string scope = Join(request.scopes);
  int rc = jwt_add_grant(jwt.get(), "iss", config_.issuer.c_str());
  rc |= jwt_add_grant(jwt.get(), "aud", config_.audience.c_str());
  rc |= jwt_add_grant(jwt.get(), "sub", subject.c_str());
  rc |= jwt_add_grant(jwt.get(), "client_id", request.client_id.c_str());
  rc |= jwt_add_grant(jwt.get(), "scope", scope.c_str());
  if (request.patient) rc |= jwt_add_grant(jwt.get(), "patient", request.patient->c_str());
  rc |= jwt_add_grant_int(jwt.get(), "iat", static_cast<long>(now));
  rc |= jwt_add_grant_int(jwt.get(), "nbf", static_cast<long>(now));
  rc |= jwt_add_grant_int(jwt.get(), "exp", static_cast<long>(now + request.ttl_seconds));
  rc |= jwt_add_grant(jwt.get(), "jti", jti.c_str());
  if (signing_key_) {
    rc |= jwt_add_header(jwt.get(), "kid", signing_kid_.c_str());
    const std::string& pem = signing_key_->private_pem;
    rc |= jwt_set_alg(
        jwt.get(), signing_key_->alg == KeyAlg::kRs256 ? JWT_ALG_RS256 : JWT_ALG_ES256,
        reinterpret_cast<const unsigned char*>(pem.data()), static_cast<int>(pem.size()));
  } else if (!config_.hs256_secret.empty()) {
    const std::string& secret = config_.hs256_secret;
    rc |=
        jwt_set_alg(jwt.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(secret.data()),
                    static_cast<int>(secret.size()));
  } else {
    return Status::Invalid(
        "mint: no signing key configured (auth.hs256_secret, "
        "auth.rs256_private_key or auth.es256_private_key)");
  }
  if (rc != 0) return Status(StatusCode::kInternal, "mint: cannot build the token");
  std::unique_ptr<char, decltype(&std::free)> encoded(jwt_encode_str(jwt.get()), &std::free);
  if (!encoded) return Status(StatusCode::kInternal, "mint: cannot sign the token");
  return std::string(encoded.get());
}

Result<TokenResponse> AuthenticatorImpl::ClientCredentials(std::string_view client_id,
                                                           std::string_view client_secret,
                                                           std::string_view requested_scope,
                                                           std::int64_t now) const {
  const engine::AuthClientConfig* client = nullptr;
  for (const engine::AuthClientConfig& c : config_.clients) {
    if (c.id == client_id) client = &c;
  }
  // Hash and compare even for an unknown client, so timing does not tell
  // which client ids exist.
  static const std::string kNoClient(64, 'x');
  const std::string digest = internal::Sha256Hex(client_secret);
  const std::string& expected = client ? client->secret_sha256 : kNoClient;
  const bool match = CRYPTO_memcmp(digest.data(), expected.data(), digest.size()) == 0;
  if (!client || !match || client_secret.empty()) return Status::NotFound("invalid client");

  auto requested = internal::SplitScopes(requested_scope);
  if (!requested.ok()) return Status::Invalid("invalid scope");
  std::vector<std::string> granted;
  if (requested->empty()) {
    granted = client->scopes;
  } else {
    for (const std::string& s : *requested) {
      if (!internal::AnyCovers(client->scopes, s)) return Status::Invalid("invalid scope");
    }
    granted = std::move(*requested);
  }
  MintRequest mint;
  mint.client_id = client->id;
  mint.scopes = granted;
  mint.ttl_seconds = config_.token_ttl.count();
  auto token = Mint(mint, now);
  if (!token.ok()) return token.status();
  TokenResponse response;
  response.access_token = std::move(*token);
  response.expires_in = mint.ttl_seconds;
  response.scope = Join(granted);
  return response;
}

}  // namespace

Result<std::unique_ptr<Authenticator>> Authenticator::Create(const engine::AuthConfig& config) {
  engine::AuthConfig cfg = config;
  if (cfg.issuer.empty()) return Status::Invalid("auth.issuer: must not be empty");
  if (cfg.audience.empty()) return Status::Invalid("auth.audience: must not be empty");
  if (cfg.clock_skew.count() < 0 || cfg.clock_skew.count() > 3600) {
    return Status::Invalid("auth.clock_skew: must be between 0 and 1 hour");
  }
  if (cfg.token_ttl.count() <= 0 || cfg.token_ttl.count() > kMaxTokenTtlSeconds) {
    return Status::Invalid("auth.token_ttl: must be between 1 second and 30 days");
  }
  if (!cfg.hs256_secret.empty() && cfg.hs256_secret.size() < kMinHs256SecretBytes) {
    return Status::Invalid("auth.hs256_secret: must be at least 32 bytes");
  }

  std::vector<VerifyKey> verify_keys;
  if (!cfg.jwks.empty()) {
    auto text = internal::ReadKeyText(cfg.jwks, "auth.jwks");
    if (!text.ok()) return text.status();
    auto keys = internal::ParseJwks(*text, cfg.jwks);
    if (!keys.ok()) return keys.status();
    verify_keys = std::move(*keys);
  }

  // The private keys sign; their public halves also verify (so a config with
  // only a private key accepts its own tokens). kid: the JWKS key's, else the
  // RFC 7638 thumbprint.
  std::optional<SigningKey> signing_key;
  std::string signing_kid;
  const struct {
    const std::string* value;
    KeyAlg alg;
    const char* what;
  } private_keys[] = {{&cfg.rs256_private_key, KeyAlg::kRs256, "auth.rs256_private_key"},
                      {&cfg.es256_private_key, KeyAlg::kEs256, "auth.es256_private_key"}};
  for (const auto& pk : private_keys) {
    if (pk.value->empty()) continue;
    const std::string file = pk.value->starts_with("-----BEGIN") ? "(inline PEM)" : *pk.value;
    auto text = internal::ReadKeyText(*pk.value, pk.what);
    if (!text.ok()) return text.status();
    auto key = internal::LoadPrivateKey(*text, pk.alg, std::string(pk.what) + ": " + file);
    if (!key.ok()) return key.status();
    auto same = std::find_if(verify_keys.begin(), verify_keys.end(), [&](const VerifyKey& v) {
      return v.alg == key->alg && v.public_pem == key->public_pem;
    });
    std::string kid = same != verify_keys.end() ? same->kid : key->thumbprint;
    if (same == verify_keys.end()) {
      verify_keys.push_back({key->alg, kid, key->public_pem});
    }
    if (!signing_key) {  // RS256 first when both are configured
      signing_key = std::move(*key);
      signing_kid = std::move(kid);
    }
  }

  for (std::size_t i = 0; i < cfg.clients.size(); ++i) {
    engine::AuthClientConfig& c = cfg.clients[i];
    const std::string at = "auth.clients[" + std::to_string(i) + "]";
    if (c.id.empty()) return Status::Invalid(at + ".id: must not be empty");
    std::transform(c.secret_sha256.begin(), c.secret_sha256.end(), c.secret_sha256.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    if (!IsHex64(c.secret_sha256)) {
      return Status::Invalid(at + ".secret_sha256: must be 64 hex digits (SHA-256)");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (cfg.clients[j].id == c.id) return Status::Invalid(at + ".id: duplicate \"" + c.id + "\"");
    }
    for (const std::string& s : c.scopes) {
      auto split = internal::SplitScopes(s);
      if (!split.ok() || split->size() != 1 || split->front() != s) {
        return Status::Invalid(at + ".scopes: not a single scope: \"" + s + "\"");
      }
    }
  }

  if (cfg.hs256_secret.empty() && verify_keys.empty()) {
    return Status::Invalid(
        "auth: no key configured (hs256_secret, jwks, rs256_private_key or es256_private_key)");
  }
  return std::unique_ptr<Authenticator>(std::make_unique<AuthenticatorImpl>(
      std::move(cfg), std::move(verify_keys), std::move(signing_key), std::move(signing_kid)));
}

}  // namespace junction::http
