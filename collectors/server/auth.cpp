#include "server/auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "common/base64.h"

namespace shadowmeter::collector {
namespace {

constexpr std::size_t kMaxTokenBytes = 4096;
constexpr std::streamoff kMaxFileBytes = 1 << 20;

std::array<unsigned char, 32> sha256(std::string_view s) {
  std::array<unsigned char, 32> out{};
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), out.data());
  return out;
}

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace

std::string token_principal(std::string_view token) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto digest = sha256(token);
  std::string out = "token:";
  for (std::size_t i = 0; i < 6; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

std::optional<std::string_view> bearer_token(std::string_view authorization) {
  authorization = trim(authorization);
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size() || !iequals(authorization.substr(0, kScheme.size()), kScheme))
    return std::nullopt;
  if (authorization[kScheme.size()] != ' ' && authorization[kScheme.size()] != '\t') return std::nullopt;
  const std::string_view token = trim(authorization.substr(kScheme.size()));
  if (token.empty()) return std::nullopt;
  return token;
}

TokenSet TokenSet::parse(std::string_view text, const std::string& source) {
  TokenSet set;
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    const std::string where = source + ":" + std::to_string(line_no);
    for (char c : line)
      if (is_blank(c) || c == '\v' || c == '\f')
        throw std::runtime_error(where + ": a token must not contain whitespace (one token per line)");
    if (line.size() > kMaxTokenBytes)
      throw std::runtime_error(where + ": token longer than " + std::to_string(kMaxTokenBytes) + " bytes");
    Entry e{sha256(line), token_principal(line)};
    bool duplicate = false;
    for (const Entry& other : set.entries_) duplicate = duplicate || other.digest == e.digest;
    if (!duplicate) set.entries_.push_back(std::move(e));
  }
  if (set.entries_.empty()) throw std::runtime_error(source + ": no token in the file (one token per line)");
  return set;
}

TokenSet TokenSet::load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw std::runtime_error("cannot read token file '" + path + "': " + std::strerror(errno));
  const std::streamoff size = in.tellg();
  if (size < 0) throw std::runtime_error("cannot read token file '" + path + "'");
  if (size > kMaxFileBytes)
    throw std::runtime_error("token file '" + path + "' is larger than " + std::to_string(kMaxFileBytes) +
                             " bytes");
  // Read in one go into a buffer of the final size, so no stray copy of a token is left in freed memory.
  std::string content(static_cast<std::size_t>(size), '\0');
  in.seekg(0);
  in.read(content.data(), size);
  if (in.gcount() != size) {
    OPENSSL_cleanse(content.data(), content.size());
    throw std::runtime_error("cannot read token file '" + path + "'");
  }
  try {
    TokenSet set = parse(content, path);
    OPENSSL_cleanse(content.data(), content.size());
    return set;
  } catch (...) {
    OPENSSL_cleanse(content.data(), content.size());
    throw;
  }
}

std::optional<std::string> TokenSet::match(std::string_view presented) const {
  const auto digest = sha256(presented);
  const Entry* found = nullptr;
  // No early exit: every configured token is compared.
  for (const Entry& e : entries_) {
    const bool same = CRYPTO_memcmp(e.digest.data(), digest.data(), digest.size()) == 0;
    if (same) found = &e;
  }
  if (found == nullptr) return std::nullopt;
  return found->principal;
}

AuthDecision authorize(const AuthPolicy& policy, std::string_view authorization_header,
                       const PeerIdentity& peer) {
  const std::string cert_principal = peer.verified_cert ? "mtls:" + peer.subject_cn : std::string();
  if (!policy.tokens.empty()) {
    const auto token = bearer_token(authorization_header);
    if (!token) return {};
    auto principal = policy.tokens.match(*token);
    if (!principal) return {};
    return {true, std::move(*principal)};
  }
  if (policy.require_client_cert) {
    if (!peer.verified_cert) return {};
    return {true, cert_principal};
  }
  return {true, cert_principal};
}

std::optional<std::string> basic_password(std::string_view authorization) {
  while (!authorization.empty() && is_blank(authorization.front())) authorization.remove_prefix(1);
  if (authorization.size() < 6 || !iequals(authorization.substr(0, 5), "basic") || authorization[5] != ' ')
    return std::nullopt;
  std::string_view b64 = authorization.substr(6);
  while (!b64.empty() && is_blank(b64.front())) b64.remove_prefix(1);
  while (!b64.empty() && is_blank(b64.back())) b64.remove_suffix(1);
  if (b64.empty() || b64.size() % 4 != 0 || b64.size() > 8192) return std::nullopt;
  std::string decoded;
  if (!base64_decode(b64, decoded, b64.size() / 4 * 3)) {
    // A failed decode leaves what it had written in the buffer's capacity: wipe all of it.
    decoded.resize(decoded.capacity());
    OPENSSL_cleanse(decoded.data(), decoded.size());
    return std::nullopt;
  }
  const auto colon = decoded.find(':');
  std::optional<std::string> out;
  if (colon != std::string::npos && colon + 1 < decoded.size()) out = decoded.substr(colon + 1);
  OPENSSL_cleanse(decoded.data(), decoded.size());
  return out;
}

AuthDecision authorize_browser(const AuthPolicy& policy, std::string_view authorization_header,
                               const PeerIdentity& peer) {
  AuthDecision d = authorize(policy, authorization_header, peer);
  if (d.allowed || policy.tokens.empty()) return d;
  auto password = basic_password(authorization_header);
  if (!password) return d;
  auto principal = policy.tokens.match(*password);
  OPENSSL_cleanse(password->data(), password->size());
  if (!principal) return d;
  return {true, std::move(*principal)};
}

}  // namespace shadowmeter::collector
