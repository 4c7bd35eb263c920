// `junction status`: what every channel and destination holds right now,
// built from the store's counts (Store::Report) and the config's names.
//
//   auto store = OpenStoreForReading(config);        // read-only, works while serve runs
//   auto view = ReadStatus(config, **store, NowMicros());
//   if (!view.ok()) return view.status();
//   std::cout << FormatStatus(*view);               // or FormatStatusJson(*view)
//
// Channels and destinations named in the config come first, in config order,
// with zero counts when the store has none. Those only the store knows (a
// channel removed from the config, or renamed) follow, sorted by name, marked
// in_config = false. A destination is blocked when its queue's head has failed
// attempts: in strict order nothing behind it moves until it goes through.
//
// Thread safety: plain values and pure functions (ReadStatus only reads the
// store, which is itself thread-safe).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "junction/engine/config.h"
#include "junction/hl7/status.h"
#include "junction/store/store.h"
#include "junction/store/types.h"

namespace junction::engine {

struct DestinationStatus {
  store::DestinationCounts counts;  // channel and destination names included
  bool in_config = true;
  // The head of the queue has failed attempts (counts.head_attempts > 0).
  bool blocked() const { return counts.queued > 0 && counts.head_attempts > 0; }
};

struct ChannelStatus {
  store::ChannelCounts counts;  // counts.channel is the name
  bool in_config = true;
  std::vector<DestinationStatus> destinations;
};

struct StatusView {
  std::string store_path;        // config.store.sqlite
  std::int64_t store_bytes = 0;  // main file + WAL
  std::int64_t now_us = 0;       // ages are measured from here
  std::vector<ChannelStatus> channels;
};

// Merges the store's report with the config's channel and destination names.
StatusView BuildStatus(const Config& config, const store::StatusReport& report,
                       std::int64_t store_bytes, std::int64_t now_us);

// Store::Report and SizeBytes, then BuildStatus. The report's error otherwise.
Result<StatusView> ReadStatus(const Config& config, store::Store& store, std::int64_t now_us);

// Human tables: the store line, one row per channel, one row per destination.
std::string FormatStatus(const StatusView& view);
// One JSON object and "\n": store {path, size_bytes}, channels [{name,
// in_config, received, waiting, filtered, queued, sent, processed, errored,
// destinations [{name, in_config, queued, sent, errored, filtered,
// oldest_queued_at (ISO or null), oldest_queued_age_s, blocked, head_attempts,
// head_error}]}].
std::string FormatStatusJson(const StatusView& view);

// A duration for people: "0s", "45s", "3m12s", "2h05m", "3d04h". Negative
// durations (clock skew between processes) show as "0s".
std::string FormatAge(std::int64_t micros);
// "512 B", "1.5 KiB", "12.3 MiB", "2.0 GiB".
std::string FormatBytes(std::int64_t bytes);

}  // namespace junction::engine
