// junction token [--config F] --client ID [--scope "..."] [--patient ID] [--ttl
// 1h] [--subject S] Mints a bearer token with the config's signing key
// (auth.rs256_private_key, auth.es256_private_key or auth.hs256_secret) and
// prints it alone on the last line of stdout, e.g. for `curl -H "Authorization:
// Bearer $(junction token ...)"`.
//
// Whoever runs this can read the signing key, so it could sign anything: the
// scopes are not limited to the client's allowed ones (docs/security.md).
// A client that is not in auth.clients gets a warning; its scopes must then
// be given with --scope.
// Glue only: signing and claim rules live in junction::http (auth.h).
// Built for real when apps/junction links junction::http and defines
// JUNCTION_HAVE_HTTP=1; otherwise the command only says it is missing.
#include <cctype>
#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "exit_codes.h"
#include "output.h"
#if JUNCTION_HAVE_HTTP
#include "junction/engine/config.h"
#include "junction/http/auth.h"
#endif

namespace junction::cli {
namespace {

struct TokenArgs {
  std::string config = "conf/junction.yaml";
  std::string client;
  std::optional<std::string> scope;
  std::optional<std::string> patient;
  std::optional<std::string> ttl;
  std::string subject;
};

// "3600", "90s", "15m", "1h", "7d" -> seconds; nullopt for anything else.
#if JUNCTION_HAVE_HTTP
std::optional<std::int64_t> ParseTtl(const std::string &text) {
  if (text.empty() || text.size() > 12) return std::nullopt;
  std::size_t digits = 0;
  std::int64_t value = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) {
    value = value * 10 + (text[digits] - '0');
    ++digits;
  }
  if (digits == 0) return std::nullopt;
  const std::string unit = text.substr(digits);
  std::int64_t scale = 0;
  if (unit.empty() || unit == "s") scale = 1;
  if (unit == "m") scale = 60;
  if (unit == "h") scale = 3600;
  if (unit == "d") scale = 86400;
  if (scale == 0) return std::nullopt;
  return value * scale;
}

std::vector<std::string> SplitSpaces(const std::string &text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find(' ', pos);
    if (end == std::string::npos) end = text.size();
    if (end > pos) out.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

int RunToken(const TokenArgs &a) {
  auto config = engine::LoadConfig(a.config);
  if (!config.ok()) {
    ComplainLine(config.status().message());
    return kExitUsage;
  }
  auto auth = http::Authenticator::Create(config->auth);
  if (!auth.ok()) {
    Complain(a.config + ": " + auth.status().message());
    return kExitUsage;
  }
  const engine::AuthClientConfig *client = nullptr;
  for (const engine::AuthClientConfig &c : config->auth.clients) {
    if (c.id == a.client) client = &c;
  }

  http::MintRequest request;
  request.client_id = a.client;
  request.subject = a.subject;
  request.patient = a.patient;
  request.ttl_seconds = config->auth.token_ttl.count();
  if (a.ttl) {
    const std::optional<std::int64_t> ttl = ParseTtl(*a.ttl);
    if (!ttl) {
      Complain(
          "--ttl: expected seconds or a number with s, m, h or d (e.g. "
          "15m, 1h): " +
          *a.ttl);
      return kExitUsage;
    }
    request.ttl_seconds = *ttl;
  }
  if (a.scope) {
    request.scopes = SplitSpaces(*a.scope);
  } else if (client) {
    request.scopes = client->scopes;
  } else {
    Complain("--scope is required for a client that is not in auth.clients");
    return kExitUsage;
  }
  if (!client) Complain("warning: client \"" + a.client + "\" is not in auth.clients");

  auto token = (*auth)->Mint(request, static_cast<std::int64_t>(std::time(nullptr)));
  if (!token.ok()) {
    Complain(token.status().message());
    return token.status().code() == StatusCode::kInvalidArgument ? kExitUsage : kExitData;
  }
  return WriteOut(*token + "\n") ? kExitOk : kExitIo;
}
#else
int RunToken(const TokenArgs &) {
  Complain("token: this build of junction has no junction::http");
  return kExitUsage;
}
#endif

}  // namespace

void AddTokenCommand(CLI::App &app, int *exit_code) {
  auto a = std::make_shared<TokenArgs>();
  CLI::App *cmd =
      app.add_subcommand("token",
                         "Mint a bearer token (JWT) with the config's signing key and print it "
                         "alone on the last "
                         "line. Scopes default to the client's allowed ones (auth.clients).");
  cmd->add_option("--config", a->config, "the config file with the auth: section")
      ->capture_default_str();
  cmd->add_option("--client", a->client, "client_id claim (normally one of auth.clients)")
      ->required();
  cmd->add_option("--scope", a->scope,
                  "space-separated scopes, e.g. \"user/*.rs admin\" (default: "
                  "the client's)");
  cmd->add_option("--patient", a->patient, "patient claim: restricts patient/ scopes to one id");
  cmd->add_option("--ttl", a->ttl, "lifetime: seconds or 15m, 1h, 7d (default: auth.token_ttl)");
  cmd->add_option("--subject", a->subject, "sub claim (default: the client id)");
  cmd->footer(kExitCodesHelp);
  cmd->callback([a, exit_code] { *exit_code = RunToken(*a); });
}

}  // namespace junction::cli
