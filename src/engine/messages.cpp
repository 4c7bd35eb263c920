#include "junction/engine/messages.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>

namespace junction::engine {
namespace {

// Reads exactly `digits` decimal digits at s[*pos].
bool Digits(std::string_view s, std::size_t* pos, int digits, int* out) {
  if (*pos + static_cast<std::size_t>(digits) > s.size()) return false;
  int v = 0;
  for (int i = 0; i < digits; ++i) {
    const char c = s[*pos + static_cast<std::size_t>(i)];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += static_cast<std::size_t>(digits);
  *out = v;
  return true;
}

bool Expect(std::string_view s, std::size_t* pos, char c) {
  if (*pos < s.size() && s[*pos] == c) {
    ++*pos;
    return true;
  }
  return false;
}

// ISO 8601: YYYY-MM-DD[(T| )HH:MM[:SS[.fff]]][Z|+HH:MM|-HH:MM]; UTC unless an offset is given.
std::optional<std::int64_t> ParseIso(std::string_view s) {
  std::size_t p = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  std::int64_t micros = 0;
  if (!Digits(s, &p, 4, &year) || !Expect(s, &p, '-') || !Digits(s, &p, 2, &month) ||
      !Expect(s, &p, '-') || !Digits(s, &p, 2, &day)) {
    return std::nullopt;
  }
  if (p < s.size() && (s[p] == 'T' || s[p] == 't' || s[p] == ' ')) {
    ++p;
    if (!Digits(s, &p, 2, &hour) || !Expect(s, &p, ':') || !Digits(s, &p, 2, &minute)) {
      return std::nullopt;
    }
    if (Expect(s, &p, ':')) {
      if (!Digits(s, &p, 2, &second)) return std::nullopt;
      if (Expect(s, &p, '.') || Expect(s, &p, ',')) {
        std::int64_t scale = 100'000;
        std::size_t n = 0;
        while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
          if (scale > 0) micros += (s[p] - '0') * scale;
          scale /= 10;
          ++p;
          ++n;
        }
        if (n == 0) return std::nullopt;
      }
    }
  }
  std::int64_t offset_s = 0;
  if (p < s.size() && (s[p] == 'Z' || s[p] == 'z')) {
    ++p;
  } else if (p < s.size() && (s[p] == '+' || s[p] == '-')) {
    const int sign = s[p] == '-' ? -1 : 1;
    ++p;
    int oh = 0, om = 0;
    if (!Digits(s, &p, 2, &oh)) return std::nullopt;
    Expect(s, &p, ':');
    if (!Digits(s, &p, 2, &om)) return std::nullopt;
    offset_s = sign * (oh * 3600 + om * 60);
  }
  if (p != s.size()) return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const std::time_t t = timegm(&tm);
  return (static_cast<std::int64_t>(t) - offset_s) * 1'000'000 + micros;
}

void AppendField(std::string* out, std::string_view value, std::size_t width) {
  std::string v = value.empty() ? std::string("-") : std::string(value);
  for (char& c : v) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '?';
  }
  out->append(v);
  if (v.size() < width) out->append(width - v.size(), ' ');
  out->push_back(' ');
}

std::string TypeOf(const store::MessageRecord& r) {
  std::string type = r.message_type;
  if (!r.trigger_event.empty()) type += "^" + r.trigger_event;
  return type;
}

// Length of the valid UTF-8 sequence at s[i], or 0.
std::size_t Utf8Length(std::string_view s, std::size_t i) {
  const auto b = static_cast<unsigned char>(s[i]);
  std::size_t n = 0;
  std::uint32_t cp = 0;
  if (b < 0x80) return 1;
  if (b >= 0xC2 && b <= 0xDF) {
    n = 2;
    cp = b & 0x1F;
  } else if (b >= 0xE0 && b <= 0xEF) {
    n = 3;
    cp = b & 0x0F;
  } else if (b >= 0xF0 && b <= 0xF4) {
    n = 4;
    cp = b & 0x07;
  } else
    return 0;
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    const auto c = static_cast<unsigned char>(s[i + k]);
    if ((c & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (c & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
      (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return n;
}

}  // namespace

std::int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string FormatTimestamp(std::int64_t micros) {
  std::int64_t secs = micros / 1'000'000;
  std::int64_t rem = micros % 1'000'000;
  if (rem < 0) {
    rem += 1'000'000;
    --secs;
  }
  const std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(rem / 1000));
  return buf;
}

Result<std::int64_t> ParseSince(std::string_view text, std::int64_t now_us) {
  if (text.empty()) return Status::Invalid("--since: empty");
  // A duration ago: digits and a unit.
  const char unit = text.back();
  if (text.size() >= 2 && (unit == 's' || unit == 'm' || unit == 'h' || unit == 'd')) {
    std::int64_t n = 0;
    const std::string_view digits = text.substr(0, text.size() - 1);
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec == std::errc() && ptr == digits.data() + digits.size() && n >= 0 &&
        n <= 100LL * 365 * 86400) {
      const std::int64_t seconds = unit == 's'   ? n
                                   : unit == 'm' ? n * 60
                                   : unit == 'h' ? n * 3600
                                                 : n * 86400;
      return now_us - seconds * 1'000'000;
    }
  }
  if (auto t = ParseIso(text)) return *t;
  return Status::Invalid("--since: '" + std::string(text) +
                         "' is not a time (2024-05-01, 2024-05-01T10:00:00Z) or a duration "
                         "(30s, 15m, 2h, 7d)");
}

Result<store::MessageQuery> MakeQuery(const ListFilters& f, std::int64_t now_us) {
  store::MessageQuery q;
  q.channel = f.channel;
  q.type = f.type;
  q.patient_id = f.patient_id;
  q.control_id = f.control_id;
  if (!f.since.empty()) {
    auto since = ParseSince(f.since, now_us);
    if (!since.ok()) return since.status();
    q.since_us = *since;
  }
  if (!f.status.empty()) {
    q.state = store::ParseMessageState(f.status);
    if (!q.state) {
      return Status::Invalid("--status: '" + f.status +
                             "' must be one of received, filtered, transformed, queued, sent, "
                             "error, processed");
    }
  }
  if (f.limit == 0 || f.limit > store::kMaxQueryLimit) {
    return Status::Invalid("--limit: must be from 1 to " + std::to_string(store::kMaxQueryLimit));
  }
  q.limit = f.limit;
  return q;
}

Result<std::unique_ptr<store::Store>> OpenStoreForReading(const Config& config) {
  store::StoreOptions options;
  options.sqlite_path = config.store.sqlite;
  options.read_only = true;
  return store::Store::Open(options);
}

void AppendJsonString(std::string_view text, std::string* out) {
  out->push_back('"');
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const std::size_t n = Utf8Length(text, i);
      if (n == 0) {
        out->append("\xEF\xBF\xBD");  // U+FFFD
        ++i;
      } else {
        out->append(text.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out->append(buf);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out->push_back('"');
}

std::string FormatListHeader() {
  std::string out;
  AppendField(&out, "ID", 8);
  AppendField(&out, "RECEIVED", 24);
  AppendField(&out, "CHANNEL", 12);
  AppendField(&out, "TYPE", 9);
  AppendField(&out, "CONTROL_ID", 20);
  AppendField(&out, "PATIENT_ID", 14);
  AppendField(&out, "STATUS", 9);
  out.append("SIZE\n");
  return out;
}

std::string FormatListRow(const store::MessageRecord& r) {
  std::string out;
  AppendField(&out, std::to_string(r.id), 8);
  AppendField(&out, FormatTimestamp(r.received_at_us), 24);
  AppendField(&out, r.channel, 12);
  AppendField(&out, TypeOf(r), 9);
  AppendField(&out, r.control_id, 20);
  AppendField(&out, r.patient_id, 14);
  AppendField(&out, store::MessageStateName(r.state), 9);
  out.append(std::to_string(r.size));
  out.push_back('\n');
  return out;
}

namespace {

// The metadata members of a message's JSON object, from "{" on (left open).
void AppendRecordJson(const store::MessageRecord& r, std::string* out_ptr) {
  std::string& out = *out_ptr;
  out += "{\"id\":" + std::to_string(r.id);
  auto str = [&out](const char* key, std::string_view value) {
    out.append(",\"");
    out.append(key);
    out.append("\":");
    AppendJsonString(value, &out);
  };
  str("received_at", FormatTimestamp(r.received_at_us));
  out.append(",\"received_at_us\":" + std::to_string(r.received_at_us));
  str("updated_at", FormatTimestamp(r.updated_at_us));
  str("channel", r.channel);
  str("peer", r.peer);
  str("control_id", r.control_id);
  str("type", TypeOf(r));
  str("message_type", r.message_type);
  str("trigger_event", r.trigger_event);
  str("message_structure", r.message_structure);
  str("version", r.version);
  str("sending_application", r.sending_application);
  str("sending_facility", r.sending_facility);
  str("receiving_application", r.receiving_application);
  str("receiving_facility", r.receiving_facility);
  str("patient_id", r.patient_id);
  out.append(",\"size\":" + std::to_string(r.size));
  str("status", store::MessageStateName(r.state));
  str("error", r.error);
}

}  // namespace

std::string FormatJsonLine(const store::MessageRecord& r, bool include_raw) {
  std::string out;
  AppendRecordJson(r, &out);
  if (include_raw) {
    out.append(",\"raw\":");
    AppendJsonString(r.raw, &out);
  }
  out.append("}\n");
  return out;
}

std::string RawAsLines(std::string_view raw) {
  std::string out;
  out.reserve(raw.size() + 1);
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c == '\r') {
      out.push_back('\n');
      if (i + 1 < raw.size() && raw[i + 1] == '\n') ++i;
    } else {
      out.push_back(c);
    }
  }
  if (!out.empty() && out.back() != '\n') out.push_back('\n');
  return out;
}

std::string FormatDetail(const store::MessageRecord& r) {
  std::string out;
  auto line = [&out](const char* key, std::string_view value) {
    out.append(key);
    out.append(": ");
    out.append(value.empty() ? std::string_view("-") : value);
    out.push_back('\n');
  };
  line("id", std::to_string(r.id));
  line("received_at", FormatTimestamp(r.received_at_us));
  line("updated_at", FormatTimestamp(r.updated_at_us));
  line("channel", r.channel);
  line("peer", r.peer);
  line("control_id", r.control_id);
  line("type", TypeOf(r));
  line("structure", r.message_structure);
  line("version", r.version);
  line("sending",
       r.sending_application + (r.sending_facility.empty() ? "" : " / " + r.sending_facility));
  line("receiving", r.receiving_application +
                        (r.receiving_facility.empty() ? "" : " / " + r.receiving_facility));
  line("patient_id", r.patient_id);
  line("size", std::to_string(r.size));
  line("status", store::MessageStateName(r.state));
  if (!r.error.empty()) line("error", r.error);
  out.push_back('\n');
  out.append(RawAsLines(r.raw));
  return out;
}

namespace {

std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' || text[i] == '\n') {
      lines.push_back(text.substr(start, i - start));
      if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      start = i + 1;
    }
  }
  if (start < text.size()) lines.push_back(text.substr(start));
  return lines;
}

