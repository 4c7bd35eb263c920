// junction reload [--config F]
// Checks the config first (a broken config is reported and nothing is
// signalled), then sends SIGHUP to the process in config.server.pid_file.
// Glue only: the pid file and the signal are handled in junction::engine (reload.h).
#include <memory>
#include <string>

#include "commands.h"
#include "exit_codes.h"
#include "junction/engine/config.h"
#include "junction/engine/reload.h"
#include "output.h"

namespace junction::cli {
namespace {

struct ReloadArgs {
  std::string config = "conf/junction.yaml";
};

int RunReload(const ReloadArgs& a) {
  auto config = engine::LoadConfig(a.config);
  if (!config.ok()) {
    ComplainLine(config.status().message());
    Complain("reload not requested: the config has errors");
    return kExitUsage;
  }
  auto pid = engine::RequestReload(config->server.pid_file, "junction");
  if (!pid.ok()) {
    Complain(pid.status().message());
    return kExitIo;
  }
  return WriteOut("junction: reload requested (pid " + std::to_string(*pid) + ")\n") ? kExitOk
                                                                                     : kExitIo;
}

}  // namespace

void AddReloadCommand(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<ReloadArgs>();
  CLI::App* cmd = app.add_subcommand(
      "reload",
      "Check the config, then ask the running `junction serve` to reload it (SIGHUP to the "
      "process in server.pid_file).");
  cmd->add_option("--config", a->config, "the config file serve uses")->capture_default_str();
  cmd->footer(kExitCodesHelp);
  cmd->callback([a, exit_code] { *exit_code = RunReload(*a); });
}

}  // namespace junction::cli
