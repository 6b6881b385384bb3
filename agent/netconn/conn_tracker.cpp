#include "netconn/conn_tracker.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "netconn/client_hello.h"

namespace shadowmeter::netconn {

std::string address_text(const capture::Peer& p) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (p.family == AF_INET) {
    if (!inet_ntop(AF_INET, p.addr, buf, sizeof(buf))) return {};
    return buf;
  }
  if (p.family == AF_INET6) {
    static const std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(p.addr, mapped, sizeof(mapped)) == 0) {
      if (!inet_ntop(AF_INET, p.addr + 12, buf, sizeof(buf))) return {};
      return buf;
    }
    if (!inet_ntop(AF_INET6, p.addr, buf, sizeof(buf))) return {};
    return buf;
  }
  return {};
}

ConnTracker::ConnTracker(const providers::Catalog& catalog, NameLookup dns, LibraryGuess library, TrackerLimits limits)
    : catalog_(catalog), dns_(std::move(dns)), library_(std::move(library)), limits_(limits) {}

bool ConnTracker::on_hello(const HelloFacts& h) {
  ++stats_.hellos;
  const ClientHello hello = parse_client_hello(h.bytes);
  if (hello.status != HelloStatus::ok && hello.sni.empty()) ++stats_.hellos_unparsed;
  if (hello.status == HelloStatus::not_tls) return false;

  BlindConnection b;
  const std::string addr = address_text(h.peer);
  const providers::CatalogEntry* entry = nullptr;
  if (!hello.sni.empty()) {
    entry = catalog_.find(hello.sni, h.peer.port);
    b.server_name = hello.sni;
    b.name_source = "sni";
  }
  if (!entry && hello.sni.empty() && dns_) {
    if (auto name = dns_(h.peer)) {
      entry = catalog_.find(*name, h.peer.port);
      b.server_name = *name;
      b.name_source = "dns";
    }
  }
  if (!entry && !addr.empty()) {
    // A configured address ("10.0.0.7:8000" in the catalog or the config's providers).
    entry = catalog_.find(addr, h.peer.port);
    if (!entry) entry = catalog_.find_address(h.peer.family, h.peer.addr, h.peer.port);
    if (entry && b.server_name.empty()) {
      b.server_name = addr;
      b.name_source = "address";
    }
  }
  if (!entry) return false;
  ++stats_.ai_connections;
  if (open_.size() >= limits_.max_sockets) {
    auto oldest = std::min_element(open_.begin(), open_.end(),
                                   [](const auto& x, const auto& y) { return x.second.end_ns < y.second.end_ns; });
    open_.erase(oldest);
    ++stats_.evicted;
  }
  b.key = h.key;
  b.comm = std::string(h.comm);
  b.peer = h.peer;
  b.sni = hello.sni;
  b.alpn = hello.alpn;
  b.provider = entry->provider;
  b.tls_library = library_ ? library_(h.key.tgid) : "unknown";
  if (reason_) b.reason = reason_(h.key.tgid).value_or("");  // read now: the process may be gone at close
  b.start_ns = h.start_ns ? h.start_ns : h.ts_ns;
  b.end_ns = h.ts_ns;  // last activity until the close
  open_[h.key] = std::move(b);
  return true;
}

void ConnTracker::on_close(const CloseFacts& c) {
  auto it = open_.find(c.key);
  if (it == open_.end()) return;
  BlindConnection b = std::move(it->second);
  open_.erase(it);
  if (c.plaintext_seen) {
    ++stats_.seen_in_plaintext;
    ++stats_.seen_by_socket;
    return;
  }
  b.end_ns = std::max(c.end_ns, b.start_ns);
  b.bytes_sent = c.bytes_sent;
  b.bytes_received = c.bytes_received;
  if (c.probe_late)
    b.reason = kReasonProbeLate;  // the probes were there, only too late: that, not the library, is why
  else if (b.reason.empty())
    b.reason = b.tls_library == "openssl" ? kReasonNoPlaintext : kReasonNotHooked;
  if (closed_.size() >= limits_.max_sockets) {
    closed_.erase(closed_.begin());
    ++stats_.evicted;
  }
  closed_.push_back(std::move(b));
}

std::optional<std::string> ConnTracker::server_name(std::uint32_t tgid, std::int32_t fd) const {
  // Linear, but asked once per connection whose first bytes read were a response.
  for (const auto& [k, b] : open_)
    if (k.tgid == tgid && k.fd == fd) return b.server_name;
  return std::nullopt;
}

namespace {
std::string plaintext_key(std::uint32_t tgid, std::string_view host, std::uint16_t port) {
  return std::to_string(tgid) + "|" + std::string(host) + "|" + std::to_string(port);
}
}  // namespace

void ConnTracker::note_plaintext(std::uint32_t tgid, std::string_view host, std::uint16_t port, std::uint64_t ts_ns) {
  if (plaintext_.size() >= limits_.max_plaintext_hosts) {
    // Forget the stale ones first; if none are, start over (a connection may then be reported blind).
    for (auto it = plaintext_.begin(); it != plaintext_.end();)
      it = ts_ns > it->second && ts_ns - it->second > limits_.plaintext_memory_ns ? plaintext_.erase(it) : std::next(it);
    if (plaintext_.size() >= limits_.max_plaintext_hosts) plaintext_.clear();
  }
  std::string lower(host);
  for (char& ch : lower)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  auto& last = plaintext_[plaintext_key(tgid, lower, port)];
  last = std::max(last, ts_ns);
}

bool ConnTracker::seen(const BlindConnection& b) const {
  auto it = plaintext_.find(plaintext_key(b.key.tgid, b.server_name, b.peer.port));
  return it != plaintext_.end() && it->second + limits_.settle_ns >= b.start_ns;
}

std::vector<BlindConnection> ConnTracker::take_ready(std::uint64_t now_ns) {
  std::vector<BlindConnection> out;
  std::size_t n = 0;
  for (; n < closed_.size(); ++n) {
    BlindConnection& b = closed_[n];
    if (now_ns < b.end_ns + limits_.settle_ns) break;
    if (seen(b)) {
      ++stats_.seen_in_plaintext;
      continue;
    }
    ++stats_.blind;
    out.push_back(std::move(b));
  }
  closed_.erase(closed_.begin(), closed_.begin() + static_cast<std::ptrdiff_t>(n));
  for (auto it = plaintext_.begin(); it != plaintext_.end();)
    it = now_ns > it->second && now_ns - it->second > limits_.plaintext_memory_ns ? plaintext_.erase(it) : std::next(it);
  return out;
}

std::vector<BlindConnection> ConnTracker::take_all() {
  std::vector<BlindConnection> out;
  for (auto& b : closed_) {
    if (seen(b)) {
      ++stats_.seen_in_plaintext;
      continue;
    }
    ++stats_.blind;
    out.push_back(std::move(b));
  }
  closed_.clear();
  return out;
}

std::vector<SocketKey> ConnTracker::sockets_of(std::uint32_t tgid) const {
  std::vector<SocketKey> out;
  for (const auto& [k, v] : open_)
    if (k.tgid == tgid) out.push_back(k);
  return out;
}

void ConnTracker::expire(std::uint64_t now_ns) {
  for (auto it = open_.begin(); it != open_.end();) {
    if (now_ns > it->second.end_ns && now_ns - it->second.end_ns > limits_.idle_ns) {
      it = open_.erase(it);
      ++stats_.expired;
    } else {
      ++it;
    }
  }
}

}  // namespace shadowmeter::netconn
