// The collector's HTTP(S) server (Boost.Beast, a few io threads): POST /v1/traces into the ingest queue,
// the JSON query API under /api/v1/, /metrics, /healthz and /readyz, on one listener that is either
// plain HTTP or TLS (optionally verifying client certificates).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "server/auth.h"
#include "server/collector_metrics.h"
#include "server/ingest_queue.h"
#include "server/tls.h"
#include "reports/report.h"
#include "storage/store.h"

namespace shadowmeter::collector {

struct ServerOptions {
  std::string listen = ":4318";  // "ADDR:PORT", "[::1]:4318", ":4318" (all addresses); port 0 picks one
  std::size_t io_threads = 2;
  std::size_t query_threads = 2;               // run store queries and /readyz pings off the io threads
  // Open connections. Beyond it the longest-idle connection (waiting for a request head for at least
  // evict_after, never authenticated first) is closed to make room; when none is, the new one is
  // answered 503 + Retry-After.
  std::size_t max_connections = 1024;
  std::chrono::milliseconds evict_after{1000};
  std::uint32_t max_header_bytes = 16384;      // larger request heads get 431
  std::uint64_t max_body_bytes = 20ull << 20;  // received body, and again the decompressed body (413)
  std::uint64_t max_inflight_body_bytes = 256ull << 20;  // all bodies being read or decoded at once (503)
  std::size_t max_spans = 50000;                         // spans per request (400 beyond)
  std::size_t max_json_depth = 64;                       // nesting of a request's JSON (400 beyond)
  // Estimated memory of one request's parsed JSON (413 beyond); it is also charged to the in-flight budget.
  std::uint64_t max_decoded_bytes = 160ull << 20;
  std::size_t max_pending_queries = 32;            // API requests waiting for the query threads (503 beyond)
  std::chrono::milliseconds read_timeout{30000};   // a request head, then its body (and keep-alive idle time)
  // The TLS handshake, and a request head (or keep-alive idle time) of a client not yet authenticated.
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds write_timeout{30000};  // one response
  std::chrono::seconds retry_after{2};             // Retry-After of 503 answers
  std::chrono::milliseconds ready_cache{1000};     // /readyz answers from a store ping at most this old
  TlsOptions tls;                                  // cert_file "" = plain HTTP
};

// GET / (the dashboard): the form's values as given (echoed into the page) and the query they make.
struct DashboardRequest {
  std::string from;
  std::string to;
  std::string owner;
  reports::ReportQuery query;
};

// What the query API and /readyz need from the store; each runs on a query thread. Any may be empty
// (the endpoint then answers 503).
struct ApiBackend {
  std::function<CallPage(const CallFilter&)> query_calls;  // may throw std::invalid_argument (bad cursor)
  std::function<nlohmann::json()> agents;                  // the array of Store::agents()
  std::function<bool()> ready;                             // /readyz: Store::ping()
  // GET /api/v1/reports/NAME: reports::run_report (may throw reports::BadReportQuery: 400).
  std::function<nlohmann::json(const std::string& name, const reports::ReportQuery&)> report;
  // GET /api/v1/reports/focus as CSV, streamed: the export is handed to `write` a piece at a time
  // (reports::focus_csv). Unset: the CSV is made from `report`, whole.
  std::function<void(const reports::ReportQuery&, const std::function<void(std::string_view)>& write)> focus_csv;
  // GET / and /index.html: the dashboard's HTML page (may throw reports::BadReportQuery: 400).
  std::function<std::string(const DashboardRequest&)> dashboard;
};

class CollectorServer {
 public:
  // `queue` and `metrics` must outlive the server, and the queue must be stopped only after stop().
  CollectorServer(ServerOptions options, AuthPolicy auth, IngestQueue& queue, ApiBackend api,
                  CollectorMetrics& metrics);
  ~CollectorServer();  // stop()s
  CollectorServer(const CollectorServer&) = delete;
  CollectorServer& operator=(const CollectorServer&) = delete;

  // Loads the TLS files, binds and starts the io threads. Throws std::runtime_error naming the problem.
  void start();
  unsigned short port() const;  // the bound port (useful with port 0)
  bool tls() const;

  // Graceful stop: no new connections, idle connections closed, requests being read or waiting for
  // their commit or query are finished and answered (Connection: close). After `grace` the remaining
  // connections are closed. Returns false when it had to force connections closed. Idempotent.
  bool stop(std::chrono::milliseconds grace = std::chrono::seconds(30));

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace shadowmeter::collector
