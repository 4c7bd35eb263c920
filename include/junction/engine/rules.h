// Channel rules: filters and transformers (declarative steps and sandboxed
// Lua 5.4), compiled once and run on each message.
//
//   // Config time (config.cpp): the YAML `filter:` / `transform:` of a channel
//   // or destination becomes a PipelineSpec (checked, Lua syntax included).
//   // Run time, once per channel worker:
//   auto pipeline = Pipeline::Compile(channel.pipeline, config.tables);
//   hl7::Message message = ...;                       // parsed, mutable
//   MessageContext context{.message_id = 42, .channel = "lab"};
//   StageResult r = (*pipeline)->Run(&message, context);
//   switch (r.kind) {
//     case StageResult::Kind::kPass:     ... message now holds the transformed result
//     case StageResult::Kind::kFiltered: ... r.reason names the rule that dropped it
//     case StageResult::Kind::kError:    ... r.reason, e.g. "transform[4] (lua): line 3: attempt to
//     index a nil value"
//   }
//
// A Pipeline runs its filter first, then its transform steps in order. An
// empty spec passes every message unchanged. docs/rules.md documents every
// rule, step and the Lua API with its sandbox and limits.
//
// Ownership and thread safety: PipelineSpec and Tables are immutable values,
// shared across threads. A Pipeline (it owns Lua states) is used by one thread
// at a time; compile one per worker.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "junction/hl7/message.h"
#include "junction/hl7/status.h"

namespace junction::engine {

// A lookup table of `tables:`: key -> value, with an optional default ("*").
struct LookupTable {
  std::map<std::string, std::string> entries;
  std::optional<std::string> fallback;
};
using Tables = std::map<std::string, LookupTable>;

// The parsed form of a `filter:` plus `transform:`. Its content is private to
// the rules implementation (src/engine/rules*); the config parser builds it
// with ParseFilter and ParseTransform (src/engine/internal/rules_config.h).
struct PipelineSpecData;
struct PipelineSpec {
  std::shared_ptr<const PipelineSpecData> data;  // null = no filter, no transform
  bool empty() const { return data == nullptr; }
};

// What rules and scripts may see about the message.
struct MessageContext {
  std::int64_t message_id = 0;
  std::string channel;
  std::string destination;  // "" at channel level
  std::string peer;
  std::int64_t received_at_us = 0;
};

struct StageResult {
  enum class Kind { kPass, kFiltered, kError };
  Kind kind = Kind::kPass;
  // kFiltered: the rule that dropped the message, with its config key,
  // e.g. "filter.all[1]: PID-3.1 matches ^[0-9]+$" or "transform[2] (lua): filter()".
  // kError: what failed, with the Lua line number for scripts.
  std::string reason;
};

// Per-message limits of Lua scripts.
struct LuaLimits {
  std::uint64_t max_instructions = 10'000'000;  // VM instructions per script run
  std::size_t max_memory_bytes = 64u << 20;     // heap per Lua state
};

class Pipeline {
 public:
  // Builds the runtime form (compiles Lua chunks into their own sandboxed
  // states). Fails only on what config parsing could not check.
  static Result<std::unique_ptr<Pipeline>> Compile(const PipelineSpec& spec,
                                                   std::shared_ptr<const Tables> tables,
                                                   LuaLimits limits = {});
  virtual ~Pipeline() = default;

  // Runs filter and transform on `message` in place. Never throws; a script
  // that errors, loops or exhausts memory gives kError and the Pipeline stays
  // usable for the next message.
  virtual StageResult Run(hl7::Message* message, const MessageContext& context) = 0;

  // True when the spec has no filter and no transform (Run is a no-op pass).
  virtual bool empty() const = 0;
};

}  // namespace junction::engine
