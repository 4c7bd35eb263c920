// Routes stored messages to their channel's runtime. Reload swaps the map in
// one short critical section; Submit never waits for a runtime to stop (the
// store's writer thread calls it, and a stopping runtime may be waiting for
// that thread), only for a Swap in progress.
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

  // The runtime's Submit runs under the shared lock (it only queues, never
  // waits): once Swap returns, no Submit can still reach a replaced runtime,
  // so the live queue its Stop hands over is complete. (Without the lock a
  // Submit that looked the old runtime up just before a reload queued the
  // message there after Stop had emptied it; the message was only found
  // later by polling, after newer ones: out of order.)
  void Submit(const std::string& channel, store::MessageId id, std::string raw,
              ProcessedCallback done) override {
    {
      std::shared_lock<std::shared_mutex> lock(mutex_);
      auto it = channels_.find(channel);
      if (it != channels_.end()) {
        it->second->Submit(id, std::move(raw), std::move(done));
        return;
      }
    }
    if (done) {
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
