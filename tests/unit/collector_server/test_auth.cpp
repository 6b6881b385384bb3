// Bearer tokens: the token file format, matching, the principal derived from a token, the
// Authorization header, and the decision that combines tokens and client certificates.
#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <stdexcept>
#include <string>

#include "server/auth.h"

using namespace shadowmeter::collector;

TEST_CASE("the principal of a token is a SHA-256 prefix, never the token") {
  // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
  CHECK(token_principal("abc") == "token:ba7816bf8f01");
  const std::string p = token_principal("s3cr3t-token-value");
  CHECK(p.size() == 6 + 12);
  CHECK(p.find("s3cr3t") == std::string::npos);
  CHECK(token_principal("a") != token_principal("b"));
}

TEST_CASE("token file: one token per line, comments and blank lines ignored") {
  const TokenSet set = TokenSet::parse(
      "# agents of cluster A\n\ntoken-one\r\n   token-two  \n\t# indented comment\ntoken-one\n",
      "tokens.txt");
  CHECK(set.size() == 2);  // the duplicate counts once
  CHECK(set.match("token-one") == token_principal("token-one"));
  CHECK(set.match("token-two") == token_principal("token-two"));
  CHECK_FALSE(set.match("token-three"));
  CHECK_FALSE(set.match("token-on"));    // a prefix
  CHECK_FALSE(set.match("token-one "));  // extra bytes
  CHECK_FALSE(set.match(""));
  CHECK_FALSE(set.match("# agents of cluster A"));
}

TEST_CASE("token file errors name the line, never the token") {
  try {
    TokenSet::parse("good-token\nname: secret-value\n", "t.txt");
    FAIL("expected an error");
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    CHECK(msg.find("t.txt:2") != std::string::npos);
    CHECK(msg.find("secret-value") == std::string::npos);
  }
  CHECK_THROWS_WITH(TokenSet::parse("# only comments\n\n", "t.txt"), Catch::Contains("no token"));
  CHECK_THROWS_WITH(TokenSet::parse("", "t.txt"), Catch::Contains("no token"));
  CHECK_THROWS_WITH(TokenSet::parse(std::string(5000, 'x'), "t.txt"), Catch::Contains("longer than"));
}

TEST_CASE("token file from disk") {
  char name[] = "/tmp/smc_tokens_XXXXXX";
  const int fd = mkstemp(name);
  REQUIRE(fd >= 0);
  close(fd);
  {
    std::ofstream out(name);
    out << "alpha\nbeta\n";
  }
  const TokenSet set = TokenSet::load_file(name);
  CHECK(set.size() == 2);
  CHECK(set.match("beta"));
  unlink(name);
  CHECK_THROWS_WITH(TokenSet::load_file(name), Catch::Contains("cannot read token file"));
}

TEST_CASE("bearer token from the Authorization header") {
  CHECK(bearer_token("Bearer abc") == std::optional<std::string_view>("abc"));
  CHECK(bearer_token("bearer abc") == std::optional<std::string_view>("abc"));
  CHECK(bearer_token("BEARER   abc  ") == std::optional<std::string_view>("abc"));
  CHECK_FALSE(bearer_token(""));
  CHECK_FALSE(bearer_token("Bearer"));
  CHECK_FALSE(bearer_token("Bearer   "));
  CHECK_FALSE(bearer_token("Basic YWxhZGRpbjpvcGVu"));
  CHECK_FALSE(bearer_token("Bearerabc"));
}

TEST_CASE("authorize: tokens, client certificates, or neither") {
  const PeerIdentity no_cert;
  const PeerIdentity cert{true, "agent-7"};
  const PeerIdentity unverified{false, "agent-7"};

  SECTION("tokens configured: a token is needed even with a certificate") {
    AuthPolicy p;
    p.tokens = TokenSet::parse("tok\n", "t");
    CHECK_FALSE(authorize(p, "", no_cert).allowed);
    CHECK_FALSE(authorize(p, "", cert).allowed);
    CHECK_FALSE(authorize(p, "Bearer nope", cert).allowed);
    const AuthDecision d = authorize(p, "Bearer tok", cert);
    CHECK(d.allowed);
    CHECK(d.principal == token_principal("tok"));
  }
  SECTION("client certificates required, no tokens") {
    AuthPolicy p;
    p.require_client_cert = true;
    CHECK_FALSE(authorize(p, "", no_cert).allowed);
    CHECK_FALSE(authorize(p, "", unverified).allowed);
    const AuthDecision d = authorize(p, "Bearer anything", cert);
    CHECK(d.allowed);
    CHECK(d.principal == "mtls:agent-7");
  }
  SECTION("nothing configured (--insecure-no-auth)") {
    const AuthPolicy p;
    CHECK(authorize(p, "", no_cert).allowed);
    CHECK(authorize(p, "", no_cert).principal.empty());
    CHECK(authorize(p, "", cert).principal == "mtls:agent-7");
  }
}
