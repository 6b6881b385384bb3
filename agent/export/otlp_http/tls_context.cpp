#include "export/otlp_http/tls_context.h"

#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>
#include <stdexcept>

namespace shadowmeter::exporting::otlp_http {

namespace ssl = boost::asio::ssl;

std::shared_ptr<ssl::context> make_tls_context(const TlsSettings& s) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  boost::system::error_code ec;
  const auto fail = [&](const std::string& what) {
    return std::runtime_error("TLS: " + what + (ec ? ": " + ec.message() : std::string()));
  };
  if (SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION) != 1)
    throw fail("cannot require TLS 1.2 or later");
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression, ec);
  ctx->set_verify_mode(ssl::verify_peer, ec);
  if (ec) throw fail("cannot enable peer verification");
  if (s.ca_file.empty()) {
    ctx->set_default_verify_paths(ec);
    if (ec) throw fail("cannot load the system CA store");
  } else {
    // Only this file's CAs: the context starts with an empty trust store.
    ctx->load_verify_file(s.ca_file, ec);
    if (ec) throw fail("CA file '" + s.ca_file + "'");
  }
  if (s.client_cert_file.empty() != s.client_key_file.empty())
    throw fail("a client certificate needs both a certificate file and a key file");
  if (!s.client_cert_file.empty()) {
    ctx->use_certificate_chain_file(s.client_cert_file, ec);
    if (ec) throw fail("client certificate '" + s.client_cert_file + "'");
    ctx->use_private_key_file(s.client_key_file, ssl::context::pem, ec);
    if (ec) throw fail("client key '" + s.client_key_file + "'");
    if (SSL_CTX_check_private_key(ctx->native_handle()) != 1)
      throw fail("client key '" + s.client_key_file + "' does not match the certificate");
  }
  return ctx;
}

bool set_peer_name(SSL* ssl_handle, const std::string& name) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(name, ec);
  if (!ec) return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_handle), name.c_str()) == 1;
  if (SSL_set1_host(ssl_handle, name.c_str()) != 1) return false;
  // SSL_set_tlsext_host_name is a macro with a C cast; this is its expansion.
  return SSL_ctrl(ssl_handle, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                  const_cast<char*>(name.c_str())) == 1;
}

}  // namespace shadowmeter::exporting::otlp_http
