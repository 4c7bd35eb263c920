// Helpers for the rules tests: build a Pipeline from a YAML snippet with the
// real config parsers (ParseTables, ParseFilter, ParseTransform), and a sample
// lab result message.
#pragma once

#include <yaml-cpp/yaml.h>

#include <memory>
#include <string>

#include "engine/internal/config_parser.h"
#include "engine/internal/rules_config.h"
#include "junction/engine/rules.h"
#include "junction/hl7/message.h"

namespace junction::engine::testing {

// Parses `tables:`, `filter:` and `transform:` of the snippet as a channel's
// (keys channels[0].filter / channels[0].transform). Errors are returned as
// the config would report them, with file "test.yaml".
inline Result<PipelineSpec> ParseSpec(const std::string& yaml,
                                      std::shared_ptr<Tables>* tables_out) {
  auto tables = std::make_shared<Tables>();
  PipelineSpec spec;
  internal::ConfigParser parser("test.yaml");
  try {
    YAML::Node root = YAML::Load(yaml);
    if (root["tables"]) {
      JUNCTION_RETURN_IF_ERROR(internal::ParseTables(parser, root["tables"], 1, tables.get()));
    }
    if (root["filter"]) {
      JUNCTION_RETURN_IF_ERROR(
          internal::ParseFilter(parser, root["filter"], 1, "channels[0].filter", *tables, &spec));
    }
    if (root["transform"]) {
      JUNCTION_RETURN_IF_ERROR(internal::ParseTransform(parser, root["transform"], 1,
                                                        "channels[0].transform", *tables, &spec));
    }
  } catch (const YAML::Exception& e) {
    return Status::Invalid(std::string("yaml: ") + e.what());
  }
  if (tables_out != nullptr) *tables_out = tables;
  return spec;
}

inline Result<std::unique_ptr<Pipeline>> Build(const std::string& yaml, LuaLimits limits = {}) {
  std::shared_ptr<Tables> tables;
  auto spec = ParseSpec(yaml, &tables);
  if (!spec.ok()) return spec.status();
  return Pipeline::Compile(*spec, tables, limits);
}

inline constexpr const char* kLabResult =
    "MSH|^~\\&|LAB|HOSP|EHR|HOSP|20240115083000+0100||ORU^R01^ORU_R01|MSG00001|P|2.5.1\r"
    "PID|1||12345^^^HOSP^MR~A777^^^OTHER^PI||DOE^JANE^Q||19800214|F|||1 MAIN ST^^TOWN\r"
    "OBR|1|ORD1|FIL1|GLU^Glucose^L|||20240115070000\r"
    "OBX|1|NM|GLU^Glucose^^^^||105|mg/dL|70-99|H|||F\r"
    "OBX|2|NM|NA^Sodium^LN||140|mmol/L|135-145|N|||P\r"
    "NTE|1||fasting\r";

inline hl7::Message LabResult() { return std::move(hl7::Message::Parse(kLabResult)).value(); }

// The message, one segment per line (for readable expectations).
inline std::string Lines(const hl7::Message& m) {
  std::string out;
  for (std::size_t i = 0; i < m.SegmentCount(); ++i) {
    out.append(m.SegmentText(i));
    out.push_back('\n');
  }
  return out;
}

}  // namespace junction::engine::testing
