// /api/status, /api/stats/rate, /api/config/validate and /api/config/reload.
#include <filesystem>

#include "http/internal/api.h"
#include "http/internal/app_state.h"
#include "junction/engine/messages.h"

namespace junction::http::internal {
namespace {

namespace json = boost::json;

constexpr std::size_t kRecentErrors = 20;

std::int64_t FileBytes(const std::string& path) {
  std::error_code ec;
  std::int64_t total = 0;
  for (const char* suffix : {"", "-wal"}) {
    const auto n = std::filesystem::file_size(path + suffix, ec);
    if (!ec) total += static_cast<std::int64_t>(n);
  }
  return total;
}

Response Status(AppContext& app) {
  auto report = app.reports->Get();
  if (!report.ok()) return ApiError(503, "store: " + report.status().message());
  const auto snapshot = app.engine->config_snapshot();
  std::map<std::pair<std::string, std::string>, const engine::DestinationStats*> live;
  const auto stats = app.engine->channel_stats();
  for (const auto& c : stats) {
    for (const auto& d : c.destinations) live[{c.name, d.name}] = &d;
  }
  json::array queues;
  for (const store::DestinationCounts& d : report->destinations) {
    auto it = live.find({d.channel, d.destination});
    const bool blocked = it != live.end() && it->second->blocked;
    std::string error =
        it != live.end() && !it->second->last_error.empty() ? it->second->last_error : d.head_error;
    queues.push_back(json::object{
        {"channel", d.channel},
        {"destination", d.destination},
        {"queued", d.queued},
        {"oldest_queued_at", Timestamp(d.oldest_queued_at_us)},
        {"blocked", blocked},
        {"paused", it != live.end() && it->second->paused},
        {"last_error", error.empty() ? json::value(nullptr) : json::value(ValidUtf8(error))}});
  }
  store::MessageQuery errors;
  errors.state = store::MessageState::kError;
  errors.limit = kRecentErrors;
  json::array recent;
  auto rows = app.engine->store()->List(errors);
  if (rows.ok()) {
    for (const store::MessageRecord& m : *rows) {
      recent.push_back(json::object{{"id", m.id},
                                    {"channel", m.channel},
                                    {"at", Timestamp(m.updated_at_us)},
                                    {"error", ValidUtf8(m.error)}});
    }
  }
  std::uint64_t messages = 0;
  for (const auto& c : report->channels) messages += c.received;
  const engine::Engine::PruneInfo prune = app.engine->last_prune();
  const std::string fhir_path = engine::FhirStorePath(snapshot->store, snapshot->fhir_store);
  return ApiJson(
      200,
      json::object{
          {"uptime_s", app.engine->uptime_seconds()},
          {"queues", std::move(queues)},
          {"recent_errors", std::move(recent)},
          {"store",
           {{"path", snapshot->store.sqlite},
            {"bytes", app.engine->store()->SizeBytes()},
            {"messages", messages}}},
          {"fhir_store", {{"path", fhir_path}, {"bytes", FileBytes(fhir_path)}}},
          {"retention",
           {{"last_run_at", Timestamp(prune.last_run_us)}, {"last_deleted", prune.last_deleted}}},
      });
}

Response Rate(AppContext& app) {
  const RateSeries s = app.rates->Series();
  auto array = [](const std::vector<std::uint64_t>& v) {
    json::array a;
    for (std::uint64_t x : v) a.emplace_back(x);
    return a;
  };
  return ApiJson(200, json::object{{"bucket_s", s.bucket_seconds},
                                   {"start", Timestamp(s.start_us)},
                                   {"received", array(s.received)},
                                   {"sent", array(s.sent)},
                                   {"errored", array(s.errored)}});
}

Response Config(AppContext& app, const ApiCall& call) {
  if (call.role != Role::kAdmin) return ApiError(403, "configuration changes need the admin scope");
  if (call.request->method != "POST") return ApiError(405, "use POST");
  const auto snapshot = app.engine->config_snapshot();
  if (call.segments[1] == "validate") {
    auto parsed = engine::ParseConfig(call.request->body, snapshot->file);
    if (!parsed.ok())
      return ApiJson(200, json::object{{"ok", false}, {"error", parsed.status().message()}});
    return ApiJson(200, json::object{{"ok", true}});
  }
  // reload: the file the engine was started with, as `junction reload` does.
  auto next = engine::LoadConfig(snapshot->file);
  if (!next.ok())
    return ApiJson(200, json::object{{"ok", false}, {"error", next.status().message()}});
  junction::Status applied = app.engine->Reload(*next);
  if (!applied.ok()) return ApiJson(200, json::object{{"ok", false}, {"error", applied.message()}});
  return ApiJson(200, json::object{{"ok", true}});
}

}  // namespace

Response ApiStatus(AppContext& app, const ApiCall& call) {
  const std::vector<std::string>& seg = call.segments;
  if (seg[0] == "config") {
    if (seg.size() != 2 || (seg[1] != "validate" && seg[1] != "reload")) {
      return ApiError(404, "config actions: validate, reload");
    }
    return Config(app, call);
  }
  if (call.request->method != "GET") return ApiError(405, "use GET");
  if (seg[0] == "status" && seg.size() == 1) return Status(app);
  if (seg[0] == "stats" && seg.size() == 2 && seg[1] == "rate") return Rate(app);
  return ApiError(404, "no such API route");
}

}  // namespace junction::http::internal
