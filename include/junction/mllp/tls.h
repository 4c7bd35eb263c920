// TLS settings shared by the MLLP server and client (OpenSSL through Boost.Asio).
//
//   TlsOptions tls{.cert = "server.pem", .key = "server.key", .client_ca = "ca.pem"};
//   auto ctx = MakeServerContext(tls);   // mTLS: clients must present a cert signed by ca.pem
//
// Ownership: the returned context is shared by every connection of a listener.
#pragma once

#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "junction/hl7/status.h"

namespace junction::mllp {

struct TlsOptions {
  std::string cert;       // PEM certificate chain (server: required; client: for mTLS)
  std::string key;        // PEM private key for `cert`
  std::string ca;         // client: CA file to verify the server (empty = system default)
  std::string client_ca;  // server: when set, clients must present a certificate it signed
  bool verify_peer = true;  // client: verify the server certificate
  std::string server_name;  // client: SNI and host name check (default: the host)
};

Result<std::shared_ptr<boost::asio::ssl::context>> MakeServerContext(const TlsOptions& options);
Result<std::shared_ptr<boost::asio::ssl::context>> MakeClientContext(const TlsOptions& options);

}  // namespace junction::mllp
