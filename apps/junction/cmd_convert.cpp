// junction convert FILE... [--pretty] [--bundle transaction|batch|collection] [--config F]
// Converts every message to a FHIR R4 Bundle (junction::fhir), one per line
// (NDJSON when there are several). Unmapped data is listed on stderr.
#include <yaml-cpp/yaml.h>

#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "exit_codes.h"
#include "input.h"
#include "junction/fhir/convert.h"
#include "junction/hl7/message.h"
#include "output.h"

namespace junction::cli {
namespace {

struct ConvertCliOptions {
  std::vector<std::string> files;
  bool pretty = false;
  std::string bundle;  // empty: the config's, else transaction
  std::string config;
  std::string timezone;
  bool quiet = false;
};

// Reads the `fhir:` section of a YAML file (or the top level when there is none):
//   fhir:
//     default_timezone: Europe/Berlin
//     local_system_base: "urn:junction:id:"
//     identifier_systems:
//       HOSP: http://hospital.example/mrn
//       1.2.840.114350: urn:oid:1.2.840.114350
Status LoadConfig(const std::string& path, fhir::ConvertOptions* options) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return Status::Io(path + ": cannot read config file");
  } catch (const YAML::Exception& e) {
    return Status::Invalid(path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  YAML::Node section = root.IsMap() && root["fhir"] ? root["fhir"] : root;
  if (!section.IsMap()) return Status::Invalid(path + ": expected a mapping with fhir settings");
  try {
    if (auto tz = section["default_timezone"]) options->default_timezone = tz.as<std::string>();
    if (auto base = section["local_system_base"])
      options->local_system_base = base.as<std::string>();
    if (auto systems = section["identifier_systems"]) {
      if (!systems.IsMap()) {
        return Status::Invalid(path + ":" + std::to_string(systems.Mark().line + 1) +
                               ": identifier_systems must map authority -> system URI");
      }
      for (const auto& kv : systems)
        options->identifier_systems[kv.first.as<std::string>()] = kv.second.as<std::string>();
    }
    if (auto bundle = section["bundle"]) {
      auto type = fhir::ParseBundleType(bundle.as<std::string>());
      if (!type.ok()) return Status::Invalid(path + ": " + type.status().message());
      options->bundle = *type;
    }
  } catch (const YAML::Exception& e) {
    return Status::Invalid(path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  return Status::Ok();
}

int Run(const ConvertCliOptions& o) {
  fhir::ConvertOptions options;
  if (!o.config.empty()) {
    Status st = LoadConfig(o.config, &options);
    if (!st.ok()) {
      Complain(st.message());
      return st.code() == StatusCode::kIoError ? kExitIo : kExitUsage;
    }
  }
  if (!o.bundle.empty()) {
    auto type = fhir::ParseBundleType(o.bundle);
    if (!type.ok()) {
      Complain(type.status().message());
      return kExitUsage;
    }
    options.bundle = *type;
  }
  if (!o.timezone.empty()) options.default_timezone = o.timezone;

  std::string out;
  return ForEachMessage(o.files, [&](const ParsedPiece& m) {
    auto result = fhir::Convert(m.message, options);
    if (!result.ok()) {
      // A bad default_timezone fails every message: a configuration error.
      if (result.status().message().find("time zone") != std::string::npos) {
        Complain(result.status().message());
        return kExitUsage;
      }
      ComplainLine(Located(m.file, m.piece.offset, result.status()));
      return kExitData;
    }
    if (!o.quiet) {
      for (const fhir::Issue& issue : result->issues) {
        ComplainLine(m.file + ":" + std::to_string(m.piece.offset) + ": " + issue.severity + ": " +
                     issue.location + ": " + issue.message);
      }
    }
    out = fhir::Serialize(result->bundle, o.pretty);
    out.push_back('\n');
    return WriteOut(out) ? kExitOk : kExitIo;
  });
}

}  // namespace

void AddConvertCommand(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<ConvertCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "convert",
      "Convert each message to a FHIR R4 Bundle (one JSON per line). Data that is not mapped is "
      "listed on stderr and in an OperationOutcome entry of the Bundle.");
  cmd->add_option("FILE", o->files, "input files, or - for stdin")->required();
  cmd->add_flag("--pretty", o->pretty, "indent the JSON");
  cmd->add_option("--bundle", o->bundle, "Bundle type: transaction (default), batch or collection")
      ->check(CLI::IsMember({"transaction", "batch", "collection"}));
  cmd->add_option("--config", o->config,
                  "YAML file with fhir: default_timezone, local_system_base, identifier_systems");
  cmd->add_option("--timezone", o->timezone,
                  "zone for date/times without an offset (IANA name or +hh:mm); default UTC");
  cmd->add_flag("-q,--quiet", o->quiet, "do not list unmapped data on stderr");
  cmd->callback([o, exit_code] { *exit_code = Run(*o); });
}

}  // namespace junction::cli
