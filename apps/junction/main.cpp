// junction: the command-line entry point. Parses arguments and dispatches to a
// subcommand (one file per subcommand, cmd_*.cpp); contains no HL7 logic.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <new>
#include <string>

#include "commands.h"
#include "exit_codes.h"
#include "output.h"

int main(int argc, char** argv) {
  using namespace junction::cli;
  try {
    CLI::App app{
        "junction: HL7 v2 tools. Inputs may be plain ER7 (segments ending in \\r, \\n or "
        "\\r\\n), MLLP-framed, batches (FHS/BHS...BTS/FTS) or several concatenated messages; "
        "FILE '-' reads stdin.",
        "junction"};
    app.footer(kExitCodesHelp);
    app.require_subcommand(1);
    app.set_version_flag("--version", "junction 0.1.0");
    int exit_code = kExitOk;
    AddParseCommand(app, &exit_code);
    AddFormatCommand(app, &exit_code);
    AddGetCommand(app, &exit_code);
    AddSetCommand(app, &exit_code);
    AddValidateCommand(app, &exit_code);
    AddAckCommand(app, &exit_code);
    AddStatsCommand(app, &exit_code);
    AddServeCommand(app, &exit_code);
    AddSendCommand(app, &exit_code);
    AddMessagesCommand(app, &exit_code);
    AddConvertCommand(app, &exit_code);
    AddTransformCommand(app, &exit_code);
    AddStatusCommand(app, &exit_code);
    AddReloadCommand(app, &exit_code);
    AddTokenCommand(app, &exit_code);
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      const int rc = app.exit(e);  // prints help, version or the usage error
      return rc == 0 ? kExitOk : kExitUsage;
    }
    if (!FlushOut() && exit_code == kExitOk) exit_code = kExitIo;
    return exit_code;
  } catch (const std::bad_alloc&) {
    Complain("out of memory");
    return kExitIo;
  } catch (const std::exception& e) {
    Complain(std::string("unexpected error: ") + e.what());
    return kExitIo;
  } catch (...) {
    Complain("unexpected error");
    return kExitIo;
  }
}
