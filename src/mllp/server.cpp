#include "junction/mllp/server.h"

#include <array>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <spdlog/spdlog.h>

#include "junction/mllp/cidr.h"

namespace junction::mllp {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;

struct Counters {
  std::atomic<std::uint64_t> accepted{0}, refused{0}, open{0}, frames{0}, frame_errors{0},
      timeouts{0}, bytes_received{0}, bytes_skipped{0};
};

struct Listener {
  ListenerOptions options;
  std::shared_ptr<Handler> handler;
  std::shared_ptr<ssl::context> tls;
  AllowList allow;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::atomic<std::size_t> active{0};
};

// What the server needs to know about a live connection to stop it.
class ConnectionBase {
 public:
  virtual ~ConnectionBase() = default;
  virtual void RequestStop() = 0;
  virtual void ForceClose() = 0;
};

// Replies may arrive from other threads after the server is gone; they check
// this first, under its mutex, so nothing is posted to a destroyed io_context.
struct Lifeline {
  std::mutex mu;
  bool alive = true;
};

struct Registry {
  std::mutex mu;
  std::condition_variable drained;
  std::set<std::shared_ptr<ConnectionBase>> live;
};

tcp::socket& LowestLayer(tcp::socket& s) { return s; }
tcp::socket& LowestLayer(ssl::stream<tcp::socket>& s) { return s.next_layer(); }

// One connection: reads frames in order, hands them to the handler, writes the
// replies in the same order, and closes on EOF, error, timeout or stop.
template <typename Stream>
class Connection : public ConnectionBase,
                   public std::enable_shared_from_this<Connection<Stream>> {
 public:
  Connection(Stream stream, Listener& listener, Registry& registry, Counters& counters,
             std::shared_ptr<Lifeline> lifeline, PeerInfo peer)
      : lifeline_(std::move(lifeline)),
        stream_(std::move(stream)),
        timer_(stream_.get_executor()),
        listener_(listener),
        registry_(registry),
        counters_(counters),
        decoder_(listener.options.decoder),
        peer_(std::move(peer)) {}

  void Start() {
    if constexpr (std::is_same_v<Stream, ssl::stream<tcp::socket>>) {
      ArmTimer(listener_.options.read_timeout);
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](boost::system::error_code ec) {
                                if (ec) {
                                  spdlog::debug("mllp {}: connection {} TLS handshake failed: {}",
                                                self->peer_.listener, self->peer_.connection_id,
                                                ec.message());
                                  return self->Close();
                                }
                                self->Read();
                              });
    } else {
      Read();
    }
  }

  void RequestStop() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] {
      self->read_closed_ = true;
      boost::system::error_code ignored;
      LowestLayer(self->stream_).shutdown(tcp::socket::shutdown_receive, ignored);
      self->MaybeClose();
    });
  }

  void ForceClose() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] { self->Close(); });
  }

 private:
  void ArmTimer(std::chrono::milliseconds after) {
    timer_.expires_after(after);
    timer_.async_wait([self = this->shared_from_this()](boost::system::error_code ec) {
      if (ec || self->closed_) return;
      self->counters_.timeouts++;
      spdlog::debug("mllp {}: connection {} timed out", self->peer_.listener,
                    self->peer_.connection_id);
      self->Close();
    });
  }

  // A started frame must finish within read_timeout; a connection with nothing
  // in flight may stay idle for idle_timeout. While ACKs are pending (e.g. a slow
  // commit) the connection is not idle, so no timer runs.
  void ArmWaitTimer() {
    if (decoder_.in_frame()) {
      ArmTimer(listener_.options.read_timeout);
    } else if (pending_ == 0) {
      ArmTimer(listener_.options.idle_timeout);
    } else {
      timer_.cancel();
    }
  }

  void Read() {
    if (closed_ || read_closed_ || reading_) return;
    if (pending_ >= listener_.options.max_pending_per_connection) return;  // resumes on reply
    reading_ = true;
    ArmWaitTimer();
    stream_.async_read_some(
        net::buffer(buffer_),
        [self = this->shared_from_this()](boost::system::error_code ec, std::size_t n) {
          self->reading_ = false;
          self->OnRead(ec, n);
        });
  }

  void OnRead(boost::system::error_code ec, std::size_t n) {
    if (closed_) return;
    timer_.cancel();
    if (ec) {
      // EOF or a stop request: answer what was received, then close.
      read_closed_ = true;
      MaybeClose();
      return;
    }
    counters_.bytes_received += n;
    const std::uint64_t skipped_before = decoder_.skipped_bytes();
    frames_.clear();
    Status status = decoder_.Feed(std::string_view(buffer_.data(), n), &frames_);
    counters_.bytes_skipped += decoder_.skipped_bytes() - skipped_before;
    for (std::string& frame : frames_) Dispatch(std::move(frame));
    if (!status.ok()) {
      counters_.frame_errors++;
      spdlog::info("mllp {}: connection {} closed: {}", peer_.listener, peer_.connection_id,
                   status.message());
      std::string nak = listener_.handler->OnFrameError(peer_, status, decoder_.failed_head());
      const std::uint64_t seq = next_seq_++;
      ++pending_;
      OnReply(seq, std::move(nak));
      read_closed_ = true;
      MaybeClose();
      return;
    }
    Read();
  }

  void Dispatch(std::string frame) {
    counters_.frames++;
    const std::uint64_t seq = next_seq_++;
    ++pending_;
    // The reply holds the connection weakly: a reply that outlives the server
    // (or its connection) is dropped instead of touching freed I/O objects.
    std::weak_ptr<Connection> weak = this->shared_from_this();
    auto once = std::make_shared<std::atomic<bool>>(false);
    listener_.handler->OnMessage(
        peer_, std::move(frame),
        [weak, lifeline = lifeline_, seq, once](std::string payload) {
          if (once->exchange(true)) return;  // exactly once
          std::lock_guard lock(lifeline->mu);
          if (!lifeline->alive) return;
          auto self = weak.lock();
          if (!self) return;
          net::post(self->stream_.get_executor(), [self, seq, p = std::move(payload)]() mutable {
            self->OnReply(seq, std::move(p));
          });
        });
  }

  // Replies are written strictly in frame order.
  void OnReply(std::uint64_t seq, std::string payload) {
    replies_.emplace(seq, std::move(payload));
    while (!replies_.empty() && replies_.begin()->first == next_to_send_) {
      if (!replies_.begin()->second.empty()) EncodeTo(replies_.begin()->second, &outbox_);
      replies_.erase(replies_.begin());
      ++next_to_send_;
      --pending_;
    }
    Write();
    if (reading_ && pending_ == 0) ArmWaitTimer();  // idle from now on
    Read();  // resumes if backpressure had paused reading
  }

  void Write() {
    if (writing_ || outbox_.empty() || closed_) {
      MaybeClose();
      return;
    }
    writing_ = true;
    in_flight_.swap(outbox_);
    outbox_.clear();
    net::async_write(stream_, net::buffer(in_flight_),
                     [self = this->shared_from_this()](boost::system::error_code ec, std::size_t) {
                       self->writing_ = false;
                       self->in_flight_.clear();
                       if (ec) return self->Close();
                       self->Write();
                     });
  }

  void MaybeClose() {
    if (read_closed_ && pending_ == 0 && !writing_ && outbox_.empty()) Close();
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    timer_.cancel();
    boost::system::error_code ignored;
    LowestLayer(stream_).shutdown(tcp::socket::shutdown_both, ignored);
    LowestLayer(stream_).close(ignored);
    spdlog::debug("mllp {}: connection {} closed", peer_.listener, peer_.connection_id);
    listener_.active--;
    counters_.open--;
    std::lock_guard lock(registry_.mu);
    registry_.live.erase(this->shared_from_this());
    registry_.drained.notify_all();
  }

  std::shared_ptr<Lifeline> lifeline_;
  Stream stream_;
  net::steady_timer timer_;
  Listener& listener_;
  Registry& registry_;
  Counters& counters_;
  FrameDecoder decoder_;
  PeerInfo peer_;
  std::array<char, 64 * 1024> buffer_{};
  std::vector<std::string> frames_;
  std::map<std::uint64_t, std::string> replies_;
  std::string outbox_;
  std::string in_flight_;
  std::uint64_t next_seq_ = 0;
  std::uint64_t next_to_send_ = 0;
  std::size_t pending_ = 0;
  bool reading_ = false;
  bool writing_ = false;
  bool read_closed_ = false;
  bool closed_ = false;
};

}  // namespace

