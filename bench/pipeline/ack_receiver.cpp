// pipeline_ack_receiver: a fast downstream MLLP peer for bench/pipeline.sh
// (not a test peer, not an HL7 server).
//
//   pipeline_ack_receiver [PORT]     # 0 or none = any free port on 127.0.0.1
//   -> prints "listening PORT"; on SIGTERM/SIGINT prints "received N" and exits
//
// For every MLLP frame (0x0B ... 0x1C 0x0D) it reads MSH-10 from the MSH
// segment (the field separator is MSH's 4th byte) and answers
//   MSH|^~\&|RX|BENCH|JUNCTION|HOSP|20240101000000||ACK|A<id>|P|2.5<CR>MSA|AA|<id>
// at once, without parsing anything else or storing anything, so that the
// pipeline under test is what a benchmark measures. It is the C++ twin of
// ack_receiver.py (~60 us of CPU per message for the two Python receivers on
// the 2-core bench box), kept byte for byte compatible with it.
//
// One thread, Boost.Asio, any number of connections. Each read consumes every
// complete frame it holds and answers them with one write, so pipelined
// senders get their ACKs in order and in few syscalls.
#include <boost/asio.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr char kStart = 0x0b;
constexpr char kEnd1 = 0x1c;
constexpr char kEnd2 = 0x0d;
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kMaxFrame = 64u << 20;  // a peer that never ends a frame is dropped

std::uint64_t received = 0;

// MSH-10 of a frame's payload, or "" when there is none.
std::string_view ControlId(std::string_view payload) {
  if (payload.size() < 4 || payload.substr(0, 3) != "MSH") return {};
  const std::string_view msh = payload.substr(0, payload.find_first_of("\r\n"));
  const char sep = msh[3];
  // MSH-1 is the separator at [3]; the 9th separator precedes MSH-10.
  std::size_t pos = 3;
  for (int found = 1; found < 9; ++found) {
    pos = msh.find(sep, pos + 1);
    if (pos == std::string_view::npos) return {};
  }
  const std::size_t end = msh.find(sep, pos + 1);
  return msh.substr(pos + 1,
                    end == std::string_view::npos ? std::string_view::npos : end - pos - 1);
}

void AppendAck(std::string& out, std::string_view control_id) {
  out += kStart;
  out += "MSH|^~\\&|RX|BENCH|JUNCTION|HOSP|20240101000000||ACK|A";
  out += control_id;
  out += "|P|2.5\rMSA|AA|";
  out += control_id;
  out += '\r';
  out += kEnd1;
  out += kEnd2;
}

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  explicit Connection(tcp::socket socket) : socket_(std::move(socket)) {}

  void Start() { Read(); }

 private:
  void Read() {
    const std::size_t old = buffer_.size();
    buffer_.resize(old + kReadChunk);
    socket_.async_read_some(
        asio::buffer(buffer_.data() + old, kReadChunk),
        [self = shared_from_this(), old](boost::system::error_code ec, std::size_t n) {
          self->buffer_.resize(old + n);
          if (ec) return;  // closed or reset: the connection ends
          self->Consume();
        });
  }

  // Answers every complete frame in buffer_, keeps the tail of a partial one.
  void Consume() {
    std::string acks;
    std::size_t pos = 0;
    const std::string_view data(buffer_);
    while (true) {
      const std::size_t start = data.find(kStart, pos);
      if (start == std::string_view::npos) {
        pos = data.size();  // garbage between frames is dropped
        break;
      }
      const std::size_t end = data.find(kEnd1, start + 1);
      if (end == std::string_view::npos || end + 1 >= data.size()) {
        pos = start;
        break;
      }
      if (data[end + 1] != kEnd2) {  // a stray 0x1C: not a frame end, look on
        pos = end + 1;
        continue;
      }
      AppendAck(acks, ControlId(data.substr(start + 1, end - start - 1)));
      ++received;
      pos = end + 2;
    }
    buffer_.erase(0, pos);
    if (buffer_.size() > kMaxFrame) return;  // drop the connection
    if (acks.empty()) {
      Read();
      return;
    }
    auto out = std::make_shared<std::string>(std::move(acks));
    asio::async_write(socket_, asio::buffer(*out),
                      [self = shared_from_this(), out](boost::system::error_code ec, std::size_t) {
                        if (!ec) self->Read();
                      });
  }

  tcp::socket socket_;
  std::string buffer_;
};

void Accept(tcp::acceptor& acceptor) {
  acceptor.async_accept([&acceptor](boost::system::error_code ec, tcp::socket socket) {
    if (!acceptor.is_open()) return;
    if (!ec) {
      socket.set_option(tcp::no_delay(true));
      std::make_shared<Connection>(std::move(socket))->Start();
    }
    Accept(acceptor);
  });
}

}  // namespace

int main(int argc, char** argv) {
  const int port = argc > 1 ? std::atoi(argv[1]) : 0;
  if (port < 0 || port > 65535) {
    std::fprintf(stderr, "usage: pipeline_ack_receiver [PORT]\n");
    return 2;
  }
  asio::io_context io(1);
  boost::system::error_code ec;
  tcp::acceptor acceptor(io);
  const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"),
                               static_cast<unsigned short>(port));
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    std::fprintf(stderr, "pipeline_ack_receiver: listen on port %d: %s\n", port,
                 ec.message().c_str());
    return 1;
  }
  std::printf("listening %u\n", static_cast<unsigned>(acceptor.local_endpoint().port()));
  std::fflush(stdout);

  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](boost::system::error_code, int) {
    acceptor.close();
    io.stop();
  });
  Accept(acceptor);
  io.run();
  std::printf("received %llu\n", static_cast<unsigned long long>(received));
  std::fflush(stdout);
  return 0;
}
