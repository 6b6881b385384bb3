// Internal to the server: what every connection shares (settings, auth, queue, metrics, the body
// budget and the registry of live connections used by a graceful stop).
#pragma once

#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "server/dimension_drops.h"
#include "server/server.h"

namespace shadowmeter::collector::detail {

inline std::int64_t steady_ticks() { return std::chrono::steady_clock::now().time_since_epoch().count(); }

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Both post onto the session's own strand; callable from any thread.
  virtual void server_stopping() = 0;  // finish the request in progress, if any, then close
  virtual void force_close() = 0;

  // Written on the session's strand, read by the acceptor to choose which connection gives way when
  // every slot is taken (ServerState::admit).
  std::atomic<bool> idle{true};              // in the TLS handshake or waiting for a request head
  std::atomic<bool> authenticated{false};    // has sent a request with valid credentials
  std::atomic<std::int64_t> idle_since{steady_ticks()};
};

struct ServerState {
  ServerState(ServerOptions o, AuthPolicy a, IngestQueue& q, ApiBackend b, CollectorMetrics& m)
      : options(std::move(o)), auth(std::move(a)), queue(q), api(std::move(b)), metrics(m),
        dimension_drops(m.registry()) {}

  const ServerOptions options;
  const AuthPolicy auth;
  IngestQueue& queue;
  const ApiBackend api;
  CollectorMetrics& metrics;
  DimensionDrops dimension_drops;  // ingest: dimension/tag attributes dropped, counted and logged once
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

  // Estimated memory of the JSON documents being parsed, a pool of the same size as the bodies': `mine`
  // is what the asking request already holds, so a request alone may always reach its own limit.
  bool try_reserve_decoded(std::uint64_t n, std::uint64_t mine) {
    std::uint64_t cur = inflight_decoded_bytes.load();
    for (;;) {
      if (cur != mine && cur + n > options.max_inflight_body_bytes) return false;
      if (inflight_decoded_bytes.compare_exchange_weak(cur, cur + n)) return true;
    }
  }
  void release_decoded(std::uint64_t n) { inflight_decoded_bytes.fetch_sub(n); }

  // Admission of queries to the query threads.
  bool try_start_query() {
    std::size_t cur = pending_queries.load();
    for (;;) {
      if (cur >= options.max_pending_queries) return false;
      if (pending_queries.compare_exchange_weak(cur, cur + 1)) return true;
    }
  }
  void end_query() { pending_queries.fetch_sub(1); }

  // Live connections. With max_connections open, the connection idle the longest (waiting for a request
  // head) gives way, one that never authenticated first: so held-open or slow connections cannot starve
  // agents, and a fleet larger than the limit takes turns on keep-alive. False (not registered) when
  // every open connection is busy with a request: the caller answers 503.
  bool admit(std::uint64_t id, const std::shared_ptr<SessionBase>& s) {
    std::shared_ptr<SessionBase> victim;
    {
      std::lock_guard lock(mu);
      if (stopping.load()) return false;
      if (sessions.size() >= options.max_connections) {
        victim = take_idlest_locked();
        if (!victim) return false;
      }
      sessions.emplace(id, s);
    }
    if (victim) {
      evicted_connections.fetch_add(1);
      victim->force_close();
    }
    return true;
  }
  void session_ended(std::uint64_t id) {
    {
      std::lock_guard lock(mu);
      sessions.erase(id);
    }
    cv.notify_all();
  }

  // /readyz: one store ping at a time on a query thread, outside the query admission (so neither floods
  // of /readyz nor busy API queries make the other fail); a result younger than options.ready_cache is
  // reused, and callers arriving while a ping runs get its result.
  void check_ready(std::function<void(bool)> done) {
    std::optional<bool> fresh;
    {
      std::lock_guard lock(ready_mu);
      if (ready_at && std::chrono::steady_clock::now() - *ready_at < options.ready_cache) {
        fresh = ready_last;
      } else {
        ready_waiters.push_back(std::move(done));
        if (ready_running) return;
        ready_running = true;
      }
    }
    if (fresh) return done(*fresh);
    boost::asio::post(*query_pool, [this] {
      bool ok = false;
      try {
        ok = api.ready && api.ready();
      } catch (...) {
      }
      std::vector<std::function<void(bool)>> waiters;
      {
        std::lock_guard lock(ready_mu);
        ready_last = ok;
        ready_at = std::chrono::steady_clock::now();
        ready_running = false;
        waiters.swap(ready_waiters);
      }
      for (auto& w : waiters) w(ok);
    });
  }

  std::atomic<std::uint64_t> inflight_body_bytes{0};
  std::atomic<std::uint64_t> inflight_decoded_bytes{0};
  std::atomic<std::size_t> pending_queries{0};
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::uint64_t, std::weak_ptr<SessionBase>> sessions;
  std::uint64_t next_id = 0;  // guarded by the acceptor's strand
  std::atomic<std::uint64_t> evicted_connections{0};
  std::atomic<std::size_t> overflow_replies{0};  // at most options.max_connections  // 503 answers to connections beyond the limit, in progress

  std::mutex ready_mu;
  bool ready_running = false;
  bool ready_last = false;
  std::optional<std::chrono::steady_clock::time_point> ready_at;
  std::vector<std::function<void(bool)>> ready_waiters;

 private:
  // Under `mu`: removes and returns the connection idle the longest, preferring unauthenticated ones.
  std::shared_ptr<SessionBase> take_idlest_locked() {
    auto best = sessions.end();
    std::shared_ptr<SessionBase> best_s;
    // A connection idle for less than evict_after (one just accepted, whose request is on its way) stays.
    const std::int64_t newest = steady_ticks() - std::chrono::steady_clock::duration(options.evict_after).count();
    for (auto it = sessions.begin(); it != sessions.end(); ++it) {
      auto s = it->second.lock();
      if (!s || !s->idle.load() || s->idle_since.load() > newest) continue;
      if (best_s) {
        const bool a = s->authenticated.load(), b = best_s->authenticated.load();
        if (a != b ? a : s->idle_since.load() >= best_s->idle_since.load()) continue;
      }
      best = it;
      best_s = std::move(s);
    }
    if (best_s) sessions.erase(best);
    return best_s;
  }
};

}  // namespace shadowmeter::collector::detail
