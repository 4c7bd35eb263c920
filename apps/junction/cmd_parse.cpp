// junction parse [FILE|-] [--tree | --json [--compact]]
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "exit_codes.h"
#include "input.h"
#include "tree.h"
#include "output.h"
#include "junction/hl7/dictionary.h"
#include "junction/hl7/escape.h"
#include "junction/hl7/json.h"
#include "junction/hl7/message.h"

namespace junction::cli {
namespace {

struct ParseOptions {
  std::string file = "-";
  bool tree = false;
  bool json = false;
  bool compact = false;
};

// "ADT^A01 (ADT_A01), control id X, version 2.5.1, 8 segments"
std::string Summary(const hl7::Message& m) {
  std::string out(m.MessageCode());
  if (!m.TriggerEvent().empty()) out += "^" + std::string(m.TriggerEvent());
  if (out.empty()) out = "(no MSH-9)";
  if (!m.StructureId().empty()) out += " (" + std::string(m.StructureId()) + ")";
  out += ", control id " + (m.ControlId().empty() ? std::string("(none)") : std::string(m.ControlId()));
  out += ", version " + (m.Version().empty() ? std::string("(none)") : std::string(m.Version()));
  out += ", " + std::to_string(m.SegmentCount()) + (m.SegmentCount() == 1 ? " segment" : " segments");
  return out;
}

int Run(const ParseOptions& o) {
  auto input = InputFile::Open(o.file);
  if (!input.ok()) {
    ComplainLine(input.status().message());
    return kExitIo;
  }
  const std::string name = input->display_name();
  if (o.json) {
    auto json = hl7::FileToJson(input->bytes(), !o.compact);
    if (!json.ok()) {
      ComplainLine(Located(name, 0, json.status()));
      return kExitData;
    }
    json->push_back('\n');
    return WriteOut(*json) ? kExitOk : kExitIo;
  }
  std::vector<MessagePiece> pieces;
  Status split = SplitMessages(input->bytes(), &pieces);
  if (!split.ok()) {
    ComplainLine(Located(name, 0, split));
    return kExitData;
  }
  int rc = kExitOk;
  for (std::size_t n = 0; n < pieces.size(); ++n) {
    auto message = hl7::Message::Parse(pieces[n].bytes);
    std::string out = "message " + std::to_string(n + 1) + " at offset " +
                      std::to_string(pieces[n].offset) + ": ";
    if (!message.ok()) {
      ComplainLine(Located(name, pieces[n].offset, message.status()));
      rc = kExitData;
      continue;
    }
    out += Summary(*message) + "\n";
    if (o.tree) AppendTree(*message, &out);
    if (!WriteOut(out)) return kExitIo;
  }
  return rc;
}

}  // namespace

void AddParseCommand(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<ParseOptions>();
  CLI::App* cmd = app.add_subcommand(
      "parse",
      "Parse messages and describe them: a one-line summary per message (type, control id, "
      "version, segment count), --tree for every field with its dictionary name, or --json for "
      "the lossless JSON form (see `junction format`).");
  cmd->add_option("FILE", o->file, "input file, or - for stdin (default)");
  auto* tree = cmd->add_flag("--tree", o->tree,
                             "every non-empty field, repetition, component and subcomponent, "
                             "named from the dictionary of MSH-12 (2.5.1 when unknown)");
  auto* json = cmd->add_flag("--json", o->json,
                             "the lossless JSON form: one object, or an array for several messages");
  cmd->add_flag("--compact", o->compact, "with --json: one line instead of one segment per line")
      ->needs(json);
  tree->excludes(json);
  cmd->footer(kExitCodesHelp);
  cmd->callback([o, exit_code] { *exit_code = Run(*o); });
}

}  // namespace junction::cli
