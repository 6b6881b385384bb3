// TLS ClientHello reader: the server name (SNI) and the ALPN protocols a client offers, from the
// first bytes a socket wrote. Pure; bounded by its input; never throws.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace shadowmeter::netconn {

enum class HelloStatus : std::uint8_t {
  ok,         // a complete ClientHello (SNI may still be absent: ECH, IP-literal clients)
  truncated,  // a ClientHello cut before its extensions ended (what was read is kept)
  not_tls,    // not a TLS handshake record carrying a ClientHello
  malformed,  // lengths that contradict each other
};
const char* to_string(HelloStatus s);

struct ClientHello {
  HelloStatus status = HelloStatus::not_tls;
  std::string sni;                // lower-cased host_name, "" when absent or invalid
  std::vector<std::string> alpn;  // in the client's order (at most 16 kept)
  bool ech = false;               // encrypted_client_hello extension present (SNI is the outer name)
};

// `bytes` starts at the TLS record header. Handles a ClientHello spread over several records of
// the one write (fragmentation) by concatenating their payloads; a hello cut short is `truncated`.
ClientHello parse_client_hello(std::string_view bytes);

}  // namespace shadowmeter::netconn
