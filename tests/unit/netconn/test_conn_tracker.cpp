#include <unistd.h>

#include <catch2/catch.hpp>

#include "hello_builder.h"
#include "netconn/conn_tracker.h"
#include "netconn/tls_library.h"

using namespace shadowmeter;
using namespace shadowmeter::netconn;
using namespace shadowmeter::netconn::test;

namespace {

providers::Catalog catalog() {
  return providers::Catalog::parse(R"(
- provider: openai
  format: openai
  hosts: [api.openai.com]
- provider: vllm
  format: openai
  hosts: ["10.0.4.17:8000"]
)");
}

capture::Peer v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d, std::uint16_t port) {
  capture::Peer p;
  p.family = 2;
  p.addr[0] = a, p.addr[1] = b, p.addr[2] = c, p.addr[3] = d;
  p.port = port;
  return p;
}

constexpr std::uint64_t kLater = 1000ull * 1000000000ull;

HelloFacts hello(const std::string& bytes, const capture::Peer& peer, std::int32_t fd = 5, std::uint64_t id = 77) {
  HelloFacts h;
  h.key = {100, fd, id};
  h.start_ns = 1000;
  h.ts_ns = 2000;
  h.peer = peer;
  h.comm = "java";
  h.bytes = bytes;
  return h;
}

}  // namespace

TEST_CASE("an AI connection by SNI whose plaintext was not seen is blind, with its bytes and duration") {
  auto cat = catalog();
  ConnTracker t(cat, nullptr, [](std::uint32_t) { return std::string("java"); });
  const std::string b = records(client_hello_message("api.openai.com", {"h2"}));
  REQUIRE(t.on_hello(hello(b, v4(127, 0, 0, 1, 443))));
  CHECK(t.sockets_of(100).size() == 1);
  t.on_close({{100, 5, 77}, 5000, 900, 4000, false});
  auto ready = t.take_ready(kLater);
  std::optional<BlindConnection> out;
  if (!ready.empty()) out = ready.front();
  REQUIRE(out);
  CHECK(out->provider == "openai");
  CHECK(out->server_name == "api.openai.com");
  CHECK(out->name_source == "sni");
  CHECK(out->tls_library == "java");
  CHECK(out->reason == std::string(kReasonNotHooked));
  CHECK(out->bytes_sent == 900);
  CHECK(out->bytes_received == 4000);
  CHECK(out->end_ns - out->start_ns == 4000);
  CHECK(t.size() == 0);
  CHECK(t.stats().blind == 1);
}

TEST_CASE("seen in plaintext: never blind; OpenSSL that showed nothing: no_plaintext_seen") {
  auto cat = catalog();
  std::string lib = "openssl";
  ConnTracker t(cat, nullptr, [&](std::uint32_t) { return lib; });
  const std::string b = records(client_hello_message("api.openai.com", {}));
  REQUIRE(t.on_hello(hello(b, v4(1, 2, 3, 4, 443))));
  t.on_close({{100, 5, 77}, 5000, 1, 1, true});
  CHECK(t.take_ready(kLater).empty());
  CHECK(t.stats().seen_in_plaintext == 1);
  CHECK(t.stats().seen_by_socket == 1);
  REQUIRE(t.on_hello(hello(b, v4(1, 2, 3, 4, 443), 6, 78)));
  t.on_close({{100, 6, 78}, 5000, 1, 1, false});
  auto ready = t.take_ready(kLater);
  std::optional<BlindConnection> out;
  if (!ready.empty()) out = ready.front();
  REQUIRE(out);
  CHECK(out->reason == std::string(kReasonNoPlaintext));
}

TEST_CASE("what the probes know of the process overrides the reason guessed from its library") {
  auto cat = catalog();
  ConnTracker t(cat, nullptr, [](std::uint32_t) { return std::string("go"); });
  t.set_reason_lookup([](std::uint32_t tgid) -> std::optional<std::string> {
    if (tgid == 100) return std::string("go_functions_not_found");
    return std::nullopt;
  });
  const std::string b = records(client_hello_message("api.openai.com", {}));
  REQUIRE(t.on_hello(hello(b, v4(1, 2, 3, 4, 443))));
  t.on_close({{100, 5, 77}, 5000, 1, 1, false});
  auto ready = t.take_ready(kLater);
  REQUIRE(ready.size() == 1);
  CHECK(ready[0].reason == "go_functions_not_found");
  CHECK(ready[0].tls_library == "go");
  CHECK(t.stats().seen_by_socket == 0);
}

