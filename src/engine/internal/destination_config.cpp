// Parsing of destinations, file sources and fhir settings (skeleton; being implemented).
#include "engine/internal/destination_config.h"

namespace junction::engine::internal {

Status ParseDestination(ConfigParser& parser, const YAML::Node& node, int line,
                        const std::string& key, const Tables&, DestinationConfig*) {
  return parser.Error(node, line, key, "not implemented yet");
}
Status ParseFileSource(ConfigParser& parser, const YAML::Node& node, int line,
                       const std::string& key, FileSourceConfig*) {
  return parser.Error(node, line, key, "not implemented yet");
}
Status ParseFhirSettings(ConfigParser& parser, const YAML::Node& node, int line, FhirSettings*) {
  return parser.Error(node, line, "fhir", "not implemented yet");
}
Result<std::chrono::milliseconds> ParseDuration(ConfigParser& parser, const YAML::Node& node,
                                                int line, const std::string& key,
                                                std::chrono::milliseconds,
                                                std::chrono::milliseconds) {
  return parser.Error(node, line, key, "not implemented yet");
}

}  // namespace junction::engine::internal
