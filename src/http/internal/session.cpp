#include "http/internal/session.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <optional>
#include <string>
#include <utility>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "http/internal/gzip.h"

namespace junction::http::internal {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using PlainStream = tcp::socket;
using TlsStream = ssl::stream<tcp::socket>;

// How long a closing connection keeps reading (and discarding) what the client
// still sends, so that our last response is not lost to a TCP reset.
constexpr std::chrono::milliseconds kLingerTime{500};
constexpr std::size_t kReadChunk = 4096;

tcp::socket& LowestLayer(PlainStream& s) { return s; }
tcp::socket& LowestLayer(TlsStream& s) { return s.next_layer(); }

std::string PeerString(const tcp::socket& socket) {
  beast::error_code ec;
  const tcp::endpoint ep = socket.remote_endpoint(ec);
  if (ec) return "?";
  const std::string address = ep.address().to_string();
  return (ep.address().is_v6() ? "[" + address + "]" : address) + ":" + std::to_string(ep.port());
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool IEquals(std::string_view a, std::string_view b) { return Lower(a) == Lower(b); }

bool MustNotHaveBody(int status) { return status < 200 || status == 204 || status == 304; }

template <typename Stream>
class Session;

// Shared by every copy of one request's Responder. The first call wins; when
// the last copy goes away without a call, the client still gets a 500.
template <typename Stream>
struct ResponderState {
  std::weak_ptr<Session<Stream>> session;
  std::shared_ptr<ServerState> state;
  std::uint64_t request_seq = 0;
  std::string path;
  std::atomic<bool> done{false};

  void Send(Response response) {
    if (done.exchange(true)) {
      spdlog::warn("http: responder called twice (seq {}); second response dropped", request_seq);
      return;
    }
    Post(std::move(response));
  }
  ~ResponderState() {
    if (!done.load()) Post(ErrorResponse(path, 500, "the handler did not respond"));
  }
  void Post(Response response);
};

template <typename Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(Stream stream, std::shared_ptr<ServerState> state)
      : stream_(std::move(stream)),
        timer_(LowestLayer(stream_).get_executor()),
        state_(std::move(state)),
        peer_(PeerString(LowestLayer(stream_))) {}

  ~Session() override { state_->RemoveSession(this); }

  void Start() {
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      phase_ = Phase::kHandshake;
      ArmTimer(state_->options.read_timeout);
      stream_.async_handshake(
          ssl::stream_base::server,
          [self = this->shared_from_this()](beast::error_code ec) { self->OnHandshake(ec); });
    } else {
      ReadNext();
    }
  }

  void RequestStop() override {
    net::post(Executor(), [self = this->shared_from_this()] {
      self->stop_requested_ = true;
      if (self->phase_ == Phase::kIdle || self->phase_ == Phase::kHandshake) self->Close();
    });
  }

  void ForceClose() override {
    net::post(Executor(), [self = this->shared_from_this()] { self->Close(); });
  }

  net::any_io_executor Executor() { return LowestLayer(stream_).get_executor(); }

  // On the strand: the response for request `seq` from its Responder.
  void Deliver(std::uint64_t seq, Response response) {
    if (seq != request_seq_ || phase_ != Phase::kHandling) return;  // connection moved on
    auto keep = std::move(self_keep_);
    WriteResponse(std::move(response), /*close=*/false);
  }

 private:
  enum class Phase { kHandshake, kIdle, kReading, kHandling, kWriting, kClosing, kClosed };

  void OnHandshake(beast::error_code ec) {
    CancelTimer();
    if (ec) {
      spdlog::debug("http: TLS handshake from {} failed: {}", peer_, ec.message());
      return Close();
    }
    ReadNext();
  }

