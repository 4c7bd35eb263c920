// junction format [FILE|-]: the JSON form back to the exact message bytes.
#include <memory>
#include <string>

#include "commands.h"
#include "exit_codes.h"
#include "input.h"
#include "output.h"
#include "junction/hl7/json.h"

namespace junction::cli {
namespace {

struct FormatOptions {
  std::string file = "-";
};

int Run(const FormatOptions& o) {
  auto input = InputFile::Open(o.file);
  if (!input.ok()) {
    ComplainLine(input.status().message());
    return kExitIo;
  }
  auto bytes = hl7::JsonToEr7(input->bytes());
  if (!bytes.ok()) {
    ComplainLine(Located(input->display_name(), 0, bytes.status()));
    return kExitData;
  }
  return WriteOut(*bytes) ? kExitOk : kExitIo;
}

}  // namespace

void AddFormatCommand(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<FormatOptions>();
  CLI::App* cmd = app.add_subcommand(
      "format",
      "Turn the JSON form written by `junction parse --json` back into the message bytes, "
      "byte for byte (nothing is added: no final newline).");
  cmd->add_option("FILE", o->file, "JSON file, or - for stdin (default)");
  cmd->footer(kExitCodesHelp);
  cmd->callback([o, exit_code] { *exit_code = Run(*o); });
}

}  // namespace junction::cli
