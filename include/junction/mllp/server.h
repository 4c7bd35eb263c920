// MLLP server on Boost.Asio: listeners, persistent connections, ordered ACKs.
//
//   class Ingest : public mllp::Handler {
//     void OnMessage(const PeerInfo& peer, std::string payload, Reply reply) override {
//       store.Append(..., [reply](auto id) { reply(MakeAck(...)); });   // ACK after commit
//     }
//     std::string OnFrameError(const PeerInfo&, const Status&, std::string_view head) override {
//       return MakeNakForUnparseable(head, ...);
//     }
//   };
//   mllp::Server server(/*io_threads=*/2);
//   auto port = server.AddListener({.name = "inbound", .port = 2575}, ingest);
//   server.Start();
//   ...
//   server.Stop(std::chrono::seconds(10));  // stop accepting, finish in-flight, close
//
// Each connection is processed in order: frames are handed to the handler in the
// order they arrive, and replies are written in that same order even when the
// handler completes them out of order (pipelining). Bounds: connections per
// listener, pending (unanswered) frames per connection, frame size, idle and
// read timeouts. A frame that breaks a bound is answered with the handler's NAK
// and the connection closes.
//
// Thread safety: AddListener before Start; Stop from any thread. Handler methods
// are called on I/O threads; `reply` may be called from any thread, exactly once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "junction/hl7/status.h"
#include "junction/mllp/codec.h"
#include "junction/mllp/tls.h"

namespace junction::mllp {

struct PeerInfo {
  std::string listener;      // the listener's name
  std::string address;       // peer IP address
  std::uint16_t port = 0;    // peer port
  bool tls = false;
  std::uint64_t connection_id = 0;
};

class Handler {
 public:
  // Sends `payload` framed as the answer to one frame; an empty payload sends nothing.
  using Reply = std::function<void(std::string payload)>;

  virtual ~Handler() = default;
  // One complete frame. Call `reply` exactly once, from any thread.
  virtual void OnMessage(const PeerInfo& peer, std::string payload, Reply reply) = 0;
  // A frame broke a bound (e.g. too large). Returns the NAK to send before the
  // connection closes (may be empty). `frame_head` is the start of the frame.
  virtual std::string OnFrameError(const PeerInfo& peer, const Status& error,
                                   std::string_view frame_head) = 0;
};

struct ListenerOptions {
  std::string name = "mllp";
  std::string host = "127.0.0.1";
  std::uint16_t port = 2575;  // 0 = pick a free port (see AddListener's result)
  std::size_t max_connections = 256;
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(10)};
  std::chrono::milliseconds read_timeout{std::chrono::seconds(30)};  // to finish a started frame
  std::size_t max_pending_per_connection = 1024;  // unanswered frames before reading pauses
  DecoderOptions decoder;
  std::optional<TlsOptions> tls;
  std::vector<std::string> allow;  // CIDR allow-list; empty = everyone
};

struct ServerStats {
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_refused = 0;  // over max_connections or not on the allow-list
  std::uint64_t connections_open = 0;
  std::uint64_t frames = 0;
  std::uint64_t frame_errors = 0;
  std::uint64_t timeouts = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t bytes_skipped = 0;  // outside frames
};

class Server {
 public:
  explicit Server(std::size_t io_threads = 2);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listener now (so errors show at startup). Returns the bound port.
  Result<std::uint16_t> AddListener(const ListenerOptions& options,
                                    std::shared_ptr<Handler> handler);
  void Start();
  // Stops accepting, stops reading, waits up to `drain` for in-flight frames to
  // be answered, then closes everything and joins the I/O threads.
  void Stop(std::chrono::milliseconds drain = std::chrono::seconds(10));
  ServerStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace junction::mllp
