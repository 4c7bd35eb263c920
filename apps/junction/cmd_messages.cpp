// junction messages list [filters] [--json]
// junction messages show ID [--raw|--tree]
// Glue only: queries and formatting live in junction::engine (messages.h); the
// store is opened read-only, so this works while `junction serve` runs.
#include <charconv>
#include <memory>
#include <string>

#include "commands.h"
#include "exit_codes.h"
#include "junction/engine/config.h"
#include "junction/engine/messages.h"
#include "output.h"
#include "tree.h"

namespace junction::cli {
namespace {

struct MessagesArgs {
  std::string config = "conf/junction.yaml";
  engine::ListFilters filters;
  bool json = false;
  std::string id;
  bool raw = false;
  bool tree = false;
};

// Opens the store the config names; on failure reports and sets *rc.
std::unique_ptr<store::Store> OpenStore(const std::string& config_path, int* rc) {
  auto config = engine::LoadConfig(config_path);
  if (!config.ok()) {
    ComplainLine(config.status().message());
    *rc = kExitUsage;
    return nullptr;
  }
  auto store = engine::OpenStoreForReading(*config);
  if (!store.ok()) {
    Complain("store " + config->store.sqlite + ": " + store.status().message());
    *rc = kExitIo;
    return nullptr;
  }
  return std::move(store).value();
}

int RunList(const MessagesArgs& a) {
  auto query = engine::MakeQuery(a.filters, engine::NowMicros());
  if (!query.ok()) {
    Complain(query.status().message());
    return kExitUsage;
  }
  int rc = kExitOk;
  auto store = OpenStore(a.config, &rc);
  if (!store) return rc;
  auto rows = store->List(*query);
  if (!rows.ok()) {
    Complain("list: " + rows.status().message());
    return kExitIo;
  }
  std::string out;
  if (!a.json) out = engine::FormatListHeader();
  for (const store::MessageRecord& r : *rows) {
    out += a.json ? engine::FormatJsonLine(r) : engine::FormatListRow(r);
  }
  return WriteOut(out) ? kExitOk : kExitIo;
}

int RunShow(const MessagesArgs& a) {
  store::MessageId id = 0;
  auto [ptr, ec] = std::from_chars(a.id.data(), a.id.data() + a.id.size(), id);
  if (a.id.empty() || ec != std::errc() || ptr != a.id.data() + a.id.size() || id <= 0) {
    Complain("ID must be a positive message id");
    return kExitUsage;
  }
  int rc = kExitOk;
  auto store = OpenStore(a.config, &rc);
  if (!store) return rc;
  auto record = store->Get(id);
  if (!record.ok()) {
    Complain("message " + a.id + ": " + record.status().message());
    return record.status().code() == StatusCode::kNotFound ? kExitData : kExitIo;
  }
  if (a.raw) return WriteOut(record->raw) ? kExitOk : kExitIo;
  if (a.tree) {
    auto message = hl7::Message::Parse(record->raw);
    if (!message.ok()) {
      Complain("message " + a.id + ": the stored bytes do not parse: " + message.status().ToString());
      return kExitData;
    }
    std::string out;
    AppendTree(*message, &out);
    return WriteOut(out) ? kExitOk : kExitIo;
  }
  if (a.json) return WriteOut(engine::FormatJsonLine(*record, /*include_raw=*/true)) ? kExitOk : kExitIo;
  return WriteOut(engine::FormatDetail(*record)) ? kExitOk : kExitIo;
}

}  // namespace

void AddMessagesCommand(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<MessagesArgs>();
  CLI::App* cmd = app.add_subcommand(
      "messages", "Look at the stored messages (read-only; works while `junction serve` runs).");
  cmd->require_subcommand(1);
  cmd->footer(kExitCodesHelp);

  CLI::App* list = cmd->add_subcommand("list", "List stored messages, newest first.");
  list->add_option("--config", a->config, "the config file serve uses (for store.sqlite)")
      ->capture_default_str();
  list->add_option("--channel", a->filters.channel, "only this channel");
  list->add_option("--type", a->filters.type, "message type: ADT, ADT^A01 or ADT^A01^ADT_A01");
  list->add_option("--patient", a->filters.patient_id, "patient id (PID-3.1)");
  list->add_option("--control-id", a->filters.control_id, "control id (MSH-10)");
  list->add_option("--since", a->filters.since,
                   "received at or after: 2024-05-01, 2024-05-01T10:00:00Z, or ago: 30s 15m 2h 7d");
  list->add_option("--status", a->filters.status,
                   "received, filtered, transformed, queued, sent, error or processed");
  list->add_option("--limit", a->filters.limit, "at most N rows (1-10000)")->capture_default_str();
  list->add_flag("--json", a->json,
                 "one JSON object per line (id, received_at, channel, control_id, type, "
                 "patient_id, status, error, ...)");
  list->footer(kExitCodesHelp);
  list->callback([a, exit_code] { *exit_code = RunList(*a); });

  CLI::App* show = cmd->add_subcommand("show", "Show one stored message: metadata and content.");
  show->add_option("ID", a->id, "the message id (from `messages list`)")->required();
  show->add_option("--config", a->config, "the config file serve uses (for store.sqlite)")
      ->capture_default_str();
  auto* raw = show->add_flag("--raw", a->raw, "only the bytes exactly as received");
  auto* tree = show->add_flag("--tree", a->tree, "every field with its dictionary name");
  auto* json = show->add_flag("--json", a->json, "one JSON object, raw bytes included");
  raw->excludes(tree);
  raw->excludes(json);
  tree->excludes(json);
  show->footer(kExitCodesHelp);
  show->callback([a, exit_code] { *exit_code = RunShow(*a); });
}

}  // namespace junction::cli
