// Owns the BPF object: open -> configure -> load -> attach tracepoints, the ring buffer, the
// maps user space writes (not-AI connections) and the per-CPU counters. The rest of the agent never
// touches a libbpf handle or a map fd.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "probes/elf_symbols.h"

struct bpf_link;

namespace shadowmeter::probes {

struct ProbeOptions {
  std::uint32_t ringbuf_bytes = 16u << 20;
  pid_t agent_tgid = 0;
  // Bytes waiting in the ring before a payload record wakes the agent (0: ringbuf_bytes / 8).
  std::uint32_t wakeup_bytes = 0;
};

struct BpfCounters {
  std::uint64_t ringbuf_drops = 0;
  std::uint64_t ringbuf_drop_bytes = 0;
  std::uint64_t oversize_bytes = 0;
  std::uint64_t ssl_calls = 0;
  std::uint64_t ignored_calls = 0;
  std::uint64_t read_fault_bytes = 0;
};

struct LinkDeleter {
  void operator()(bpf_link* l) const;
};
using Link = std::unique_ptr<bpf_link, LinkDeleter>;

// The uprobes of one attached file; detached when destroyed.
class UprobeSet {
 public:
  explicit UprobeSet(std::vector<Link> links) : links_(std::move(links)) {}
  std::size_t size() const { return links_.size(); }

 private:
  std::vector<Link> links_;
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

  // Tells the kernel to stop copying for this connection (classified as not AI). The mark holds
  // only while `conn_id` is the connection at that SSL*, so a late mark cannot hit its successor.
  // (The kernel drops its own per-connection state at SSL_free/close; user space never deletes it,
  // as by the time it would, the address may belong to a new connection.)
  void mark_ignored(std::uint32_t tgid, std::uint64_t ssl, std::uint64_t conn_id);

  BpfCounters read_counters() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Mounts tracefs at /sys/kernel/tracing when it is not there (classic tracepoints need it).
// Returns an error text, empty on success.
std::string ensure_tracefs();

}  // namespace shadowmeter::probes
