// libFuzzer entry: the DNS response reader and the address cache it feeds. First byte: UDP/TCP.
#include <sys/socket.h>

#include <string_view>

#include "fuzz_common.h"
#include "netconn/dns_cache.h"
#include "netconn/dns_message.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const bool tcp = data[0] & 1;
  const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto r = shadowmeter::netconn::parse_dns_response(in, tcp);
  SM_FUZZ_CHECK(r.ok || r.addresses.empty());
  SM_FUZZ_CHECK(r.question.size() <= 255);
  SM_FUZZ_CHECK(r.cnames.size() <= 16);
  shadowmeter::netconn::DnsCacheLimits lim;
  lim.max_entries = 4;
  shadowmeter::netconn::DnsCache cache(lim);
  cache.on_response(in, tcp, 0);
  SM_FUZZ_CHECK(cache.size() <= 4);
  for (const auto& a : r.addresses) {
    const auto n = cache.lookup(a.family, a.addr, 1);
    SM_FUZZ_CHECK(!n || *n == r.question);
  }
  return 0;
}
