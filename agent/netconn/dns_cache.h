// Address -> name, from the DNS answers resolvers returned on this host: names a connection whose
// ClientHello has no SNI (ECH, clients that connect by address after resolving). TTL-bound (clamped
// to [min_ttl, max_ttl]) and size-bound (least recently used evicted, counted).
#pragma once

#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>

#include "netconn/dns_message.h"

namespace shadowmeter::netconn {

struct DnsCacheLimits {
  std::size_t max_entries = 65536;
  std::uint64_t min_ttl_ns = 60ull * 1000000000ull;    // a connection may follow its lookup late
  std::uint64_t max_ttl_ns = 86400ull * 1000000000ull;
};

struct DnsCacheStats {
  std::uint64_t answers = 0;     // responses read
  std::uint64_t unparsed = 0;    // responses the parser refused
  std::uint64_t inserted = 0;
  std::uint64_t evicted = 0;
  std::uint64_t expired = 0;
  std::uint64_t hits = 0;
};

class DnsCache {
 public:
  explicit DnsCache(DnsCacheLimits limits = {}) : limits_(limits) {}
  void on_response(std::string_view msg, bool tcp, std::uint64_t now_ns);
  // family AF_INET / AF_INET6; addr 16 bytes (IPv4 in the first 4, or IPv4-mapped IPv6).
  std::optional<std::string> lookup(std::uint8_t family, const std::uint8_t* addr, std::uint64_t now_ns);
  std::size_t size() const { return map_.size(); }
  const DnsCacheStats& stats() const { return stats_; }

 private:
  struct Entry {
    std::string name;
    std::uint64_t expires_ns;
    std::list<std::string>::iterator lru;
  };
  void put(const std::string& key, const std::string& name, std::uint64_t expires_ns);
  DnsCacheLimits limits_;
  std::unordered_map<std::string, Entry> map_;  // key: 16-byte IPv6 form
  std::list<std::string> lru_;                  // most recent first
  DnsCacheStats stats_;
};

}  // namespace shadowmeter::netconn
