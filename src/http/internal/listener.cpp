#include "http/internal/listener.h"

#include <chrono>
#include <future>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>

#include "http/internal/session.h"

namespace junction::http::internal {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;

// After an accept error such as EMFILE, wait before trying again instead of
// spinning.
constexpr std::chrono::milliseconds kAcceptRetry{50};
constexpr std::chrono::seconds kCloseWait{2};

Status Load(const char* what, const std::string& file, const std::function<void()>& load) {
  try {
    load();
  } catch (const boost::system::system_error& e) {
    return Status::Invalid(std::string(what) + " '" + file + "': " + e.code().message());
  }
  return Status::Ok();
}

}  // namespace

Result<std::shared_ptr<ssl::context>> MakeTlsContext(const TlsServerOptions& options) {
  if (options.cert.empty() || options.key.empty()) {
    return Status::Invalid("an HTTPS listener needs both cert and key");
  }
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use);
  JUNCTION_RETURN_IF_ERROR(
      Load("certificate", options.cert, [&] { ctx->use_certificate_chain_file(options.cert); }));
  JUNCTION_RETURN_IF_ERROR(Load("private key", options.key, [&] {
    ctx->use_private_key_file(options.key, ssl::context::pem);
  }));
  if (!options.client_ca.empty()) {
    JUNCTION_RETURN_IF_ERROR(
        Load("client CA", options.client_ca, [&] { ctx->load_verify_file(options.client_ca); }));
    ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  }
  return ctx;
}

Listener::Listener(net::io_context& ioc, std::shared_ptr<ServerState> state)
    : ioc_(ioc),
      strand_(net::make_strand(ioc)),
      acceptor_(strand_),
      retry_timer_(strand_),
      state_(std::move(state)) {}

Result<std::uint16_t> Listener::Bind(const std::string& host, std::uint16_t port) {
  boost::system::error_code ec;
  tcp::resolver resolver(ioc_);
  auto endpoints = resolver.resolve(host, std::to_string(port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty()) {
    return Status::Io("http: cannot resolve '" + host + "': " + ec.message());
  }
  const tcp::endpoint endpoint = endpoints.begin()->endpoint();
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    return Status::Io("http: cannot listen on " + host + ":" + std::to_string(port) + ": " +
                      ec.message());
  }
  return acceptor_.local_endpoint().port();
}

void Listener::Start() {
  net::post(strand_, [self = shared_from_this()] { self->Accept(); });
}

void Listener::Close() {
  auto done = std::make_shared<std::promise<void>>();
  auto future = done->get_future();
  net::post(strand_, [self = shared_from_this(), done] {
    boost::system::error_code ignored;
    self->acceptor_.close(ignored);
    self->retry_timer_.cancel();
    done->set_value();
  });
  future.wait_for(kCloseWait);
}

void Listener::Accept() {
  if (!acceptor_.is_open()) return;
  acceptor_.async_accept(
      net::make_strand(ioc_),
      [self = shared_from_this()](boost::system::error_code ec, tcp::socket socket) {
        self->OnAccept(ec, std::move(socket));
      });
}

void Listener::OnAccept(boost::system::error_code ec, tcp::socket socket) {
  if (!acceptor_.is_open()) return;
  if (ec) {
    spdlog::warn("http: accept failed: {}", ec.message());
    retry_timer_.expires_after(kAcceptRetry);
    retry_timer_.async_wait([self = shared_from_this()](boost::system::error_code wec) {
      if (!wec) self->Accept();
    });
    return;
  }
  bool admit = false;
  {
    std::lock_guard lock(state_->mu);
    if (!state_->stopping && state_->stats.open_connections < state_->options.max_connections) {
      admit = true;
      ++state_->stats.accepted;
    } else if (!state_->stopping) {
      ++state_->stats.rejected_connections;
    }
  }
  if (admit) {
    StartSession(std::move(socket), state_);
  } else {
    boost::system::error_code ignored;
    socket.close(ignored);
  }
  Accept();
}

}  // namespace junction::http::internal