void AppendIndented(std::string_view text, std::string_view indent, std::string* out) {
  for (std::string_view line : SplitLines(text)) {
    out->append(indent);
    out->append(line);
    out->push_back('\n');
  }
}

void AppendDelivery(const store::DeliveryRecord& d, std::string* out) {
  out->append("delivery " + std::to_string(d.id) + ": " + d.destination + "\n");
  auto line = [out](const char* key, std::string_view value) {
    out->append("  ");
    out->append(key);
    out->append(": ");
    out->append(value.empty() ? std::string_view("-") : value);
    out->push_back('\n');
  };
  line("state", store::DeliveryStateName(d.state));
  line("attempts", std::to_string(d.attempts));
  line("created_at", FormatTimestamp(d.created_at_us));
  line("updated_at", FormatTimestamp(d.updated_at_us));
  if (d.state == store::DeliveryState::kQueued && d.next_attempt_at_us > 0) {
    line("next_attempt_at", FormatTimestamp(d.next_attempt_at_us));
  }
  if (!d.error.empty()) line("error", d.error);
  if (d.has_payload) line("payload", "own (" + std::to_string(d.payload.size()) + " bytes)");
  if (d.response.empty()) {
    line("response", "");
  } else {
    out->append("  response:\n");
    AppendIndented(d.response, "    ", out);
  }
}

}  // namespace

