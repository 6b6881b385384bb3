// The client side of TLS to the collector: TLS 1.2 or later, the peer verified against the pinned CA
// file (only its CAs) or the system store, an optional client certificate for mTLS, and the name
// checked on each connection (host name or IP SAN, SNI for names).
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <memory>
#include <string>

namespace shadowmeter::exporting::otlp_http {

struct TlsSettings {
  std::string ca_file;           // "" = system store
  std::string client_cert_file;  // "" = no client certificate
  std::string client_key_file;
  std::string verify_name;  // host name or IP literal the certificate must be for
};

// Throws std::runtime_error naming the file that cannot be used.
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const TlsSettings& settings);

// Sets the expected peer name (and SNI for a host name) on one connection; false on failure.
bool set_peer_name(SSL* ssl, const std::string& name);

}  // namespace shadowmeter::exporting::otlp_http
