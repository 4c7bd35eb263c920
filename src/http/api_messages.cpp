// /api/messages: search with keyset paging, one message in detail (raw,
// parsed tree, transformed, deliveries, FHIR output), reprocess and resend.
#include <algorithm>

#include "http/internal/api.h"
#include "junction/engine/messages.h"
#include "junction/fhir/convert.h"
#include "junction/hl7/message.h"

namespace junction::http::internal {
namespace {

namespace json = boost::json;

constexpr std::size_t kDefaultPage = 50;
constexpr std::size_t kMaxPage = 500;
constexpr std::size_t kMaxBulk = 10'000;
constexpr store::MessageId kTextWindow = 200'000;  // ids one text search request scans at most

json::object Summary(const store::MessageRecord& m) {
  std::string type = m.message_type;
  if (!m.trigger_event.empty()) type += "^" + m.trigger_event;
  auto text = [](const std::string& s) {
    return s.empty() ? json::value(nullptr) : json::value(ValidUtf8(s));
  };
  return {{"id", m.id},
          {"received_at", Timestamp(m.received_at_us)},
          {"updated_at", Timestamp(m.updated_at_us)},
          {"channel", m.channel},
          {"type", ValidUtf8(type)},
          {"control_id", ValidUtf8(m.control_id)},
          {"patient_id", ValidUtf8(m.patient_id)},
          {"status", store::MessageStateName(m.state)},
          {"error", text(m.error)},
          {"size", m.size},
          {"version", ValidUtf8(m.version)},
          {"sending_application", ValidUtf8(m.sending_application)},
          {"sending_facility", ValidUtf8(m.sending_facility)},
          {"receiving_application", ValidUtf8(m.receiving_application)},
          {"receiving_facility", ValidUtf8(m.receiving_facility)},
          {"peer", m.peer}};
}

// Filters from the query string (GET) or a JSON object (bulk reprocess).
template <typename Get>
Result<store::MessageQuery> QueryFrom(Get get, std::size_t max_limit) {
  engine::ListFilters f;
  f.channel = get("channel");
  f.status = get("status");
  f.type = get("type");
  f.control_id = get("control_id");
  f.patient_id = get("patient_id");
  f.since = get("since");
  const std::string limit = get("limit");
  f.limit = kDefaultPage;
  if (!limit.empty()) {
    char* end = nullptr;
    const long n = std::strtol(limit.c_str(), &end, 10);
    if (*end != '\0' || n < 1 || static_cast<std::size_t>(n) > max_limit) {
      return Status::Invalid("limit: 1 to " + std::to_string(max_limit));
    }
    f.limit = static_cast<std::size_t>(n);
  }
  const std::int64_t now = engine::NowMicros();
  auto query = engine::MakeQuery(f, now);
  if (!query.ok()) return query.status();
  const std::string until = get("until");
  if (!until.empty()) {
    auto u = engine::ParseSince(until, now);
    if (!u.ok()) return Status::Invalid("until: " + u.status().message());
    query->until_us = *u;
  }
  const std::string cursor = get("cursor");
  if (!cursor.empty()) {
    auto id = engine::ParseMessageId(cursor);
    if (!id.ok()) return Status::Invalid("cursor: not one this API gave out");
    query->before_id = *id;
  }
  query->text = get("q");
  return query;
}

Response List(AppContext& app, const ApiCall& call) {
  auto query = QueryFrom([&](std::string_view k) { return call.Query(k); }, kMaxPage);
  if (!query.ok()) return ApiError(400, query.status().message());
  const std::size_t page = query->limit;
  query->limit = page + 1;  // one more tells whether there is a next page
  // Text search reads the rows themselves: one request scans at most
  // kTextWindow ids below the cursor, so it stays fast on any store size; a
  // page that ends at the window's edge still carries a cursor to go on.
  store::MessageId window_floor = 0;
  if (!query->text.empty()) {
    store::MessageId top = query->before_id;
    if (top == 0) {
      store::MessageQuery newest;
      newest.limit = 1;
      auto last = app.engine->store()->List(newest);
      if (!last.ok()) return ApiError(500, last.status().message());
      top = last->empty() ? 1 : last->front().id + 1;
    }
    window_floor = top > kTextWindow ? top - kTextWindow : 0;
    query->after_id = std::max(query->after_id, window_floor);
  }
  auto rows = app.engine->store()->List(*query);
  if (!rows.ok()) return ApiError(400, rows.status().message());
  json::array messages;
  for (std::size_t i = 0; i < rows->size() && i < page; ++i) {
    messages.push_back(Summary((*rows)[i]));
  }
  json::object body{{"messages", std::move(messages)}};
  if (rows->size() > page) {
    body["next_cursor"] = std::to_string((*rows)[page - 1].id);
  } else if (window_floor > 0) {
    body["next_cursor"] = std::to_string(window_floor + 1);  // older messages not searched yet
    body["searched_down_to"] = window_floor + 1;
  }
  return ApiJson(200, body);
}

json::object DeliveryJson(const store::DeliveryRecord& d) {
  auto text = [](const std::string& s) {
    return s.empty() ? json::value(nullptr) : json::value(ValidUtf8(s));
  };
  return {
      {"id", d.id},
      {"destination", d.destination},
      {"status", store::DeliveryStateName(d.state)},
      {"attempts", d.attempts},
      {"created_at", Timestamp(d.created_at_us)},
      {"updated_at", Timestamp(d.updated_at_us)},
      {"next_attempt_at", d.state == store::DeliveryState::kQueued ? Timestamp(d.next_attempt_at_us)
                                                                   : json::value(nullptr)},
      {"error", text(d.error)},
      {"response", text(d.response)}};
}

// The message as FHIR (what a fhir-store or fhir-convert destination makes of it).
void AddFhir(AppContext& app, std::string_view raw, json::object* out) {
  (*out)["fhir"] = nullptr;
  json::array issues;
  auto message = hl7::Message::Parse(raw);
  if (!message.ok()) {
    issues.emplace_back("the message does not parse: " + message.status().message());
    (*out)["fhir_issues"] = std::move(issues);
    return;
  }
  const std::shared_ptr<const engine::Config> config = app.engine->config_snapshot();
  const engine::FhirSettings& s = config->fhir;
  fhir::ConvertOptions options;
  options.default_timezone = s.default_timezone;
  options.local_system_base = s.local_system_base;
  options.identifier_systems = s.identifier_systems;
  auto converted = fhir::Convert(*message, options);
  if (!converted.ok()) {
    issues.emplace_back(converted.status().message());
  } else {
    (*out)["fhir"] = json::value(converted->bundle, json::storage_ptr());  // off the bundle's arena
    for (const auto& i : converted->issues)
      issues.emplace_back(ValidUtf8(i.location + ": " + i.message));
  }
  (*out)["fhir_issues"] = std::move(issues);
}

Response Detail(AppContext& app, store::MessageId id) {
  auto m = app.engine->store()->Get(id);
  if (!m.ok()) {
    return ApiError(m.status().code() == StatusCode::kNotFound ? 404 : 500, m.status().message());
  }
  json::object body;
  body["message"] = Summary(*m);
  body["raw"] = ValidUtf8(m->raw);
  body["transformed"] =
      m->has_transformed ? json::value(ValidUtf8(m->transformed)) : json::value(nullptr);
  body["tree"] = MessageTree(m->raw);
  json::array deliveries;
  auto rows = app.engine->store()->ListDeliveries(id);
  if (rows.ok()) {
    for (const auto& d : *rows) deliveries.push_back(DeliveryJson(d));
  }
  body["deliveries"] = std::move(deliveries);
  AddFhir(app, m->has_transformed ? m->transformed : m->raw, &body);
  return ApiJson(200, body);
}

Response ReprocessIds(AppContext& app, std::vector<store::MessageId> ids) {
  json::array done, failed;
  for (const engine::ReprocessResult& r : engine::Reprocess(*app.engine->store(), std::move(ids))) {
    if (r.status.ok()) {
      done.emplace_back(r.id);
    } else {
      failed.push_back(json::object{{"id", r.id}, {"error", r.status.message()}});
    }
  }
  return ApiJson(200,
                 json::object{{"reprocessed", std::move(done)}, {"failed", std::move(failed)}});
}

Response BulkReprocess(AppContext& app, const ApiCall& call) {
  std::error_code ec;
  json::value body = json::parse(call.request->body, ec);
  if (ec || !body.is_object()) return ApiError(400, "the body must be a JSON object of filters");
  const json::object& filters = body.as_object();
  auto get = [&](std::string_view k) -> std::string {
    const json::value* v = filters.if_contains(k);
    if (v == nullptr) return "";
    if (v->is_string()) return std::string(v->as_string());
    if (v->is_int64()) return std::to_string(v->as_int64());
    return "";
  };
  auto query = QueryFrom(get, kMaxBulk);
  if (!query.ok()) return ApiError(400, query.status().message());
  engine::ListFilters selection;
  selection.channel = get("channel");
  selection.status = get("status");
  selection.type = get("type");
  selection.control_id = get("control_id");
  selection.patient_id = get("patient_id");
  selection.since = get("since");
  if (!engine::HasSelection(selection) && query->text.empty() && query->until_us == 0) {
    return ApiError(400, "give at least one filter: reprocessing everything is refused");
  }
  auto ids = engine::SelectIds(*app.engine->store(), *query);
  if (!ids.ok()) return ApiError(400, ids.status().message());
  return ReprocessIds(app, std::move(ids).value());
}

}  // namespace

Response ApiMessages(AppContext& app, const ApiCall& call) {
  const std::vector<std::string>& seg = call.segments;
  const std::string& method = call.request->method;
  if (seg.size() == 1) {
    if (method != "GET") return ApiError(405, "use GET");
    return List(app, call);
  }
  if (seg.size() == 2 && seg[1] == "reprocess") {
    if (method != "POST") return ApiError(405, "use POST");
    return BulkReprocess(app, call);
  }
  auto id = engine::ParseMessageId(seg[1]);
  if (!id.ok()) return ApiError(404, "no message " + seg[1]);
  if (seg.size() == 2) {
    if (method != "GET") return ApiError(405, "use GET");
    return Detail(app, *id);
  }
  if (seg.size() != 3) return ApiError(404, "no such API route");
  if (method != "POST") return ApiError(405, "use POST");
  if (seg[2] == "reprocess") return ReprocessIds(app, {*id});
  if (seg[2] == "resend") {
    std::error_code ec;
    json::value body = json::parse(call.request->body, ec);
    const json::value* dest =
        !ec && body.is_object() ? body.as_object().if_contains("destination") : nullptr;
    if (dest == nullptr || !dest->is_string())
      return ApiError(400, "the body must be {\"destination\": NAME}");
    auto delivery = engine::Resend(*app.engine->config_snapshot(), *app.engine->store(), *id,
                                   std::string(dest->as_string()));
    if (!delivery.ok()) {
      const StatusCode c = delivery.status().code();
      return ApiError(c == StatusCode::kNotFound     ? 404
                      : c == StatusCode::kOutOfRange ? 409
                                                     : 400,
                      delivery.status().message());
    }
    auto rows = app.engine->store()->ListDeliveries(*id);
    if (rows.ok()) {
      for (const auto& d : *rows) {
        if (d.id == *delivery) return ApiJson(200, json::object{{"delivery", DeliveryJson(d)}});
      }
    }
    return ApiJson(200, json::object{{"delivery", {{"id", *delivery}}}});
  }
  return ApiError(404, "actions: reprocess, resend");
}

}  // namespace junction::http::internal
