// Credentials: which header or query parameter carries the key, the non-secret hint, the keyed
// fingerprint (stable, keyed, no secret in its output), the secret file, and wiping header values.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "attribution/credentials.h"
#include "protocols/secure_clear.h"

using namespace shadowmeter::attribution;

namespace {

std::string kind_of(const HeaderList& h, std::string_view target = "/v1/x") {
  auto c = find_credential(h, target);
  return c ? std::string(c->kind) + "=" + std::string(c->secret) : "none";
}

}  // namespace

TEST_CASE("find_credential: every provider's header, the query key, SigV4's key id") {
  CHECK(kind_of({{"authorization", "Bearer sk-proj-abcdefghijklmnop"}}) == "bearer=sk-proj-abcdefghijklmnop");
  CHECK(kind_of({{"authorization", "  bearer   sk-x  "}}) == "bearer=sk-x");
  CHECK(kind_of({{"x-api-key", "sk-ant-api03-zzz"}}) == "x-api-key=sk-ant-api03-zzz");
  CHECK(kind_of({{"api-key", "0123456789abcdef"}}) == "api-key=0123456789abcdef");  // Azure OpenAI
  CHECK(kind_of({{"x-goog-api-key", "AIzaSyA-123"}}) == "x-goog-api-key=AIzaSyA-123");
  CHECK(kind_of({}, "/v1beta/models/m:generateContent?alt=sse&key=AIzaSyB-456") == "query-key=AIzaSyB-456");
  CHECK(kind_of({}, "/v1beta/models/m:generateContent?monkey=1") == "none");
  CHECK(kind_of({{"authorization",
                  "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240101/us-east-1/bedrock/aws4_request, "
                  "SignedHeaders=host;x-amz-date, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024"}}) ==
        "aws-sigv4=AKIAIOSFODNN7EXAMPLE");
  CHECK(kind_of({{"authorization", "Basic dXNlcjpwYXNz"}}) == "none");
  CHECK(kind_of({{"content-type", "application/json"}}) == "none");
  // Authorization wins over x-api-key.
  CHECK(kind_of({{"x-api-key", "k2"}, {"authorization", "Bearer k1"}}) == "bearer=k1");
}

TEST_CASE("credential_hint: only the public prefix, never key material") {
  auto hint = [](std::string_view kind, std::string_view secret) { return credential_hint({kind, secret}); };
  CHECK(hint("bearer", "sk-proj-AbCdEfGhIjKlMnOp") == "sk-proj");
  CHECK(hint("bearer", "sk-svcacct-AbCdEfGhIjKlMnOp") == "sk-svcacct");
  CHECK(hint("bearer", "sk-AbCdEfGhIjKlMnOpQr") == "sk");
  CHECK(hint("x-api-key", "sk-ant-api03-AbCdEfGhIjKlMn") == "sk-ant-api");
  CHECK(hint("bearer", "gsk_AbCdEfGhIjKlMnOp") == "gsk");
  CHECK(hint("bearer", "xai-AbCdEfGhIjKlMnOp") == "xai");
  CHECK(hint("query-key", "AIzaSyAbCdEfGhIjKlMn") == "AIza");
  CHECK(hint("aws-sigv4", "ASIAIOSFODNN7EXAMPLE") == "ASIA");
  CHECK(hint("bearer", "eyJhbGciOiJIUzI1NiJ9.payload.sig") == "");
  CHECK(hint("bearer", "sk-short") == "");  // a prefix with too little after it says nothing
}

TEST_CASE("fingerprint: HMAC-SHA-256, keyed, stable, 32 hex, no secret in it") {
  Fingerprinter a(std::string(32, 'a'));
  Fingerprinter a2(std::string(32, 'a'));
  Fingerprinter b(std::string(32, 'b'));
  const std::string key = "sk-proj-0123456789abcdefghijklmnopqrstuvwxyz";
  const std::string fa = a.fingerprint(key);
  CHECK(fa.size() == 32);
  CHECK(fa.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(fa == a2.fingerprint(key));  // same secret across the fleet: same fingerprint
  CHECK(fa != b.fingerprint(key));   // another installation's secret: unrelated
  CHECK(fa != a.fingerprint(key + "x"));
  CHECK(fa.find("sk-") == std::string::npos);
  CHECK_THROWS(Fingerprinter("short"));
}

TEST_CASE("fingerprint matches HMAC-SHA-256 of RFC 4231 (key 0x0b x 20)") {
  Fingerprinter f(std::string(20, '\x0b'));
  // RFC 4231 test case 1, truncated to 128 bits.
  CHECK(f.fingerprint("Hi There") == "b0344c61d8db38535ca8afceaf0bf12b");
}

TEST_CASE("secret file: created 0600 with 32 random bytes (hex), then read back; bad files refused") {
  const auto dir = std::filesystem::temp_directory_path() / ("sm-secret-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const std::string path = (dir / "sub" / "fingerprint.key").string();
  const std::string s1 = Fingerprinter::load_or_create_secret(path);
  CHECK(s1.size() == 64);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(Fingerprinter::load_or_create_secret(path) == s1);  // stable across restarts

  ::chmod(path.c_str(), 0644);
  CHECK_THROWS_WITH(Fingerprinter::load_or_create_secret(path), Catch::Contains("readable by group or others"));
  ::chmod(path.c_str(), 0600);
  { std::ofstream(path, std::ios::trunc) << "too-short\n"; }
  CHECK_THROWS_WITH(Fingerprinter::load_or_create_secret(path), Catch::Contains("shorter than 32 bytes"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("secure_clear overwrites and clears header values") {
  HeaderList h{{"authorization", "Bearer sk-secret-value"}};
  const char* data = h[0].second.data();
  const std::size_t n = h[0].second.size();
  std::string& v = h[0].second;
  shadowmeter::secure_clear(v);
  CHECK(v.empty());
  // The buffer is still owned by the string (capacity kept by clear()): its bytes are zero now.
  for (std::size_t i = 0; i < n; ++i) CHECK(data[i] == '\0');
  shadowmeter::secure_clear(h);
  CHECK(h.empty());
}
