// Plaintext HTTP destinations: the catalog's "host:port" entries (Ollama on 11434, a configured vLLM
// or gateway), turned into address prefixes + port for the kernel's plain_dests map. Names are
// resolved off the event loop (getaddrinfo can block on DNS) and refreshed periodically.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "providers/catalog.h"

namespace shadowmeter::netconn {

struct Destination {
  std::uint8_t addr[16] = {};     // IPv4 as ::ffff:a.b.c.d
  std::uint8_t prefix_bits = 128; // on the 128-bit form
  std::uint16_t port = 0;
  bool operator==(const Destination& o) const = default;
};

struct DestinationSpec {
  std::string host;  // name or address literal (no brackets)
  std::optional<Destination> literal;  // set when host is an address or CIDR
  std::uint16_t port = 0;
};

// "host:port", "10.0.0.7:8000", "10.0.0.0/8:8000", "[2001:db8::/32]:8000"; nullopt when not of
// that form (no port, bad port, bad prefix).
std::optional<DestinationSpec> parse_destination(std::string_view text);

// The catalog's entries that carry a port.
std::vector<DestinationSpec> catalog_destinations(const providers::Catalog& catalog);

// Resolves names (getaddrinfo, blocking) and keeps literals; duplicates removed. `failures`
// receives the names that did not resolve.
std::vector<Destination> resolve_destinations(const std::vector<DestinationSpec>& specs,
                                              std::vector<std::string>* failures = nullptr);

// Whether `addr` (16 bytes, IPv4-mapped for IPv4) falls in the destination's prefix.
bool prefix_contains(const Destination& d, const std::uint8_t addr[16]);

}  // namespace shadowmeter::netconn
