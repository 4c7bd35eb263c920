#include "junction/mllp/client.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <deque>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

namespace junction::mllp {
namespace {
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;

// Acknowledges received segments at once instead of after the delayed-ACK
// timer (Linux; the flag resets itself, so it is set again after each read).
// A peer that writes several small replies with Nagle on (many MLLP receivers
// do) sends the second only once the first is acknowledged: to a pipelining
// sender every reply after the first would otherwise come ~40 ms late.
void QuickAck(tcp::socket& socket) {
#ifdef TCP_QUICKACK
  const int one = 1;
  (void)::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
#else
  (void)socket;
#endif
}
}  // namespace

struct Client::Impl {
  net::io_context io;
  tcp::socket socket{io};
  std::shared_ptr<ssl::context> tls_context;
  std::unique_ptr<ssl::stream<tcp::socket&>> tls;
  FrameDecoder decoder;
  std::deque<std::string> frames;
  std::array<char, 64 * 1024> buffer{};

  // Runs the io_context until `done` or the timeout; on timeout cancels the socket.
  bool RunFor(std::chrono::milliseconds timeout, const bool& done) {
    io.restart();
    io.run_for(timeout);
    if (done) return true;
    boost::system::error_code ignored;
    socket.cancel(ignored);
    io.restart();
    io.run();
    return false;
  }

  // One read of whatever has arrived, waiting up to `timeout` for something.
  Result<std::size_t> ReadPlain(std::chrono::milliseconds timeout) {
    const int fd = socket.native_handle();
    pollfd p{fd, POLLIN, 0};
    int ready;
    do {
      ready = ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(timeout.count(), 1 << 30)));
    } while (ready < 0 && errno == EINTR);  // a signal: wait again (bounded by the caller)
    if (ready == 0) return Status::Io("receive: timed out waiting for a reply");
    if (ready < 0) return Status::Io(std::string("receive: ") + std::strerror(errno));
    ssize_t got;
    do {
      got = ::recv(fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
    } while (got < 0 && errno == EINTR);
    if (got == 0) return Status::Io("receive: the peer closed the connection");
    if (got < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return std::size_t{0};  // spurious wake-up
      return Status::Io(std::string("receive: ") + std::strerror(errno));
    }
    return static_cast<std::size_t>(got);
  }

  template <typename Op>
  boost::system::error_code Do(std::chrono::milliseconds timeout, Op op, bool* timed_out) {
    bool done = false;
    boost::system::error_code result;
    op([&](boost::system::error_code ec, std::size_t = 0) {
      result = ec;
      done = true;
    });
    *timed_out = !RunFor(timeout, done);
    return result;
  }
};

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() { Close(); }

Result<std::unique_ptr<Client>> Client::Connect(const ClientOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->decoder = FrameDecoder(options.decoder);
  boost::system::error_code ec;
  tcp::resolver resolver(impl->io);
  auto endpoints = resolver.resolve(options.host, std::to_string(options.port), ec);
  if (ec) return Status::Io("resolve " + options.host + ": " + ec.message());
  bool timed_out = false;
  ec = impl->Do(
      options.connect_timeout,
      [&](auto handler) {
        net::async_connect(
            impl->socket, endpoints,
            [handler](boost::system::error_code e, const tcp::endpoint&) { handler(e); });
      },
      &timed_out);
  const std::string where = options.host + ":" + std::to_string(options.port);
  if (timed_out) return Status::Io("connect to " + where + ": timed out");
  if (ec) return Status::Io("connect to " + where + ": " + ec.message());
  impl->socket.set_option(tcp::no_delay(true), ec);
  QuickAck(impl->socket);
  if (options.tls) {
    auto ctx = MakeClientContext(*options.tls);
    if (!ctx.ok()) return ctx.status();
    impl->tls_context = std::move(ctx).value();
    impl->tls = std::make_unique<ssl::stream<tcp::socket&>>(impl->socket, *impl->tls_context);
    const std::string name =
        options.tls->server_name.empty() ? options.host : options.tls->server_name;
    SSL_set_tlsext_host_name(impl->tls->native_handle(), name.c_str());
    if (options.tls->verify_peer) impl->tls->set_verify_callback(ssl::host_name_verification(name));
    ec = impl->Do(
        options.connect_timeout,
        [&](auto handler) { impl->tls->async_handshake(ssl::stream_base::client, handler); },
        &timed_out);
    if (timed_out) return Status::Io("TLS handshake with " + where + ": timed out");
    if (ec) return Status::Io("TLS handshake with " + where + ": " + ec.message());
  }
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

Status Client::Send(std::string_view payload, std::chrono::milliseconds timeout) {
  return SendRaw(Encode(payload), timeout);
}

Status Client::SendRaw(std::string_view bytes, std::chrono::milliseconds timeout) {
  bool timed_out = false;
  auto ec = impl_->Do(
      timeout,
      [&](auto handler) {
        if (impl_->tls) {
          net::async_write(*impl_->tls, net::buffer(bytes.data(), bytes.size()), handler);
        } else {
          net::async_write(impl_->socket, net::buffer(bytes.data(), bytes.size()), handler);
        }
      },
      &timed_out);
  if (timed_out) return Status::Io("send: timed out");
  if (ec) return Status::Io("send: " + ec.message());
  return Status::Ok();
}

Result<std::string> Client::Receive(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (impl_->frames.empty()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Status::Io("receive: timed out waiting for a reply");
    std::size_t n = 0;
    if (!impl_->tls) {
      // Plain TCP reads go straight to the socket: poll, then recv. Through
      // Asio a reply cost a speculative recv, timer updates and epoll_wait on
      // top (~6 system calls instead of 2), once per message under strict
      // ordering (docs/performance-channels.md).
      Result<std::size_t> got = impl_->ReadPlain(left);
      if (!got.ok()) return got.status();
      n = *got;
    } else {
      bool timed_out = false;
      auto ec = impl_->Do(
          left,
          [&](auto handler) {
            auto done = [&n, handler](boost::system::error_code e, std::size_t got) {
              n = got;
              handler(e);
            };
            impl_->tls->async_read_some(net::buffer(impl_->buffer), done);
          },
          &timed_out);
      if (timed_out) return Status::Io("receive: timed out waiting for a reply");
      if (ec == net::error::eof) return Status::Io("receive: the peer closed the connection");
      if (ec) return Status::Io("receive: " + ec.message());
    }
    QuickAck(impl_->socket);
    std::vector<std::string> frames;
    Status s = impl_->decoder.Feed(std::string_view(impl_->buffer.data(), n), &frames);
    for (auto& f : frames) impl_->frames.push_back(std::move(f));
    if (!s.ok() && impl_->frames.empty()) return Status::Io("receive: " + s.message());
  }
  std::string frame = std::move(impl_->frames.front());
  impl_->frames.pop_front();
  return frame;
}

std::size_t Client::buffered_frames() const { return impl_->frames.size(); }

void Client::Close() {
  if (!impl_) return;
  boost::system::error_code ignored;
  impl_->socket.shutdown(tcp::socket::shutdown_both, ignored);
  impl_->socket.close(ignored);
}

}  // namespace junction::mllp
