#include <catch2/catch.hpp>

#include "hello_builder.h"
#include "netconn/client_hello.h"

using namespace shadowmeter::netconn;
using namespace shadowmeter::netconn::test;

TEST_CASE("SNI and ALPN from a complete ClientHello") {
  const auto h = parse_client_hello(records(client_hello_message("API.OpenAI.com", {"h2", "http/1.1"})));
  CHECK(h.status == HelloStatus::ok);
  CHECK(h.sni == "api.openai.com");
  CHECK(h.alpn == std::vector<std::string>{"h2", "http/1.1"});
  CHECK_FALSE(h.ech);
}

TEST_CASE("a hello split over several records is joined") {
  const auto h = parse_client_hello(records(client_hello_message("api.anthropic.com", {"h2"}, 300), 100));
  CHECK(h.status == HelloStatus::ok);
  CHECK(h.sni == "api.anthropic.com");
  CHECK(h.alpn == std::vector<std::string>{"h2"});
}

TEST_CASE("a second server_name extension makes the hello malformed, naming no host") {
  // Found by fuzz_client_hello: the first SNI was read from a short capture, a later duplicate
  // replaced it when more bytes were read. RFC 8446 forbids duplicates; servers refuse them.
  std::string second = std::string("\0", 1);
  put16(second, 9);
  second += "other.com";
  std::string body;
  put16(body, second.size());
  const auto h = parse_client_hello(
      records(client_hello_message("api.openai.com", {"h2"}, 0, false, extension(0, body + second))));
  CHECK(h.status == HelloStatus::malformed);
  CHECK(h.sni.empty());
  CHECK(h.alpn.empty());
  const auto twice_alpn = parse_client_hello(
      records(client_hello_message("api.openai.com", {"h2"}, 0, false, extension(16, std::string("\0\3\2h2", 5)))));
  CHECK(twice_alpn.status == HelloStatus::malformed);
}

TEST_CASE("no SNI (IP-literal client), ECH flagged") {
  const auto h = parse_client_hello(records(client_hello_message("", {"http/1.1"}, 0, true)));
  CHECK(h.status == HelloStatus::ok);
  CHECK(h.sni.empty());
  CHECK(h.ech);
}

TEST_CASE("a hello cut by the capture keeps what was read, or says truncated") {
  const std::string full = records(client_hello_message("api.openai.com", {"h2"}, 1500));
  SECTION("cut inside the padding before the SNI: unknown name") {
    const auto h = parse_client_hello(std::string_view(full).substr(0, 600));
    CHECK(h.status == HelloStatus::truncated);
    CHECK(h.sni.empty());
  }
  SECTION("cut after the SNI") {
    const std::string msg = client_hello_message("api.openai.com", {"h2", "http/1.1"});
    const std::string whole = records(msg);
    const auto h = parse_client_hello(std::string_view(whole).substr(0, whole.size() - 4));
    CHECK(h.status == HelloStatus::truncated);
    CHECK(h.sni == "api.openai.com");
  }
  SECTION("every prefix parses without crashing") {
    for (std::size_t n = 0; n <= full.size(); n += 7) (void)parse_client_hello(std::string_view(full).substr(0, n));
  }
}

TEST_CASE("not TLS, not a ClientHello, contradicting lengths") {
  CHECK(parse_client_hello("GET / HTTP/1.1\r\n\r\n").status == HelloStatus::not_tls);
  CHECK(parse_client_hello("").status == HelloStatus::not_tls);
  std::string server_hello = client_hello_message("x.example", {});
  server_hello[0] = 2;
  CHECK(parse_client_hello(records(server_hello)).status == HelloStatus::not_tls);
  // Extension block longer than the handshake message says.
  std::string msg = client_hello_message("api.openai.com", {"h2"});
  msg[3] = static_cast<char>(static_cast<unsigned char>(msg[3]) - 10);
  CHECK(parse_client_hello(records(msg)).status == HelloStatus::malformed);
  // An SNI with a character DNS names do not have is not reported.
  CHECK(parse_client_hello(records(client_hello_message("bad name", {}))).sni.empty());
}
