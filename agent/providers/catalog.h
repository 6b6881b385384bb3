// The AI-host catalog: which hosts are AI APIs and which provider module speaks for each.
// Loaded from a YAML data file (agent/providers/catalog.yaml, installed to share/shadowmeter).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace shadowmeter::providers {

struct CatalogEntry {
  std::string provider;  // gen_ai.provider.name
  std::string pattern;   // "api.openai.com", "*.openai.azure.com" (any non-empty label run), "10.0.0.7:8000",
                         // "10.20.0.0/16:11434" (an IPv4 CIDR and port: matched by the peer address)
  std::string format;    // wire format module: "openai", "anthropic", ... ("" = generic)
};

class Catalog {
 public:
  // Throws std::runtime_error with file and reason on a bad file (start-up configuration error).
  static Catalog load_file(const std::string& path);
  static Catalog parse(std::string_view yaml_text);

  // Host without port, case-insensitive; exact patterns win over wildcard ones; longest wildcard wins.
  std::optional<CatalogEntry> match(std::string_view host) const;
  // Same as match() without copying the entry; the pointer lives as long as the catalog is unchanged.
  const CatalogEntry* find(std::string_view host) const;
  // A "host:port" entry for this port first (port 0: none), then the host's own entries.
  const CatalogEntry* find(std::string_view host, std::uint16_t port) const;
  // A CIDR entry ("10.20.0.0/16:11434") containing this peer (family AF_INET, address in the first
  // 4 bytes; or AF_INET6 IPv4-mapped) on this port; the longest prefix wins.
  const CatalogEntry* find_address(std::uint8_t family, const std::uint8_t* addr, std::uint16_t port) const;
  std::size_t size() const { return entries_.size(); }
  // Lower-cases the pattern; a pattern already present is replaced (later sources override).
  // Throws std::runtime_error on an invalid pattern or an empty provider name.
  void add(CatalogEntry e);
  const std::vector<CatalogEntry>& entries() const { return entries_; }

 private:
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::vector<CatalogEntry> entries_;
  std::unordered_map<std::string, std::size_t, StringHash, std::equal_to<>> exact_;  // -> entries_ index
  std::vector<std::size_t> wildcards_;  // entries_ indices, longest pattern first
  bool has_ports_ = false;              // some pattern is "host:port"
  struct Cidr {
    std::uint32_t net, mask;  // host byte order
    int bits;
    std::uint16_t port;
    std::size_t index;        // into entries_
  };
  std::vector<Cidr> cidrs_;
};

}  // namespace shadowmeter::providers