std::string LineDiff(std::string_view before, std::string_view after) {
  const std::vector<std::string_view> a = SplitLines(before);
  const std::vector<std::string_view> b = SplitLines(after);
  std::string out;
  auto emit = [&out](char mark, std::string_view line) {
    out.push_back(mark);
    out.push_back(' ');
    out.append(line);
    out.push_back('\n');
  };
  const std::size_t n = a.size(), m = b.size();
  if (n != 0 && m != 0 && (n + 1) > kMaxDiffCells / (m + 1)) {
    for (std::string_view line : a) emit('-', line);
    for (std::string_view line : b) emit('+', line);
    return out;
  }
  // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
  std::vector<std::uint32_t> lcs((n + 1) * (m + 1), 0);
  auto at = [m](std::size_t i, std::size_t j) { return i * (m + 1) + j; };
  for (std::size_t i = n; i-- > 0;) {
    for (std::size_t j = m; j-- > 0;) {
      lcs[at(i, j)] =
          a[i] == b[j] ? lcs[at(i + 1, j + 1)] + 1 : std::max(lcs[at(i + 1, j)], lcs[at(i, j + 1)]);
    }
  }
  std::size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) {
      emit(' ', a[i]);
      ++i;
      ++j;
    } else if (i < n && (j == m || lcs[at(i + 1, j)] >= lcs[at(i, j + 1)])) {
      emit('-', a[i++]);
    } else {
      emit('+', b[j++]);
    }
  }
  return out;
}

