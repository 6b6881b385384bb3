// Per-connection, per-direction stream reassembly keyed by (pid, SSL*): gap detection from stream
// offsets, classification (AI host or not), HTTP/1.1 parsing of both directions, pairing of
// responses with requests, and hand-off of each finished exchange to the provider module.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "capture/chunk.h"
#include "capture/exchange.h"
#include "protocols/http1/http1_parser.h"
#include "providers/catalog.h"
#include "providers/registry.h"

namespace shadowmeter::capture {

struct CaptureLimits {
  http1::Limits http;                              // per message
  std::uint64_t max_request_body_bytes = 8ull << 20;  // kept for the provider
  std::uint64_t max_total_buffer_bytes = 256ull << 20;
  std::size_t max_connections = 65536;
  std::size_t max_pipelined = 64;                  // requests awaiting a response per connection
  std::size_t max_tombstones = 65536;              // connections remembered as not-AI
  std::uint64_t idle_ns = 300ull * 1000000000ull;
};

// How a connection was classified: followed (ai), or why it is not. http2 means HTTP/2 that cannot
// be decoded (joined after its start, or frame/HPACK state lost).
enum class Verdict : std::uint8_t { ai, not_ai, server, http2, not_http };
const char* to_string(Verdict v);

struct CaptureStats {
  std::uint64_t chunks = 0;
  std::uint64_t bytes = 0;
  std::uint64_t gaps = 0;                // discontinuities in a stream
  std::uint64_t gap_bytes = 0;
  std::uint64_t duplicate_chunks = 0;
  std::uint64_t ignored_chunks = 0;      // arrived for a connection already classified not-AI
  std::uint64_t orphan_responses = 0;    // response with no request waiting
  std::uint64_t requests_missed = 0;     // connections read from a response (its request unseen)
  std::uint64_t pipeline_overflows = 0;
  std::uint64_t evicted_connections = 0; // dropped for max_connections or the buffer budget
  std::uint64_t buffer_limited = 0;      // exchanges cut by the total buffer budget
  std::uint64_t exchanges = 0;
  std::uint64_t verdicts[5] = {};        // by Verdict
};

struct CaptureCallbacks {
  // The kernel should stop copying this connection's payload.
  std::function<void(const ConnKey&)> ignore;
  // A finished exchange with an AI host.
  std::function<void(Exchange&&)> exchange;
  // A connection seen for the first time (its process is alive now: a good moment to read /proc).
  std::function<void(const ConnKey&, std::string_view comm)> new_connection;
  // Sees the request headers and target of each exchange just before it is emitted, to record a
  // fingerprint of the credential in the exchange; the headers and target are wiped right after.
  std::function<void(const providers::HeaderList&, std::string_view target, Exchange&)> credential;
  // A tap for one request body's configured fields (custom dimensions); unset or null: none.
  std::function<std::unique_ptr<providers::BodyTap>()> body_tap;
  // Sees the request headers and the exchange's body tap just before `credential`, to record the
  // configured dimensions and tags in the exchange.
  std::function<void(const providers::HeaderList&, Exchange&)> request_fields;
  // The server name the process's socket `fd` was opened to (its ClientHello's), for a connection
  // whose first bytes read are a response: the request naming the host was not seen.
  std::function<std::optional<std::string>(std::uint32_t tgid, std::int32_t fd)> server_name;
  // Per-message HTTP outcome that is not `complete` (for parse-error metrics).
  std::function<void(http1::Outcome)> parse_outcome;
};

class Connection;

class ConnectionTable {
 public:
  ConnectionTable(const providers::Catalog& catalog, providers::Registry& registry, CaptureLimits limits,
                  CaptureCallbacks callbacks);
  ~ConnectionTable();
  ConnectionTable(const ConnectionTable&) = delete;
  ConnectionTable& operator=(const ConnectionTable&) = delete;

  void on_chunk(const Chunk& c);
  // SSL_free / SSL_shutdown / close: complete what the stream allows, emit, forget.
  void on_connection_end(const ConnKey& key, std::uint64_t ts_ns);
  // The process is gone (or replaced its image): end all its connections.
  void on_process_end(std::uint32_t tgid, std::uint64_t ts_ns);
  // Ends connections idle for longer than the limit.
  void expire(std::uint64_t now_ns);
  // Shutdown: end every connection, emitting what is pending.
  void end_all(std::uint64_t ts_ns);

  std::size_t size() const { return conns_.size(); }
  std::uint64_t buffered_bytes() const { return buffered_; }
  const CaptureStats& stats() const { return stats_; }

 private:
  friend class Connection;
  friend class Http2Connection;
  Connection* find_or_create(const Chunk& c);
  void end(const ConnKey& key, std::uint64_t ts_ns, bool eof);
  void tombstone(const ConnKey& key, Verdict v);
  bool is_tombstoned(const ConnKey& key) const;
  void evict_one(std::uint64_t now_ns);

  const providers::Catalog& catalog_;
  providers::Registry& registry_;
  CaptureLimits limits_;
  CaptureCallbacks cb_;
  std::unordered_map<ConnKey, std::unique_ptr<Connection>, ConnKeyHash> conns_;
  std::unordered_map<std::uint32_t, std::unordered_set<ConnKey, ConnKeyHash>> by_tgid_;
  std::unordered_map<std::uint32_t, std::unordered_set<ConnKey, ConnKeyHash>> tombstones_;
  std::size_t tombstone_count_ = 0;
  std::uint64_t buffered_ = 0;  // request bodies + response bytes held for providers
  CaptureStats stats_;
};

}  // namespace shadowmeter::capture
