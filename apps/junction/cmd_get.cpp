// junction get [--json] [--raw] FILE PATH...
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "exit_codes.h"
#include "input.h"
#include "output.h"
#include "junction/hl7/json.h"
#include "junction/hl7/message.h"
#include "junction/hl7/path.h"

namespace junction::cli {
namespace {

struct GetOptions {
  std::string file;
  std::vector<std::string> paths;
  bool json = false;
  bool raw = false;
};

int Run(const GetOptions& o) {
  std::vector<hl7::Path> paths;
  for (const std::string& text : o.paths) {
    auto path = hl7::Path::Parse(text);
    if (!path.ok()) {
      Complain("bad path '" + text + "': " + path.status().message());
      return kExitUsage;
    }
    paths.push_back(*path);
  }
  auto input = InputFile::Open(o.file);
  if (!input.ok()) {
    ComplainLine(input.status().message());
    return kExitIo;
  }
  const std::string name = input->display_name();
  std::vector<MessagePiece> pieces;
  Status split = SplitMessages(input->bytes(), &pieces);
  if (!split.ok()) {
    ComplainLine(Located(name, 0, split));
    return kExitData;
  }
  int rc = kExitOk;
  for (const MessagePiece& piece : pieces) {
    auto message = hl7::Message::Parse(piece.bytes);
    if (!message.ok()) {
      ComplainLine(Located(name, piece.offset, message.status()));
      rc = kExitData;
      continue;
    }
    std::string out;
    if (o.json) out.push_back('[');
    for (std::size_t i = 0; i < paths.size(); ++i) {
      std::optional<std::string> value;
      if (o.raw) {
        if (auto raw = message->GetRaw(paths[i])) value = std::string(*raw);
      } else {
        value = message->GetDecoded(paths[i]);
      }
      if (o.json) {
        if (i > 0) out.push_back(',');
        if (value) {
          hl7::AppendJsonString(*value, &out);
        } else {
          out.append("null");
        }
      } else {
        if (value) out.append(*value);
        out.push_back('\n');
      }
    }
    if (o.json) out.append("]\n");
    if (!WriteOut(out)) return kExitIo;
  }
  return rc;
}

}  // namespace

void AddGetCommand(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<GetOptions>();
  CLI::App* cmd = app.add_subcommand(
      "get",
      "Print the value at each PATH (SEG[n]-F[r].C.S, e.g. PID-5.1, PID-3[2].4, OBX[3]-5), one "
      "per line, decoded (escapes resolved, text in UTF-8); an empty line when absent. Several "
      "messages in FILE: the lines of each message in turn.");
  cmd->add_option("FILE", o->file, "input file, or - for stdin")->required();
  cmd->add_option("PATH", o->paths, "HL7 paths")->required();
  cmd->add_flag("--json", o->json,
                "one JSON array of strings per message, null for an absent value (safe for "
                "values holding line breaks)");
  cmd->add_flag("--raw", o->raw, "the ER7 text as in the message, escapes kept");
  cmd->footer(kExitCodesHelp);
  cmd->callback([o, exit_code] { *exit_code = Run(*o); });
}

}  // namespace junction::cli
