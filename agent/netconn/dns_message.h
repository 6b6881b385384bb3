// DNS response reader (RFC 1035): the question name and the addresses it resolves to through the
// answer section's CNAME chain. Pure, bounded, never throws: compression pointers must point
// backwards (no loops), names are at most 255 bytes, chains at most 16 links.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace shadowmeter::netconn {

struct DnsAddress {
  std::uint8_t family = 0;     // AF_INET / AF_INET6
  std::uint8_t addr[16] = {};  // IPv4 in the first 4 bytes
  std::uint32_t ttl = 0;
};

struct DnsResponse {
  bool ok = false;
  std::string error;                 // why not ok: "short", "not_response", "bad_name", "rcode", ...
  std::string question;              // lower-case, no trailing dot
  std::vector<std::string> cnames;   // the chain followed from the question
  std::vector<DnsAddress> addresses; // A/AAAA records of the question or a name in its chain
};

// `tcp`: the message starts with the 2-byte length prefix of DNS over TCP.
DnsResponse parse_dns_response(std::string_view msg, bool tcp = false);

}  // namespace shadowmeter::netconn
