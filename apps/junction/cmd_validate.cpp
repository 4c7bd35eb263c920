// junction validate [--profile P] [--json] FILE...
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
#include "junction/hl7/validate.h"
#if JUNCTION_HAVE_PROFILE
#include "junction/profile/profile_yaml.h"
#endif

namespace junction::cli {
namespace {

struct ValidateOptions {
  std::vector<std::string> files;
  std::string profile;
  bool json = false;
  bool no_lengths = false;
  bool no_tables = false;
  bool quiet = false;
};

struct Totals {
  std::size_t messages = 0;
  std::size_t invalid = 0;
  std::size_t errors = 0;
  std::size_t warnings = 0;
};

// "file" or "file:3" when the file holds several messages.
std::string Where(const std::string& file, std::size_t number, std::size_t count) {
  return count > 1 ? file + ":" + std::to_string(number) : file;
}

void TextFinding(const std::string& where, std::string_view path, std::string_view severity,
                 const std::string& code, std::string_view message, std::string* out) {
  out->append(where);
  out->push_back(' ');
  out->append(path.empty() ? std::string_view("-") : path);
  out->push_back(' ');
  out->append(severity);
  out->push_back(' ');
  out->append(code);
  out->push_back(' ');
  AppendVisible(message, out);
  out->push_back('\n');
}

int Run(const ValidateOptions& o) {
  hl7::ValidationOptions options;
  options.check_lengths = !o.no_lengths;
  options.check_tables = !o.no_tables;
#if JUNCTION_HAVE_PROFILE
  std::optional<hl7::Profile> profile;
  if (!o.profile.empty()) {
    auto loaded = profile::LoadProfileYaml(o.profile);
    if (!loaded.ok()) {
      ComplainLine(loaded.status().message());
      return loaded.status().code() == StatusCode::kIoError ? kExitIo : kExitUsage;
    }
    profile.emplace(std::move(loaded).value());
    options.profile = &*profile;
  }
#else
  if (!o.profile.empty()) {
    Complain("--profile: this build has no profile support (junction::profile)");
    return kExitUsage;
  }
#endif
  Totals totals;
  bool io_failed = false;
  bool json_first = true;
  if (o.json && !WriteOut("[")) return kExitIo;
  for (const std::string& file : o.files) {
    auto input = InputFile::Open(file);
    if (!input.ok()) {
      ComplainLine(input.status().message());
      io_failed = true;
      continue;
    }
    const std::string name = input->display_name();
    std::vector<MessagePiece> pieces;
    Status split = SplitMessages(input->bytes(), &pieces);
    std::string out;
    if (!split.ok()) {
      // The file as a whole is one invalid "message".
      pieces.clear();
      ++totals.messages;
      ++totals.invalid;
      ++totals.errors;
      const std::string reason = split.ToString();
      if (o.json) {
        out.append(json_first ? "\n" : ",\n");
        json_first = false;
        out.append("{\"file\":" + hl7::JsonString(name) +
                   ",\"message\":null,\"offset\":0,\"valid\":false,\"parse_error\":" +
                   hl7::JsonString(reason) + ",\"findings\":[]}");
      } else {
        TextFinding(name, "-", "error", "parse", reason, &out);
      }
    }
    for (std::size_t n = 0; n < pieces.size(); ++n) {
      const MessagePiece& piece = pieces[n];
      const std::string where = Where(name, n + 1, pieces.size());
      ++totals.messages;
      auto message = hl7::Message::Parse(piece.bytes);
      if (!message.ok()) {
        ++totals.invalid;
        ++totals.errors;
        const Status& st = message.status();
        const std::string reason = "offset " +
                                   std::to_string(piece.offset + (st.has_offset() ? st.offset() : 0)) +
                                   ": " + st.message();
        if (o.json) {
          out.append(json_first ? "\n" : ",\n");
          json_first = false;
          out.append("{\"file\":" + hl7::JsonString(name) + ",\"message\":" +
                     std::to_string(n + 1) + ",\"offset\":" + std::to_string(piece.offset) +
                     ",\"valid\":false,\"parse_error\":" + hl7::JsonString(reason) +
                     ",\"findings\":[]}");
        } else {
          TextFinding(where, "-", "error", "parse", reason, &out);
        }
        continue;
      }
      const hl7::ValidationReport report = hl7::Validate(*message, options);
      totals.errors += static_cast<std::size_t>(report.errors());
      totals.warnings += static_cast<std::size_t>(report.warnings());
      if (!report.ok()) ++totals.invalid;
      if (o.json) {
        out.append(json_first ? "\n" : ",\n");
        json_first = false;
        out.append("{\"file\":" + hl7::JsonString(name) + ",\"message\":" +
                   std::to_string(n + 1) + ",\"offset\":" + std::to_string(piece.offset) +
                   ",\"valid\":" + (report.ok() ? "true" : "false") +
                   ",\"version\":" + hl7::JsonString(report.version_used) +
                   ",\"structure\":" + hl7::JsonString(report.structure) +
                   ",\"truncated\":" + (report.truncated ? "true" : "false") + ",\"findings\":[");
        for (std::size_t i = 0; i < report.findings.size(); ++i) {
          const hl7::Finding& f = report.findings[i];
          if (i > 0) out.push_back(',');
          out.append("\n  {\"path\":" + hl7::JsonString(f.path) + ",\"severity\":" +
                     hl7::JsonString(hl7::SeverityName(f.severity)) +
                     ",\"code\":" + std::to_string(f.code) +
                     ",\"message\":" + hl7::JsonString(f.message) + "}");
        }
        out.append("]}");
      } else {
        for (const hl7::Finding& f : report.findings) {
          if (o.quiet && f.severity != hl7::Severity::kError) continue;
          TextFinding(where, f.path, hl7::SeverityName(f.severity), std::to_string(f.code),
                      f.message, &out);
        }
        if (report.truncated) {
          TextFinding(where, "-", "info", "-", "more findings were left out", &out);
        }
      }
    }
    if (!WriteOut(out)) return kExitIo;
  }
  if (o.json && !WriteOut("\n]\n")) return kExitIo;
  // The tally goes to stderr so stdout stays one finding per line.
  ComplainLine(std::to_string(totals.messages) + (totals.messages == 1 ? " message, " : " messages, ") +
               std::to_string(totals.invalid) + " invalid, " + std::to_string(totals.errors) +
               (totals.errors == 1 ? " error, " : " errors, ") + std::to_string(totals.warnings) +
               (totals.warnings == 1 ? " warning" : " warnings"));
  if (io_failed) return kExitIo;
  return totals.invalid > 0 ? kExitData : kExitOk;
}

}  // namespace

void AddValidateCommand(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<ValidateOptions>();
  CLI::App* cmd = app.add_subcommand(
      "validate",
      "Check messages against the HL7 standard of their version (MSH-12; 2.5.1 when unknown) "
      "and an optional local profile. Prints one finding per line: "
      "`FILE[:MESSAGE#] PATH SEVERITY CODE MESSAGE` (the message number only when the file "
      "holds several; CODE from HL7 table 0357, or `parse` when the message does not parse). "
      "A tally goes to stderr. Exits 1 when any message has an error.");
  cmd->add_option("FILE", o->files, "input files, or - for stdin")->required();
  cmd->add_option("--profile", o->profile, "local conformance profile (YAML, docs/validation.md)");
  cmd->add_flag("--json", o->json, "a JSON array with one object per message");
  cmd->add_flag("--no-lengths", o->no_lengths, "do not report values longer than the standard");
  cmd->add_flag("--no-tables", o->no_tables, "do not check coded values against HL7 tables");
  cmd->add_flag("-q,--quiet", o->quiet, "print errors only (no warnings or notes)");
  cmd->footer(kExitCodesHelp);
  cmd->callback([o, exit_code] { *exit_code = Run(*o); });
}

}  // namespace junction::cli
