// POST /auth/token: the OAuth2 client_credentials grant (RFC 6749 section
// 4.4). Client id and secret come from HTTP Basic or the form body; answers
// and errors are the RFC's JSON shapes, never cached.
#include <boost/json.hpp>
#include <ctime>
#include <string>

#include "http/internal/app_routes.h"
#include "http/internal/auth_crypto.h"

namespace junction::http::internal {
namespace {

Response OAuthError(int status, std::string_view error, std::string_view description) {
  boost::json::object o;
  o["error"] = error;
  o["error_description"] = description;
  Response r = Response::Json(status, boost::json::serialize(o));
  r.headers.emplace_back("Cache-Control", "no-store");
  if (status == 401) r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"junction\"");
  return r;
}

// "Basic base64(id:secret)" -> (id, secret); false when absent or malformed.
bool BasicCredentials(std::string_view header, std::string* id, std::string* secret) {
  constexpr std::string_view kBasic = "Basic ";
  if (header.size() <= kBasic.size() || header.substr(0, kBasic.size()) != kBasic) return false;
  std::string text(header.substr(kBasic.size()));
  while (!text.empty() && text.back() == '=') text.pop_back();
  for (char& c : text) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  auto decoded = Base64UrlDecode(text);
  if (!decoded) return false;
  const std::size_t colon = decoded->find(':');
  if (colon == std::string::npos) return false;
  *id = PercentDecode(decoded->substr(0, colon));
  *secret = PercentDecode(decoded->substr(colon + 1));
  return true;
}

}  // namespace

Handler TokenRoute(std::shared_ptr<AppContext> app) {
  return [app](Request request, Responder respond) {
    if (request.method != "POST") {
      Response r = OAuthError(405, "invalid_request", "use POST");
      r.headers.emplace_back("Allow", "POST");
      respond(std::move(r));
      return;
    }
    const std::string_view type = request.Header("content-type");
    if (type.substr(0, type.find(';')) != "application/x-www-form-urlencoded") {
      respond(
          OAuthError(400, "invalid_request", "the body must be application/x-www-form-urlencoded"));
      return;
    }
    std::string grant, id, secret, scope;
    for (auto& [name, value] : ParseQuery(request.body)) {
      if (name == "grant_type") grant = value;
      if (name == "client_id") id = value;
      if (name == "client_secret") secret = value;
      if (name == "scope") scope = value;
    }
    if (grant != "client_credentials") {
      respond(OAuthError(400, "unsupported_grant_type", "only client_credentials is supported"));
      return;
    }
    std::string basic_id, basic_secret;
    if (BasicCredentials(request.Header("authorization"), &basic_id, &basic_secret)) {
      id = basic_id;
      secret = basic_secret;
    }
    if (!app->auth) {
      respond(OAuthError(401, "invalid_client", "no token issuer is configured"));
      return;
    }
    auto token = app->auth->ClientCredentials(id, secret, scope,
                                              static_cast<std::int64_t>(std::time(nullptr)));
    if (!token.ok()) {
      if (token.status().code() == StatusCode::kNotFound) {
        respond(OAuthError(401, "invalid_client", "unknown client or wrong secret"));
      } else {
        respond(OAuthError(400, "invalid_scope", token.status().message()));
      }
      return;
    }
    boost::json::object o;
    o["access_token"] = token->access_token;
    o["token_type"] = "Bearer";
    o["expires_in"] = token->expires_in;
    o["scope"] = token->scope;
    if (token->patient) o["patient"] = *token->patient;
    Response r = Response::Json(200, boost::json::serialize(o));
    r.headers.emplace_back("Cache-Control", "no-store");
    r.headers.emplace_back("Pragma", "no-cache");
    respond(std::move(r));
  };
}

}  // namespace junction::http::internal
