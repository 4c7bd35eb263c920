// Exit codes shared by every junction subcommand (the contract in docs/cli.md).
#pragma once

namespace junction::cli {

inline constexpr int kExitOk = 0;     // success
inline constexpr int kExitData = 1;   // the data is bad: invalid message, negative ACK
inline constexpr int kExitUsage = 2;  // usage or configuration error
inline constexpr int kExitIo = 3;     // I/O failure (file missing, unreadable, write error)

// The text shown at the end of every --help.
inline constexpr const char* kExitCodesHelp =
    "Exit codes: 0 ok; 1 bad data (invalid message, negative ACK); 2 usage or configuration "
    "error; 3 I/O failure.";

}  // namespace junction::cli
