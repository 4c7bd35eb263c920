// junction status [--config F] [--json]
// Glue only: the report is built and formatted in junction::engine (status.h).
// The store is opened read-only, so this works while `junction serve` runs.
#include <memory>
#include <string>

#include "commands.h"
#include "exit_codes.h"
#include "junction/engine/config.h"
#include "junction/engine/messages.h"
#include "junction/engine/status.h"
#include "output.h"

namespace junction::cli {
namespace {

struct StatusArgs {
  std::string config = "conf/junction.yaml";
  bool json = false;
};

int RunStatus(const StatusArgs& a) {
  auto config = engine::LoadConfig(a.config);
  if (!config.ok()) {
    ComplainLine(config.status().message());
    return kExitUsage;
  }
  auto store = engine::OpenStoreForReading(*config);
  if (!store.ok()) {
    Complain("store " + config->store.sqlite + ": " + store.status().message());
    return kExitIo;
  }
  auto view = engine::ReadStatus(*config, **store, engine::NowMicros());
  if (!view.ok()) {
    Complain("store " + config->store.sqlite + ": " + view.status().message());
    return kExitIo;
  }
  const std::string out = a.json ? engine::FormatStatusJson(*view) : engine::FormatStatus(*view);
  return WriteOut(out) ? kExitOk : kExitIo;
}

}  // namespace

void AddStatusCommand(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<StatusArgs>();
  CLI::App* cmd = app.add_subcommand(
      "status",
      "Counts per channel and destination: waiting, queued, sent, errors, blocked queues "
      "(read-only; works while `junction serve` runs).");
  cmd->add_option("--config", a->config, "the config file serve uses (channels, store.sqlite)")
      ->capture_default_str();
  cmd->add_flag("--json", a->json, "one JSON object (store, channels with their destinations)");
  cmd->footer(kExitCodesHelp);
  cmd->callback([a, exit_code] { *exit_code = RunStatus(*a); });
}

}  // namespace junction::cli