struct Server::Impl {
  explicit Impl(std::size_t threads) : io_threads(threads == 0 ? 1 : threads) {}

  void Accept(Listener& listener) {
    listener.acceptor->async_accept(
        net::make_strand(io), [this, &listener](boost::system::error_code ec, tcp::socket socket) {
          if (ec) {
            if (ec == net::error::operation_aborted || stopping) return;
            spdlog::warn("mllp {}: accept failed: {}", listener.options.name, ec.message());
            return Accept(listener);
          }
          OnAccepted(listener, std::move(socket));
          Accept(listener);
        });
  }

  void OnAccepted(Listener& listener, tcp::socket socket) {
    boost::system::error_code ec;
    tcp::endpoint remote = socket.remote_endpoint(ec);
    if (ec) return;
    if (!listener.allow.Allows(remote.address())) {
      counters.refused++;
      spdlog::info("mllp {}: refused {} (not on the allow-list)", listener.options.name,
                   remote.address().to_string());
      socket.close(ec);
      return;
    }
    if (listener.active.load() >= listener.options.max_connections) {
      counters.refused++;
      spdlog::warn("mllp {}: refused a connection: {} connections open (the limit)",
                   listener.options.name, listener.options.max_connections);
      socket.close(ec);
      return;
    }
    listener.active++;
    counters.accepted++;
    counters.open++;
    PeerInfo peer{listener.options.name, remote.address().to_string(), remote.port(),
                  listener.tls != nullptr, ++next_connection_id};
    spdlog::debug("mllp {}: connection {} from {}:{}", peer.listener, peer.connection_id,
                  peer.address, peer.port);
    std::shared_ptr<ConnectionBase> connection;
    if (listener.tls) {
      auto c = std::make_shared<Connection<ssl::stream<tcp::socket>>>(
          ssl::stream<tcp::socket>(std::move(socket), *listener.tls), listener, registry, counters,
          lifeline, std::move(peer));
      connection = c;
      Register(connection);
      c->Start();
    } else {
      auto c = std::make_shared<Connection<tcp::socket>>(std::move(socket), listener, registry,
                                                         counters, lifeline, std::move(peer));
      connection = c;
      Register(connection);
      c->Start();
    }
  }

