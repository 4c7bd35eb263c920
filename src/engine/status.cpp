#include "junction/engine/status.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <utility>

#include "junction/engine/messages.h"

namespace junction::engine {
namespace {

// Cells of a text table; numeric columns are right-aligned.
class Table {
 public:
  explicit Table(std::vector<std::string> header, std::vector<bool> right_aligned)
      : right_(std::move(right_aligned)) {
    rows_.push_back(std::move(header));
  }
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }

  void AppendTo(std::string* out) const {
    std::vector<std::size_t> width(rows_.front().size(), 0);
    for (const auto& row : rows_) {
      for (std::size_t i = 0; i < row.size() && i < width.size(); ++i) {
        width[i] = std::max(width[i], row[i].size());
      }
    }
    for (const auto& row : rows_) {
      std::string line;
      for (std::size_t i = 0; i < row.size() && i < width.size(); ++i) {
        const std::size_t pad = width[i] - row[i].size();
        const bool last = i + 1 == row.size();
        if (i > 0) line.append("  ");
        if (right_[i]) line.append(pad, ' ');
        line.append(row[i]);
        if (!right_[i] && !last) line.append(pad, ' ');
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out->append(line);
      out->push_back('\n');
    }
  }

 private:
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

// Names and error texts on one line: control characters become '?'.
std::string OneLine(std::string_view text) {
  std::string s(text);
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '?';
  }
  return s;
}

std::string Num(std::uint64_t n) { return std::to_string(n); }

std::int64_t OldestAgeUs(const DestinationStatus& d, std::int64_t now_us) {
  if (d.counts.queued == 0 || d.counts.oldest_queued_at_us == 0) return -1;
  return std::max<std::int64_t>(0, now_us - d.counts.oldest_queued_at_us);
}

std::string HeadText(const DestinationStatus& d) {
  if (d.counts.queued == 0) return "-";
  if (!d.blocked()) return "ok";
  std::string text = "blocked: " + std::to_string(d.counts.head_attempts) + " failed attempt" +
                     (d.counts.head_attempts == 1 ? "" : "s");
  if (!d.counts.head_error.empty()) text += ", last error: " + OneLine(d.counts.head_error);
  return text;
}

}  // namespace

StatusView BuildStatus(const Config& config, const store::StatusReport& report,
                       std::int64_t store_bytes, std::int64_t now_us) {
  StatusView view;
  view.store_path = config.store.sqlite;
  view.store_bytes = store_bytes;
  view.now_us = now_us;

  std::map<std::string, std::size_t> channel_at;  // name -> index in view.channels
  for (const ChannelConfig& c : config.channels) {
    if (channel_at.count(c.name) != 0) continue;
    ChannelStatus cs;
    cs.counts.channel = c.name;
    for (const DestinationConfig& d : c.destinations) {
      DestinationStatus ds;
      ds.counts.channel = c.name;
      ds.counts.destination = d.name;
      cs.destinations.push_back(std::move(ds));
    }
    channel_at[c.name] = view.channels.size();
    view.channels.push_back(std::move(cs));
  }
  const std::size_t configured = view.channels.size();

  // Store-only channels: the report is sorted by name, so they stay sorted.
  auto channel = [&](const std::string& name) -> ChannelStatus& {
    auto [it, added] = channel_at.emplace(name, view.channels.size());
    if (added) {
      ChannelStatus cs;
      cs.counts.channel = name;
      cs.in_config = false;
      view.channels.push_back(std::move(cs));
    }
    return view.channels[it->second];
  };
  for (const store::ChannelCounts& counts : report.channels) {
    channel(counts.channel).counts = counts;
  }
  for (const store::DestinationCounts& counts : report.destinations) {
    ChannelStatus& cs = channel(counts.channel);
    auto it = std::find_if(
        cs.destinations.begin(), cs.destinations.end(),
        [&](const DestinationStatus& d) { return d.counts.destination == counts.destination; });
    if (it != cs.destinations.end()) {
      it->counts = counts;
    } else {
      DestinationStatus ds;
      ds.counts = counts;
      ds.in_config = false;
      cs.destinations.push_back(std::move(ds));
    }
  }
  // Channels first seen through a destination row were appended out of order.
  std::sort(view.channels.begin() + static_cast<std::ptrdiff_t>(configured), view.channels.end(),
            [](const ChannelStatus& a, const ChannelStatus& b) {
              return a.counts.channel < b.counts.channel;
            });
  return view;
}

Result<StatusView> ReadStatus(const Config& config, store::Store& store, std::int64_t now_us) {
  auto report = store.Report();
  if (!report.ok()) return report.status();
  return BuildStatus(config, *report, store.SizeBytes(), now_us);
}

std::string FormatAge(std::int64_t micros) {
  const std::int64_t s = micros < 0 ? 0 : micros / 1'000'000;
  char buf[48];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  } else if (s < 86400) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s % 3600 / 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lldd%02lldh", static_cast<long long>(s / 86400),
                  static_cast<long long>(s % 86400 / 3600));
  }
  return buf;
}

