// The subcommands. Each Add*Command registers one CLI11 subcommand on `app`;
// when it runs, its exit code (exit_codes.h) is stored in *exit_code.
#pragma once

#include <CLI/CLI.hpp>

namespace junction::cli {

void AddParseCommand(CLI::App& app, int* exit_code);
void AddFormatCommand(CLI::App& app, int* exit_code);
void AddGetCommand(CLI::App& app, int* exit_code);
void AddSetCommand(CLI::App& app, int* exit_code);
void AddValidateCommand(CLI::App& app, int* exit_code);
void AddAckCommand(CLI::App& app, int* exit_code);
void AddStatsCommand(CLI::App& app, int* exit_code);
void AddServeCommand(CLI::App& app, int* exit_code);
void AddSendCommand(CLI::App& app, int* exit_code);
void AddMessagesCommand(CLI::App& app, int* exit_code);
void AddConvertCommand(CLI::App& app, int* exit_code);
void AddTransformCommand(CLI::App& app, int* exit_code);
void AddStatusCommand(CLI::App& app, int* exit_code);
void AddReloadCommand(CLI::App& app, int* exit_code);
void AddTokenCommand(CLI::App& app, int* exit_code);

}  // namespace junction::cli
