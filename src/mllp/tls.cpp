#include "junction/mllp/tls.h"

#include <boost/asio/ssl.hpp>

namespace junction::mllp {
namespace {

namespace ssl = boost::asio::ssl;

Status Load(const char* what, const std::string& file, const std::function<void()>& load) {
  try {
    load();
  } catch (const boost::system::system_error& e) {
    return Status::Invalid(std::string(what) + " '" + file + "': " + e.code().message());
  }
  return Status::Ok();
}

std::shared_ptr<ssl::context> NewContext(ssl::context::method method) {
  auto ctx = std::make_shared<ssl::context>(method);
  // TLS 1.2 or newer only.
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use);
  return ctx;
}

Status LoadIdentity(ssl::context& ctx, const TlsOptions& options) {
  JUNCTION_RETURN_IF_ERROR(Load("certificate", options.cert,
                                [&] { ctx.use_certificate_chain_file(options.cert); }));
  return Load("private key", options.key,
              [&] { ctx.use_private_key_file(options.key, ssl::context::pem); });
}

}  // namespace

Result<std::shared_ptr<ssl::context>> MakeServerContext(const TlsOptions& options) {
  if (options.cert.empty() || options.key.empty()) {
    return Status::Invalid("a TLS listener needs both cert and key");
  }
  auto ctx = NewContext(ssl::context::tls_server);
  JUNCTION_RETURN_IF_ERROR(LoadIdentity(*ctx, options));
  if (!options.client_ca.empty()) {
    JUNCTION_RETURN_IF_ERROR(Load("client CA", options.client_ca,
                                  [&] { ctx->load_verify_file(options.client_ca); }));
    ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  }
  return ctx;
}

Result<std::shared_ptr<ssl::context>> MakeClientContext(const TlsOptions& options) {
  auto ctx = NewContext(ssl::context::tls_client);
  if (!options.cert.empty() || !options.key.empty()) {
    JUNCTION_RETURN_IF_ERROR(LoadIdentity(*ctx, options));
  }
  if (!options.ca.empty()) {
    JUNCTION_RETURN_IF_ERROR(Load("CA", options.ca, [&] { ctx->load_verify_file(options.ca); }));
  } else {
    ctx->set_default_verify_paths();
  }
  ctx->set_verify_mode(options.verify_peer ? ssl::verify_peer : ssl::verify_none);
  return ctx;
}

}  // namespace junction::mllp