std::string FormatDetail(const store::MessageRecord& r,
                         const std::vector<store::DeliveryRecord>& deliveries) {
  std::string out = FormatDetail(r);
  if (r.has_transformed) {
    out.append("\ntransformed (diff against received: - removed, + added):\n");
    out.append(LineDiff(r.raw, r.transformed));
  }
  if (!deliveries.empty()) {
    out.push_back('\n');
    for (const store::DeliveryRecord& d : deliveries) AppendDelivery(d, &out);
  }
  return out;
}

std::string FormatShowJson(const store::MessageRecord& r,
                           const std::vector<store::DeliveryRecord>& deliveries) {
  std::string out;
  AppendRecordJson(r, &out);
  out.append(",\"raw\":");
  AppendJsonString(r.raw, &out);
  out.append(",\"transformed\":");
  if (r.has_transformed) {
    AppendJsonString(r.transformed, &out);
  } else {
    out.append("null");
  }
  out.append(",\"deliveries\":[");
  for (std::size_t k = 0; k < deliveries.size(); ++k) {
    const store::DeliveryRecord& d = deliveries[k];
    if (k > 0) out.push_back(',');
    out.append("{\"id\":" + std::to_string(d.id) + ",\"destination\":");
    AppendJsonString(d.destination, &out);
    out.append(",\"state\":");
    AppendJsonString(store::DeliveryStateName(d.state), &out);
    out.append(",\"attempts\":" + std::to_string(d.attempts) + ",\"created_at\":");
    AppendJsonString(FormatTimestamp(d.created_at_us), &out);
    out.append(",\"updated_at\":");
    AppendJsonString(FormatTimestamp(d.updated_at_us), &out);
    out.append(",\"next_attempt_at\":");
    if (d.state == store::DeliveryState::kQueued && d.next_attempt_at_us > 0) {
      AppendJsonString(FormatTimestamp(d.next_attempt_at_us), &out);
    } else {
      out.append("null");
    }
    out.append(",\"error\":");
    AppendJsonString(d.error, &out);
    out.append(",\"response\":");
    AppendJsonString(d.response, &out);
    out.append(d.has_payload ? ",\"has_payload\":true}" : ",\"has_payload\":false}");
  }
  out.append("]}\n");
  return out;
}

Result<store::MessageId> ParseMessageId(std::string_view text) {
  store::MessageId id = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || id <= 0) {
    return Status::Invalid("'" + std::string(text) + "' is not a message id (a positive number)");
  }
  return id;
}

