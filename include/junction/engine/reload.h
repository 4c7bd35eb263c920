// `junction reload`: asking the running `junction serve` to reload its config.
//
//   auto config = LoadConfig(path);                  // check the new config first
//   auto pid = RequestReload(config->server.pid_file, "junction");
//   if (pid.ok()) std::cout << "reload requested (pid " << *pid << ")\n";
//
// The serving process writes its id to config.server.pid_file and reloads on
// SIGHUP. Before signalling, RequestReload makes sure the pid names a live
// process and, where /proc tells, that the process is the expected program:
// a stale pid file whose number was reused must not get a SIGHUP (which
// would end most other programs).
//
// Thread safety: reentrant functions.
#pragma once

#include <string>
#include <string_view>

#include "junction/hl7/status.h"

namespace junction::engine {

// The process id in `path` (decimal, surrounding whitespace allowed).
// kIoError when the file cannot be read, kInvalidArgument when it holds no
// usable id (ids 0 and 1 and negative ones are refused: kill(2) would treat
// them as process groups or init).
Result<int> ReadPidFile(const std::string& path);

// Reads the pid file, checks the process (kNotFound when it does not exist,
// kIoError when it may not be signalled, kInvalidArgument when its name does
// not start with `expected_name`; "" skips the name check) and sends SIGHUP.
// Returns the pid signalled.
Result<int> RequestReload(const std::string& pid_file, std::string_view expected_name);

}  // namespace junction::engine
