#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <string>

#include "netconn/dns_cache.h"
#include "netconn/dns_message.h"

using namespace shadowmeter::netconn;

namespace {

void put16(std::string& s, unsigned v) {
  s.push_back(static_cast<char>((v >> 8) & 0xff));
  s.push_back(static_cast<char>(v & 0xff));
}

std::string name(const std::string& dotted) {
  std::string out;
  std::size_t start = 0;
  while (start <= dotted.size()) {
    auto dot = dotted.find('.', start);
    if (dot == std::string::npos) dot = dotted.size();
    out.push_back(static_cast<char>(dot - start));
    out += dotted.substr(start, dot - start);
    start = dot + 1;
  }
  return out + std::string(1, '\0');
}

std::string record(const std::string& owner, unsigned type, unsigned ttl, const std::string& rdata) {
  std::string r = owner;
  put16(r, type);
  put16(r, 1);
  put16(r, ttl >> 16);
  put16(r, ttl & 0xffff);
  put16(r, static_cast<unsigned>(rdata.size()));
  return r + rdata;
}

// Question api.openai.com A; answer: CNAME (owner by pointer to the question) -> edge.cdn.test, A.
std::string response(unsigned flags = 0x8180) {
  std::string m;
  put16(m, 0x1234);
  put16(m, flags);
  put16(m, 1);
  put16(m, 3);
  put16(m, 0);
  put16(m, 0);
  m += name("API.openai.com");
  put16(m, 1);
  put16(m, 1);
  const std::size_t target_at = m.size() + 12;  // where the CNAME's rdata starts
  m += record(std::string("\xc0\x0c", 2), 5, 300, name("edge.cdn.test"));
  std::string ptr;
  put16(ptr, 0xc000 | static_cast<unsigned>(target_at));
  m += record(ptr, 1, 60, std::string("\xc0\x00\x02\x01", 4));
  m += record(name("unrelated.example"), 1, 60, std::string("\x0a\x00\x00\x01", 4));  // not in the chain
  return m;
}

}  // namespace

TEST_CASE("DNS: question, CNAME chain, the chain's addresses only") {
  const auto r = parse_dns_response(response());
  REQUIRE(r.ok);
  CHECK(r.question == "api.openai.com");
  CHECK(r.cnames == std::vector<std::string>{"edge.cdn.test"});
  REQUIRE(r.addresses.size() == 1);
  CHECK(r.addresses[0].family == AF_INET);
  CHECK(r.addresses[0].addr[0] == 192);
  CHECK(r.addresses[0].ttl == 60);
}

TEST_CASE("DNS over TCP has a length prefix") {
  const std::string m = response();
  std::string tcp;
  put16(tcp, static_cast<unsigned>(m.size()));
  const auto r = parse_dns_response(tcp + m, true);
  REQUIRE(r.ok);
  CHECK(r.addresses.size() == 1);
}

TEST_CASE("DNS: refused inputs") {
  CHECK(parse_dns_response("").error == "short");
  CHECK(parse_dns_response(response(0x0100)).error == "not_response");
  CHECK(parse_dns_response(response(0x8183)).error == "rcode");
  // A compression pointer to itself (a loop) and one pointing forward.
  std::string m = response();
  std::string loop = m.substr(0, 12) + std::string("\xc0\x0c", 2);
  CHECK(parse_dns_response(loop).error == "bad_name");
  std::string fwd = m.substr(0, 12) + std::string("\xc0\x20", 2) + std::string(40, '\0');
  CHECK(parse_dns_response(fwd).error == "bad_name");
  // Every prefix is refused or parsed, never read past.
  for (std::size_t n = 0; n < m.size(); ++n) (void)parse_dns_response(std::string_view(m).substr(0, n));
}

TEST_CASE("DNS cache: TTL (clamped), LRU bound, IPv4-mapped lookups") {
  DnsCacheLimits lim;
  lim.max_entries = 2;
  lim.min_ttl_ns = 100;
  lim.max_ttl_ns = 1000ull * 1000000000ull;
  DnsCache c(lim);
  c.on_response(response(), false, 0);
  const std::uint8_t a[16] = {192, 0, 2, 1};
  auto n = c.lookup(AF_INET, a, 1000);
  REQUIRE(n);
  CHECK(*n == "api.openai.com");
  std::uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1};
  CHECK(c.lookup(AF_INET6, mapped, 1000));
  CHECK_FALSE(c.lookup(AF_INET, a, 61ull * 1000000000ull));  // TTL 60 s passed
  CHECK(c.stats().expired == 1);
  c.on_response("garbage", false, 0);
  CHECK(c.stats().unparsed == 1);
}
