// Who may talk to the collector: bearer tokens from --auth-token-file (one per line) and/or client
// certificates (mTLS). A request's principal names the sender without revealing its credential:
// "token:" + the first 12 hex digits of SHA-256(token), or "mtls:" + the certificate's subject CN.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shadowmeter::collector {

// "token:" + first 12 hex digits of SHA-256(token).
std::string token_principal(std::string_view token);

// The credential of an Authorization header value "Bearer <token>" (scheme case-insensitive, spaces
// around the token ignored); nullopt for a missing or other scheme or an empty token.
std::optional<std::string_view> bearer_token(std::string_view authorization);

class TokenSet {
 public:
  // One token per line; blank lines and lines whose first non-blank character is '#' are ignored;
  // spaces, tabs and '\r' around a token are trimmed. Throws std::runtime_error naming `source` and the
  // line (never the token) for a token with inner whitespace or longer than 4096 bytes, or when no
  // token is left.
  static TokenSet parse(std::string_view text, const std::string& source);
  static TokenSet load_file(const std::string& path);

  // The principal of the matching token, or nullopt. Compares SHA-256 digests with CRYPTO_memcmp
  // against every configured token, so the time taken says nothing about the tokens' contents or lengths.
  std::optional<std::string> match(std::string_view presented) const;

  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

 private:
  struct Entry {
    std::array<unsigned char, 32> digest;
    std::string principal;
  };
  std::vector<Entry> entries_;
};

struct AuthPolicy {
  TokenSet tokens;                   // empty: no token needed
  bool require_client_cert = false;  // the TLS handshake already refused clients without a valid one
};

struct PeerIdentity {
  bool verified_cert = false;  // the client presented a certificate that verified against the client CA
  std::string subject_cn;      // its subject CN (sanitised), "" when none
};

struct AuthDecision {
  bool allowed = false;
  std::string principal;  // "token:...", "mtls:<CN>" or "" (no authentication configured)
};

// The password of an Authorization header value "Basic base64(user:password)" (scheme
// case-insensitive; any user name), for browsers, which cannot send bearer headers; nullopt for another
// scheme, malformed base64, no ':' or an empty password.
std::optional<std::string> basic_password(std::string_view authorization);

// Tokens configured: the request must carry one (mTLS is an extra layer) and the token names the
// principal. Client certificates required (and no tokens): the verified certificate names it.
// Neither: allowed (the collector started with --insecure-no-auth), principal from a certificate if any.
AuthDecision authorize(const AuthPolicy& policy, std::string_view authorization_header,
                       const PeerIdentity& peer);

// authorize() for the dashboard and report routes: a bearer token, or HTTP Basic whose password is one
// of the bearer tokens (compared the same constant-time way).
AuthDecision authorize_browser(const AuthPolicy& policy, std::string_view authorization_header,
                               const PeerIdentity& peer);

}  // namespace shadowmeter::collector
