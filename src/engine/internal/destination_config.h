// Parsing of destinations, file sources and `fhir:` (destination_config.cpp).
// Errors: `file:line: key: reason` with the full key path.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "engine/internal/config_parser.h"
#include "junction/engine/config.h"

namespace junction::engine::internal {

// One entry of `destinations:` at `key` (e.g. "channels[0].destinations[1]"):
// name, exactly one of mllp/http/file/channel/fhir-convert/fhir-store, filter,
// transform (via rules_config.h), retry, ordering. Channel names given to
// `channel:` destinations are checked later by the caller (all channels must
// be known).
Status ParseDestination(ConfigParser& parser, const YAML::Node& node, int line,
                        const std::string& key, const Tables& tables, DestinationConfig* out);

// `source.file:` of a channel.
Status ParseFileSource(ConfigParser& parser, const YAML::Node& node, int line,
                       const std::string& key, FileSourceConfig* out);

// The top-level `fhir:` section.
Status ParseFhirSettings(ConfigParser& parser, const YAML::Node& node, int line, FhirSettings* out);

// "5s", "250ms", "1m", "2h", "7d" (or a bare number of milliseconds) ->
// milliseconds, within [min, max]; errors name the key.
Result<std::chrono::milliseconds> ParseDuration(ConfigParser& parser, const YAML::Node& node,
                                                int line, const std::string& key,
                                                std::chrono::milliseconds min,
                                                std::chrono::milliseconds max);

// "5s" / "250ms" / "1m" / "2h" / "7d" / "1500" (ms) -> milliseconds; nullopt
// when the text is not of that form. No range check.
std::optional<std::chrono::milliseconds> DurationFromText(std::string_view text);

// The largest exact unit: 300000ms -> "5m", 1500ms -> "1500ms".
std::string FormatDuration(std::chrono::milliseconds d);

}  // namespace junction::engine::internal
