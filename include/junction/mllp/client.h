// MLLP client: a blocking connection with timeouts, for `junction send`, tests
// and (later) MLLP destinations.
//
//   auto client = Client::Connect({.host = "127.0.0.1", .port = 2575});
//   if (!client.ok()) return client.status();
//   Status s = (*client)->Send(message_bytes);
//   auto ack = (*client)->Receive(std::chrono::seconds(10));   // next frame's payload
//
// Thread safety: one thread at a time per Client.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "junction/hl7/status.h"
#include "junction/mllp/codec.h"
#include "junction/mllp/tls.h"

namespace junction::mllp {

struct ClientOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 2575;
  std::optional<TlsOptions> tls;
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
  DecoderOptions decoder;
};

class Client {
 public:
  static Result<std::unique_ptr<Client>> Connect(const ClientOptions& options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Frames and writes one payload.
  Status Send(std::string_view payload, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Writes bytes exactly as given (tests use it for broken framing).
  Status SendRaw(std::string_view bytes, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // The next frame's payload. kIoError on timeout or when the peer closed.
  Result<std::string> Receive(std::chrono::milliseconds timeout);
  // Frames already received and not yet returned by Receive.
  std::size_t buffered_frames() const;
  void Close();

 private:
  struct Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace junction::mllp
