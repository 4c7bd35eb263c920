// junction messages list [filters] [--json]
// junction messages show ID [--raw|--tree|--json]
// junction messages reprocess ID... | [filters]
// junction messages resend ID --destination D
// Glue only: queries, actions and formatting live in junction::engine
// (messages.h). list and show open the store read-only; reprocess and resend
// open it read-write next to a running `junction serve`, whose channel
// workers and dispatchers pick the changes up from the store.
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "exit_codes.h"
#include "junction/engine/config.h"
#include "junction/engine/messages.h"
#include "output.h"
#include "tree.h"

namespace junction::cli {
namespace {

// An ID argument as a message id; says why on stderr when it is not one.
std::optional<store::MessageId> MessageIdArg(const std::string& text) {
  auto id = engine::ParseMessageId(text);
  if (!id.ok()) {
    Complain("ID: " + id.status().message());
    return std::nullopt;
  }
  return *id;
}

struct MessagesArgs {
  std::string config = "conf/junction.yaml";
  engine::ListFilters filters;
  bool json = false;
  std::string id;
  std::vector<std::string> ids;  // reprocess
  std::string destination;       // resend
  bool raw = false;
  bool tree = false;
};

// Loads the config; on failure reports and sets *rc.
std::unique_ptr<engine::Config> LoadConfig(const std::string& config_path, int* rc) {
  auto config = engine::LoadConfig(config_path);
  if (!config.ok()) {
    ComplainLine(config.status().message());
    *rc = kExitUsage;
    return nullptr;
  }
  return std::make_unique<engine::Config>(std::move(config).value());
}

// Opens the store the config names (read-only unless `write`); on failure
// reports and sets *rc.
std::unique_ptr<store::Store> OpenStore(const engine::Config& config, bool write, int* rc) {
  auto store = write ? engine::OpenStoreForChanges(config) : engine::OpenStoreForReading(config);
  if (!store.ok()) {
    Complain("store " + config.store.sqlite + ": " + store.status().message());
    *rc = kExitIo;
    return nullptr;
  }
  return std::move(store).value();
}

std::unique_ptr<store::Store> OpenStore(const std::string& config_path, int* rc) {
  auto config = LoadConfig(config_path, rc);
  return config ? OpenStore(*config, /*write=*/false, rc) : nullptr;
}

// Closes a store that was written to; a failed final commit is an I/O failure.
int CloseStore(store::Store& store, int rc) {
  Status closed = store.Close();
  if (closed.ok()) return rc;
  Complain("store: " + closed.message());
  return kExitIo;
}

// The exit code of a failed store operation on one message.
int ExitFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kNotFound:
    case StatusCode::kOutOfRange:
      return kExitData;
    case StatusCode::kInvalidArgument:
      return kExitUsage;
    default:
      return kExitIo;
  }
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
  auto id = MessageIdArg(a.id);
  if (!id) return kExitUsage;
  int rc = kExitOk;
  auto store = OpenStore(a.config, &rc);
  if (!store) return rc;
  auto record = store->Get(*id);
  if (!record.ok()) {
    Complain("message " + a.id + ": " + record.status().message());
    return record.status().code() == StatusCode::kNotFound ? kExitData : kExitIo;
  }
  if (a.raw) return WriteOut(record->raw) ? kExitOk : kExitIo;
  if (a.tree) {
    auto message = hl7::Message::Parse(record->raw);
    if (!message.ok()) {
      Complain("message " + a.id +
               ": the stored bytes do not parse: " + message.status().ToString());
      return kExitData;
    }
    std::string out;
    AppendTree(*message, &out);
    return WriteOut(out) ? kExitOk : kExitIo;
  }
  auto deliveries = store->ListDeliveries(*id);
  if (!deliveries.ok()) {
    // Still show the message itself; the exit code tells that part is missing.
    Complain("message " + a.id + ": deliveries: " + deliveries.status().message());
    rc = kExitIo;
  }
  const std::vector<store::DeliveryRecord> none;
  const auto& list = deliveries.ok() ? *deliveries : none;
  const std::string out =
      a.json ? engine::FormatShowJson(*record, list) : engine::FormatDetail(*record, list);
  return WriteOut(out) ? rc : kExitIo;
}

int RunReprocess(const MessagesArgs& a) {
  const bool selection = engine::HasSelection(a.filters);
  if (a.ids.empty() && !selection) {
    Complain(
        "reprocess: name the messages: IDs, or filters (--channel --type --patient --control-id "
        "--since --status)");
    return kExitUsage;
  }
  if (!a.ids.empty() && selection) {
    Complain("reprocess: give message IDs or filters, not both");
    return kExitUsage;
  }
  std::vector<store::MessageId> ids;
  for (const std::string& text : a.ids) {
    auto id = MessageIdArg(text);
    if (!id) return kExitUsage;
    ids.push_back(*id);
  }
  auto query = engine::MakeQuery(a.filters, engine::NowMicros());
  if (!query.ok()) {
    Complain(query.status().message());
    return kExitUsage;
  }
  int rc = kExitOk;
  auto config = LoadConfig(a.config, &rc);
  if (!config) return rc;
  auto store = OpenStore(*config, /*write=*/true, &rc);
  if (!store) return rc;
  if (selection) {
    auto selected = engine::SelectIds(*store, *query);
    if (!selected.ok()) {
      Complain("reprocess: " + selected.status().message());
      return CloseStore(*store, kExitIo);
    }
    ids = std::move(selected).value();
  }
  const std::vector<engine::ReprocessResult> results = engine::Reprocess(*store, std::move(ids));
  std::string out;
  for (const engine::ReprocessResult& r : results) {
    out += engine::FormatReprocessLine(r);
    if (!r.status.ok())
      rc = std::max(rc, r.status.code() == StatusCode::kNotFound ? kExitData : kExitIo);
  }
  out += engine::FormatReprocessSummary(results);
  if (!WriteOut(out)) rc = kExitIo;
  return CloseStore(*store, rc);
}

