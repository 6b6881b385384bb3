#include <catch2/catch.hpp>

#include "netconn/conn_tracker.h"
#include "netconn/plain_dests.h"

using namespace shadowmeter;
using namespace shadowmeter::netconn;

TEST_CASE("destinations: host:port, address, CIDR, IPv6 in brackets") {
  auto a = parse_destination("localhost:11434");
  REQUIRE(a);
  CHECK(a->host == "localhost");
  CHECK(a->port == 11434);
  CHECK_FALSE(a->literal);

  auto b = parse_destination("10.1.2.3:8000");
  REQUIRE(b);
  REQUIRE(b->literal);
  CHECK(b->literal->prefix_bits == 128);
  CHECK(b->literal->addr[10] == 0xff);
  CHECK(b->literal->addr[15] == 3);
  CHECK(b->literal->port == 8000);

  auto c = parse_destination("10.1.2.3/8:8000");
  REQUIRE(c);
  REQUIRE(c->literal);
  CHECK(c->literal->prefix_bits == 104);
  CHECK(c->literal->addr[12] == 10);
  CHECK(c->literal->addr[13] == 0);  // host bits cleared

  auto d = parse_destination("[2001:db8::/32]:443");
  REQUIRE(d);
  REQUIRE(d->literal);
  CHECK(d->literal->prefix_bits == 32);

  for (const char* bad : {"localhost", "host:0", "host:65536", "host:x", ":80", "10.0.0.0/33:80", "2001:db8::1:80",
                          "name/8:80"})
    CHECK_FALSE(parse_destination(bad));
}

TEST_CASE("prefix_contains") {
  auto c = parse_destination("10.0.0.0/8:80");
  REQUIRE(c);
  std::uint8_t in[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 9, 8, 7};
  std::uint8_t out[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 11, 0, 0, 1};
  CHECK(prefix_contains(*c->literal, in));
  CHECK_FALSE(prefix_contains(*c->literal, out));
}

TEST_CASE("the catalog's host:port entries resolve; names without a port are not destinations") {
  auto cat = providers::Catalog::parse(R"(
- provider: ollama
  format: ollama
  hosts: ["localhost:11434", "127.0.0.1:11434", "api.ollama.example"]
)");
  const auto specs = catalog_destinations(cat);
  REQUIRE(specs.size() == 2);
  std::vector<std::string> failed;
  const auto dests = resolve_destinations(specs, &failed);
  CHECK(failed.empty());
  // localhost gives 127.0.0.1 (and maybe ::1); 127.0.0.1 is the same destination, kept once.
  std::size_t v4 = 0;
  for (const auto& d : dests) {
    CHECK(d.port == 11434);
    if (d.addr[10] == 0xff && d.addr[12] == 127) ++v4;
  }
  CHECK(v4 == 1);
}

TEST_CASE("address_text") {
  capture::Peer p;
  p.family = 2;
  p.addr[0] = 192, p.addr[1] = 0, p.addr[2] = 2, p.addr[3] = 1;
  CHECK(address_text(p) == "192.0.2.1");
  capture::Peer q;
  q.family = 10;
  q.addr[0] = 0x20, q.addr[1] = 0x01, q.addr[2] = 0x0d, q.addr[3] = 0xb8, q.addr[15] = 1;
  CHECK(address_text(q) == "2001:db8::1");
  capture::Peer m;
  m.family = 10;
  m.addr[10] = 0xff, m.addr[11] = 0xff, m.addr[12] = 10, m.addr[15] = 5;
  CHECK(address_text(m) == "10.0.0.5");
}