TEST_CASE("not AI, not TLS, a reused fd with another id: nothing") {
  auto cat = catalog();
  ConnTracker t(cat, nullptr, nullptr);
  CHECK_FALSE(t.on_hello(hello(records(client_hello_message("static.example.test", {})), v4(1, 2, 3, 4, 443))));
  CHECK_FALSE(t.on_hello(hello("GET / HTTP/1.1\r\n\r\n", v4(1, 2, 3, 4, 80))));
  REQUIRE(t.on_hello(hello(records(client_hello_message("api.openai.com", {})), v4(1, 2, 3, 4, 443))));
  t.on_close({{100, 5, 999}, 5000, 1, 1, false});  // another socket on the same fd
  CHECK(t.take_ready(kLater).empty());
  CHECK(t.size() == 1);
}

TEST_CASE("no SNI: the DNS answer names the address, else a configured address") {
  auto cat = catalog();
  ConnTracker t(cat, [](const capture::Peer& p) -> std::optional<std::string> {
    if (p.addr[0] == 192) return "api.openai.com";
    return std::nullopt;
  }, nullptr);
  const std::string b = records(client_hello_message("", {}));
  REQUIRE(t.on_hello(hello(b, v4(192, 0, 2, 1, 443))));
  t.on_close({{100, 5, 77}, 5000, 1, 1, false});
  auto ready = t.take_ready(kLater);
  std::optional<BlindConnection> out;
  if (!ready.empty()) out = ready.front();
  REQUIRE(out);
  CHECK(out->server_name == "api.openai.com");
  CHECK(out->name_source == "dns");
  CHECK(out->tls_library == "unknown");

  REQUIRE(t.on_hello(hello(b, v4(10, 0, 4, 17, 8000))));
  t.on_close({{100, 5, 77}, 5000, 1, 1, false});
  ready = t.take_ready(kLater);
  out.reset();
  if (!ready.empty()) out = ready.front();
  REQUIRE(out);
  CHECK(out->provider == "vllm");
  CHECK(out->server_name == "10.0.4.17");
  CHECK(out->name_source == "address");
  CHECK_FALSE(t.on_hello(hello(b, v4(10, 0, 4, 17, 9000))));  // another port of that host
}

TEST_CASE("bounded: the tracker evicts and expires, counting both") {
  auto cat = catalog();
  TrackerLimits lim;
  lim.max_sockets = 3;
  lim.idle_ns = 10000;
  ConnTracker t(cat, nullptr, nullptr, lim);
  const std::string b = records(client_hello_message("api.openai.com", {}));
  for (int i = 0; i < 5; ++i) REQUIRE(t.on_hello(hello(b, v4(1, 1, 1, 1, 443), i, 1000u + static_cast<unsigned>(i))));
  CHECK(t.size() == 3);
  CHECK(t.stats().evicted == 2);
  t.expire(2000 + 10001);
  CHECK(t.size() == 0);
  CHECK(t.stats().expired == 3);
}

TEST_CASE("TLS library from maps and executable bytes") {
  CHECK(library_from_maps("7f00-7f01 r-xp 0 08:01 1 /usr/lib/jvm/java-17/lib/server/libjvm.so\n") == "java");
  CHECK(library_from_maps("7f00-7f01 r-xp 0 08:01 1 /usr/lib/x86_64-linux-gnu/libgnutls.so.30.34.3\n") == "gnutls");
  CHECK(library_from_maps("7f00-7f01 r-xp 0 08:01 1 /usr/lib/x86_64-linux-gnu/libssl.so.3\n") == "openssl");
  CHECK(library_from_maps("7f00-7f01 r-xp 0 08:01 1 /opt/mylibssl.so.3\n").empty());  // not a libssl file name
  CHECK(library_from_binary(std::string("\x7f" "ELF....\xff Go buildinf:\x08\x02", 24)) == "go");
  CHECK(library_from_binary("....rustls::client::hs....") == "rustls");
  CHECK(library_from_binary("....BoringSSL....") == "boringssl");
  CHECK(library_from_binary("plain C program").empty());
}

TEST_CASE("TlsLibraryGuesser on this process") {
  TlsLibraryGuesser g;
  const std::string lib = g.guess(getpid());
  CHECK_FALSE(lib.empty());
  CHECK(g.guess(getpid()) == lib);  // cached
  CHECK(g.guess(999999999) == "unknown");
}

