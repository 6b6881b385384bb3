// Internal to the server: what every connection shares (settings, auth, queue, metrics, the body
// budget and the registry of live connections used by a graceful stop).
#pragma once

#include <atomic>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "server/server.h"

namespace shadowmeter::collector::detail {

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Both post onto the session's own strand; callable from any thread.
  virtual void server_stopping() = 0;  // finish the request in progress, if any, then close
  virtual void force_close() = 0;
};

struct ServerState {
  ServerState(ServerOptions o, AuthPolicy a, IngestQueue& q, ApiBackend b, CollectorMetrics& m)
      : options(std::move(o)), auth(std::move(a)), queue(q), api(std::move(b)), metrics(m) {}

  const ServerOptions options;
  const AuthPolicy auth;
  IngestQueue& queue;
  const ApiBackend api;
  CollectorMetrics& metrics;
  std::optional<boost::asio::ssl::context> tls;    // set before the first connection, then read-only
  boost::asio::thread_pool* query_pool = nullptr;  // owned by the server; outlives every handler run
  std::atomic<bool> stopping{false};

  // Bytes of request bodies being received or decoded, against options.max_inflight_body_bytes.
  bool try_reserve_body(std::uint64_t n) {
    std::uint64_t cur = inflight_body_bytes.load();
    for (;;) {
      // One request may always proceed when nothing else holds the budget.
      if (cur != 0 && cur + n > options.max_inflight_body_bytes) return false;
      if (inflight_body_bytes.compare_exchange_weak(cur, cur + n)) return true;
    }
  }
  void release_body(std::uint64_t n) { inflight_body_bytes.fetch_sub(n); }

  // Admission of queries to the query threads.
  bool try_start_query() {
    std::size_t cur = pending_queries.load();
    for (;;) {
      if (cur >= options.max_pending_queries) return false;
      if (pending_queries.compare_exchange_weak(cur, cur + 1)) return true;
    }
  }
  void end_query() { pending_queries.fetch_sub(1); }

  // Live connections: false (and not registered) when max_connections are already open.
  bool try_register(std::uint64_t id, std::weak_ptr<SessionBase> s) {
    std::lock_guard lock(mu);
    if (stopping.load() || sessions.size() >= options.max_connections) return false;
    sessions.emplace(id, std::move(s));
    return true;
  }
  void session_ended(std::uint64_t id) {
    {
      std::lock_guard lock(mu);
      sessions.erase(id);
    }
    cv.notify_all();
  }

  std::atomic<std::uint64_t> inflight_body_bytes{0};
  std::atomic<std::size_t> pending_queries{0};
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::uint64_t, std::weak_ptr<SessionBase>> sessions;
  std::uint64_t next_id = 0;  // guarded by the acceptor's strand
};

}  // namespace shadowmeter::collector::detail