std::string FormatBytes(std::int64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes < 0 ? 0 : bytes) + " B";
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes) / 1024.0;
  std::size_t unit = 0;
  while (v >= 1024.0 && unit + 1 < std::size(kUnits)) {
    v /= 1024.0;
    ++unit;
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[unit]);
  return buf;
}

std::string FormatStatus(const StatusView& view) {
  std::string out =
      "store: " + OneLine(view.store_path) + " (" + FormatBytes(view.store_bytes) + ")\n\n";
  const std::string kNotInConfig = "(not in config)";

  Table channels(
      {"CHANNEL", "RECEIVED", "WAITING", "FILTERED", "QUEUED", "SENT", "PROCESSED", "ERRORED", ""},
      {false, true, true, true, true, true, true, true, false});
  for (const ChannelStatus& c : view.channels) {
    const store::ChannelCounts& n = c.counts;
    channels.Add({OneLine(n.channel), Num(n.received), Num(n.waiting), Num(n.filtered),
                  Num(n.queued), Num(n.sent), Num(n.processed), Num(n.errored),
                  c.in_config ? "" : kNotInConfig});
  }
  if (view.channels.empty()) {
    out.append("no channels\n");
  } else {
    channels.AppendTo(&out);
  }

  Table destinations(
      {"CHANNEL", "DESTINATION", "QUEUED", "SENT", "ERRORED", "FILTERED", "OLDEST", "HEAD"},
      {false, false, true, true, true, true, true, false});
  bool any = false;
  for (const ChannelStatus& c : view.channels) {
    for (const DestinationStatus& d : c.destinations) {
      const store::DestinationCounts& n = d.counts;
      const std::int64_t age = OldestAgeUs(d, view.now_us);
      std::string head = HeadText(d);
      if (!d.in_config) head += " " + kNotInConfig;
      destinations.Add({OneLine(n.channel), OneLine(n.destination), Num(n.queued), Num(n.sent),
                        Num(n.errored), Num(n.filtered), age < 0 ? "-" : FormatAge(age),
                        std::move(head)});
      any = true;
    }
  }
  if (any) {
    out.push_back('\n');
    destinations.AppendTo(&out);
  }
  return out;
}

std::string FormatStatusJson(const StatusView& view) {
  std::string out = "{\"store\":{\"path\":";
  AppendJsonString(view.store_path, &out);
  out += ",\"size_bytes\":" + std::to_string(view.store_bytes) + "},\"channels\":[";
  auto count = [&out](const char* key, std::uint64_t n) {
    out += ",\"";
    out += key;
    out += "\":" + std::to_string(n);
  };
  bool first_channel = true;
  for (const ChannelStatus& c : view.channels) {
    if (!first_channel) out.push_back(',');
    first_channel = false;
    const store::ChannelCounts& n = c.counts;
    out += "{\"name\":";
    AppendJsonString(n.channel, &out);
    out += c.in_config ? ",\"in_config\":true" : ",\"in_config\":false";
    count("received", n.received);
    count("waiting", n.waiting);
    count("filtered", n.filtered);
    count("queued", n.queued);
    count("sent", n.sent);
    count("processed", n.processed);
    count("errored", n.errored);
    out += ",\"destinations\":[";
    bool first = true;
    for (const DestinationStatus& d : c.destinations) {
      if (!first) out.push_back(',');
      first = false;
      const store::DestinationCounts& dn = d.counts;
      out += "{\"name\":";
      AppendJsonString(dn.destination, &out);
      out += d.in_config ? ",\"in_config\":true" : ",\"in_config\":false";
      count("queued", dn.queued);
      count("sent", dn.sent);
      count("errored", dn.errored);
      count("filtered", dn.filtered);
      const std::int64_t age = OldestAgeUs(d, view.now_us);
      if (age < 0) {
        out += ",\"oldest_queued_at\":null,\"oldest_queued_age_s\":null";
      } else {
        out += ",\"oldest_queued_at\":";
        AppendJsonString(FormatTimestamp(dn.oldest_queued_at_us), &out);
        out += ",\"oldest_queued_age_s\":" + std::to_string(age / 1'000'000);
      }
      out += d.blocked() ? ",\"blocked\":true" : ",\"blocked\":false";
      out += ",\"head_attempts\":" + std::to_string(dn.queued > 0 ? dn.head_attempts : 0);
      out += ",\"head_error\":";
      AppendJsonString(dn.queued > 0 ? std::string_view(dn.head_error) : std::string_view(), &out);
      out.push_back('}');
    }
    out += "]}";
  }
  out += "]}\n";
  return out;
}

}  // namespace junction::engine
