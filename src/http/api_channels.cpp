// /api/channels: list with live counts, one channel with its settings
// (never secrets: no header values, no key paths), and run-state changes.
#include <chrono>

#include "http/internal/api.h"
#include "http/internal/app_state.h"

namespace junction::http::internal {
namespace {

namespace json = boost::json;

// The address a listener is bound to (the config may say port 0).
std::string BoundAddress(const AppContext& app, const engine::ChannelConfig& c) {
  for (const engine::ListenerInfo& l : app.engine->listeners()) {
    if (l.channel == c.name) return engine::HostPort(l.host, l.port);
  }
  return engine::HostPort(c.mllp.host, c.mllp.port);
}

json::object Source(const AppContext& app, const engine::ChannelConfig& c) {
  switch (c.source) {
    case engine::SourceKind::kMllp:
      return {{"kind", "mllp"},
              {"address", BoundAddress(app, c)},
              {"ack", engine::AckPolicyName(c.mllp.ack)},
              {"tls", c.mllp.tls.has_value()}};
    case engine::SourceKind::kFile:
      return {{"kind", "file"}, {"dir", c.file.dir}, {"pattern", c.file.pattern}};
    case engine::SourceKind::kHttp:
      return {{"kind", "http"}, {"path", c.http.path}, {"ack", engine::AckPolicyName(c.http.ack)}};
    case engine::SourceKind::kNone:
      break;
  }
  return {{"kind", "none"}};
}

json::object DestinationSettings(const engine::DestinationConfig& d) {
  json::object o{{"name", d.name},
                 {"kind", d.fhir_convert ? "fhir-convert" : engine::DestinationKindName(d.kind)},
                 {"ordering", d.ordering == engine::Ordering::kStrict ? "strict" : "best-effort"},
                 {"retry",
                  {{"max_attempts", d.retry.max_attempts},
                   {"initial_backoff_ms", d.retry.initial_backoff.count()},
                   {"max_backoff_ms", d.retry.max_backoff.count()}}},
                 {"has_rules", !d.pipeline.empty()}};
  switch (d.kind) {
    case engine::DestinationKind::kMllp:
      o["target"] = engine::HostPort(d.mllp.host, d.mllp.port);
      o["tls"] = d.mllp.tls.has_value();
      break;
    case engine::DestinationKind::kHttp: {
      o["target"] = std::string(d.http.https ? "https://" : "http://") +
                    engine::HostPort(d.http.host, d.http.port) + d.http.target;
      json::array names;  // header values may be credentials: names only
      for (const auto& [name, value] : d.http.headers) names.emplace_back(name);
      o["headers"] = std::move(names);
      break;
    }
    case engine::DestinationKind::kFile:
      o["target"] = d.file.dir;
      o["file_name"] = d.file.name;
      break;
    case engine::DestinationKind::kChannel:
      o["target"] = d.channel.channel;
      break;
    case engine::DestinationKind::kFhirStore:
      o["target"] = "FHIR store";
      break;
  }
  return o;
}

const store::ChannelCounts* CountsOf(const store::StatusReport& r, const std::string& channel) {
  for (const auto& c : r.channels) {
    if (c.channel == channel) return &c;
  }
  return nullptr;
}

const store::DestinationCounts* CountsOf(const store::StatusReport& r, const std::string& channel,
                                         const std::string& destination) {
  for (const auto& d : r.destinations) {
    if (d.channel == channel && d.destination == destination) return &d;
  }
  return nullptr;
}

json::object ChannelJson(AppContext& app, const engine::ChannelConfig& c,
                         const store::StatusReport& report,
                         const std::vector<engine::ChannelStats>& live, bool with_settings) {
  json::object o;
  o["name"] = c.name;
  auto state = app.engine->channel_state(c.name);
  o["state"] = engine::RunStateName(state.ok() ? *state : engine::RunState::kRunning);
  o["source"] = Source(app, c);
  const store::ChannelCounts* counts = CountsOf(report, c.name);
  store::ChannelCounts zero;
  if (counts == nullptr) counts = &zero;
  o["counts"] = {{"received", counts->received},
                 {"filtered", counts->filtered},
                 {"processed", counts->processed + counts->queued + counts->sent},
                 {"sent", counts->sent},
                 {"errored", counts->errored},
                 {"waiting", counts->waiting}};
  const engine::ChannelStats* stats = nullptr;
  for (const auto& s : live) {
    if (s.name == c.name) stats = &s;
  }
  json::array dests;
  for (const engine::DestinationConfig& d : c.destinations) {
    json::object dj;
    dj["name"] = d.name;
    dj["kind"] = d.fhir_convert ? "fhir-convert" : std::string(engine::DestinationKindName(d.kind));
    const engine::DestinationStats* ds = nullptr;
    if (stats != nullptr) {
      for (const auto& s : stats->destinations) {
        if (s.name == d.name) ds = &s;
      }
    }
    dj["state"] = ds != nullptr && ds->paused ? "paused" : "running";
    const store::DestinationCounts* dc = CountsOf(report, c.name, d.name);
    store::DestinationCounts dzero;
    if (dc == nullptr) dc = &dzero;
    dj["counts"] = {{"queued", dc->queued},
                    {"sent", dc->sent},
                    {"errored", dc->errored},
                    {"filtered", dc->filtered}};
    dj["blocked"] = ds != nullptr && ds->blocked;
    dj["oldest_queued_at"] = Timestamp(dc->oldest_queued_at_us);
    const std::string last_error =
        ds != nullptr && !ds->last_error.empty() ? ds->last_error : dc->head_error;
    dj["last_error"] =
        last_error.empty() ? json::value(nullptr) : json::value(ValidUtf8(last_error));
    if (with_settings) dj["settings"] = DestinationSettings(d);
    dests.push_back(std::move(dj));
  }
  o["destinations"] = std::move(dests);
  if (with_settings) {
    o["config"] = {{"source", Source(app, c)},
                   {"has_rules", !c.pipeline.empty()},
                   {"line", c.line},
                   {"retention",
                    {{"max_age_s", c.retention.max_age.count()},
                     {"error_max_age_s", c.retention.error_max_age.count()}}}};
  }
  return o;
}

}  // namespace

Response ApiChannels(AppContext& app, const ApiCall& call) {
  const std::shared_ptr<const engine::Config> snapshot = app.engine->config_snapshot();
  const engine::Config& config = *snapshot;
  auto report = app.reports->Get();
  if (!report.ok()) return ApiError(503, "store: " + report.status().message());
  const auto live = app.engine->channel_stats();
  const std::vector<std::string>& seg = call.segments;
  const std::string& method = call.request->method;
  if (seg.size() == 1) {
    if (method != "GET") return ApiError(405, "use GET");
    json::array channels;
    for (const engine::ChannelConfig& c : config.channels) {
      channels.push_back(ChannelJson(app, c, *report, live, false));
    }
    return ApiJson(200, json::object{{"channels", std::move(channels)}});
  }
  const engine::ChannelConfig* channel = nullptr;
  for (const engine::ChannelConfig& c : config.channels) {
    if (c.name == seg[1]) channel = &c;
  }
  if (channel == nullptr) return ApiError(404, "no channel " + seg[1]);
  if (seg.size() == 2) {
    if (method != "GET") return ApiError(405, "use GET");
    return ApiJson(200, ChannelJson(app, *channel, *report, live, true));
  }
  if (method != "POST") return ApiError(405, "use POST");
  Status changed;
  if (seg.size() == 3) {
    const std::string& action = seg[2];
    if (action == "start") {
      changed = app.engine->SetChannelState(channel->name, engine::RunState::kRunning);
    } else if (action == "pause") {
      changed = app.engine->SetChannelState(channel->name, engine::RunState::kPaused);
    } else if (action == "stop") {
      changed = app.engine->SetChannelState(channel->name, engine::RunState::kStopped);
    } else {
      return ApiError(404, "actions: start, pause, stop");
    }
  } else if (seg.size() == 5 && seg[2] == "destinations" &&
             (seg[4] == "start" || seg[4] == "pause")) {
    changed = app.engine->SetDestinationPaused(channel->name, seg[3], seg[4] == "pause");
  } else {
    return ApiError(404, "no such API route");
  }
  if (!changed.ok()) {
    return ApiError(changed.code() == StatusCode::kNotFound ? 404 : 400, changed.message());
  }
  return ApiJson(200, ChannelJson(app, *channel, *report, app.engine->channel_stats(), false));
}

}  // namespace junction::http::internal
