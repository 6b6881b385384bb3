// TLS for the collector's listener: the server certificate, and client certificates verified against a
// CA (mTLS) when configured.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <string>

#include "server/auth.h"

namespace shadowmeter::collector {

struct TlsOptions {
  std::string cert_file;       // PEM certificate chain; "" = plain HTTP
  std::string key_file;        // PEM private key
  std::string client_ca_file;  // PEM CA(s) client certificates must chain to; "" = no client certificates
  bool require_client_cert = false;  // a client without a valid certificate fails the handshake
  bool enabled() const { return !cert_file.empty(); }
};

// TLS 1.2 or newer. Throws std::runtime_error naming the file that cannot be used.
boost::asio::ssl::context make_server_tls_context(const TlsOptions& options);

// The verified client certificate of an established connection (verified_cert false when none).
PeerIdentity peer_identity(SSL* ssl);

}  // namespace shadowmeter::collector