bool HasSelection(const ListFilters& f) {
  return !f.channel.empty() || !f.type.empty() || !f.patient_id.empty() || !f.control_id.empty() ||
         !f.since.empty() || !f.status.empty();
}

Result<std::vector<store::MessageId>> SelectIds(store::Store& store,
                                                const store::MessageQuery& query) {
  auto rows = store.List(query);
  if (!rows.ok()) return rows.status();
  std::vector<store::MessageId> ids;
  ids.reserve(rows->size());
  for (const store::MessageRecord& r : *rows) ids.push_back(r.id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

Result<std::unique_ptr<store::Store>> OpenStoreForChanges(const Config& config) {
  if (config.store.sqlite != ":memory:") {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(config.store.sqlite, ec)) {
      return Status::Io("no store file (has junction serve run with this config?)");
    }
  }
  store::StoreOptions options;
  options.sqlite_path = config.store.sqlite;
  options.max_batch = config.store.max_batch;
  options.max_delay_us = 0;  // a handful of operations; commit each at once
  options.detect_duplicates = config.store.detect_duplicates;
  return store::Store::Open(options);
}

std::vector<ReprocessResult> Reprocess(store::Store& store, std::vector<store::MessageId> ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::vector<ReprocessResult> results;
  results.reserve(ids.size());
  for (store::MessageId id : ids) {
    ReprocessResult result;
    result.id = id;
    auto record = store.Get(id);
    if (!record.ok()) {
      result.status = record.status();
    } else {
      result.channel = record->channel;
      result.previous = record->state;
      result.status = store.ResetForReprocessAndWait(id);
    }
    results.push_back(std::move(result));
  }
  return results;
}

std::string FormatReprocessLine(const ReprocessResult& r) {
  if (!r.status.ok()) return std::to_string(r.id) + ": " + r.status.message() + "\n";
  return std::to_string(r.id) + " " + (r.channel.empty() ? "-" : r.channel) + ": " +
         std::string(store::MessageStateName(r.previous)) + " -> received\n";
}

std::string FormatReprocessSummary(const std::vector<ReprocessResult>& results) {
  std::size_t failed = 0;
  for (const ReprocessResult& r : results) failed += r.status.ok() ? 0 : 1;
  const std::size_t done = results.size() - failed;
  std::string out =
      std::to_string(done) + (done == 1 ? " message" : " messages") + " back to received";
  if (failed > 0) out += " (" + std::to_string(failed) + " failed)";
  out.push_back('\n');
  return out;
}

Result<store::DeliveryId> Resend(const Config& config, store::Store& store, store::MessageId id,
                                 const std::string& destination) {
  auto record = store.Get(id);
  if (!record.ok()) return record.status();
  const std::string where = "message " + std::to_string(id);
  const ChannelConfig* channel = nullptr;
  for (const ChannelConfig& c : config.channels) {
    if (c.name == record->channel) channel = &c;
  }
  if (channel == nullptr) {
    return Status::Invalid(where + ": its channel '" + record->channel + "' is not in " +
                           config.file);
  }
  std::string names;
  bool found = false;
  for (const DestinationConfig& d : channel->destinations) {
    found = found || d.name == destination;
    names += (names.empty() ? "" : ", ") + d.name;
  }
  if (!found) {
    return Status::Invalid(
        "--destination: channel " + channel->name + " has no destination '" + destination + "'" +
        (names.empty() ? std::string(" (it has none)") : " (it has " + names + ")"));
  }
  if (record->state == store::MessageState::kReceived) {
    return Status::OutOfRange(where +
                              " is still waiting for its channel (state received); nothing to "
                              "resend yet");
  }
  store::NewDelivery delivery;
  delivery.destination = destination;
  auto earlier = store.ListDeliveries(id);
  if (!earlier.ok()) return earlier.status();
  for (auto it = earlier->rbegin(); it != earlier->rend(); ++it) {
    if (it->destination == destination && it->has_payload) {
      delivery.payload = it->payload;
      delivery.has_payload = true;
      break;
    }
  }
  return store.AddDeliveryAndWait(id, std::move(delivery));
}

}  // namespace junction::engine
