// Routes stored messages to their channel's runtime. Reload swaps the map in
// one short critical section; Submit never waits for a runtime to stop (the
// store's writer thread calls it, and a stopping dispatcher may be waiting
// for that thread).
#pragma once

#include <map>
#include <memory>
#include <shared_mutex>
#include <string>

#include "junction/engine/channel.h"
#include "junction/engine/ingest.h"

namespace junction::engine::internal {

class Router : public MessageSink {
 public:
  using Map = std::map<std::string, std::shared_ptr<ChannelRuntime>>;

  void Submit(const std::string& channel, store::MessageId id, std::string raw,
              ProcessedCallback done) override {
    std::shared_ptr<ChannelRuntime> runtime = Find(channel);
    if (runtime) {
      runtime->Submit(id, std::move(raw), std::move(done));
    } else if (done) {
      // No runtime (shutting down): the message is stored as received and is
      // processed at the next start.
      done({ProcessedResult::Kind::kAccepted, ""});
    }
  }

  std::shared_ptr<ChannelRuntime> Find(const std::string& channel) const {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    auto it = channels_.find(channel);
    return it == channels_.end() ? nullptr : it->second;
  }

  // Installs `next` and returns the previous map.
  Map Swap(Map next) {
    std::unique_lock<std::shared_mutex> lock(mutex_);
    channels_.swap(next);
    return next;
  }

  Map Snapshot() const {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    return channels_;
  }

 private:
  mutable std::shared_mutex mutex_;
  Map channels_;
};

}  // namespace junction::engine::internal
