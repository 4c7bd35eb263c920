// File-name templates of file destinations (destination_names.cpp):
// checked at config time, expanded per message by ExpandFileName
// (junction/engine/destination.h).
//
//   "{MSH-10}.hl7", "{channel}-{date}-{id}.json", "adt_{PID-3.1}_{time}.hl7"
//
// Placeholders: {id}, {channel}, {destination}, {date} (YYYYMMDD, UTC),
// {time} (HHMMSS, UTC) and any HL7 path ({MSH-10}, {PID-3[2].1}). The text
// around them must not contain '/', '\\', NUL, '{' or '}'.
#pragma once

#include <string_view>

#include "junction/hl7/status.h"

namespace junction::engine::internal {

// Longest value a placeholder contributes (longer values are cut).
inline constexpr std::size_t kMaxPlaceholderBytes = 100;
// Longest expanded file name (NAME_MAX on Linux file systems).
inline constexpr std::size_t kMaxFileNameBytes = 255;

// kInvalidArgument naming the problem (unclosed '{', unknown placeholder, '/').
Status CheckFileNameTemplate(std::string_view name_template);

}  // namespace junction::engine::internal