int RunResend(const MessagesArgs& a) {
  auto id = MessageIdArg(a.id);
  if (!id) return kExitUsage;
  int rc = kExitOk;
  auto config = LoadConfig(a.config, &rc);
  if (!config) return rc;
  auto store = OpenStore(*config, /*write=*/true, &rc);
  if (!store) return rc;
  auto delivery = engine::Resend(*config, *store, *id, a.destination);
  if (!delivery.ok()) {
    Complain("message " + a.id + ": " + delivery.status().message());
    return CloseStore(*store, ExitFor(delivery.status()));
  }
  if (!WriteOut("message " + a.id + ": resend to " + a.destination + " queued as delivery " +
                std::to_string(*delivery) + "\n")) {
    rc = kExitIo;
  }
  return CloseStore(*store, rc);
}

// The message filters of `list`, shared by `reprocess`.
void AddFilterOptions(CLI::App* cmd, engine::ListFilters* filters) {
  cmd->add_option("--channel", filters->channel, "only this channel");
  cmd->add_option("--type", filters->type, "message type: ADT, ADT^A01 or ADT^A01^ADT_A01");
  cmd->add_option("--patient", filters->patient_id, "patient id (PID-3.1)");
  cmd->add_option("--control-id", filters->control_id, "control id (MSH-10)");
  cmd->add_option("--since", filters->since,
                  "received at or after: 2024-05-01, 2024-05-01T10:00:00Z, or ago: 30s 15m 2h 7d");
  cmd->add_option("--status", filters->status,
                  "received, filtered, transformed, queued, sent, error or processed");
  cmd->add_option("--limit", filters->limit, "at most N messages, newest first (1-10000)")
      ->capture_default_str();
}

}  // namespace

void AddMessagesCommand(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<MessagesArgs>();
  CLI::App* cmd = app.add_subcommand(
      "messages",
      "Look at the stored messages; reprocess them or resend them to a destination (works while "
      "`junction serve` runs).");
  cmd->require_subcommand(1);
  cmd->footer(kExitCodesHelp);

  CLI::App* list = cmd->add_subcommand("list", "List stored messages, newest first.");
  list->add_option("--config", a->config, "the config file serve uses (for store.sqlite)")
      ->capture_default_str();
  AddFilterOptions(list, &a->filters);
  list->add_flag("--json", a->json,
                 "one JSON object per line (id, received_at, channel, control_id, type, "
                 "patient_id, status, error, ...)");
  list->footer(kExitCodesHelp);
  list->callback([a, exit_code] { *exit_code = RunList(*a); });

  CLI::App* show = cmd->add_subcommand(
      "show", "Show one stored message: metadata, content, transformed content, deliveries.");
  show->add_option("ID", a->id, "the message id (from `messages list`)")->required();
  show->add_option("--config", a->config, "the config file serve uses (for store.sqlite)")
      ->capture_default_str();
  auto* raw = show->add_flag("--raw", a->raw, "only the bytes exactly as received");
  auto* tree = show->add_flag("--tree", a->tree, "every field with its dictionary name");
  auto* json = show->add_flag("--json", a->json,
                              "one JSON object: raw and transformed bytes, deliveries included");
  raw->excludes(tree);
  raw->excludes(json);
  tree->excludes(json);
  show->footer(kExitCodesHelp);
  show->callback([a, exit_code] { *exit_code = RunShow(*a); });

  CLI::App* reprocess = cmd->add_subcommand(
      "reprocess",
      "Run the channel again on messages: they go back to state received (queued deliveries "
      "are superseded) and the running serve reprocesses them within about a second.");
  reprocess->add_option("ID", a->ids, "message ids (from `messages list`); or use filters");
  reprocess->add_option("--config", a->config, "the config file serve uses (for store.sqlite)")
      ->capture_default_str();
  AddFilterOptions(reprocess, &a->filters);
  reprocess->footer(kExitCodesHelp);
  reprocess->callback([a, exit_code] { *exit_code = RunReprocess(*a); });

  CLI::App* resend = cmd->add_subcommand(
      "resend",
      "Send a processed message again to one destination of its channel (a new delivery at the "
      "tail of that destination's queue).");
  resend->add_option("ID", a->id, "the message id (from `messages list`)")->required();
  resend->add_option("--destination", a->destination, "a destination of the message's channel")
      ->required();
  resend->add_option("--config", a->config, "the config file serve uses (channels, store.sqlite)")
      ->capture_default_str();
  resend->footer(kExitCodesHelp);
  resend->callback([a, exit_code] { *exit_code = RunResend(*a); });
}

}  // namespace junction::cli
