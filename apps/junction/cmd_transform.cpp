// junction transform --config F --channel NAME [--destination D] FILE...
// Runs the channel's filter and transform (and then one destination's) on each
// message and prints the result, one segment per line. A filtered message
// prints `filtered: <reason>` on stderr, a failing one `error: <reason>`.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "exit_codes.h"
#include "input.h"
#include "junction/engine/config.h"
#include "junction/engine/rules.h"
#include "junction/hl7/message.h"
#include "output.h"

namespace junction::cli {
namespace {

struct TransformOptions {
  std::string config;
  std::string channel;
  std::string destination;
  std::vector<std::string> files;
};

struct Stage {
  std::unique_ptr<engine::Pipeline> pipeline;
  std::string destination;
};

// Script log() lines go to stderr, so stdout holds only messages.
void LogToStderr() {
  auto logger = std::make_shared<spdlog::logger>("transform",
                                                 std::make_shared<spdlog::sinks::stderr_sink_st>());
  logger->set_pattern("log: %v");
  spdlog::set_default_logger(std::move(logger));
}

int Run(const TransformOptions& o) {
  LogToStderr();
  auto config = engine::LoadConfig(o.config);
  if (!config.ok()) {
    ComplainLine(config.status().message());
    return config.status().code() == StatusCode::kIoError ? kExitIo : kExitUsage;
  }
  const engine::ChannelConfig* channel = nullptr;
  for (const engine::ChannelConfig& c : config->channels) {
    if (c.name == o.channel) channel = &c;
  }
  if (channel == nullptr) {
    Complain("no channel '" + o.channel + "' in " + o.config);
    return kExitUsage;
  }
  std::vector<Stage> stages;
  auto add = [&](const engine::PipelineSpec& spec, const std::string& destination) {
    auto pipeline = engine::Pipeline::Compile(spec, config->tables);
    if (!pipeline.ok()) {
      Complain(pipeline.status().message());
      return false;
    }
    stages.push_back({std::move(pipeline).value(), destination});
    return true;
  };
  if (!add(channel->pipeline, "")) return kExitUsage;
  if (!o.destination.empty()) {
    const engine::DestinationConfig* destination = nullptr;
    for (const engine::DestinationConfig& d : channel->destinations) {
      if (d.name == o.destination) destination = &d;
    }
    if (destination == nullptr) {
      Complain("no destination '" + o.destination + "' in channel '" + o.channel + "'");
      return kExitUsage;
    }
    if (!add(destination->pipeline, destination->name)) return kExitUsage;
  }

  std::int64_t id = 0;
  const bool several_files = o.files.size() > 1;
  const int rc = ForEachMessage(o.files, [&](const ParsedPiece& m) {
    // With several messages, stderr lines say which one they are about.
    const std::string where = several_files || m.pieces_in_file > 1
                                  ? m.file + ":" + std::to_string(m.piece.offset) + ": "
                                  : std::string();
    engine::MessageContext context;
    context.message_id = ++id;
    context.channel = channel->name;
    context.peer = m.file;
    context.received_at_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
    engine::StageResult result;
    for (Stage& stage : stages) {
      context.destination = stage.destination;
      result = stage.pipeline->Run(&m.message, context);
      if (result.kind != engine::StageResult::Kind::kPass) break;
    }
    if (result.kind == engine::StageResult::Kind::kFiltered) {
      ComplainLine(where + "filtered: " + result.reason);
      return kExitOk;
    }
    if (result.kind == engine::StageResult::Kind::kError) {
      ComplainLine(where + "error: " + result.reason);
      return kExitData;
    }
    std::string out;
    for (std::size_t i = 0; i < m.message.SegmentCount(); ++i) {
      out.append(m.message.SegmentText(i));
      out.push_back('\n');
    }
    return WriteOut(out) ? kExitOk : kExitIo;
  });
  if (!FlushOut()) return kExitIo;
  return rc;
}

}  // namespace

void AddTransformCommand(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<TransformOptions>();
  CLI::App* cmd = app.add_subcommand(
      "transform",
      "Run a channel's filter and transform (docs/rules.md) on each message and print the "
      "result, one segment per line. A filtered message prints 'filtered: <reason>' on stderr "
      "(exit 0), a failing one 'error: <reason>' (exit 1).");
  cmd->add_option("--config", o->config, "the engine config (YAML)")->required();
  cmd->add_option("--channel", o->channel, "the channel whose pipeline runs")->required();
  cmd->add_option("--destination", o->destination,
                  "then also run this destination's filter and transform");
  cmd->add_option("FILE", o->files, "input files, or - for stdin")->required();
  cmd->footer(kExitCodesHelp);
  cmd->callback([o, exit_code] { *exit_code = Run(*o); });
}

}  // namespace junction::cli
