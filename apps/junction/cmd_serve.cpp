// junction serve [--config FILE] [--log-level LEVEL]
// Glue only: the config parser and the engine live in junction::engine.
#include <memory>
#include <string>

#include "commands.h"
#include "exit_codes.h"
#include "junction/engine/config.h"
#include "junction/engine/serve.h"
#include "junction/http/app.h"
#include "output.h"

namespace junction::cli {
namespace {

struct ServeArgs {
  std::string config = "conf/junction.yaml";
  std::string log_level;
};

int RunServeCommand(const ServeArgs& a) {
  auto config = engine::LoadConfig(a.config);
  if (!config.ok()) {
    ComplainLine(config.status().message());
    return kExitUsage;
  }
  engine::ServeOptions options;
  options.log_level = a.log_level;
  if (config->http.enabled) {
    options.attach = [](engine::Engine& e) { return http::StartHttpApp(e); };
  }
  return engine::RunServe(*config, options);
}

}  // namespace

void AddServeCommand(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "serve",
      "Run the engine: receive HL7 over MLLP, HTTP and files on every configured channel, store "
      "each message durably, then acknowledge it; deliver through the channels; serve the FHIR "
      "API when http: is configured. Prints 'junction: listening mllp <channel> <host>:<port>' "
      "per listener, 'junction: listening http <host>:<port>' and 'junction: ready' on stdout; "
      "stops cleanly on SIGTERM/SIGINT.");
  cmd->add_option("--config", a->config, "YAML config file (see docs/config.md)")
      ->capture_default_str();
  cmd->add_option("--log-level", a->log_level, "overrides log.level")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  cmd->footer(kExitCodesHelp);
  cmd->callback([a, exit_code] { *exit_code = RunServeCommand(*a); });
}

}  // namespace junction::cli
