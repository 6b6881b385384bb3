// Connection-level AI discovery for every TLS library: the ClientHello of each new TCP connection
// names its server (SNI; else a DNS answer for the address; else a configured address), the
// catalog says whether that is an AI API, and at close a connection whose plaintext no uprobe saw
// becomes a `connection_only` record. Bounded; evictions and expiries are counted.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "capture/chunk.h"
#include "providers/catalog.h"

namespace shadowmeter::netconn {

struct SocketKey {
  std::uint32_t tgid = 0;
  std::int32_t fd = -1;
  std::uint64_t id = 0;  // the kernel's id of this socket (an fd number is reused)
  bool operator==(const SocketKey&) const = default;
};

struct SocketKeyHash {
  std::size_t operator()(const SocketKey& k) const noexcept {
    return std::hash<std::uint64_t>{}(k.id * 0x9E3779B97F4A7C15ull ^ (static_cast<std::uint64_t>(k.tgid) << 32) ^
                                      static_cast<std::uint32_t>(k.fd));
  }
};

struct HelloFacts {
  SocketKey key;
  std::uint64_t start_ns = 0;  // connect(), monotonic
  std::uint64_t ts_ns = 0;     // the write
  capture::Peer peer;
  std::string_view comm;
  std::string_view bytes;      // the first write (maybe cut to SM_HELLO_BYTES)
};

struct CloseFacts {
  SocketKey key;
  std::uint64_t end_ns = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  bool plaintext_seen = false;  // an SSL uprobe read this socket from its first request on
  bool probe_late = false;      // an SSL uprobe read this socket, but only after its first request
};

// Why a connection to an AI host is reported without usage (shadowmeter.visibility.reason).
inline constexpr const char* kReasonNotHooked = "tls_library_not_hooked";  // the process's TLS library has no uprobes
inline constexpr const char* kReasonNoPlaintext = "no_plaintext_seen";     // hooked library (OpenSSL) showed nothing
// The probes read the socket, but only from after its first request (attached while the call ran).
inline constexpr const char* kReasonProbeLate = "probe_attached_late";

struct BlindConnection {
  SocketKey key;
  std::string comm;
  capture::Peer peer;
  std::string server_name;     // SNI, else the DNS name, else the address as text
  std::string name_source;     // "sni", "dns", "address"
  std::string sni;             // tls.client.server_name ("" when the hello had none)
  std::vector<std::string> alpn;
  std::string provider;        // gen_ai.provider.name
  std::string tls_library;
  std::string reason;
  std::uint64_t start_ns = 0, end_ns = 0;
  std::uint64_t bytes_sent = 0, bytes_received = 0;
};

struct TrackerLimits {
  std::size_t max_sockets = 16384;
  // A closed connection waits this long before it is reported blind: a library that does its own I/O
  // (node's memory BIOs) gives the uprobes no fd to mark the socket with, so its plaintext is matched
  // by process and host instead, and the exchange may complete just after the close.
  std::uint64_t settle_ns = 1500ull * 1000000ull;
  std::uint64_t plaintext_memory_ns = 120ull * 1000000000ull;  // how long a seen (process, host) counts
  std::size_t max_plaintext_hosts = 65536;
  std::uint64_t idle_ns = 3600ull * 1000000000ull;  // no close or exit seen by then: dropped, counted
};

struct TrackerStats {
  std::uint64_t hellos = 0;
  std::uint64_t hellos_unparsed = 0;  // not_tls / malformed / truncated before the SNI
  std::uint64_t ai_connections = 0;   // AI by name or address
  std::uint64_t seen_in_plaintext = 0;
  std::uint64_t seen_by_socket = 0;   // of those: the socket itself was marked by a tap (fd tied)
  std::uint64_t blind = 0;
  std::uint64_t evicted = 0;
  std::uint64_t expired = 0;
};

class ConnTracker {
 public:
  using NameLookup = std::function<std::optional<std::string>(const capture::Peer&)>;
  using LibraryGuess = std::function<std::string(std::uint32_t tgid)>;
  // What the probes know about a process's TLS (e.g. its Go executable was refused, and why); when
  // it answers, that is the blind reason instead of the one derived from the library guess.
  using ReasonLookup = std::function<std::optional<std::string>(std::uint32_t tgid)>;

  ConnTracker(const providers::Catalog& catalog, NameLookup dns, LibraryGuess library, TrackerLimits limits = {});

  void set_reason_lookup(ReasonLookup r) { reason_ = std::move(r); }
  // True when the connection goes to an AI host and is now followed until it ends.
  bool on_hello(const HelloFacts& h);
  // The connection ended. A connection whose plaintext was seen is dropped; one that went to an AI
  // host unseen waits `settle_ns` for a matching exchange, then comes out of take_ready().
  void on_close(const CloseFacts& c);
  // An exchange the uprobes (or plaintext capture) read: process, host and port, monotonic time.
  void note_plaintext(std::uint32_t tgid, std::string_view host, std::uint16_t port, std::uint64_t ts_ns);
  // Connections closed at least settle_ns before now with no matching plaintext: the blind ones.
  std::vector<BlindConnection> take_ready(std::uint64_t now_ns);
  // Every pending connection now (shutdown), still checked against the plaintext seen.
  std::vector<BlindConnection> take_all();
  // The server name of a followed AI connection of this process's socket `fd` (for a response read
  // without its request: the name its ClientHello gave), or nothing.
  std::optional<std::string> server_name(std::uint32_t tgid, std::int32_t fd) const;
  // Sockets of a process still followed (its exit closes them without a close()).
  std::vector<SocketKey> sockets_of(std::uint32_t tgid) const;
  void expire(std::uint64_t now_ns);
  std::size_t size() const { return open_.size(); }
  const TrackerStats& stats() const { return stats_; }

 private:
  const providers::Catalog& catalog_;
  NameLookup dns_;
  LibraryGuess library_;
  ReasonLookup reason_;
  TrackerLimits limits_;
  bool seen(const BlindConnection& b) const;
  std::unordered_map<SocketKey, BlindConnection, SocketKeyHash> open_;
  std::vector<BlindConnection> closed_;  // waiting to settle, in close order
  std::unordered_map<std::string, std::uint64_t> plaintext_;  // "tgid|host|port" -> last seen ns
  TrackerStats stats_;
};

// The address of a peer as text ("10.0.0.7", "2001:db8::1"; IPv4-mapped IPv6 as IPv4).
std::string address_text(const capture::Peer& p);

}  // namespace shadowmeter::netconn
