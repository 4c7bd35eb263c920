// junction reload: placeholder until its implementation lands (issue 4).
#include "commands.h"

namespace junction::cli {
void AddReloadCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("reload", "(not built yet)");
  cmd->callback([exit_code] { *exit_code = 2; });
}
}  // namespace junction::cli
