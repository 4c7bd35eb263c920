// junction set [--text] FILE PATH=VALUE...
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "commands.h"
#include "exit_codes.h"
#include "input.h"
#include "output.h"
#include "junction/hl7/message.h"
#include "junction/hl7/path.h"

namespace junction::cli {
namespace {

struct SetOptions {
  std::string file;
  std::vector<std::string> assignments;
  bool text = false;
};

struct Assignment {
  std::string path_text;
  hl7::Path path;
  std::string value;
};

int Run(const SetOptions& o) {
  std::vector<Assignment> assignments;
  for (const std::string& item : o.assignments) {
    const std::size_t eq = item.find('=');
    if (eq == std::string::npos) {
      Complain("expected PATH=VALUE, got '" + item + "'");
      return kExitUsage;
    }
    Assignment a;
    a.path_text = item.substr(0, eq);
    a.value = item.substr(eq + 1);
    auto path = hl7::Path::Parse(a.path_text);
    if (!path.ok()) {
      Complain("bad path '" + a.path_text + "': " + path.status().message());
      return kExitUsage;
    }
    a.path = *path;
    if (!o.text && a.value.find_first_of("\r\n") != std::string::npos) {
      Complain(a.path_text + ": a raw ER7 value cannot hold a line break (use --text)");
      return kExitUsage;
    }
    assignments.push_back(std::move(a));
  }
  auto input = InputFile::Open(o.file);
  if (!input.ok()) {
    ComplainLine(input.status().message());
    return kExitIo;
  }
  const std::string name = input->display_name();
  const std::string_view bytes = input->bytes();
  std::vector<MessagePiece> pieces;
  Status split = SplitMessages(bytes, &pieces);
  if (!split.ok()) {
    ComplainLine(Located(name, 0, split));
    return kExitData;
  }
  // The file with every message replaced by its edited form; bytes between
  // messages (batch headers, framing) are kept.
  std::string out;
  out.reserve(bytes.size() + 256);
  std::size_t copied = 0;
  for (std::size_t n = 0; n < pieces.size(); ++n) {
    const MessagePiece& piece = pieces[n];
    auto message = hl7::Message::Parse(piece.bytes);
    if (!message.ok()) {
      ComplainLine(Located(name, piece.offset, message.status()));
      return kExitData;
    }
    for (const Assignment& a : assignments) {
      Status status = o.text ? message->Set(a.path, a.value) : message->SetRaw(a.path, a.value);
      if (!status.ok()) {
        std::string where = name;
        if (pieces.size() > 1) where += ":" + std::to_string(piece.offset);
        ComplainLine(where + ": " + a.path_text + ": " + status.message());
        return kExitUsage;
      }
    }
    out.append(bytes.substr(copied, piece.offset - copied));
    out.append(message->Encode());
    copied = piece.offset + piece.bytes.size();
  }
  out.append(bytes.substr(copied));
  return WriteOut(out) ? kExitOk : kExitIo;
}

}  // namespace

void AddSetCommand(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<SetOptions>();
  CLI::App* cmd = app.add_subcommand(
      "set",
      "Set values and print the modified message(s); everything not addressed stays byte for "
      "byte. VALUE is raw ER7 by default, so separators keep their meaning (PID-5=DOE^JANE sets "
      "two components); with --text it is plain text and gets escaped (PID-5.1='A&B' becomes "
      "A\\T\\B). Missing segments, fields and components are created. Several messages in "
      "FILE: every message is changed.");
  cmd->add_option("FILE", o->file, "input file, or - for stdin")->required();
  cmd->add_option("PATH=VALUE", o->assignments, "assignments, applied in order")->required();
  cmd->add_flag("--text", o->text, "VALUE is text: escape delimiters (line breaks become \\.br\\)");
  cmd->footer(kExitCodesHelp);
  cmd->callback([o, exit_code] { *exit_code = Run(*o); });
}

}  // namespace junction::cli
