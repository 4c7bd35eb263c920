// The accepting socket of one Server: binds, accepts on its own strand, turns
// away connections over max_connections (closed at once, counted), and starts
// a session for every other one.
//
//   auto tls = MakeTlsContext(*options.tls);        // optional
//   auto listener = std::make_shared<Listener>(ioc, state);
//   Result<std::uint16_t> port = listener->Bind("127.0.0.1", 0);
//   listener->Start();  ...  listener->Close();
//
// Thread safety: Bind and Start before the I/O threads serve it; Close from
// any thread (it posts to the listener's strand and waits, bounded).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "http/internal/server_state.h"

namespace junction::http::internal {

// TLS 1.2+ server context with the PEM chain and key; with client_ca, peers
// must present a certificate it signed. kInvalidArgument when a file does not
// load.
Result<std::shared_ptr<boost::asio::ssl::context>> MakeTlsContext(const TlsServerOptions& options);

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(boost::asio::io_context& ioc, std::shared_ptr<ServerState> state);

  // kIoError when the address does not resolve or cannot be bound.
  Result<std::uint16_t> Bind(const std::string& host, std::uint16_t port);
  void Start();
  void Close();

 private:
  void Accept();
  void OnAccept(boost::system::error_code ec, boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& ioc_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_;
  std::shared_ptr<ServerState> state_;
};

}  // namespace junction::http::internal
