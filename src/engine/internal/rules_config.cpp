// Parsing of tables, filters and transforms (skeleton; being implemented).
#include "engine/internal/rules_config.h"

namespace junction::engine::internal {

Status ParseTables(ConfigParser& parser, const YAML::Node& node, int line, Tables*) {
  return parser.Error(node, line, "tables", "not implemented yet");
}
Status ParseFilter(ConfigParser& parser, const YAML::Node& node, int line, const std::string& key,
                   const Tables&, PipelineSpec*) {
  return parser.Error(node, line, key, "not implemented yet");
}
Status ParseTransform(ConfigParser& parser, const YAML::Node& node, int line,
                      const std::string& key, const Tables&, PipelineSpec*) {
  return parser.Error(node, line, key, "not implemented yet");
}

}  // namespace junction::engine::internal
