#include "server/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <stdexcept>

namespace shadowmeter::collector {
namespace {

namespace ssl = boost::asio::ssl;

std::string openssl_error() {
  const unsigned long e = ERR_get_error();
  if (e == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

void check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what + ": " + openssl_error());
}

// Printable ASCII only and bounded: the CN ends up in the database and in logs.
std::string sanitise_cn(const unsigned char* s, int len) {
  std::string out;
  for (int i = 0; i < len && out.size() < 128; ++i)
    out.push_back(s[i] >= 0x20 && s[i] < 0x7f ? static_cast<char>(s[i]) : '?');
  return out;
}

}  // namespace

ssl::context make_server_tls_context(const TlsOptions& o) {
  ssl::context ctx(ssl::context::tls_server);
  SSL_CTX* native = ctx.native_handle();
  check(SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) == 1, "cannot require TLS 1.2");
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                  ssl::context::single_dh_use);
  check(SSL_CTX_use_certificate_chain_file(native, o.cert_file.c_str()) == 1,
        "TLS certificate '" + o.cert_file + "'");
  check(SSL_CTX_use_PrivateKey_file(native, o.key_file.c_str(), SSL_FILETYPE_PEM) == 1,
        "TLS key '" + o.key_file + "'");
  check(SSL_CTX_check_private_key(native) == 1,
        "TLS key '" + o.key_file + "' does not match the certificate");
  if (!o.client_ca_file.empty()) {
    check(SSL_CTX_load_verify_locations(native, o.client_ca_file.c_str(), nullptr) == 1,
          "client CA '" + o.client_ca_file + "'");
    // Tell clients which CAs we accept, so they pick the right certificate.
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(o.client_ca_file.c_str());
    check(names != nullptr, "client CA '" + o.client_ca_file + "'");
    SSL_CTX_set_client_CA_list(native, names);
    int mode = SSL_VERIFY_PEER;
    if (o.require_client_cert) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(native, mode, nullptr);
  }
  return ctx;
}

PeerIdentity peer_identity(SSL* ssl_handle) {
  PeerIdentity out;
  X509* cert = SSL_get0_peer_certificate(ssl_handle);
  if (cert == nullptr || SSL_get_verify_result(ssl_handle) != X509_V_OK) return out;
  out.verified_cert = true;
  X509_NAME* subject = X509_get_subject_name(cert);
  const int idx = subject != nullptr ? X509_NAME_get_index_by_NID(subject, NID_commonName, -1) : -1;
  if (idx < 0) return out;
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
  unsigned char* utf8 = nullptr;
  const int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) return out;
  const std::unique_ptr<unsigned char, void (*)(unsigned char*)> guard(
      utf8, [](unsigned char* p) { OPENSSL_free(p); });
  out.subject_cn = sanitise_cn(utf8, len);
  return out;
}

}  // namespace shadowmeter::collector
