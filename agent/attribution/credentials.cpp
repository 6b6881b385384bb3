#include "attribution/credentials.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "protocols/secure_clear.h"

namespace shadowmeter::attribution {
namespace {

bool iequals_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    const char a = s[i] >= 'A' && s[i] <= 'Z' ? static_cast<char>(s[i] - 'A' + 'a') : s[i];
    if (a != prefix[i]) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

const std::string* header(const HeaderList& headers, std::string_view name) {
  for (const auto& [n, v] : headers)
    if (n == name && !v.empty()) return &v;
  return nullptr;
}

// ?key=... or &key=... in the query string (Gemini's API key).
std::string_view query_key(std::string_view target) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return {};
  std::string_view query = target.substr(q + 1);
  query = query.substr(0, query.find('#'));
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (pair.starts_with("key=") && pair.size() > 4) return pair.substr(4);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

std::string to_hex(const unsigned char* p, std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * n, '\0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[p[i] >> 4];
    out[2 * i + 1] = kHex[p[i] & 0xF];
  }
  return out;
}

}  // namespace

std::optional<CredentialView> find_credential(const HeaderList& headers, std::string_view target) {
  if (const std::string* auth = header(headers, "authorization")) {
    std::string_view v = trim(*auth);
    if (iequals_prefix(v, "bearer ")) {
      v = trim(v.substr(7));
      if (!v.empty()) return CredentialView{"bearer", v};
    } else if (iequals_prefix(v, "aws4-hmac-sha256 ")) {
      // Credential=<access key id>/<date>/<region>/<service>/aws4_request: the key id names the
      // credential; the signature changes with every request and is not used.
      const auto at = v.find("Credential=");
      if (at != std::string_view::npos) {
        std::string_view id = v.substr(at + 11);
        id = id.substr(0, id.find_first_of("/, "));
        if (!id.empty()) return CredentialView{"aws-sigv4", id};
      }
    }
  }
  for (std::string_view name : {"x-api-key", "api-key", "x-goog-api-key"}) {
    if (const std::string* v = header(headers, name)) {
      const std::string_view t = trim(*v);
      if (!t.empty()) return CredentialView{name, t};
    }
  }
  if (const std::string_view k = query_key(target); !k.empty()) return CredentialView{"query-key", k};
  return std::nullopt;
}

std::string credential_hint(const CredentialView& c) {
  const std::string_view s = c.secret;
  if (c.kind == "aws-sigv4") return s.size() >= 4 ? std::string(s.substr(0, 4)) : std::string();
  // Longest known public prefixes first.
  static constexpr std::string_view kPrefixes[] = {"sk-ant-admin", "sk-ant-api", "sk-svcacct", "sk-admin",
                                                   "sk-proj",      "sk-or",      "gsk_",       "xai-",
                                                   "AIza",         "sk-"};
  for (std::string_view p : kPrefixes) {
    if (s.size() > p.size() + 8 && s.starts_with(p)) {
      std::string_view h = p;
      if (h.back() == '-' || h.back() == '_') h.remove_suffix(1);
      return std::string(h);
    }
  }
  return {};
}

Fingerprinter::Fingerprinter(std::string secret) : secret_(std::move(secret)) {
  if (secret_.size() < 16) throw std::runtime_error("fingerprint secret is shorter than 16 bytes");
}

Fingerprinter::~Fingerprinter() { secure_clear(secret_); }

std::string Fingerprinter::fingerprint(std::string_view credential) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(credential.data()), credential.size(), mac, &len);
  const std::string out = to_hex(mac, std::min<unsigned int>(len, 16));
  OPENSSL_cleanse(mac, sizeof(mac));
  return out;
}

std::string Fingerprinter::load_or_create_secret(const std::string& path) {
  auto fail = [&](const std::string& what) { throw std::runtime_error("fingerprint secret " + path + ": " + what); };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    std::error_code ec;
    const auto dir = std::filesystem::path(path).parent_path();
    if (!dir.empty() && !std::filesystem::exists(dir, ec)) {
      std::filesystem::create_directories(dir, ec);
      if (ec) fail("cannot create its directory: " + ec.message());
      ::chmod(dir.c_str(), 0700);
    }
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof(raw)) != 1) fail("no random bytes");
    std::string hex = to_hex(raw, sizeof(raw));
    OPENSSL_cleanse(raw, sizeof(raw));
    // O_EXCL: another agent starting at the same time keeps its file, we then read it.
    const int wfd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (wfd >= 0) {
      const bool ok = ::write(wfd, hex.data(), hex.size()) == static_cast<ssize_t>(hex.size()) && ::fsync(wfd) == 0;
      ::close(wfd);
      if (!ok) fail("cannot write it");
    } else if (errno != EEXIST) {
      fail(std::string("cannot create it: ") + std::strerror(errno));
    }
    secure_clear(hex);
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  }
  if (fd < 0) fail(std::string("cannot read it: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail("not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    fail("readable by group or others (chmod 600 it)");
  }
  std::string secret(4096, '\0');
  const ssize_t n = ::read(fd, secret.data(), secret.size());
  ::close(fd);
  if (n < 0) fail(std::string("cannot read it: ") + std::strerror(errno));
  secret.resize(static_cast<std::size_t>(n));
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r' || secret.back() == ' ')) secret.pop_back();
  if (secret.size() < 32) fail("shorter than 32 bytes");
  return secret;
}

}  // namespace shadowmeter::attribution
