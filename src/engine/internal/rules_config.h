// Parsing of `tables:`, `filter:` and `transform:` (rules_config.cpp). The
// grammar is in docs/rules.md. Errors: `file:line: key: reason`, where key is
// the full path, e.g. `channels[0].transform[3].map.table`.
#pragma once

#include <string>

#include "engine/internal/config_parser.h"
#include "junction/engine/rules.h"

namespace junction::engine::internal {

// `tables:` — name -> { key: value, "*": default } inline, or { csv: path }
// (two columns: key,value; a "*" key is the default).
Status ParseTables(ConfigParser& parser, const YAML::Node& node, int line, Tables* out);

// `filter:` of a channel or destination, at config key `key` (e.g.
// "channels[0].filter"); adds it to *spec. Lua predicates are compiled
// (syntax-checked) here.
Status ParseFilter(ConfigParser& parser, const YAML::Node& node, int line, const std::string& key,
                   const Tables& tables, PipelineSpec* spec);

// `transform:` (a list of steps); adds the steps to *spec. Table names in map
// steps must exist in `tables`; Lua chunks are syntax-checked here.
Status ParseTransform(ConfigParser& parser, const YAML::Node& node, int line,
                      const std::string& key, const Tables& tables, PipelineSpec* spec);

}  // namespace junction::engine::internal
