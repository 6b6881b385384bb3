// One plaintext chunk as the probes deliver it, decoupled from the BPF record layout so the capture
// layer can be driven by tests and replayed captures.
#pragma once

#include <cstdint>
#include <string_view>

namespace shadowmeter::capture {

enum class Direction : std::uint8_t { egress = 0, ingress = 1 };

// One connection: the process, the SSL* and the kernel's id for it (an SSL* address is reused by
// the next connection once freed, and our view of the end may lag the kernel's).
struct ConnKey {
  std::uint32_t tgid = 0;
  std::uint64_t ssl = 0;
  std::uint64_t id = 0;
  bool operator==(const ConnKey&) const = default;
};

struct ConnKeyHash {
  std::size_t operator()(const ConnKey& k) const noexcept {
    return std::hash<std::uint64_t>{}((k.ssl * 0x9E3779B97F4A7C15ull) ^ k.id ^ k.tgid);
  }
};

struct Peer {
  std::uint8_t family = 0;  // AF_INET / AF_INET6 / 0 unknown
  std::uint16_t port = 0;
  std::uint8_t addr[16] = {};
};

struct Chunk {
  ConnKey key;
  std::uint32_t tid = 0;
  std::int32_t fd = -1;
  Direction direction = Direction::egress;
  std::uint64_t stream_offset = 0;  // offset of data[0] in this direction's stream
  std::uint64_t ts_ns = 0;          // CLOCK_MONOTONIC
  Peer peer;
  std::string_view comm;
  std::string_view data;
  std::uint32_t lost = 0;  // bytes after `data` that the probe could not read (a gap right here)
  std::uint32_t tap = 0;   // which tap read it (enum sm_tap): only carried to the Exchange
};

}  // namespace shadowmeter::capture
