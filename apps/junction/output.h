// Writing results to stdout and problems to stderr, for every subcommand.
#pragma once

#include <string>
#include <string_view>

namespace junction::cli {

// Writes to stdout; false (after reporting on stderr) when the write fails,
// e.g. a full disk. The caller then exits with kExitIo.
bool WriteOut(std::string_view text);
// Flushes stdout; false (after reporting) when that fails.
bool FlushOut();

// One line on stderr: "junction: <text>".
void Complain(std::string_view text);
// One line on stderr as is (for "file:offset: reason" lines).
void ComplainLine(std::string_view line);

// Shows a decoded value on one line: \n \r \t and other control characters
// are written as C escapes (\n, \r, \t, \xNN). Backslashes stay as they are, so
// ER7 escapes (\T\) read naturally.
void AppendVisible(std::string_view text, std::string* out);

}  // namespace junction::cli
