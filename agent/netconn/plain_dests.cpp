#include "netconn/plain_dests.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace shadowmeter::netconn {
namespace {

void set_v4(Destination& d, const void* a4) {
  std::memset(d.addr, 0, sizeof(d.addr));
  d.addr[10] = 0xff;
  d.addr[11] = 0xff;
  std::memcpy(d.addr + 12, a4, 4);
}

// "10.0.0.7", "10.0.0.0/8", "2001:db8::1", "2001:db8::/32" -> a prefix; nullopt otherwise.
std::optional<Destination> parse_prefix(std::string_view text) {
  std::string addr(text);
  int bits = -1;
  if (auto slash = addr.find('/'); slash != std::string::npos) {
    std::string_view b = std::string_view(addr).substr(slash + 1);
    int v = 0;
    auto [p, ec] = std::from_chars(b.data(), b.data() + b.size(), v);
    if (ec != std::errc() || p != b.data() + b.size() || b.empty()) return std::nullopt;
    bits = v;
    addr.resize(slash);
  }
  Destination d;
  std::uint8_t a4[4];
  if (inet_pton(AF_INET, addr.c_str(), a4) == 1) {
    if (bits > 32) return std::nullopt;
    set_v4(d, a4);
    d.prefix_bits = static_cast<std::uint8_t>(96 + (bits < 0 ? 32 : bits));
  } else if (inet_pton(AF_INET6, addr.c_str(), d.addr) == 1) {
    if (bits > 128) return std::nullopt;
    d.prefix_bits = static_cast<std::uint8_t>(bits < 0 ? 128 : bits);
  } else {
    if (bits >= 0) return std::nullopt;  // a prefix needs an address
    return std::nullopt;
  }
  // Clear the host bits so equal prefixes compare equal.
  for (int i = d.prefix_bits; i < 128; ++i) d.addr[i / 8] &= static_cast<std::uint8_t>(~(0x80 >> (i % 8)));
  return d;
}

}  // namespace

std::optional<DestinationSpec> parse_destination(std::string_view text) {
  DestinationSpec s;
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return std::nullopt;  // IPv6 needs brackets
  }
  unsigned v = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
  if (host.empty() || ec != std::errc() || p != port.data() + port.size() || v == 0 || v > 65535) return std::nullopt;
  s.port = static_cast<std::uint16_t>(v);
  s.host = std::string(host);
  s.literal = parse_prefix(host);
  if (!s.literal && host.find('/') != std::string_view::npos) return std::nullopt;
  if (s.literal) s.literal->port = s.port;
  return s;
}

std::vector<DestinationSpec> catalog_destinations(const providers::Catalog& catalog) {
  std::vector<DestinationSpec> out;
  for (const auto& e : catalog.entries())
    if (auto s = parse_destination(e.pattern)) out.push_back(std::move(*s));
  return out;
}

std::vector<Destination> resolve_destinations(const std::vector<DestinationSpec>& specs,
                                              std::vector<std::string>* failures) {
  std::vector<Destination> out;
  auto add = [&out](const Destination& d) {
    if (std::find(out.begin(), out.end(), d) == out.end()) out.push_back(d);
  };
  for (const auto& s : specs) {
    if (s.literal) {
      add(*s.literal);
      continue;
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (getaddrinfo(s.host.c_str(), nullptr, &hints, &res) != 0 || !res) {
      if (failures) failures->push_back(s.host);
      continue;
    }
    for (addrinfo* ai = res; ai; ai = ai->ai_next) {
      Destination d;
      d.port = s.port;
      if (ai->ai_family == AF_INET) {
        set_v4(d, &reinterpret_cast<const sockaddr_in*>(ai->ai_addr)->sin_addr);
      } else if (ai->ai_family == AF_INET6) {
        std::memcpy(d.addr, &reinterpret_cast<const sockaddr_in6*>(ai->ai_addr)->sin6_addr, 16);
      } else {
        continue;
      }
      add(d);
    }
    freeaddrinfo(res);
  }
  return out;
}

bool prefix_contains(const Destination& d, const std::uint8_t addr[16]) {
  for (int i = 0; i < d.prefix_bits; ++i) {
    const std::uint8_t m = static_cast<std::uint8_t>(0x80 >> (i % 8));
    if ((d.addr[i / 8] & m) != (addr[i / 8] & m)) return false;
  }
  return true;
}

}  // namespace shadowmeter::netconn
