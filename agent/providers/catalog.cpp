#include "providers/catalog.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace shadowmeter::providers {
namespace {

constexpr std::size_t kMaxHostLen = 253;  // longest DNS name in text form

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// "a.b.c.d/n" -> network and prefix length (host byte order); nullopt when not that form.
std::optional<std::pair<std::uint32_t, int>> parse_cidr4(std::string_view s) {
  const auto slash = s.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const std::string addr(s.substr(0, slash));
  const std::string_view b = s.substr(slash + 1);
  if (b.empty() || b.size() > 2 || !std::all_of(b.begin(), b.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  const int bits = std::stoi(std::string(b));
  in_addr a{};
  if (bits > 32 || inet_pton(AF_INET, addr.c_str(), &a) != 1) return std::nullopt;
  return std::make_pair(ntohl(a.s_addr), bits);
}

std::uint32_t mask_of(int bits) { return bits == 0 ? 0u : ~0u << (32 - bits); }

// Returns "" when the (lower-cased) pattern is acceptable, else why not.
std::string pattern_problem(std::string_view p) {
  if (p.empty()) return "empty host pattern";
  if (p.find(':') == std::string_view::npos && parse_cidr4(p)) return "a CIDR pattern needs a port: 10.0.0.0/8:8000";
  // "host:port" names one service on a host (self-hosted servers: vLLM, Ollama, a gateway).
  if (const auto colon = p.rfind(':'); colon != std::string_view::npos) {
    const std::string_view port = p.substr(colon + 1);
    const bool digits = !port.empty() && port.size() <= 5 &&
                        std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || std::stoul(std::string(port)) == 0 || std::stoul(std::string(port)) > 65535)
      return "host pattern port must be a number from 1 to 65535";
    if (p.find('*') != std::string_view::npos) return "a host pattern with a port cannot have a wildcard";
    p = p.substr(0, colon);
    if (p.empty()) return "empty host pattern";
  }
  if (p.find('/') != std::string_view::npos && parse_cidr4(p)) return {};  // "a.b.c.d/N:port"
  if (p.size() > kMaxHostLen) return "host pattern longer than 253 characters";
  for (char c : p) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '*';
    if (!ok) return "host pattern has a character other than letters, digits, '-', '_', '.', '*'";
  }
  if (p.front() == '.' || p.back() == '.' || p.find("..") != std::string_view::npos)
    return "host pattern has an empty label";
  if (p.find("**") != std::string_view::npos) return "host pattern has '**'";
  if (p.find('*') != std::string_view::npos) {
    // A wildcard reaching into the top-level label would match far more than one service.
    const auto last_dot = p.rfind('.');
    if (last_dot == std::string_view::npos || p.find('*', last_dot) != std::string_view::npos)
      return "wildcard host pattern needs a literal last label (like '*.example.com')";
  }
  return {};
}

// Pattern semantics: a leading "*." matches one or more whole labels; any other '*' matches one or
// more characters other than '.'. `host` is lower-case and has no empty labels.
bool glob(std::string_view p, std::string_view h, bool at_start) {
  if (at_start && p.starts_with("*.")) {
    const std::string_view rest = p.substr(2);
    for (std::size_t i = 1; i < h.size(); ++i) {
      if (h[i] == '.' && glob(rest, h.substr(i + 1), false)) return true;
    }
    return false;
  }
  while (!p.empty()) {
    if (p.front() == '*') {
      const std::string_view rest = p.substr(1);
      for (std::size_t k = 1; k <= h.size() && h[k - 1] != '.'; ++k) {
        if (glob(rest, h.substr(k), false)) return true;
      }
      return false;
    }
    if (h.empty() || h.front() != p.front()) return false;
    p.remove_prefix(1);
    h.remove_prefix(1);
  }
  return h.empty();
}

std::string scalar_field(const YAML::Node& n, const char* key, bool required) {
  const YAML::Node v = n[key];
  if (!v || v.IsNull()) {
    if (required) throw std::runtime_error(std::string("missing '") + key + "'");
    return {};
  }
  if (!v.IsScalar()) throw std::runtime_error(std::string("'") + key + "' must be a string");
  return v.as<std::string>();
}

std::string where(const YAML::Node& n) {
  const auto m = n.Mark();
  if (m.line < 0) return {};
  return "line " + std::to_string(m.line + 1) + ": ";
}

}  // namespace

void Catalog::add(CatalogEntry e) {
  if (e.provider.empty()) throw std::runtime_error("empty provider name");
  std::transform(e.pattern.begin(), e.pattern.end(), e.pattern.begin(), lower);
  if (auto problem = pattern_problem(e.pattern); !problem.empty())
    throw std::runtime_error(problem + ": '" + e.pattern + "'");

  const bool wildcard = e.pattern.find('*') != std::string::npos;
  if (e.pattern.find(':') != std::string::npos) has_ports_ = true;
  if (e.pattern.find('/') != std::string::npos) {
    const auto colon = e.pattern.rfind(':');
    const auto cidr = parse_cidr4(std::string_view(e.pattern).substr(0, colon));
    const auto port = static_cast<std::uint16_t>(std::stoul(e.pattern.substr(colon + 1)));
    for (auto& c : cidrs_) {
      if (entries_[c.index].pattern == e.pattern) {
        entries_[c.index] = std::move(e);
        return;
      }
    }
    const std::uint32_t mask = mask_of(cidr->second);
    cidrs_.push_back({cidr->first & mask, mask, cidr->second, port, entries_.size()});
    entries_.push_back(std::move(e));
    return;
  }
  if (!wildcard) {
    if (auto it = exact_.find(e.pattern); it != exact_.end()) {
      entries_[it->second] = std::move(e);
      return;
    }
    exact_.emplace(e.pattern, entries_.size());
    entries_.push_back(std::move(e));
    return;
  }
  for (std::size_t i : wildcards_) {
    if (entries_[i].pattern == e.pattern) {
      entries_[i] = std::move(e);
      return;
    }
  }
  const std::size_t idx = entries_.size();
  const std::size_t len = e.pattern.size();
  entries_.push_back(std::move(e));
  // Longest first; among equal lengths the earlier one keeps priority.
  auto pos = std::find_if(wildcards_.begin(), wildcards_.end(),
                          [&](std::size_t i) { return entries_[i].pattern.size() < len; });
  wildcards_.insert(pos, idx);
}

