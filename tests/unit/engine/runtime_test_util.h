// Helpers for the channel runtime, dispatcher and engine tests: polling with a
// deadline, temp dirs, a scripted MLLP receiver on 127.0.0.1, an MLLP sender,
// and store shortcuts.
//
//   ReceiverServer rx;                       // AA for everything, AR for "AR*" ids
//   ... config with `mllp: { connect: 127.0.0.1:<rx.port()> }` ...
//   ASSERT_TRUE(Eventually([&] { return rx.handler->received().size() == 3; }));
//
// Thread safety: the receiver is called from its server's I/O threads; its
// accessors lock. Everything else is for the test thread.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "engine_test_util.h"
#include "junction/engine/config.h"
#include "junction/engine/ingest.h"
#include "junction/hl7/ack.h"
#include "junction/hl7/message.h"
#include "junction/mllp/client.h"
#include "junction/mllp/server.h"
#include "junction/store/store.h"

namespace junction::engine::testing {

// Generous: only reached when a test fails (ASan builds run ~3x slower).
inline constexpr std::chrono::milliseconds kWait{10'000};

// Polls `pred` every 5 ms until it holds or `timeout` passes; true if it held.
template <typename Pred>
bool Eventually(Pred pred, std::chrono::milliseconds timeout = kWait) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// A fresh directory under the system temp dir, removed with its contents.
class RtTempDir {
 public:
  RtTempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("junction_rt_" + std::to_string(::getpid()) + "_" + std::to_string(rd()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~RtTempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  RtTempDir(const RtTempDir&) = delete;
  RtTempDir& operator=(const RtTempDir&) = delete;

  std::string str() const { return path_.string(); }
  std::string Sub(const std::string& name) const { return (path_ / name).string(); }
  // Names of regular files directly in `sub`, sorted (none when it is missing).
  std::vector<std::string> Files(const std::string& sub) const {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(path_ / sub, ec)) {
      if (e.is_regular_file()) names.push_back(e.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

 private:
  std::filesystem::path path_;
};

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Answers every frame by its control id: "AR*" with AR, "AE*" with AE, the
// rest with AA (or all with AE while reject_all is set). Records the control
// ids in arrival order.
class ScriptedReceiver : public mllp::Handler {
 public:
  void OnMessage(const mllp::PeerInfo&, std::string payload, Reply reply) override {
    auto m = hl7::Message::Parse(std::string_view(payload));
    if (!m.ok()) return reply("");
    const std::string id(m->ControlId());
    bool reject_all;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      received_.push_back(id);
      payloads_.push_back(payload);
      reject_all = reject_all_;
    }
    hl7::AckOptions o;
    o.code = reject_all || id.rfind("AE", 0) == 0 ? "AE" : id.rfind("AR", 0) == 0 ? "AR" : "AA";
    if (o.code != "AA") o.text = "receiver says no";
    auto ack = hl7::MakeAckText(*m, o);
    reply(ack.ok() ? *ack : std::string());
  }
  std::string OnFrameError(const mllp::PeerInfo&, const Status&, std::string_view) override {
    return {};
  }
  std::vector<std::string> received() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return received_;
  }
  std::vector<std::string> payloads() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return payloads_;
  }
  std::size_t count(const std::string& id) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return static_cast<std::size_t>(std::count(received_.begin(), received_.end(), id));
  }
  void set_reject_all(bool on) {
    std::lock_guard<std::mutex> lock(mutex_);
    reject_all_ = on;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> received_;
  std::vector<std::string> payloads_;
  bool reject_all_ = false;
};

// An MLLP server on 127.0.0.1 with a ScriptedReceiver. Port 0 picks one.
class ReceiverServer {
 public:
  explicit ReceiverServer(std::uint16_t want_port = 0,
                          std::shared_ptr<ScriptedReceiver> h = nullptr)
      : handler(h ? std::move(h) : std::make_shared<ScriptedReceiver>()),
        server_(std::make_unique<mllp::Server>(1)) {
    mllp::ListenerOptions o;
    o.name = "receiver";
    o.host = "127.0.0.1";
    o.port = want_port;
    auto bound = server_->AddListener(o, handler);
    EXPECT_TRUE(bound.ok()) << bound.status().ToString();
    port_ = bound.ok() ? *bound : 0;
    server_->Start();
  }
  ~ReceiverServer() { Stop(); }
  void Stop() {
    if (server_) server_->Stop(std::chrono::milliseconds(500));
    server_.reset();
  }
  std::uint16_t port() const { return port_; }

  std::shared_ptr<ScriptedReceiver> handler;

 private:
  std::unique_ptr<mllp::Server> server_;
  std::uint16_t port_ = 0;
};

// A port that was free a moment ago (bound on 127.0.0.1 and released), for
// a receiver that starts "down" and comes up later on the same port.
inline std::uint16_t ReservePort() {
  ReceiverServer probe;
  return probe.port();
}

// Sends `raw` over a new MLLP connection and returns the reply ("" on failure).
inline std::string SendAndReceive(std::uint16_t port, std::string_view raw,
                                  std::chrono::milliseconds timeout = kWait) {
  mllp::ClientOptions o;
  o.host = "127.0.0.1";
  o.port = port;
  auto client = mllp::Client::Connect(o);
  EXPECT_TRUE(client.ok()) << client.status().ToString();
  if (!client.ok()) return {};
  Status sent = (*client)->Send(raw);
  EXPECT_TRUE(sent.ok()) << sent.ToString();
  auto reply = (*client)->Receive(timeout);
  EXPECT_TRUE(reply.ok()) << reply.status().ToString();
  return reply.ok() ? *reply : std::string();
}

// ParseConfig that fails the test on error (returns an empty Config then).
inline Config MustParse(const std::string& yaml) {
  auto config = ParseConfig(yaml, "test.yaml");
  EXPECT_TRUE(config.ok()) << config.status().ToString() << "\n" << yaml;
  return config.ok() ? std::move(config).value() : Config{};
}

// Stores `raw` as a received message of `channel` (metadata from its header).
inline store::MessageId StoreMessage(store::Store* store, const std::string& channel,
                                     const std::string& raw, std::int64_t received_at_us = 0) {
  store::IncomingMessage in;
  auto parsed = hl7::Message::Parse(std::string_view(raw));
  if (parsed.ok()) ExtractMetadata(*parsed, &in);
  in.channel = channel;
  in.peer = "test";
  in.raw = raw;
  in.received_at_us = received_at_us;
  auto stored = store->AppendAndWait(std::move(in));
  EXPECT_TRUE(stored.ok()) << stored.status().ToString();
  return stored.ok() ? stored->id : 0;
}

// The message's state name, or the read error.
inline std::string StateOf(store::Store* store, store::MessageId id) {
  auto m = store->Get(id);
  if (!m.ok()) return "<" + m.status().ToString() + ">";
  return std::string(store::MessageStateName(m->state));
}

inline bool WaitForState(store::Store* store, store::MessageId id, store::MessageState state,
                         std::chrono::milliseconds timeout = kWait) {
  const std::string want(store::MessageStateName(state));
  return Eventually([&] { return StateOf(store, id) == want; }, timeout);
}

inline std::vector<store::DeliveryRecord> Deliveries(store::Store* store, store::MessageId id) {
  auto rows = store->ListDeliveries(id);
  EXPECT_TRUE(rows.ok()) << rows.status().ToString();
  return rows.ok() ? std::move(rows).value() : std::vector<store::DeliveryRecord>{};
}

// The deliveries of message `id` to `destination`, oldest first.
inline std::vector<store::DeliveryRecord> DeliveriesTo(store::Store* store, store::MessageId id,
                                                       const std::string& destination) {
  std::vector<store::DeliveryRecord> out;
  for (auto& d : Deliveries(store, id)) {
    if (d.destination == destination) out.push_back(std::move(d));
  }
  return out;
}

}  // namespace junction::engine::testing
