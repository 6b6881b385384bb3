// Owns the BPF object: open -> configure -> load -> attach tracepoints, the ring buffer, the
// maps user space writes (not-AI connections) and the per-CPU counters. The rest of the agent never
// touches a libbpf handle or a map fd.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "probes/elf_symbols.h"
#include "probes/gotls/go_binary.h"
#include "probes/uprobe_multi.h"

struct bpf_link;

namespace shadowmeter::probes {

struct ProbeOptions {
  std::uint32_t ringbuf_bytes = 16u << 20;
  pid_t agent_tgid = 0;
  // Bytes waiting in the ring before a payload record wakes the agent (0: ringbuf_bytes / 8).
  std::uint32_t wakeup_bytes = 0;
  // Attach the SSL uprobes with BPF uprobe-multi links when the kernel has them (Linux 6.6+; they need
  // no CAP_SYS_ADMIN), else through perf events. false: perf events always.
  bool uprobe_multi = true;
};

struct BpfCounters {
  std::uint64_t ringbuf_drops = 0;
  std::uint64_t ringbuf_drop_bytes = 0;
  std::uint64_t oversize_bytes = 0;
  std::uint64_t ssl_calls = 0;
  std::uint64_t ignored_calls = 0;
  std::uint64_t read_fault_bytes = 0;
  std::uint64_t socks_tracked = 0;     // TCP connects (and UDP to port 53) tracked
  std::uint64_t plain_iov_lost = 0;    // plaintext bytes beyond the first iovec, not copied
  std::uint64_t go_calls = 0;          // Go crypto/tls Read/Write calls that returned bytes
  std::uint64_t go_unmatched_rets = 0; // Go RET probes without a recorded entry
};

// A destination whose plaintext HTTP the kernel copies: an address prefix (IPv4 as ::ffff:a.b.c.d,
// prefix counted on the 128-bit form) and one port.
struct PlainDest {
  std::uint8_t addr[16] = {};
  std::uint8_t prefix_bits = 128;
  std::uint16_t port = 0;
  bool operator==(const PlainDest& o) const;
};

// A tracked socket's kernel state (sm_sock_state), taken when its process exits without close().
struct SockSnapshot {
  std::uint64_t id = 0;
  std::uint64_t start_ns = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  std::uint32_t flags = 0;
};

struct LinkDeleter {
  void operator()(bpf_link* l) const;
};
using Link = std::unique_ptr<bpf_link, LinkDeleter>;

// The uprobes of one attached file; detached when destroyed.
class UprobeSet {
 public:
  // Perf-event uprobes, one link each.
  explicit UprobeSet(std::vector<Link> links) : size_(links.size()), links_(std::move(links)) {}
  // Uprobe-multi links, covering `probes` uprobes in all.
  UprobeSet(std::vector<LinkFd> links, std::size_t probes) : size_(probes), multi_links_(std::move(links)) {}
  // How many uprobes (entry and return probes counted apart), whichever way they are attached.
  std::size_t size() const { return size_; }

 private:
  std::size_t size_ = 0;
  std::vector<Link> links_;
  std::vector<LinkFd> multi_links_;
};

// The OpenSSL functions we attach to, in the order of the table in bpf_probes.cpp.
const std::vector<std::string>& ssl_symbol_names();

class BpfProbes {
 public:
  using RecordHandler = std::function<void(std::span<const std::uint8_t>)>;

  // Throws std::runtime_error with a reason a person can act on (missing BTF, no privilege, ...).
  BpfProbes(const ProbeOptions& opts, RecordHandler handler);
  ~BpfProbes();
  BpfProbes(const BpfProbes&) = delete;
  BpfProbes& operator=(const BpfProbes&) = delete;

  // The ring buffer's epoll fd: readable when records are waiting.
  int ring_fd() const;
  // Hands every waiting record to the handler; returns how many.
  int consume();

  // Attaches entry/return probes to the SSL functions found in `path` (a path the agent can open,
  // e.g. /proc/PID/root/usr/lib/...). Throws std::runtime_error if no probe could be attached.
  std::unique_ptr<UprobeSet> attach_ssl(const std::string& path, const SymbolOffsets& syms);
  // The Go tap: entry probes on crypto/tls.(*Conn).Write/Read and plain uprobes on each of their
  // RET instructions, at the file offsets `go` names. Throws std::runtime_error on failure (all or
  // nothing: a Go binary with half its probes would lose calls silently).
  std::unique_ptr<UprobeSet> attach_go(const std::string& path, const gotls::GoInspection& go);
  // How attach_ssl attaches, chosen at load: uprobe-multi links (true) or perf events.
  bool uses_uprobe_multi() const;

  // Tells the kernel to stop copying for this connection (classified as not AI). The mark holds
  // only while `conn_id` is the connection at that SSL*, so a late mark cannot hit its successor.
  // (The kernel drops its own per-connection state at SSL_free/close; user space never deletes it,
  // as by the time it would, the address may belong to a new connection.)
  void mark_ignored(std::uint32_t tgid, std::uint64_t ssl, std::uint64_t conn_id);

  BpfCounters read_counters() const;

  // Replaces the set of plaintext destinations (adds the new, removes the gone). Returns how many
  // could not be written (map full), logged by the caller.
  std::size_t set_plain_dests(const std::vector<PlainDest>& dests);
  // Stops copying the plaintext of socket (tgid, fd) if it is still socket `id` (classified not AI).
  void stop_plaintext(std::uint32_t tgid, std::int32_t fd, std::uint64_t id);
  // Reads and removes the kernel's state of (tgid, fd) if it is still socket `id`.
  std::optional<SockSnapshot> take_socket(std::uint32_t tgid, std::int32_t fd, std::uint64_t id);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<PlainDest> plain_dests_;
};

// Mounts tracefs at /sys/kernel/tracing when it is not there (classic tracepoints need it).
// Returns an error text, empty on success.
std::string ensure_tracefs();

}  // namespace shadowmeter::probes
