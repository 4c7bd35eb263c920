// LuaSandbox: one Lua 5.4 state holding the compiled scripts of one Pipeline,
// with the message API of docs/rules.md and the sandbox and limits around it.
//
//   auto sandbox = LuaSandbox::Create(limits, tables);
//   auto chunk = (*sandbox)->Compile(source, "transform[4]");   // once
//   (*sandbox)->BeginMessage(&message, context);                // per message
//   LuaOutcome r = (*sandbox)->Run(*chunk, /*read_only=*/false);
//   (*sandbox)->EndMessage();
//
// The sandbox: each script runs in its own environment holding only the safe
// base functions and the string, table, math, utf8 and coroutine libraries
// (no io, os, require, package, debug, dofile, loadfile, collectgarbage,
// string.dump; `load` reads text only, into the script's environment). Every
// message has an instruction budget (a count hook) and the state a memory
// budget (its allocator); either running out gives an error, after which the
// state is collected and ready for the next message.
//
// Ownership and thread safety: owns its lua_State; used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "junction/engine/rules.h"
#include "junction/hl7/message.h"

struct lua_State;

namespace junction::engine::internal {

struct LuaOutcome {
  enum class Kind { kOk, kFiltered, kError };
  Kind kind = Kind::kOk;
  bool truthy = false;  // the script's first return value (filter predicates)
  std::string reason;   // kFiltered: "filter()" or "filter(): why"; kError: "line 3: ..."
};

// A syntax error of a script: its 1-based line (0 when unknown) and the reason.
struct LuaSyntaxError {
  int line = 0;
  std::string reason;
};

// Checks the syntax of a script without running it (config time).
std::optional<LuaSyntaxError> CheckLuaSyntax(std::string_view source);

class LuaSandbox {
 public:
  static Result<std::unique_ptr<LuaSandbox>> Create(LuaLimits limits,
                                                    std::shared_ptr<const Tables> tables);
  ~LuaSandbox();
  LuaSandbox(const LuaSandbox&) = delete;
  LuaSandbox& operator=(const LuaSandbox&) = delete;

  // Compiles `source` in its own environment; `name` (e.g. "transform[4]")
  // is used by log(). Returns a handle for Run.
  Result<int> Compile(std::string_view source, const std::string& name);

  // The message scripts see until EndMessage, and a fresh instruction budget.
  void BeginMessage(hl7::Message* message, const MessageContext& context);
  void EndMessage();

  // Runs a compiled chunk on the current message. read_only: msg changes are
  // refused (filter predicates).
  LuaOutcome Run(int chunk, bool read_only);

  std::size_t memory_used() const;

  // Internal state reachable from the C functions of the API.
  struct Impl;

 private:
  LuaSandbox() = default;
  std::unique_ptr<Impl> impl_;
};

}  // namespace junction::engine::internal