TEST_CASE("catalog CIDR entries: by peer address and port, longest prefix; bad CIDRs refused") {
  auto cat = providers::Catalog::parse(R"(
- provider: ollama
  format: ollama
  hosts: ["10.20.0.0/16:11434"]
- provider: vllm
  format: openai
  hosts: ["10.20.30.0/24:11434"]
)");
  const std::uint8_t a[4] = {10, 20, 30, 40};
  const std::uint8_t b[4] = {10, 20, 99, 1};
  const std::uint8_t c[4] = {10, 21, 0, 1};
  REQUIRE(cat.find_address(2, a, 11434));
  CHECK(cat.find_address(2, a, 11434)->provider == "vllm");
  CHECK(cat.find_address(2, b, 11434)->provider == "ollama");
  CHECK_FALSE(cat.find_address(2, c, 11434));
  CHECK_FALSE(cat.find_address(2, b, 8000));
  const std::uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 20, 1, 1};
  CHECK(cat.find_address(10, mapped, 11434));
  CHECK_FALSE(cat.find("10.20.0.0/16"));
  for (const char* bad : {"10.0.0.0/8", "10.0.0.0/33:80", "10.0.0/8:80", "x.y/8:80"})
    CHECK_THROWS(cat.add({"p", bad, ""}));

  // The tracker names such a connection by its address; plaintext destinations include the range.
  ConnTracker t(cat, nullptr, nullptr);
  capture::Peer p = v4(10, 20, 99, 1, 11434);
  REQUIRE(t.on_hello(hello(records(client_hello_message("", {})), p)));
  t.on_close({{100, 5, 77}, 5000, 1, 1, false});
  auto ready = t.take_ready(kLater);
  std::optional<BlindConnection> out;
  if (!ready.empty()) out = ready.front();
  REQUIRE(out);
  CHECK(out->provider == "ollama");
  CHECK(out->name_source == "address");
}

TEST_CASE("a connection whose exchange the uprobes read without its fd (memory BIOs) is not blind") {
  auto cat = catalog();
  ConnTracker t(cat, nullptr, nullptr);
  const std::string b = records(client_hello_message("api.openai.com", {}));
  REQUIRE(t.on_hello(hello(b, v4(127, 0, 0, 1, 8443))));
  t.on_close({{100, 5, 77}, 5000, 1, 1, false});
  CHECK(t.take_ready(5001).empty());  // still settling
  t.note_plaintext(100, "API.openai.com", 8443, 5200);  // the exchange completed after the close
  CHECK(t.take_ready(kLater).empty());
  CHECK(t.stats().seen_in_plaintext == 1);
  CHECK(t.stats().blind == 0);
  // Another process's plaintext does not hide this one's blind connection.
  REQUIRE(t.on_hello(hello(b, v4(127, 0, 0, 1, 8443), 6, 78)));
  t.note_plaintext(101, "api.openai.com", 8443, 5200);
  t.on_close({{100, 6, 78}, 6000, 1, 1, false});
  CHECK(t.take_all().size() == 1);
}

TEST_CASE("probes that read the socket only after its first request: blind unless an exchange was read, "
          "reason probe_attached_late") {
  auto cat = catalog();
  ConnTracker t(cat, nullptr, [](std::uint32_t) { return std::string("openssl"); });
  t.set_reason_lookup([](std::uint32_t) -> std::optional<std::string> { return std::string("go_no_pclntab"); });
  const std::string b = records(client_hello_message("api.openai.com", {}));
  REQUIRE(t.on_hello(hello(b, v4(1, 2, 3, 4, 443))));
  // The name a response read without its request is attributed to: the ClientHello's, by (process, fd).
  CHECK(t.server_name(100, 5) == std::optional<std::string>("api.openai.com"));
  CHECK_FALSE(t.server_name(100, 6));
  CHECK_FALSE(t.server_name(101, 5));
  t.on_close({{100, 5, 77}, 5000, 1, 1, false, true});
  CHECK_FALSE(t.server_name(100, 5));
  auto ready = t.take_ready(kLater);
  REQUIRE(ready.size() == 1);
  CHECK(ready[0].reason == std::string(kReasonProbeLate));
  CHECK(t.stats().seen_by_socket == 0);

  SECTION("an exchange read on it (a response without its request) makes it seen") {
    REQUIRE(t.on_hello(hello(b, v4(1, 2, 3, 4, 443), 6, 78)));
    t.note_plaintext(100, "api.openai.com", 443, 3000);
    t.on_close({{100, 6, 78}, 5000, 1, 1, false, true});
    CHECK(t.take_ready(kLater).empty());
    CHECK(t.stats().seen_in_plaintext == 1);
  }
}
