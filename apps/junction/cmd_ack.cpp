// junction ack [--code C] [--text T] FILE
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "exit_codes.h"
#include "input.h"
#include "output.h"
#include "junction/hl7/ack.h"
#include "junction/hl7/message.h"

namespace junction::cli {
namespace {

struct AckCommandOptions {
  std::string file;
  std::string code;
  std::string text;
  std::string control_id;
  std::string timestamp;
  bool lf = false;
};

bool Negative(std::string_view msa1) { return msa1 != "AA" && msa1 != "CA"; }

int Run(const AckCommandOptions& o) {
  auto input = InputFile::Open(o.file);
  if (!input.ok()) {
    ComplainLine(input.status().message());
    return kExitIo;
  }
  const std::string name = input->display_name();
  hl7::AckOptions options;
  options.code = o.code;
  options.text = o.text;
  options.control_id = o.control_id;
  options.timestamp = o.timestamp;

  std::vector<MessagePiece> pieces;
  Status split = SplitMessages(input->bytes(), &pieces);
  if (!split.ok()) {
    // Nothing to acknowledge but the bytes themselves: a reject that says why.
    ComplainLine(Located(name, 0, split));
    pieces = {{0, input->bytes()}};
  }
  int rc = kExitOk;
  for (const MessagePiece& piece : pieces) {
    std::string ack;
    auto message = hl7::Message::Parse(piece.bytes);
    if (!message.ok()) {
      if (split.ok()) ComplainLine(Located(name, piece.offset, message.status()));
      ack = hl7::MakeNakForUnparseable(piece.bytes, message.status().ToString(), options);
      rc = kExitData;
    } else {
      auto made = hl7::MakeAckText(*message, options);
      if (!made.ok()) {
        Complain(made.status().message());
        return kExitUsage;  // e.g. an unknown --code
      }
      ack = std::move(made).value();
      auto parsed = hl7::Message::Parse(ack);
      if (parsed.ok() && Negative(parsed->Get("MSA-1"))) rc = kExitData;
    }
    if (o.lf) std::replace(ack.begin(), ack.end(), '\r', '\n');
    if (!WriteOut(ack)) return kExitIo;
  }
  return rc;
}

}  // namespace

void AddAckCommand(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<AckCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "ack",
      "Print the acknowledgement for each message in FILE (segments end in \\r). The mode "
      "follows the message: enhanced (CA/CE/CR) when MSH-15/16 are valued, original (AA/AE/AR) "
      "otherwise. A message that does not parse gets a reject (AR/CR) naming the problem. "
      "Exits 1 when any ACK is negative.");
  cmd->add_option("FILE", o->file, "input file, or - for stdin")->required();
  cmd->add_option("--code", o->code, "MSA-1 acknowledgement code")
      ->check(CLI::IsMember({"AA", "AE", "AR", "CA", "CE", "CR"}));
  cmd->add_option("--text", o->text, "MSA-3 text message");
  cmd->add_option("--control-id", o->control_id,
                  "MSH-10 of the ACK (default: generated from the time and a counter)");
  cmd->add_option("--timestamp", o->timestamp,
                  "MSH-7 of the ACK, e.g. 20240101120000+0000 (default: now, UTC); with "
                  "--control-id this makes the output repeatable");
  cmd->add_flag("--lf", o->lf, "end segments with \\n instead of \\r (for reading on a terminal)");
  cmd->footer(kExitCodesHelp);
  cmd->callback([o, exit_code] { *exit_code = Run(*o); });
}

}  // namespace junction::cli
