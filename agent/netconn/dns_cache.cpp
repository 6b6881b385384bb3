#include "netconn/dns_cache.h"

#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace shadowmeter::netconn {
namespace {

// IPv4 as ::ffff:a.b.c.d, so an IPv4-mapped peer finds its IPv4 answer.
std::string key_of(std::uint8_t family, const std::uint8_t* addr) {
  std::string k(16, '\0');
  if (family == AF_INET) {
    k[10] = k[11] = static_cast<char>(0xff);
    std::memcpy(k.data() + 12, addr, 4);
  } else {
    std::memcpy(k.data(), addr, 16);
  }
  return k;
}

}  // namespace

void DnsCache::put(const std::string& key, const std::string& name, std::uint64_t expires_ns) {
  if (auto it = map_.find(key); it != map_.end()) {
    lru_.erase(it->second.lru);
    map_.erase(it);
  }
  if (map_.size() >= limits_.max_entries && !lru_.empty()) {
    map_.erase(lru_.back());
    lru_.pop_back();
    ++stats_.evicted;
  }
  lru_.push_front(key);
  map_.emplace(key, Entry{name, expires_ns, lru_.begin()});
  ++stats_.inserted;
}

void DnsCache::on_response(std::string_view msg, bool tcp, std::uint64_t now_ns) {
  ++stats_.answers;
  const DnsResponse r = parse_dns_response(msg, tcp);
  if (!r.ok) {
    ++stats_.unparsed;
    return;
  }
  for (const auto& a : r.addresses) {
    const std::uint64_t ttl = std::clamp<std::uint64_t>(static_cast<std::uint64_t>(a.ttl) * 1000000000ull,
                                                        limits_.min_ttl_ns, limits_.max_ttl_ns);
    put(key_of(a.family, a.addr), r.question, now_ns + ttl);
  }
}

std::optional<std::string> DnsCache::lookup(std::uint8_t family, const std::uint8_t* addr, std::uint64_t now_ns) {
  auto it = map_.find(key_of(family, addr));
  if (it == map_.end()) return std::nullopt;
  if (now_ns > it->second.expires_ns) {
    lru_.erase(it->second.lru);
    map_.erase(it);
    ++stats_.expired;
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  ++stats_.hits;
  return it->second.name;
}

}  // namespace shadowmeter::netconn
