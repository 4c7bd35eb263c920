// GET /metrics (Prometheus text format 0.0.4) and GET /readyz. Labels carry
// channel, destination, route and status names only, never message content.
#include <cstdio>
#include <string>

#include "http/internal/app_routes.h"
#include "http/internal/app_state.h"
#include "http/internal/server_state.h"
#include "junction/engine/messages.h"

namespace junction::http::internal {
namespace {

// Label values: backslash, quote and newline escaped (text format rules).
std::string Label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

class Writer {
 public:
  void Help(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP " + std::string(name) + " " + std::string(help) + "\n";
    out_ += "# TYPE " + std::string(name) + " " + std::string(type) + "\n";
  }
  void Sample(std::string_view name, std::string_view labels, double value) {
    out_ += name;
    if (!labels.empty()) out_ += "{" + std::string(labels) + "}";
    char buf[64];
    std::snprintf(buf, sizeof(buf), " %.17g\n", value);
    out_ += buf;
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string ChannelLabel(std::string_view channel) { return "channel=\"" + Label(channel) + "\""; }
std::string DestLabel(std::string_view channel, std::string_view destination) {
  return ChannelLabel(channel) + ",destination=\"" + Label(destination) + "\"";
}

void ChannelMetrics(const AppContext& app, Writer* w) {
  auto report = app.reports->Get();
  if (!report.ok()) return;
  const std::int64_t now = engine::NowMicros();
  struct Counter {
    const char* name;
    const char* help;
    std::uint64_t store::ChannelCounts::*field;
  };
  const Counter channel_counters[] = {
      {"junction_messages_received", "Messages in the store per channel (retention lowers it).",
       &store::ChannelCounts::received},
      {"junction_messages_filtered", "Stored messages dropped by the channel filter.",
       &store::ChannelCounts::filtered},
      {"junction_messages_errored", "Stored messages in state error.",
       &store::ChannelCounts::errored},
      {"junction_messages_sent", "Stored messages delivered to every destination.",
       &store::ChannelCounts::sent},
  };
  // Gauges: counts of the stored rows, which retention prunes (the ingest
  // counter below only grows).
  for (const Counter& c : channel_counters) {
    w->Help(c.name, "gauge", c.help);
    for (const store::ChannelCounts& ch : report->channels) {
      w->Sample(c.name, ChannelLabel(ch.channel), static_cast<double>(ch.*c.field));
    }
  }
  w->Help("junction_messages_waiting", "gauge", "Messages stored and not yet processed.");
  for (const store::ChannelCounts& ch : report->channels) {
    w->Sample("junction_messages_waiting", ChannelLabel(ch.channel),
              static_cast<double>(ch.waiting));
  }
  struct DestCounter {
    const char* name;
    const char* type;
    const char* help;
    std::uint64_t store::DestinationCounts::*field;
  };
  const DestCounter dest_counters[] = {
      {"junction_deliveries_sent", "gauge", "Stored deliveries sent.",
       &store::DestinationCounts::sent},
      {"junction_deliveries_errored", "gauge", "Stored deliveries in error.",
       &store::DestinationCounts::errored},
      {"junction_deliveries_filtered", "gauge",
       "Stored deliveries dropped by the destination filter.", &store::DestinationCounts::filtered},
      {"junction_queue_depth", "gauge", "Deliveries queued.", &store::DestinationCounts::queued},
  };
  for (const DestCounter& c : dest_counters) {
    w->Help(c.name, c.type, c.help);
    for (const store::DestinationCounts& d : report->destinations) {
      w->Sample(c.name, DestLabel(d.channel, d.destination), static_cast<double>(d.*c.field));
    }
  }
  w->Help("junction_queue_oldest_age_seconds", "gauge",
          "Age of the oldest queued delivery (0 when empty).");
  for (const store::DestinationCounts& d : report->destinations) {
    const double age =
        d.oldest_queued_at_us > 0 ? static_cast<double>(now - d.oldest_queued_at_us) / 1e6 : 0;
    w->Sample("junction_queue_oldest_age_seconds", DestLabel(d.channel, d.destination), age);
  }
  w->Help("junction_queue_blocked", "gauge", "1 when a strict queue waits behind a failing head.");
  for (const engine::ChannelStats& c : app.engine->channel_stats()) {
    for (const engine::DestinationStats& d : c.destinations) {
      w->Sample("junction_queue_blocked", DestLabel(c.name, d.name), d.blocked ? 1 : 0);
    }
  }
}

void IngestMetrics(const AppContext& app, Writer* w) {
  const engine::IngestStats s = app.engine->ingest_stats();
  w->Help("junction_ack_latency_seconds", "histogram",
          "Time from a complete message to its ACK or NAK.");
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < engine::kAckLatencyBucketCount; ++i) {
    cumulative += s.ack_latency_buckets[i];
    char le[32];
    if (i < std::size(engine::kAckLatencyBounds)) {
      std::snprintf(le, sizeof(le), "%g", engine::kAckLatencyBounds[i]);
    } else {
      std::snprintf(le, sizeof(le), "+Inf");
    }
    w->Sample("junction_ack_latency_seconds_bucket", "le=\"" + std::string(le) + "\"",
              static_cast<double>(cumulative));
  }
  w->Sample("junction_ack_latency_seconds_sum", "", s.ack_latency_sum_s);
  w->Sample("junction_ack_latency_seconds_count", "", static_cast<double>(s.ack_latency_count));
  w->Help("junction_ingest_messages_total", "counter",
          "Messages received by every source since start.");
  w->Sample("junction_ingest_messages_total", "", static_cast<double>(s.messages));
  w->Help("junction_ingest_rejected_total", "counter",
          "Messages refused (not stored): store busy, oversize, channel stopped.");
  w->Sample("junction_ingest_rejected_total", "", static_cast<double>(s.rejected));
}

void StoreMetrics(const AppContext& app, Writer* w) {
  store::Store* store = app.engine->store();
  w->Help("junction_store_bytes", "gauge", "Size of the message store's files.");
  w->Sample("junction_store_bytes", "store=\"messages\"", static_cast<double>(store->SizeBytes()));
  const store::StoreStats s = store->Stats();
  w->Help("junction_store_batch_size", "histogram", "Operations per group commit.");
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < s.batch_size_buckets.size(); ++i) {
    cumulative += s.batch_size_buckets[i];
    const std::string le = i < std::size(store::kBatchSizeBounds)
                               ? std::to_string(store::kBatchSizeBounds[i])
                               : "+Inf";
    w->Sample("junction_store_batch_size_bucket", "le=\"" + le + "\"",
              static_cast<double>(cumulative));
  }
  w->Sample("junction_store_batch_size_sum", "", static_cast<double>(s.batch_ops));
  w->Sample("junction_store_batch_size_count", "", static_cast<double>(s.commits));
}

void ConnectionMetrics(const AppContext& app, Writer* w) {
  const ServerStats http = app.server->stats();
  w->Help("junction_http_requests_total", "counter", "HTTP responses by route and status.");
  for (const auto& [route, stats] : http.routes) {
    for (const auto& [status, n] : stats.by_status) {
      w->Sample("junction_http_requests_total",
                "route=\"" + Label(route.empty() ? "none" : route) + "\",status=\"" +
                    std::to_string(status) + "\"",
                static_cast<double>(n));
    }
  }
  w->Help("junction_open_connections", "gauge", "Open connections by protocol.");
  w->Sample("junction_open_connections", "protocol=\"mllp\"",
            static_cast<double>(app.engine->mllp_stats().connections_open));
  w->Sample("junction_open_connections", "protocol=\"http\"",
            static_cast<double>(http.open_connections));
}

}  // namespace

Handler MetricsRoute(std::shared_ptr<AppContext> app) {
  return [app](Request request, Responder respond) {
    if (request.method != "GET") {
      respond(ErrorResponse(request.path, 405, "use GET"));
      return;
    }
    Writer w;
    ChannelMetrics(*app, &w);
    IngestMetrics(*app, &w);
    StoreMetrics(*app, &w);
    ConnectionMetrics(*app, &w);
    respond(Response::Text(200, w.Take(), "text/plain; version=0.0.4; charset=utf-8"));
  };
}

Handler ReadyRoute(std::shared_ptr<AppContext> app) {
  return [app](Request, Responder respond) {
    // Writable: a flush goes through the writer and commits.
    Status writable = app->engine->store()->Flush();
    std::string problem;
    if (!writable.ok()) problem = "store not writable: " + writable.message();
    const std::shared_ptr<const engine::Config> config = app->engine->config_snapshot();
    std::size_t mllp = 0;
    for (const engine::ChannelConfig& c : config->channels)
      mllp += c.source == engine::SourceKind::kMllp;
    if (problem.empty() && app->engine->listeners().size() != mllp)
      problem = "not every MLLP listener is bound";
    if (!problem.empty()) {
      respond(Response::Json(503,
                             "{\"status\":\"unavailable\",\"reason\":\"" + Label(problem) + "\"}"));
      return;
    }
    respond(Response::Json(200, R"({"status":"ready"})"));
  };
}

}  // namespace junction::http::internal
