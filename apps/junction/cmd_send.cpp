// junction send HOST:PORT FILE... [--tls --ca F --cert F --key F] [--timeout S]
//                [--retries N] [--repeat N --concurrency C]
// Glue only: sending, ACK checks and load mode live in junction::engine (sender.h).
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "exit_codes.h"
#include "junction/engine/sender.h"
#include "output.h"

namespace junction::cli {
namespace {

struct SendArgs {
  std::string target;
  std::vector<std::string> files;
  bool tls = false;
  std::string ca;
  std::string cert;
  std::string key;
  std::string server_name;
  bool insecure = false;
  double timeout_s = 10;
  int retries = 0;
  std::size_t repeat = 0;
  std::size_t concurrency = 0;
};

int RunSend(const SendArgs& a) {
  engine::SenderOptions options;
  Status target = engine::ParseTarget(a.target, &options.client.host, &options.client.port);
  if (!target.ok()) {
    Complain(target.message());
    return kExitUsage;
  }
  if (a.tls || !a.ca.empty() || !a.cert.empty() || !a.key.empty()) {
    mllp::TlsOptions tls;
    tls.ca = a.ca;
    tls.cert = a.cert;
    tls.key = a.key;
    tls.server_name = a.server_name;
    tls.verify_peer = !a.insecure;
    options.client.tls = tls;
  }
  options.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(a.timeout_s * 1000));
  options.client.connect_timeout = options.timeout;
  options.retries = a.retries;

  auto messages = engine::LoadMessages(a.files);
  if (!messages.ok()) {
    Complain(messages.status().message());
    return messages.status().code() == StatusCode::kIoError ? kExitIo : kExitData;
  }

  if (a.repeat > 0 || a.concurrency > 0) {
    engine::LoadOptions load;
    load.repeat = a.repeat > 0 ? a.repeat : 1;
    load.concurrency = a.concurrency > 0 ? a.concurrency : 1;
    load.sender = options;
    const engine::LoadReport report = engine::RunLoad(*messages, load);
    if (!WriteOut(engine::FormatLoadReport(report))) return kExitIo;
    return report.ExitCode();
  }

  engine::Sender sender(options);
  engine::SendSummary summary;
  for (const std::string& message : *messages) {
    const engine::SendOutcome outcome = sender.Send(message);
    summary.Add(outcome);
    if (!WriteOut(engine::FormatOutcomeLine(outcome) + "\n") || !FlushOut()) return kExitIo;
  }
  return summary.ExitCode();
}

}  // namespace

void AddSendCommand(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<SendArgs>();
  CLI::App* cmd = app.add_subcommand(
      "send",
      "Send every message in the files over MLLP, wait for each ACK and check that MSA-2 names "
      "the message. Prints one line per message: control id, ACK code, milliseconds. Exits 0 "
      "only when every ACK is AA or CA. With --repeat/--concurrency: load mode (unique MSH-10 "
      "per copy), prints throughput and latency percentiles.");
  cmd->add_option("HOST:PORT", a->target, "the MLLP listener")->required();
  cmd->add_option("FILE", a->files,
                  "files with one or more messages (batches, streams, MLLP frames); - for stdin")
      ->required();
  cmd->add_flag("--tls", a->tls, "connect with TLS (implied by --ca, --cert, --key)");
  cmd->add_option("--ca", a->ca, "CA file to verify the server (default: system CAs)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--cert", a->cert, "client certificate (mutual TLS)")->check(CLI::ExistingFile);
  cmd->add_option("--key", a->key, "client private key (mutual TLS)")->check(CLI::ExistingFile);
  cmd->add_option("--server-name", a->server_name, "TLS server name to verify (default: HOST)");
  cmd->add_flag("--insecure", a->insecure, "TLS without verifying the server certificate");
  cmd->add_option("--timeout", a->timeout_s, "seconds to connect, write and wait for each ACK")
      ->check(CLI::Range(0.001, 86400.0))
      ->capture_default_str();
  cmd->add_option("--retries", a->retries,
                  "on an I/O failure, reconnect and resend up to N more times")
      ->check(CLI::Range(0, 1000))
      ->capture_default_str();
  cmd->add_option("--repeat", a->repeat, "load mode: send each message N times")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100'000'000}));
  cmd->add_option("--concurrency", a->concurrency,
                  "load mode: C connections, each with one message in flight")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000}));
  cmd->footer(std::string(kExitCodesHelp) + " Exit 1: a negative or mismatched ACK; 3: no ACK "
              "(connection, timeout) after the retries.");
  cmd->callback([a, exit_code] { *exit_code = RunSend(*a); });
}

}  // namespace junction::cli