  // Waits for the next request: idle until its first byte, then reading.
  void ReadNext() {
    if (stop_requested_ || phase_ == Phase::kClosed) return Close();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(state_->options.max_header_bytes, UINT32_MAX)));
    parser_->body_limit(state_->options.max_body_bytes);
    if (buffer_.size() > 0) return StartReading();  // pipelined: already started
    phase_ = Phase::kIdle;
    ArmTimer(state_->options.idle_timeout);
    stream_.async_read_some(buffer_.prepare(kReadChunk),
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->OnFirstBytes(ec, n);
                            });
  }

  void OnFirstBytes(beast::error_code ec, std::size_t n) {
    if (phase_ == Phase::kClosed) return;
    if (ec) return Close();  // EOF, reset, idle timeout or stop: nothing to answer
    buffer_.commit(n);
    StartReading();
  }

  void StartReading() {
    phase_ = Phase::kReading;
    started_ = Clock::now();
    ArmTimer(state_->options.read_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                               self->OnHeader(ec);
                             });
  }

  void OnHeader(beast::error_code ec) {
    // timed_out_ without an error: the timer fired just as the header completed.
    if (ec || timed_out_) return OnReadError(ec);
    const auto& req = parser_->get();
    if (IEquals(req[bhttp::field::expect], "100-continue") && !parser_->is_done()) {
      // The body limit was checked against Content-Length already.
      auto cont =
          std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, 11);
      bhttp::async_write(
          stream_, *cont,
          [self = this->shared_from_this(), cont](beast::error_code wec, std::size_t) {
            if (wec) return self->Close();
            self->ReadBody();
          });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        self->OnRequest(ec);
                      });
  }

  std::string TargetPath() const {
    if (!parser_) return {};
    const std::string_view target = parser_->get().target();
    return PercentDecode(target.substr(0, target.find('?')));
  }

  void OnReadError(beast::error_code ec) {
    if (phase_ == Phase::kClosed) return;
    keep_alive_ = false;
    if (timed_out_) {
      return SendError(408, "request not complete within " +
                                std::to_string(state_->options.read_timeout.count()) + " ms");
    }
    if (ec == bhttp::error::body_limit) {
      return SendError(
          413, "request body exceeds " + std::to_string(state_->options.max_body_bytes) + " bytes");
    }
    if (ec == bhttp::error::header_limit) {
      return SendError(431, "request header block exceeds " +
                                std::to_string(state_->options.max_header_bytes) + " bytes");
    }
    if (ec.category() == bhttp::make_error_code(bhttp::error::end_of_stream).category() &&
        ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
      return SendError(400, std::string("malformed request: ") + ec.message());
    }
    Close();  // the client went away (EOF, reset, TLS truncation) or we were stopped
  }

  // Answers an error the server found itself, then closes.
  void SendError(int status, const std::string& diagnostics) {
    const std::string path = TargetPath();
    if (request_id_.empty()) request_id_ = NewRequestId();
    if (method_.empty() && parser_) method_ = std::string(parser_->get().method_string());
    WriteResponse(ErrorResponse(path, status, diagnostics), /*close=*/true);
  }

  void OnRequest(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    CancelTimer();
    ++request_seq_;
    auto& req = parser_->get();

    Request request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    const std::size_t q = request.target.find('?');
    request.path = PercentDecode(std::string_view(request.target).substr(0, q));
    if (q != std::string::npos) request.query = request.target.substr(q + 1);
    request.headers.reserve(std::distance(req.begin(), req.end()));
    for (const auto& f : req) {
      request.headers.emplace_back(Lower(f.name_string()), std::string(f.value()));
    }
    request.peer = peer_;
    request.tls = std::is_same_v<Stream, TlsStream>;
    request.request_id = SanitizeRequestId(request.Header("x-request-id"));
    if (request.request_id.empty()) request.request_id = NewRequestId();

    method_ = request.method;
    request_id_ = request.request_id;
    keep_alive_ = req.keep_alive();
    head_ = req.method() == bhttp::verb::head;
    accepts_gzip_ = AcceptsGzip(request.Header("accept-encoding"));
    origin_ = std::string(request.Header("origin"));
    const RouteEntry* route = state_->Match(request.path);
    route_ = route ? route->prefix : std::string();

    // Preflight requests are the server's to answer, not the handlers'.
    if (state_->cors.IsPreflight(request.method, origin_,
                                 request.Header("access-control-request-method"))) {
      Response preflight;
      preflight.status = 204;
      if (state_->cors.Allows(origin_)) {
        state_->cors.AddPreflightHeaders(origin_, preflight.headers);
      } else {
        preflight = ErrorResponse(request.path, 403, "origin not allowed");
      }
      return WriteResponse(std::move(preflight), false);
    }

    const std::string_view encoding = request.Header("content-encoding");
    if (IEquals(encoding, "gzip") || IEquals(encoding, "x-gzip")) {
      auto plain = GzipDecompress(req.body(), state_->options.max_body_bytes);
      if (!plain.ok()) {
        // The body was read whole, so the connection can stay open.
        const int status = plain.status().code() == StatusCode::kOutOfRange ? 413 : 400;
        return WriteResponse(ErrorResponse(request.path, status, plain.status().message()), false);
      }
      request.body = std::move(*plain);
    } else if (!encoding.empty() && !IEquals(encoding, "identity")) {
      return WriteResponse(
          ErrorResponse(request.path, 415, "unsupported Content-Encoding (gzip only)"), false);
    } else {
      request.body = std::move(req.body());
    }

    if (route == nullptr) {
      return WriteResponse(ErrorResponse(request.path, 404, "no route for this path"), false);
    }

    phase_ = Phase::kHandling;
    self_keep_ = this->shared_from_this();
    auto responder_state = std::make_shared<ResponderState<Stream>>();
    responder_state->session = this->shared_from_this();
    responder_state->state = state_;
    responder_state->request_seq = request_seq_;
    responder_state->path = request.path;
    Responder respond = [responder_state](Response response) {
      responder_state->Send(std::move(response));
    };
    try {
      route->handler(std::move(request), respond);
    } catch (...) {
      // No what(): exception text may quote request content.
      spdlog::error("http: handler for '{}' threw (request {})", route_, request_id_);
      respond(ErrorResponse(responder_state->path, 500, "internal error"));
    }
  }

  void WriteResponse(Response response, bool close) {
    if (phase_ == Phase::kClosed) return;
    close = close || !keep_alive_ || stop_requested_;
    const int status = response.status;
    res_ = {};
    res_.version(11);
    res_.result(static_cast<unsigned>(status));
    res_.set(bhttp::field::server, "junction");

    std::string vary;
    bool has_encoding = false;
    for (auto& [name, value] : response.headers) {
      if (IEquals(name, "vary")) {
        vary += (vary.empty() ? "" : ", ") + value;
      } else {
        has_encoding = has_encoding || IEquals(name, "content-encoding");
        res_.insert(name, value);
      }
    }
    if (res_.find("X-Request-Id") == res_.end()) {
      res_.set("X-Request-Id", request_id_);
    }
    if (state_->cors.Allows(origin_) &&
        res_.find(bhttp::field::access_control_allow_origin) == res_.end()) {
      CorsPolicy::Headers cors;
      state_->cors.AddResponseHeaders(origin_, cors);
      for (auto& [name, value] : cors) {
        if (IEquals(name, "vary")) {
          vary += (vary.empty() ? "" : ", ") + value;
        } else {
          res_.set(name, value);
        }
      }
    }

    std::string body = std::move(response.body);
    if (MustNotHaveBody(status)) {
      body.clear();
    } else {
      res_.set(bhttp::field::content_type, response.content_type);
      if (!has_encoding && status != 206 && body.size() >= state_->options.gzip_min_bytes &&
          state_->options.gzip_min_bytes > 0) {
        vary += vary.empty() ? "Accept-Encoding" : ", Accept-Encoding";
        if (accepts_gzip_) {
          std::string packed = GzipCompress(body);
          if (!packed.empty()) {
            body = std::move(packed);
            res_.set(bhttp::field::content_encoding, "gzip");
          }
        }
      }
    }
    if (!vary.empty()) res_.set(bhttp::field::vary, vary);
    res_.keep_alive(!close);
    const std::size_t body_bytes = body.size();
    if (head_ && !MustNotHaveBody(status)) {
      res_.content_length(body_bytes);  // what GET would send; no body for HEAD
    } else {
      res_.body() = std::move(body);
      res_.prepare_payload();
    }

    state_->CountResponse(route_, status);
    close_after_write_ = close;
    response_status_ = status;
    response_bytes_ = body_bytes;
    phase_ = Phase::kWriting;
    ArmTimer(state_->options.idle_timeout);
    bhttp::async_write(stream_, res_,
                       [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                         self->OnWrite(ec);
                       });
  }

  void OnWrite(beast::error_code ec) {
    CancelTimer();
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started_).count();
    // Method, route prefix, status, bytes, time: never the target, query or body (PHI).
    spdlog::info("http {} {} {} {}B {:.3f}ms id={}{}", method_, route_.empty() ? "-" : route_,
                 response_status_, response_bytes_, static_cast<double>(elapsed) / 1000.0,
                 request_id_, ec ? " (write failed)" : "");
    method_.clear();
    request_id_.clear();
    origin_.clear();
    head_ = false;
    timed_out_ = false;
    if (ec || phase_ == Phase::kClosed) return Close();
    if (close_after_write_) return Linger();
    ReadNext();
  }

  // Half-closes, then discards what the client still sends for a short while,
  // so that our last response is read rather than lost to a reset.
  void Linger() {
    phase_ = Phase::kClosing;
    ArmTimer(kLingerTime);
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      stream_.async_shutdown(
          [self = this->shared_from_this()](beast::error_code) { self->Close(); });
    } else {
      beast::error_code ignored;
      stream_.shutdown(tcp::socket::shutdown_send, ignored);
      buffer_.consume(buffer_.size());
      Discard();
    }
  }

  void Discard() {
    stream_.async_read_some(buffer_.prepare(kReadChunk),
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec || self->phase_ == Phase::kClosed) return self->Close();
                              self->Discard();
                            });
  }

  void Close() {
    if (phase_ == Phase::kClosed) return;
    phase_ = Phase::kClosed;
    CancelTimer();
    beast::error_code ignored;
    LowestLayer(stream_).shutdown(tcp::socket::shutdown_both, ignored);
    LowestLayer(stream_).close(ignored);
    self_keep_.reset();
  }

  void ArmTimer(std::chrono::milliseconds after) {
    const std::uint64_t seq = ++timer_seq_;
    timer_.expires_after(after);
    timer_.async_wait([self = this->shared_from_this(), seq](beast::error_code ec) {
      if (ec || seq != self->timer_seq_) return;  // cancelled or re-armed
      self->OnTimeout();
    });
  }

  void CancelTimer() {
    ++timer_seq_;
    timer_.cancel();
  }

  void OnTimeout() {
    switch (phase_) {
      case Phase::kReading: {
        // Abort the read; its handler answers 408.
        timed_out_ = true;
        beast::error_code ignored;
        LowestLayer(stream_).cancel(ignored);
        return;
      }
      case Phase::kHandling:
      case Phase::kClosed:
        return;
      default:  // handshake, idle, writing to a client that stopped reading, lingering
        return Close();
    }
  }

  Stream stream_;
  net::steady_timer timer_;
  std::shared_ptr<ServerState> state_;
  std::string peer_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::response<bhttp::string_body> res_;
  Phase phase_ = Phase::kIdle;
  std::uint64_t timer_seq_ = 0;
  std::uint64_t request_seq_ = 0;
  bool stop_requested_ = false;
  bool timed_out_ = false;
  std::shared_ptr<Session> self_keep_;  // while a handler holds the Responder

  // The request being answered (for headers and the access log).
  std::string method_;
  std::string route_;
  std::string request_id_;
  std::string origin_;
  bool keep_alive_ = true;
  bool head_ = false;
  bool accepts_gzip_ = false;
  Clock::time_point started_ = Clock::now();
  bool close_after_write_ = false;
  int response_status_ = 0;
  std::size_t response_bytes_ = 0;
};

template <typename Stream>
void ResponderState<Stream>::Post(Response response) {
  std::lock_guard lock(state->life_mu);
  if (!state->alive) return;
  auto target = session.lock();
  if (!target) return;  // the connection is gone: drop the response
  net::post(target->Executor(), [target, seq = request_seq, r = std::move(response)]() mutable {
    target->Deliver(seq, std::move(r));
  });
}

template <typename Stream>
void Launch(Stream stream, const std::shared_ptr<ServerState>& state) {
  auto session = std::make_shared<Session<Stream>>(std::move(stream), state);
  state->AddSession(session.get(), session);
  session->Start();
}

}  // namespace

void StartSession(tcp::socket socket, std::shared_ptr<ServerState> state) {
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  if (state->tls) {
    Launch(TlsStream(std::move(socket), *state->tls), state);
  } else {
    Launch(PlainStream(std::move(socket)), state);
  }
}

}  // namespace junction::http::internal