const CatalogEntry* Catalog::find(std::string_view host) const {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.empty() || host.size() > kMaxHostLen) return nullptr;
  // Lower-case into a stack buffer: classification runs once per connection and should not allocate.
  std::array<char, kMaxHostLen> buf;
  for (std::size_t i = 0; i < host.size(); ++i) buf[i] = lower(host[i]);
  const std::string_view h(buf.data(), host.size());

  if (auto it = exact_.find(h); it != exact_.end()) return &entries_[it->second];
  if (h.front() == '.' || h.find("..") != std::string_view::npos) return nullptr;
  for (std::size_t i : wildcards_) {
    if (glob(entries_[i].pattern, h, true)) return &entries_[i];
  }
  return nullptr;
}

const CatalogEntry* Catalog::find(std::string_view host, std::uint16_t port) const {
  if (port != 0 && !has_ports_) return find(host);
  if (port != 0) {
    if (!host.empty() && host.back() == '.') host.remove_suffix(1);
    if (!host.empty() && host.size() <= kMaxHostLen) {
      std::array<char, kMaxHostLen + 6> buf;
      std::size_t n = 0;
      for (char c : host) buf[n++] = lower(c);
      buf[n++] = ':';
      char digits[5];
      std::size_t k = 0;
      for (std::uint16_t v = port; v != 0; v = static_cast<std::uint16_t>(v / 10))
        digits[k++] = static_cast<char>('0' + v % 10);
      while (k) buf[n++] = digits[--k];
      if (auto it = exact_.find(std::string_view(buf.data(), n)); it != exact_.end()) return &entries_[it->second];
    }
  }
  return find(host);
}

const CatalogEntry* Catalog::find_address(std::uint8_t family, const std::uint8_t* addr, std::uint16_t port) const {
  if (cidrs_.empty() || !addr) return nullptr;
  static const std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  const std::uint8_t* v4 = nullptr;
  if (family == AF_INET) v4 = addr;
  else if (family == AF_INET6 && std::equal(mapped, mapped + 12, addr)) v4 = addr + 12;
  if (!v4) return nullptr;
  const std::uint32_t a = (std::uint32_t{v4[0]} << 24) | (std::uint32_t{v4[1]} << 16) | (std::uint32_t{v4[2]} << 8) | v4[3];
  const Cidr* best = nullptr;
  for (const auto& c : cidrs_)
    if (c.port == port && (a & c.mask) == c.net && (!best || c.bits > best->bits)) best = &c;
  return best ? &entries_[best->index] : nullptr;
}

std::optional<CatalogEntry> Catalog::match(std::string_view host) const {
  if (const CatalogEntry* e = find(host)) return *e;
  return std::nullopt;
}

Catalog Catalog::parse(std::string_view yaml_text) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& ex) {
    throw std::runtime_error("not valid YAML: " + ex.msg + " (line " + std::to_string(ex.mark.line + 1) +
                             ")");
  }
  if (!root || root.IsNull()) throw std::runtime_error("empty catalog");
  if (!root.IsSequence())
    throw std::runtime_error("expected a list of {provider, hosts, format} entries at the top level");

  Catalog c;
  for (const YAML::Node& n : root) {
    const std::string at = where(n);
    try {
      if (!n.IsMap()) throw std::runtime_error("entry must be a map {provider, hosts, format}");
      for (const auto& kv : n) {
        const auto k = kv.first.as<std::string>();
        if (k != "provider" && k != "hosts" && k != "format")
          throw std::runtime_error("unknown key '" + k + "'");
      }
      const std::string provider = scalar_field(n, "provider", true);
      if (provider.empty()) throw std::runtime_error("empty 'provider'");
      const std::string format = scalar_field(n, "format", false);
      const YAML::Node hosts = n["hosts"];
      if (!hosts || !hosts.IsSequence() || hosts.size() == 0)
        throw std::runtime_error("'hosts' must be a non-empty list of host patterns");
      for (const YAML::Node& h : hosts) {
        if (!h.IsScalar()) throw std::runtime_error("'hosts' must be a list of strings");
        CatalogEntry e{provider, h.as<std::string>(), format};
        std::string lowered = e.pattern;
        std::transform(lowered.begin(), lowered.end(), lowered.begin(), lower);
        // Within one file a repeated host is a mistake, not an override.
        const bool seen = std::any_of(c.entries_.begin(), c.entries_.end(),
                                      [&](const CatalogEntry& x) { return x.pattern == lowered; });
        if (seen) throw std::runtime_error("host pattern '" + lowered + "' listed twice");
        c.add(std::move(e));
      }
    } catch (const YAML::Exception& ex) {
      throw std::runtime_error(at + ex.msg);
    } catch (const std::runtime_error& ex) {
      throw std::runtime_error(at + ex.what());
    }
  }
  return c;
}

Catalog Catalog::load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("AI catalog " + path + ": cannot open file");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw std::runtime_error("AI catalog " + path + ": read error");
  try {
    return parse(ss.str());
  } catch (const std::runtime_error& ex) {
    throw std::runtime_error("AI catalog " + path + ": " + ex.what());
  }
}

}  // namespace shadowmeter::providers
