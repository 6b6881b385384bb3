// shadowmeter-collector: wires the configuration, the store, the ingest queue, the metrics and the HTTP
// server together, then waits for SIGTERM/SIGINT (refreshing the store gauges meanwhile) and stops in
// order: no new connections, in-flight ingests answered, queue drained, exit 0.
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <string>

#include "common/log.h"
#include "common/sd_notify.h"
#include "config/collector_config.h"
#include "report_command.h"
#include "reports/focus.h"
#include "server/auth.h"
#include "server/collector_metrics.h"
#include "server/ingest_queue.h"
#include "server/server.h"
#include "storage/store.h"

namespace {

namespace sc = shadowmeter::collector;
namespace log = shadowmeter::log;

constexpr int kExitRuntime = 1;
constexpr int kExitConfig = 2;
constexpr std::chrono::seconds kStatsInterval{15};
constexpr std::chrono::hours kRetentionInterval{1};
constexpr std::chrono::seconds kStopGrace{30};

std::uint64_t now_unix_nano() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

void warn_if_readable_by_others(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    log::warn("token file " + path + " is accessible by group or others; chmod 600 it");
}

sc::AuthPolicy auth_policy(const sc::config::CollectorConfig& c) {
  sc::AuthPolicy policy;
  if (!c.auth_token_file.empty()) {
    try {
      policy.tokens = sc::TokenSet::load_file(c.auth_token_file);
    } catch (const std::exception& e) {
      throw sc::config::ConfigError(e.what());
    }
    warn_if_readable_by_others(c.auth_token_file);
  }
  policy.require_client_cert = c.require_client_cert;
  return policy;
}

sc::ServerOptions server_options(const sc::config::CollectorConfig& c) {
  sc::ServerOptions o;
  o.listen = c.listen;
  o.io_threads = c.io_threads;
  o.query_threads = c.query_threads;
  o.max_connections = c.max_connections;
  o.max_header_bytes = c.max_header_bytes;
  o.max_body_bytes = c.max_body_bytes;
  o.max_inflight_body_bytes = c.max_inflight_body_bytes;
  o.max_spans = c.max_spans_per_request;
  o.read_timeout = std::chrono::seconds(c.read_timeout_seconds);
  o.header_timeout = std::chrono::seconds(c.header_timeout_seconds);
  o.max_json_depth = c.max_json_depth;
  o.max_decoded_bytes = c.max_decoded_body_bytes;
  o.write_timeout = std::chrono::seconds(c.write_timeout_seconds);
  o.retry_after = std::chrono::seconds(c.retry_after_seconds);
  o.tls.cert_file = c.tls_cert_file;
  o.tls.key_file = c.tls_key_file;
  o.tls.client_ca_file = c.tls_client_ca_file;
  o.tls.require_client_cert = c.require_client_cert;
  return o;
}

std::string auth_summary(const sc::config::CollectorConfig& c, const sc::AuthPolicy& p) {
  std::string s;
  if (!p.tokens.empty()) s = std::to_string(p.tokens.size()) + " bearer token(s)";
  if (c.require_client_cert)
    s += std::string(s.empty() ? "" : " + ") + "required client certificates";
  else if (!c.tls_client_ca_file.empty())
    s += std::string(s.empty() ? "" : " + ") + "optional client certificates";
  return s.empty() ? "NONE" : s;
}

void refresh_store_stats(sc::Store& store, sc::CollectorMetrics& metrics) {
  try {
    metrics.set_store_stats(store.stats());
  } catch (const std::exception& e) {
    log::warn(std::string("cannot read store statistics: ") + e.what());
  }
}

int run(const sc::config::CollectorConfig& cfg, sigset_t signals) {
  const sc::AuthPolicy auth = auth_policy(cfg);
  if (auth.tokens.empty() && !cfg.require_client_cert) {
    log::warn(
        "!!! INSECURE: no bearer tokens and no required client certificates (--insecure-no-auth): "
        "anyone who can reach " +
        cfg.listen + " may send events and read all stored data !!!");
  }

  std::unique_ptr<sc::Store> store;
  try {
    store = sc::open_store(cfg.db);
  } catch (const std::exception& e) {
    log::error(std::string("cannot open the store: ") + e.what());
    return kExitRuntime;
  }
  log::info("store: " + store->backend() + " " + sc::redact_db_url(cfg.db));

  sc::CollectorMetrics metrics;
  refresh_store_stats(*store, metrics);

  sc::IngestQueueOptions qopts;
  qopts.high_water_events = cfg.queue_high_water_events;
  sc::IngestHooks hooks;
  hooks.committed = [&metrics](const std::vector<const sc::IngestBatch*>& batches,
                               const std::vector<sc::IngestResult>& results,
                               double seconds) { metrics.committed(batches, results, seconds); };
  auto store_errors = std::make_shared<log::RateLimit>(5, std::chrono::seconds(60));
  hooks.failed = [&metrics, store_errors](const std::string& error, std::size_t batches, double seconds) {
    metrics.commit_failed(seconds);
    // Writer thread only, so the rate limiter needs no lock.
    store_errors->write(log::Level::error,
                        "commit of " + std::to_string(batches) + " request(s) failed: " + error);
  };
  hooks.queue_size = [&metrics](std::size_t n) { metrics.set_queue_events(n); };
  sc::Store& db = *store;
  sc::IngestQueue queue([&db](const std::vector<const sc::IngestBatch*>& b) { return db.ingest_many(b); },
                        qopts, std::move(hooks));

  const sc::RetentionPolicy retention{cfg.retention_days, cfg.rollup_retention_days,
                                      cfg.heartbeat_retention_days};
  queue.add_periodic(
      "retention", kRetentionInterval,
      [&db, retention] {
        const sc::RetentionResult r = db.apply_retention(retention, now_unix_nano());
        log::info("retention: " + std::to_string(r.calls_deleted) + " raw call rows older than " +
                  std::to_string(retention.raw_days) + " days (already in the rollups), " +
                  std::to_string(r.daily_rollups_deleted) + " daily and " + std::to_string(r.hourly_rollups_deleted) +
                  " hourly rollup rows, " + std::to_string(r.heartbeats_deleted) + " heartbeats and " +
                  std::to_string(r.gaps_deleted) + " gap records deleted");
      },
      true,
      [](const std::string& name, const std::string& error) { log::error(name + " failed: " + error); });

  sc::ApiBackend api;
  api.query_calls = [&db](const sc::CallFilter& f) { return db.query_calls(f); };
  api.agents = [&db] { return db.agents(); };
  api.ready = [&db] { return db.ping(); };
  api.report = [&db](const std::string& name, const sc::reports::ReportQuery& q) {
    return sc::reports::run_report(db, name, q);
  };
  api.focus_csv = [&db](const sc::reports::ReportQuery& q, const std::function<void(std::string_view)>& write) {
    sc::reports::focus_csv(db, q, write);
  };
  api.dashboard = [&db](const sc::DashboardRequest& r) { return sc::dashboard_page(db, r); };

  sc::CollectorServer server(server_options(cfg), auth, queue, std::move(api), metrics);
  try {
    server.start();
  } catch (const std::exception& e) {
    log::error(std::string("cannot start the server: ") + e.what());
    queue.stop();
    return kExitRuntime;
  }
  log::info("shadowmeter-collector " SHADOWMETER_VERSION " listening on " + cfg.listen + " (port " +
            std::to_string(server.port()) + ", " + (server.tls() ? "TLS" : "plain HTTP") +
            "), auth: " + auth_summary(cfg, auth));

  // systemd (Type=notify): ready once the server listens; keep-alives from this loop, which wakes at
  // least every half watchdog timeout, so a hung loop (e.g. a store call that never returns) gets the
  // service restarted.
  const shadowmeter::systemd::Watchdog watchdog;
  const std::chrono::microseconds wait =
      watchdog.enabled() ? std::min<std::chrono::microseconds>(kStatsInterval, watchdog.period()) : kStatsInterval;
  shadowmeter::systemd::notify_ready("listening on " + cfg.listen + " (port " + std::to_string(server.port()) +
                                     ", " + (server.tls() ? "TLS" : "plain HTTP") + ")");
  watchdog.kick();
  auto next_stats = std::chrono::steady_clock::now() + kStatsInterval;

  // The signals were blocked in every thread before any started; this thread alone takes them.
  for (;;) {
    const timespec timeout{static_cast<time_t>(wait.count() / 1000000), static_cast<long>(wait.count() % 1000000) * 1000};
    siginfo_t info{};
    const int sig = sigtimedwait(&signals, &info, &timeout);
    if (sig == SIGTERM || sig == SIGINT) {
      log::info(std::string("received ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") + ", stopping");
      shadowmeter::systemd::notify_stopping("stopping: answering requests in flight, draining the ingest queue");
      break;
    }
    // Timeout (or EINTR): time for the gauges, every kStatsInterval.
    if (std::chrono::steady_clock::now() >= next_stats) {
      refresh_store_stats(db, metrics);
      next_stats = std::chrono::steady_clock::now() + kStatsInterval;
    }
    watchdog.kick();
  }
  const bool clean = server.stop(kStopGrace);
  queue.stop();
  log::info(clean ? "stopped" : "stopped (some connections were closed before their answer)");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Block the stop signals before any thread starts, so every thread inherits the mask and only
  // sigtimedwait() in run() receives them; SIGPIPE is ignored (a peer closing is an error code).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // `report NAME ...`: one report from the database, then exit (no server).
  if (argc > 1 && std::string(argv[1]) == "report") return sc::run_report_command(argc - 2, argv + 2);

  std::optional<sc::config::CollectorConfig> cfg;
  try {
    cfg = sc::config::parse_command_line(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "shadowmeter-collector: %s\n", e.what());
    return kExitConfig;
  }
  if (!cfg) return 0;  // --help or --version
  log::Level level = log::Level::info;
  log::parse_level(cfg->log_level, level);
  log::set_level(level);
  try {
    return run(*cfg, signals);
  } catch (const sc::config::ConfigError& e) {
    std::fprintf(stderr, "shadowmeter-collector: %s\n", e.what());
    return kExitConfig;
  } catch (const std::exception& e) {
    log::error(std::string("fatal: ") + e.what());
    return kExitRuntime;
  }
}