  void Register(const std::shared_ptr<ConnectionBase>& c) {
    std::lock_guard lock(registry.mu);
    registry.live.insert(c);
  }

  std::size_t io_threads;
  net::io_context io;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  std::vector<std::unique_ptr<Listener>> listeners;
  Registry registry;
  Counters counters;
  std::shared_ptr<Lifeline> lifeline = std::make_shared<Lifeline>();
  std::atomic<std::uint64_t> next_connection_id{0};
  std::atomic<bool> stopping{false};
  bool started = false;
};

Server::Server(std::size_t io_threads) : impl_(std::make_unique<Impl>(io_threads)) {}

Server::~Server() {
  Stop(std::chrono::milliseconds(0));
  std::lock_guard lock(impl_->lifeline->mu);
  impl_->lifeline->alive = false;
}

Result<std::uint16_t> Server::AddListener(const ListenerOptions& options,
                                          std::shared_ptr<Handler> handler) {
  auto listener = std::make_unique<Listener>();
  listener->options = options;
  listener->handler = std::move(handler);
  auto allow = AllowList::Parse(options.allow);
  if (!allow.ok()) return Status::Invalid("allow: " + allow.status().message());
  listener->allow = std::move(allow).value();
  if (options.tls) {
    auto ctx = MakeServerContext(*options.tls);
    if (!ctx.ok()) return Status::Invalid("tls: " + ctx.status().message());
    listener->tls = std::move(ctx).value();
  }
  boost::system::error_code ec;
  net::ip::address address = net::ip::make_address(options.host, ec);
  if (ec) return Status::Invalid("listen: '" + options.host + "' is not an IP address");
  tcp::endpoint endpoint(address, options.port);
  auto acceptor = std::make_unique<tcp::acceptor>(impl_->io);
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::Io("listen on " + options.host + ":" + std::to_string(options.port) + ": " +
                      ec.message());
  }
  const std::uint16_t port = acceptor->local_endpoint().port();
  listener->acceptor = std::move(acceptor);
  impl_->listeners.push_back(std::move(listener));
  return port;
}

void Server::Start() {
  if (impl_->started) return;
  impl_->started = true;
  impl_->work.emplace(impl_->io.get_executor());
  for (auto& listener : impl_->listeners) impl_->Accept(*listener);
  for (std::size_t i = 0; i < impl_->io_threads; ++i) {
    impl_->threads.emplace_back([this] { impl_->io.run(); });
  }
}

void Server::Stop(std::chrono::milliseconds drain) {
  if (!impl_->started || impl_->stopping.exchange(true)) return;
  for (auto& listener : impl_->listeners) {
    net::post(impl_->io, [&listener] {
      boost::system::error_code ignored;
      listener->acceptor->close(ignored);
    });
  }
  std::vector<std::shared_ptr<ConnectionBase>> live;
  {
    std::lock_guard lock(impl_->registry.mu);
    live.assign(impl_->registry.live.begin(), impl_->registry.live.end());
  }
  for (auto& c : live) c->RequestStop();
  {
    std::unique_lock lock(impl_->registry.mu);
    impl_->registry.drained.wait_for(lock, drain, [&] { return impl_->registry.live.empty(); });
    live.assign(impl_->registry.live.begin(), impl_->registry.live.end());
  }
  for (auto& c : live) c->ForceClose();
  {
    std::unique_lock lock(impl_->registry.mu);
    impl_->registry.drained.wait_for(lock, std::chrono::seconds(2),
                                     [&] { return impl_->registry.live.empty(); });
  }
  {
    std::lock_guard lock(impl_->lifeline->mu);
    impl_->lifeline->alive = false;  // late replies are dropped from here on
  }
  impl_->work.reset();
  impl_->io.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

ServerStats Server::stats() const {
  const Counters& c = impl_->counters;
  return {c.accepted.load(), c.refused.load(), c.open.load(),         c.frames.load(),
          c.frame_errors.load(), c.timeouts.load(), c.bytes_received.load(), c.bytes_skipped.load()};
}

}  // namespace junction::mllp
