// The credential of an AI call, turned into a keyed fingerprint at once. The raw value is only ever
// a view into the capture's own header buffers, which are wiped when the exchange is emitted; it
// is never copied, logged or exported.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace shadowmeter::attribution {

using HeaderList = std::vector<std::pair<std::string, std::string>>;  // names lower-case

struct CredentialView {
  std::string_view kind;    // "bearer", "x-api-key", "api-key", "x-goog-api-key", "query-key", "aws-sigv4"
  std::string_view secret;  // the credential (for SigV4: the access key id); a view into the input
};

// Looks, in order, at Authorization (Bearer, AWS4-HMAC-SHA256 Credential=<key id>/...), x-api-key,
// api-key, x-goog-api-key, then ?key= in the request target. nullopt when none is present.
std::optional<CredentialView> find_credential(const HeaderList& headers, std::string_view target);

// A non-secret label for the kind of key, from its public prefix: "sk-proj", "sk-svcacct", "sk-admin",
// "sk-ant-api", "sk-ant-admin", "sk-or" (OpenRouter), "gsk" (Groq), "xai", "AIza" (Google), the first
// four characters of an AWS access key id ("AKIA", "ASIA"); "" when the prefix says nothing.
std::string credential_hint(const CredentialView& c);

// HMAC-SHA-256 under a per-installation secret, truncated to 128 bits (32 hex characters): stable
// for a key across the fleet when the secret is shared, useless to anyone without the secret.
class Fingerprinter {
 public:
  explicit Fingerprinter(std::string secret);
  ~Fingerprinter();
  Fingerprinter(const Fingerprinter&) = delete;
  Fingerprinter& operator=(const Fingerprinter&) = delete;
  std::string fingerprint(std::string_view credential) const;

  // Reads the secret from `path` (at least 32 bytes, used as is), or creates the file with 32
  // random bytes, hex-encoded, mode 0600 (and its directory, 0700) when it does not exist. Throws
  // std::runtime_error naming the path on failure or when the file is readable by group or others.
  static std::string load_or_create_secret(const std::string& path);

 private:
  std::string secret_;
};

}  // namespace shadowmeter::attribution
