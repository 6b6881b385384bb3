#include "agent.h"

#include <bpf/libbpf.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdarg>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <fstream>
#include <sstream>
#include <thread>

#include <prometheus/counter.h>

#include "attribution/process_info.h"
#include "capture/connection_table.h"
#include "common/log.h"
#include "common/sd_notify.h"
#include "export/otlp_http/exporter.h"
#include "export/sink.h"
#include "metrics/agent_metrics.h"
#include "metrics/http_server.h"
#include "netconn/conn_tracker.h"
#include "netconn/dns_cache.h"
#include "netconn/plain_dests.h"
#include "netconn/tls_library.h"
#include "preflight/preflight.h"
#include "probes/attach_manager.h"
#include "probes/bpf_probes.h"
#include "probes/tap.h"
#include "attribution/credentials.h"
#include "dimensions/extractor.h"
#include "attribution/k8s/pod_watcher.h"
#include "policy/policy.h"
#include "pricing/call_pricing.h"
#include "pricing/pricer.h"
#include "providers/catalog.h"
#include "providers/registry.h"
#include "shadowmeter.h"

namespace shadowmeter {
namespace {

namespace asio = boost::asio;

std::uint64_t clock_ns(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

// BPF timestamps are CLOCK_MONOTONIC; events carry wall-clock time.
std::uint64_t to_unix_ns(std::uint64_t mono_ns) {
  if (mono_ns == 0) return 0;
  const std::uint64_t real = clock_ns(CLOCK_REALTIME);
  const std::uint64_t mono = clock_ns(CLOCK_MONOTONIC);
  return real - mono + mono_ns;
}

// A shipped data file: the installed copy, else the source tree's (running from a build tree).
std::string find_data_file(const char* name, const char* source_dir) {
  for (const char* dir : {SHADOWMETER_DATA_DIR, source_dir}) {
    std::string p = std::string(dir) + "/" + name;
    std::error_code ec;
    if (std::filesystem::exists(p, ec)) return p;
  }
  return {};
}

std::string find_catalog(const std::string& configured) {
  if (!configured.empty()) return configured;
  std::string p = find_data_file("catalog.yaml", SHADOWMETER_SOURCE_DATA_DIR);
  if (p.empty()) throw std::runtime_error("no AI catalog found: pass --catalog FILE");
  return p;
}

// Boot time as the kernel states it (/proc/stat btime), to turn start times in clock ticks since
// boot into wall-clock times.
std::uint64_t boot_unix_ns() {
  std::FILE* f = std::fopen("/proc/stat", "re");
  if (!f) return 0;
  char line[256];
  unsigned long long btime = 0;
  while (std::fgets(line, sizeof(line), f)) {
    if (std::sscanf(line, "btime %llu", &btime) == 1) break;
  }
  std::fclose(f);
  return static_cast<std::uint64_t>(btime) * 1000000000ull;
}

// Built-in prices, the configured table over them, and the Azure deployment aliases.
std::unique_ptr<pricing::Pricer> make_pricer(const config::AgentConfig& cfg) {
  pricing::PriceTable table;
  if (const std::string builtin = find_data_file("default_prices.json", SHADOWMETER_SOURCE_PRICING_DIR); !builtin.empty()) {
    table = pricing::PriceTable::builtin_from_file(builtin);
    log::info("prices: " + std::to_string(table.size()) + " models from " + builtin);
  } else {
    log::warn("built-in price table default_prices.json not found; only --prices is used");
  }
  if (!cfg.prices_path.empty()) {
    const auto user = pricing::PriceTable::load_file(cfg.prices_path);
    log::info("prices: " + std::to_string(user.size()) + " models from " + cfg.prices_path);
    table.overlay(user);
  }
  auto pricer = std::make_unique<pricing::Pricer>(std::move(table));
  for (const auto& [deployment, model] : cfg.azure_deployments) pricer->add_alias("azure.ai.openai", deployment, model);
  return pricer;
}

// Spools each event for the collector. It is the first sink, so an event printed by --stdout has
// already been handed to the spool.
class CollectorSink final : public exporting::EventSink {
 public:
  explicit CollectorSink(exporting::Exporter& exporter) : exporter_(exporter) {}
  void emit(const exporting::UsageEvent& e) override { exporter_.enqueue(exporting::to_json(e)); }
  void flush() override { exporter_.flush(); }

 private:
  exporting::Exporter& exporter_;
};

std::string read_token_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read --collector-token-file '" + path + "': " + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string token = ss.str();
  const auto first = token.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) throw std::runtime_error("--collector-token-file '" + path + "' is empty");
  token = token.substr(first, token.find_last_not_of(" \t\r\n") - first + 1);
  if (token.find_first_of(" \t\r\n") != std::string::npos)
    throw std::runtime_error("--collector-token-file '" + path + "' must hold one token on one line");
  return token;
}

exporting::ExporterOptions exporter_options(const config::AgentConfig& cfg, const std::string& host) {
  const auto& x = cfg.exporting;
  exporting::ExporterOptions o;
  o.url = cfg.collector_url;
  if (!cfg.collector_token_file.empty()) o.bearer_token = read_token_file(cfg.collector_token_file);
  o.ca_file = x.ca_file;
  o.client_cert_file = x.client_cert_file;
  o.client_key_file = x.client_key_file;
  o.server_name = x.server_name;
  o.gzip = x.gzip;
  o.batch_max_events = x.batch_max_events;
  o.batch_max_delay = std::chrono::milliseconds(x.batch_max_delay_ms);
  o.request_timeout = std::chrono::milliseconds(x.request_timeout_ms);
  o.backoff_min = std::chrono::milliseconds(x.backoff_min_ms);
  o.backoff_max = std::chrono::milliseconds(x.backoff_max_ms);
  o.heartbeat_interval = std::chrono::seconds(x.heartbeat_seconds);
  o.spool.dir = x.spool_dir;
  o.spool.max_bytes = x.spool_max_bytes;
  o.spool.segment_bytes = std::min<std::uint64_t>(8ull << 20, std::max<std::uint64_t>(x.spool_max_bytes / 8, 1u << 16));
  o.spool.fsync = x.spool_fsync == "every_append" ? exporting::FsyncPolicy::every_append
                  : x.spool_fsync == "never"      ? exporting::FsyncPolicy::never
                                                  : exporting::FsyncPolicy::on_flush;
  o.resource.host_name = host;
  o.resource.service_version = SHADOWMETER_VERSION;
  return o;
}

std::string host_name(const std::string& configured) {
  if (!configured.empty()) return configured;
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "unknown";
  return buf;
}

int libbpf_log(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG && !log::enabled(log::Level::debug)) return 0;
  char buf[1024];
  int n = std::vsnprintf(buf, sizeof(buf), fmt, args);
  if (n <= 0) return 0;
  std::string_view msg(buf, std::min(static_cast<std::size_t>(n), sizeof(buf) - 1));
  while (!msg.empty() && msg.back() == '\n') msg.remove_suffix(1);
  log::write(level == LIBBPF_WARN ? log::Level::warn : log::Level::debug, std::string("libbpf: ") + std::string(msg));
  return 0;
}

std::string_view bounded_cstr(const char* s, std::size_t max) {
  return std::string_view(s, strnlen(s, max));
}

class ProbeAttacher final : public probes::Attacher {
 public:
  explicit ProbeAttacher(probes::BpfProbes& p) : probes_(p) {}
  std::unique_ptr<probes::UprobeSet> attach(const std::string& path, const probes::SymbolOffsets& syms) override {
    return probes_.attach_ssl(path, syms);
  }
  std::unique_ptr<probes::UprobeSet> attach_go(const std::string& path, const probes::gotls::GoInspection& go) override {
    return probes_.attach_go(path, go);
  }

 private:
  probes::BpfProbes& probes_;
};

}  // namespace

struct Agent::Impl {
  config::AgentConfig cfg;
  asio::io_context io;
  asio::signal_set signals{io, SIGINT, SIGTERM};
  asio::steady_timer tick_timer{io};
  asio::steady_timer scan_timer{io};
  asio::steady_timer drain_timer{io};
  std::unique_ptr<asio::posix::stream_descriptor> ring_sd;

  metrics::AgentMetrics metrics;
  providers::Catalog catalog;
  providers::Registry registry;
  std::unique_ptr<pricing::Pricer> pricer;
  std::unique_ptr<attribution::Fingerprinter> fingerprinter;
  std::unique_ptr<dimensions::Extractor> dims;  // unit_economics: (null when none configured)
  prometheus::Counter* dimension_values_cut = nullptr;
  std::unique_ptr<attribution::k8s::PodWatcher> pods;
  std::uint64_t last_k8s_errors = 0;
  const std::uint64_t boot_ns = boot_unix_ns();
  std::uint64_t last_unpriced = 0;
  // cfg is set first: the cache formats command lines as attribution.command_line says.
  attribution::ProcessCache processes{
      "/proc", 65536, redaction::parse_command_line_mode(cfg.command_line).value_or(redaction::CommandLineMode::redacted)};
  std::unique_ptr<exporting::Exporter> exporter;
  std::vector<std::unique_ptr<exporting::EventSink>> sinks;  // the collector's first
  exporting::ExporterStats last_export{};
  std::uint64_t parse_errors_total = 0;
  const std::uint64_t start_unix_ns = clock_ns(CLOCK_REALTIME);
  std::string host;
  std::unique_ptr<capture::ConnectionTable> table;
  // Connection level (every TLS library) and plaintext destinations.
  netconn::TlsLibraryGuesser tls_guesser;
  std::unique_ptr<netconn::ConnTracker> netconns;
  netconn::DnsCache dns;
  std::vector<netconn::DestinationSpec> plain_specs;
  std::vector<netconn::Destination> plain_dests;
  asio::steady_timer resolve_timer{io};
  std::jthread resolver;  // one getaddrinfo round at a time, off the event loop
  prometheus::Family<prometheus::Counter>* connection_only_family = nullptr;
  prometheus::Counter* tls_hellos = nullptr;
  prometheus::Counter* tls_hellos_unparsed = nullptr;
  prometheus::Counter* netconn_evicted = nullptr;
  prometheus::Counter* ai_ended_socket = nullptr;
  prometheus::Counter* ai_ended_matched = nullptr;
  prometheus::Counter* ai_ended_blind = nullptr;
  prometheus::Counter* plain_uncopied = nullptr;
  std::uint64_t last_plain_iov_lost = 0;
  prometheus::Counter* dns_parsed = nullptr;
  prometheus::Counter* dns_unparsed = nullptr;
  prometheus::Counter* dns_evicted = nullptr;
  netconn::DnsCacheStats last_dns{};
  netconn::TrackerStats last_netconn{};
  std::uint64_t connection_only_total = 0;
  std::unique_ptr<probes::BpfProbes> probes;
  std::unique_ptr<ProbeAttacher> attacher;
  std::unique_ptr<probes::AttachManager> attach;
  std::unique_ptr<metrics::HttpServer> http;
  bool ready = false;
  bool stopping = false;
  const systemd::Watchdog watchdog;  // keep-alives from the 1 s tick, when systemd asked for them
  std::string last_status;          // the STATUS= line systemd has
  std::chrono::steady_clock::time_point last_full_scan{};
  probes::BpfCounters last_counters{};
  capture::CaptureStats last_capture{};
  std::uint64_t last_attach_failures = 0;
  std::uint64_t last_go_attached = 0;
  std::map<std::string, std::uint64_t> last_go_refusals;
  std::uint64_t malformed_records = 0;
  log::RateLimit record_log;
  // /proc/PID/stat counts start time in clock ticks since boot; the kernel gives nanoseconds.
  const std::uint64_t ns_per_clock_tick = 1000000000ull / static_cast<std::uint64_t>(sysconf(_SC_CLK_TCK));

  explicit Impl(config::AgentConfig c) : cfg(std::move(c)) {}

  void start();
  void on_record(std::span<const std::uint8_t> rec);
  void on_data(const sm_data_event& ev, std::size_t size);
  void on_exchange(capture::Exchange&& ex);
  void on_hello(const sm_hello_event& ev, std::size_t size);
  void on_sock_closed(const netconn::CloseFacts& c, std::uint32_t flags);
  void on_blind(netconn::BlindConnection&& b);
  void start_netconn();
  void resolve_plain_dests();
  void price(exporting::UsageEvent& e) const;
  void attribute(exporting::UsageEvent& e) const;
  void start_pod_watcher();
  void wait_ring();
  void schedule_tick();
  void schedule_drain();
  void schedule_scan(std::chrono::steady_clock::duration in);
  void update_metrics();
  void update_export();
  void flush_sinks();
  void stop();
  std::string status_line();
};

void Agent::Impl::start() {
  log::Level lvl = log::Level::info;
  log::parse_level(cfg.log_level, lvl);
  log::set_level(lvl);
  libbpf_set_print(libbpf_log);

  // Refuse to start on a host that cannot run us, saying why (same checks as `check`).
  std::string blocking;
  for (const auto& c : preflight::run_checks({.config = &cfg})) {
    if (c.ok) continue;
    if (c.blocking) blocking += "\n  " + c.name + ": " + c.detail + " (fix: " + c.fix + ")";
    else log::warn(c.name + ": " + c.detail + " (" + c.fix + ")");
  }
  if (!blocking.empty()) throw std::runtime_error("this host cannot run the agent:" + blocking);

  const std::string catalog_path = find_catalog(cfg.catalog_path);
  catalog = providers::Catalog::load_file(catalog_path);
  for (const auto& extra : cfg.extra_providers) {
    for (const auto& h : extra.hosts) {
      try {
        catalog.add({extra.provider, h, extra.format});
      } catch (const std::runtime_error& ex) {
        throw std::runtime_error("config providers: " + extra.provider + ": " + ex.what());
      }
    }
  }
  log::info("AI catalog: " + std::to_string(catalog.size()) + " host patterns from " + catalog_path +
            (cfg.extra_providers.empty() ? "" : " and the config's providers"));
  host = host_name(cfg.host_name);
  pricer = make_pricer(cfg);
  fingerprinter = std::make_unique<attribution::Fingerprinter>(
      attribution::Fingerprinter::load_or_create_secret(cfg.fingerprint_secret_file));
  start_pod_watcher();
  if (!cfg.unit_economics.empty()) {
    dims = std::make_unique<dimensions::Extractor>(
        cfg.unit_economics, [this](std::string_view v) { return fingerprinter->fingerprint(v); });
    dimension_values_cut = &prometheus::BuildCounter()
                                .Name("shadowmeter_dimension_values_cut_total")
                                .Help("unit_economics values longer than 128 bytes, cut at a UTF-8 boundary")
                                .Register(metrics.registry())
                                .Add({});
  }

  if (!cfg.collector_url.empty()) {
    exporter = std::make_unique<exporting::Exporter>(exporter_options(cfg, host));
    sinks.push_back(std::make_unique<CollectorSink>(*exporter));
    log::info("exporting to " + cfg.collector_url + " (spool " + cfg.exporting.spool_dir + ")");
  }
  if (cfg.stdout_events) sinks.push_back(std::make_unique<exporting::StdoutSink>(stdout, true));
  if (sinks.empty())
    log::warn("no event output selected (use --stdout or --collector); events are counted but not written");

  capture::CaptureLimits limits;
  limits.http.max_body_bytes = cfg.max_body_bytes;
  limits.http.max_decoded_bytes = cfg.max_decoded_bytes;
  limits.max_request_body_bytes = cfg.max_body_bytes;
  limits.max_total_buffer_bytes = cfg.max_total_buffer_bytes;
  limits.max_connections = cfg.max_connections;
  limits.idle_ns = static_cast<std::uint64_t>(cfg.connection_idle_seconds) * 1000000000ull;
  capture::CaptureCallbacks cbs;
  cbs.ignore = [this](const capture::ConnKey& k) {
    if (k.ssl & SM_PLAIN_KEY_BIT)
      probes->stop_plaintext(k.tgid, static_cast<std::int32_t>(k.ssl & 0xffffffffu), k.id);
    else
      probes->mark_ignored(k.tgid, k.ssl, k.id);
  };
  cbs.exchange = [this](capture::Exchange&& ex) { on_exchange(std::move(ex)); };
  // The credential becomes a keyed fingerprint here; capture wipes the header right after.
  cbs.credential = [this](const providers::HeaderList& headers, std::string_view target, capture::Exchange& ex) {
    if (const auto c = attribution::find_credential(headers, target)) {
      ex.api_key_fingerprint = fingerprinter->fingerprint(c->secret);
      ex.api_key_hint = attribution::credential_hint(*c);
      // The exact key this process sent is scrubbed from what the agent knows of the process (its
      // command line may hold it in a shape no rule recognises) and, at emit, from the call's event.
      processes.get(static_cast<pid_t>(ex.key.tgid), ex.comm);
      processes.scrub(static_cast<pid_t>(ex.key.tgid), c->secret);
      ex.credential = SecretString(c->secret);
    }
  };
  if (dims) {
    cbs.body_tap = [this] { return dims->new_tap(); };
    cbs.request_fields = [this](const providers::HeaderList& headers, capture::Exchange& ex) {
      dimensions::Extracted x = dims->extract(headers, ex.body_tap.get());
      if (x.cut) dimension_values_cut->Increment(static_cast<double>(x.cut));
      ex.dimensions = std::move(x.attributes);
    };
  }
  // Short-lived clients (curl) may be gone by the time their response is parsed: read /proc now.
  cbs.new_connection = [this](const capture::ConnKey& k, std::string_view comm) {
    processes.get(static_cast<pid_t>(k.tgid), comm);
  };
  // A response read without its request: the AI host its socket's ClientHello named.
  cbs.server_name = [this](std::uint32_t tgid, std::int32_t fd) -> std::optional<std::string> {
    if (!netconns || fd < 0) return std::nullopt;
    return netconns->server_name(tgid, fd);
  };
  cbs.parse_outcome = [this](http1::Outcome o) {
    metrics.parse_error(http1::to_string(o)).Increment();
    ++parse_errors_total;
  };
  table = std::make_unique<capture::ConnectionTable>(catalog, registry, limits, std::move(cbs));

  probes::ProbeOptions popts;
  popts.ringbuf_bytes = cfg.ringbuf_bytes;
  popts.agent_tgid = getpid();
  probes = std::make_unique<probes::BpfProbes>(popts, [this](std::span<const std::uint8_t> r) { on_record(r); });
  attacher = std::make_unique<ProbeAttacher>(*probes);
  start_netconn();
  probes::AttachOptions aopts;
  aopts.detach_grace = std::chrono::seconds(cfg.detach_grace_seconds);
  aopts.go_tls = cfg.go_tls;
  aopts.on_tls_user = [this](pid_t pid) { processes.get(pid); };
  attach = std::make_unique<probes::AttachManager>(*attacher, aopts);

  if (!cfg.listen.empty()) {
    metrics::Endpoints ep;
    ep.metrics_text = [this] {
      update_metrics();
      return metrics.serialize();
    };
    ep.ready = [this] { return ready && !stopping; };
    http = std::make_unique<metrics::HttpServer>(io, cfg.listen, std::move(ep));
    log::info("serving /metrics, /healthz, /readyz on " + cfg.listen);
  }

  ring_sd = std::make_unique<asio::posix::stream_descriptor>(io, dup(probes->ring_fd()));
  wait_ring();
  schedule_drain();

  // Processes that started before us; the exec tracepoint covers the ones that start later.
  attach->scan_all();
  last_full_scan = std::chrono::steady_clock::now();
  log::info("probes attached to " + std::to_string(attach->attached_files()) + " files; capture running");
  ready = true;
  if (watchdog.enabled()) {
    log::info("systemd watchdog: timeout " + std::to_string(watchdog.timeout().count() / 1000) +
              " ms, keep-alive every second from the main loop");
    if (watchdog.timeout() < std::chrono::seconds(2))
      log::warn("systemd watchdog timeout below 2 s: the 1 s keep-alive may come too late (raise WatchdogSec=)");
  }
  // From inside the loop: by the time systemd hears READY=1, /readyz is being served.
  asio::post(io, [this] {
    last_status = status_line();
    systemd::notify_ready(last_status);
    watchdog.kick();
  });
  if (exporter) update_export();  // the first heartbeat already carries the agent's counters

  signals.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    log::info(std::string("received ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ", shutting down");
    systemd::notify_stopping("stopping: draining the ring buffer and flushing events");
    stop();
  });
  schedule_tick();
}

void Agent::Impl::wait_ring() {
  ring_sd->async_wait(asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
    if (ec || stopping) return;
    // Records that need the attach manager (exec, library mapped) schedule its scans themselves.
    probes->consume();
    wait_ring();
  });
}

// Payload records do not wake us one by one (see wakeup_bytes in the BPF program): drain the ring
// every few milliseconds, which bounds the added latency of an event to that period.
void Agent::Impl::schedule_drain() {
  drain_timer.expires_after(std::chrono::milliseconds(20));
  drain_timer.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping) return;
    probes->consume();
    schedule_drain();
  });
}

void Agent::Impl::schedule_scan(std::chrono::steady_clock::duration in) {
  auto at = std::chrono::steady_clock::now() + in;
  if (scan_timer.expiry() > std::chrono::steady_clock::now() && scan_timer.expiry() <= at) return;
  scan_timer.expires_at(at);
  scan_timer.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping) return;
    if (auto next = attach->tick()) schedule_scan(*next);
  });
}

void Agent::Impl::schedule_tick() {
  tick_timer.expires_after(std::chrono::seconds(1));
  tick_timer.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping) return;
    auto now = std::chrono::steady_clock::now();
    if (now - last_full_scan >= std::chrono::seconds(cfg.rescan_seconds)) {
      attach->scan_all();  // libraries loaded later with dlopen
      last_full_scan = now;
    }
    if (auto next = attach->tick()) schedule_scan(*next);
    const std::uint64_t mono = clock_ns(CLOCK_MONOTONIC);
    table->expire(mono);
    netconns->expire(mono);
    for (auto& b : netconns->take_ready(mono)) on_blind(std::move(b));
    processes.expire(mono, 30ull * 1000000000ull);
    update_metrics();
    flush_sinks();
    // This tick ran, so the loop serves the ring buffer and the attach manager: tell systemd.
    watchdog.kick();
    if (std::string status = status_line(); status != last_status) {
      systemd::notify_status(status);
      last_status = std::move(status);
    }
    schedule_tick();
  });
}

std::string Agent::Impl::status_line() {
  const auto calls = static_cast<std::uint64_t>(metrics.events_ok.Value() + metrics.events_error.Value());
  std::string s = "capturing: " + std::to_string(attach->attached_files()) + " files probed, " +
                  std::to_string(calls) + " AI calls metered";
  if (exporter) s += ", " + std::to_string(last_export.spool.pending_records) + " events waiting in the spool";
  return s;
}

void Agent::Impl::on_record(std::span<const std::uint8_t> rec) {
  if (rec.size() < sizeof(sm_event_header)) {
    ++malformed_records;
    return;
  }
  sm_event_header hdr;
  std::memcpy(&hdr, rec.data(), sizeof(hdr));
  switch (hdr.type) {
    case SM_EV_DATA: {
      if (rec.size() < offsetof(sm_data_event, data)) break;
      // The record is only as long as its payload; read it in place.
      const auto* ev = reinterpret_cast<const sm_data_event*>(rec.data());
      on_data(*ev, rec.size());
      return;
    }
    case SM_EV_CONN_END: {
      if (rec.size() < sizeof(sm_conn_end_event)) break;
      sm_conn_end_event ev;
      std::memcpy(&ev, rec.data(), sizeof(ev));
      table->on_connection_end({ev.hdr.tgid, ev.ssl, ev.conn_id}, ev.hdr.ts_ns);
      return;
    }
    case SM_EV_EXEC: {
      if (rec.size() < sizeof(sm_exec_event)) break;
      sm_exec_event ev;
      std::memcpy(&ev, rec.data(), sizeof(ev));
      const auto pid = static_cast<pid_t>(ev.hdr.tgid);
      table->on_process_end(ev.hdr.tgid, ev.hdr.ts_ns);  // the old image's connections are gone
      attribution::ExecRecord r;
      r.pid = pid;
      r.ppid = static_cast<pid_t>(ev.ppid);
      r.uid = ev.uid;
      r.start_time_ticks = ev.start_boottime / ns_per_clock_tick;
      r.executable_path = bounded_cstr(ev.filename, sizeof(ev.filename));
      r.raw_argv = std::string_view(ev.args, std::min<std::size_t>(ev.args_len, sizeof(ev.args)));
      r.argv_cut = ev.args_total > r.raw_argv.size();
      r.comm = bounded_cstr(ev.comm, sizeof(ev.comm));
      processes.on_exec(r);
      const auto go_before = attach->stats().go_attached;
      attach->on_exec(pid);
      if (attach->stats().go_attached != go_before)  // a new Go executable: how long its first calls were unprobed
        log::info("Go TLS probes in place " + std::to_string((clock_ns(CLOCK_MONOTONIC) - ev.hdr.ts_ns) / 1000) +
                  " us after the exec of pid " + std::to_string(pid));
      if (auto next = attach->tick()) schedule_scan(*next);
      return;
    }
    case SM_EV_TLS_HELLO: {
      if (rec.size() < offsetof(sm_hello_event, data)) break;
      const auto* ev = reinterpret_cast<const sm_hello_event*>(rec.data());
      on_hello(*ev, rec.size());
      return;
    }
    case SM_EV_DNS_ANSWER: {
      if (rec.size() < offsetof(sm_hello_event, data)) break;
      const auto* ev = reinterpret_cast<const sm_hello_event*>(rec.data());
      if (ev->len > rec.size() - offsetof(sm_hello_event, data)) break;
      dns.on_response(std::string_view(reinterpret_cast<const char*>(ev->data), ev->len), ev->pad != 0,
                      ev->hdr.ts_ns);
      return;
    }
    case SM_EV_SOCK_CLOSE: {
      if (rec.size() < sizeof(sm_sock_close_event)) break;
      sm_sock_close_event ev;
      std::memcpy(&ev, rec.data(), sizeof(ev));
      netconn::CloseFacts c;
      c.key = {ev.hdr.tgid, ev.fd, ev.sock_id};
      c.end_ns = ev.hdr.ts_ns;
      c.bytes_sent = ev.bytes_sent;
      c.bytes_received = ev.bytes_received;
      c.plaintext_seen = (ev.flags & SM_SOCK_SSL_SEEN) != 0;
      c.probe_late = (ev.flags & SM_SOCK_SSL_LATE) != 0;
      on_sock_closed(c, ev.flags);
      return;
    }
    case SM_EV_LIB_MAPPED: {
      attach->on_library_mapped(static_cast<pid_t>(hdr.tgid));
      if (auto next = attach->tick()) schedule_scan(*next);
      return;
    }
    case SM_EV_EXIT: {
      // Sockets a process leaves open are closed by its exit, without a close() to see.
      for (const auto& k : netconns->sockets_of(hdr.tgid)) {
        netconn::CloseFacts c;
        c.key = k;
        c.end_ns = hdr.ts_ns;
        if (auto snap = probes->take_socket(k.tgid, k.fd, k.id)) {
          c.bytes_sent = snap->bytes_sent;
          c.bytes_received = snap->bytes_received;
          c.plaintext_seen = (snap->flags & SM_SOCK_SSL_SEEN) != 0;
          c.probe_late = (snap->flags & SM_SOCK_SSL_LATE) != 0;
        }
        on_sock_closed(c, 0);
      }
      tls_guesser.forget(static_cast<pid_t>(hdr.tgid));
      table->on_process_end(hdr.tgid, hdr.ts_ns);
      processes.on_exit(static_cast<pid_t>(hdr.tgid));
      attach->on_exit(static_cast<pid_t>(hdr.tgid));
      return;
    }
    default:
      break;
  }
  ++malformed_records;
  record_log.write(log::Level::warn, "malformed ring-buffer record of type " + std::to_string(hdr.type));
}

void Agent::Impl::on_data(const sm_data_event& ev, std::size_t size) {
  const std::size_t payload = size - offsetof(sm_data_event, data);
  if (ev.len > payload || ev.direction > 1) {
    ++malformed_records;
    return;
  }
  capture::Chunk c;
  c.key = {ev.hdr.tgid, ev.ssl, ev.conn_id};
  c.tid = ev.hdr.tid;
  c.fd = ev.fd;
  c.direction = ev.direction == SM_DIR_EGRESS ? capture::Direction::egress : capture::Direction::ingress;
  c.stream_offset = ev.stream_offset;
  c.ts_ns = ev.hdr.ts_ns;
  c.peer.family = ev.family;
  c.peer.port = ev.dport;
  std::memcpy(c.peer.addr, ev.daddr, sizeof(c.peer.addr));
  c.comm = bounded_cstr(ev.comm, sizeof(ev.comm));
  c.data = std::string_view(reinterpret_cast<const char*>(ev.data), ev.len);
  c.lost = ev.lost;
  c.tap = ev.tap;
  (c.direction == capture::Direction::egress ? metrics.bytes_egress : metrics.bytes_ingress)
      .Increment(static_cast<double>(ev.len));
  table->on_chunk(c);
}

void Agent::Impl::on_exchange(capture::Exchange&& ex) {
  exporting::UsageEvent e;
  e.event_id = exporting::new_event_id();
  e.time_unix_nano = to_unix_ns(ex.start_ns);
  e.end_time_unix_nano = to_unix_ns(ex.end_ns ? ex.end_ns : ex.start_ns);
  e.host_name = host;
  e.call = std::move(ex.call);
  for (auto& d : ex.dimensions) e.call.attributes.push_back(std::move(d));
  e.server_address = ex.host;
  e.server_port = ex.port;
  e.url_path = ex.path;
  e.http_method = ex.method;
  e.http_status = ex.status;
  e.protocol_version = ex.protocol_version;
  e.process = processes.get(static_cast<pid_t>(ex.key.tgid), ex.comm);
  // This call's connection is not blind, even if its socket could not be tied to the SSL object.
  netconns->note_plaintext(ex.key.tgid, ex.host, ex.port, ex.end_ns ? ex.end_ns : ex.start_ns);
  // Plaintext HTTP read from the socket syscalls (a cataloged/configured plain-HTTP destination).
  e.tls_library = (ex.key.ssl & SM_PLAIN_KEY_BIT) ? "plaintext" : std::string(probes::tap_library(ex.tap));
  e.visibility = "plaintext";
  e.error_type = ex.error_type;
  if (ex.request_missed) e.visibility_reason = "request_missed";
  e.api_key_fingerprint = std::move(ex.api_key_fingerprint);
  e.api_key_hint = std::move(ex.api_key_hint);
  if (boot_ns && e.process.start_time_ticks)
    e.process_start_unix_ns = boot_ns + e.process.start_time_ticks * ns_per_clock_tick;
  attribute(e);
  price(e);
  if (!ex.credential.empty()) {
    exporting::scrub_strings(e, ex.credential.view());
    ex.credential.clear();
  }
  metrics.usage_source(providers::to_string(e.call.usage.source)).Increment();
  const bool failed = !e.error_type.empty() || !e.call.error_type.empty();
  (failed ? metrics.events_error : metrics.events_ok).Increment();
  for (auto& s : sinks) s->emit(e);
}

void Agent::Impl::start_netconn() {
  auto& reg = metrics.registry();
  connection_only_family = &prometheus::BuildCounter()
                                .Name("shadowmeter_connection_only_events_total")
                                .Help("Connections to AI hosts whose plaintext no uprobe saw (events with "
                                      "shadowmeter.visibility connection_only), by guessed TLS library")
                                .Register(reg);
  auto& hellos = prometheus::BuildCounter()
                     .Name("shadowmeter_tls_hellos_total")
                     .Help("TLS ClientHellos read from the first write of new TCP connections")
                     .Register(reg);
  tls_hellos = &hellos.Add({{"outcome", "read"}});
  tls_hellos_unparsed = &hellos.Add({{"outcome", "no_sni_parsed"}});
  auto& ended = prometheus::BuildCounter()
                    .Name("shadowmeter_ai_connections_ended_total")
                    .Help("Connections to AI hosts that ended, by how their plaintext was seen: the socket "
                          "tied to a tap's connection, an exchange matched by process and host, or blind")
                    .Register(reg);
  ai_ended_socket = &ended.Add({{"outcome", "socket_read"}});
  ai_ended_matched = &ended.Add({{"outcome", "matched_by_host"}});
  ai_ended_blind = &ended.Add({{"outcome", "blind"}});
  netconn_evicted = &prometheus::BuildCounter()
                         .Name("shadowmeter_connection_tracker_dropped_total")
                         .Help("AI connections forgotten before their end (tracker full or idle past the limit)")
                         .Register(reg)
                         .Add({});
  auto& answers = prometheus::BuildCounter()
                      .Name("shadowmeter_dns_answers_total")
                      .Help("DNS responses read on sockets connected to port 53, by whether they parsed")
                      .Register(reg);
  dns_parsed = &answers.Add({{"outcome", "parsed"}});
  dns_unparsed = &answers.Add({{"outcome", "unparsed"}});
  dns_evicted = &prometheus::BuildCounter()
                     .Name("shadowmeter_dns_cache_evictions_total")
                     .Help("Address-to-name entries dropped from the full DNS cache (least recently used)")
                     .Register(reg)
                     .Add({});
  plain_uncopied = &prometheus::BuildCounter()
                        .Name("shadowmeter_plaintext_uncopied_bytes_total")
                        .Help("Plaintext HTTP bytes beyond the first buffer of readv/writev/sendmsg/recvmsg, "
                              "not copied (each shows as a capture gap)")
                        .Register(reg)
                        .Add({});
  netconn::TrackerLimits limits;
  limits.max_sockets = cfg.max_connections;
  netconns = std::make_unique<netconn::ConnTracker>(
      catalog,
      [this](const capture::Peer& p) { return dns.lookup(p.family, p.addr, clock_ns(CLOCK_MONOTONIC)); },
      [this](std::uint32_t tgid) { return tls_guesser.guess(static_cast<pid_t>(tgid)); }, limits);
  netconns->set_reason_lookup([this](std::uint32_t tgid) -> std::optional<std::string> {
    return attach ? attach->visibility_reason(static_cast<pid_t>(tgid)) : std::nullopt;
  });
  plain_specs = netconn::catalog_destinations(catalog);
  resolve_plain_dests();
}

// Resolves the plaintext destinations' names on a thread, installs the result on the event loop,
// and again every five minutes (addresses of self-hosted servers change).
void Agent::Impl::resolve_plain_dests() {
  if (plain_specs.empty()) return;
  if (resolver.joinable()) resolver.join();
  resolver = std::jthread([this, specs = plain_specs] {
    std::vector<std::string> failed;
    auto dests = netconn::resolve_destinations(specs, &failed);
    asio::post(io, [this, dests = std::move(dests), failed = std::move(failed)]() mutable {
      if (stopping) return;
      for (const auto& f : failed) log::warn("plaintext destination " + f + " does not resolve; retried later");
      if (dests != plain_dests) {
        std::vector<probes::PlainDest> pd;
        for (const auto& d : dests) {
          probes::PlainDest p;
          std::memcpy(p.addr, d.addr, sizeof(p.addr));
          p.prefix_bits = d.prefix_bits;
          p.port = d.port;
          pd.push_back(p);
        }
        if (auto n = probes->set_plain_dests(pd)) log::warn(std::to_string(n) + " plaintext destinations did not fit the map");
        log::info("plaintext HTTP capture for " + std::to_string(dests.size()) + " destination address(es)");
        plain_dests = std::move(dests);
      }
      resolve_timer.expires_after(std::chrono::minutes(5));
      resolve_timer.async_wait([this](const boost::system::error_code& ec) {
        if (!ec && !stopping) resolve_plain_dests();
      });
    });
  });
}

void Agent::Impl::on_hello(const sm_hello_event& ev, std::size_t size) {
  const std::size_t payload = size - offsetof(sm_hello_event, data);
  if (ev.len > payload) {
    ++malformed_records;
    return;
  }
  netconn::HelloFacts h;
  h.key = {ev.hdr.tgid, ev.fd, ev.sock_id};
  h.start_ns = ev.start_ns;
  h.ts_ns = ev.hdr.ts_ns;
  h.peer.family = ev.family;
  h.peer.port = ev.dport;
  std::memcpy(h.peer.addr, ev.daddr, sizeof(h.peer.addr));
  h.comm = bounded_cstr(ev.comm, sizeof(ev.comm));
  h.bytes = std::string_view(reinterpret_cast<const char*>(ev.data), ev.len);
  // An AI connection's process may be short-lived: read its /proc entry now.
  if (netconns->on_hello(h)) processes.get(static_cast<pid_t>(ev.hdr.tgid), h.comm);
}

void Agent::Impl::on_sock_closed(const netconn::CloseFacts& c, std::uint32_t flags) {
  if (flags & SM_SOCK_PLAINTEXT)
    table->on_connection_end({c.key.tgid, SM_PLAIN_KEY_BIT | static_cast<std::uint32_t>(c.key.fd), c.key.id}, c.end_ns);
  netconns->on_close(c);
}

// A connection to an AI host whose plaintext no uprobe saw: an event without usage, so the
// coverage report can count what this node could not read.
void Agent::Impl::on_blind(netconn::BlindConnection&& b) {
  exporting::UsageEvent e;
  e.event_id = exporting::new_event_id();
  e.time_unix_nano = to_unix_ns(b.start_ns);
  e.end_time_unix_nano = to_unix_ns(b.end_ns);
  e.host_name = host;
  e.call.provider = b.provider;
  e.call.usage.source = providers::UsageSource::none;
  e.server_address = b.server_name;
  e.server_port = b.peer.port;
  e.process = processes.get(static_cast<pid_t>(b.key.tgid), b.comm);
  e.tls_library = b.tls_library;
  e.visibility = "connection_only";
  e.visibility_reason = b.reason;
  e.tls_server_name = b.sni;
  for (const auto& a : b.alpn) e.alpn += (e.alpn.empty() ? "" : ",") + a;
  e.server_name_source = b.name_source;
  e.peer_address = netconn::address_text(b.peer);
  e.peer_port = b.peer.port;
  e.conn_bytes_sent = b.bytes_sent;
  e.conn_bytes_received = b.bytes_received;
  e.conn_duration_ns = b.end_ns - b.start_ns;
  if (boot_ns && e.process.start_time_ticks)
    e.process_start_unix_ns = boot_ns + e.process.start_time_ticks * ns_per_clock_tick;
  attribute(e);
  ++connection_only_total;
  connection_only_family->Add({{"tls_library", e.tls_library}}).Increment();
  for (auto& s : sinks) s->emit(e);
}

void Agent::Impl::flush_sinks() {
  for (auto& s : sinks) s->flush();
}

void Agent::Impl::start_pod_watcher() {
  if (cfg.kubernetes == "false") return;
  std::string node = cfg.node_name;
  if (node.empty()) {
    const char* env = std::getenv("NODE_NAME");
    node = env && *env ? env : host;
  }
  std::optional<attribution::k8s::WatcherOptions> opts;
  if (!cfg.kubeconfig.empty())
    opts = attribution::k8s::kubeconfig_options(cfg.kubeconfig, node);
  else
    opts = attribution::k8s::in_cluster_options(node);
  if (!opts) {
    if (cfg.kubernetes == "true")
      throw std::runtime_error("kubernetes: enabled but no in-cluster service account and no --kubeconfig");
    log::info("kubernetes: not in a cluster; events carry cgroup-derived container and pod ids only");
    return;
  }
  log::info("kubernetes: watching pods of node " + node + " on " + opts->api_server);
  pods = std::make_unique<attribution::k8s::PodWatcher>(std::move(*opts));
  pods->start();
}

// Container, pod and unit from the cgroup; pod name, namespace, labels and workload from the
// Kubernetes API when known; then owner and shadow verdict from the config's rules.
void Agent::Impl::attribute(exporting::UsageEvent& e) const {
  const attribution::Workload& w = e.process.workload;
  e.container_id = w.container_id;
  e.container_runtime = w.container_runtime;
  e.k8s_pod_uid = w.pod_uid;
  e.k8s_qos_class = w.qos_class;
  e.systemd_unit = w.systemd_unit;
  policy::CallerFacts facts;
  std::optional<attribution::k8s::PodMeta> pod;
  if (pods && !w.pod_uid.empty()) pod = pods->by_uid(w.pod_uid);
  if (pod) {
    e.k8s_pod_name = pod->name;
    e.k8s_namespace = pod->namespace_name;
    e.k8s_container_name = pod->container_name(w.container_id);
    e.k8s_workload_kind = pod->owner_kind;
    e.k8s_workload_name = pod->owner_name;
    facts.pod_labels = &pod->labels;
    facts.pod_annotations = &pod->annotations;
    facts.namespace_labels = &pod->namespace_labels;
    facts.namespace_name = pod->namespace_name;
  }
  facts.systemd_unit = w.systemd_unit;
  facts.executable_path = e.process.executable_path;
  facts.executable_name = e.process.executable_name;
  facts.user = e.process.owner;
  facts.container_id = w.container_id;
  const policy::Ownership own = policy::resolve_owner(cfg.owner, facts);
  e.owner = own.owner;
  e.environment = own.environment;
  policy::CallFacts call;
  call.provider = e.call.provider;
  call.host = e.server_address;
  call.key_fingerprint = e.api_key_fingerprint;
  call.namespace_name = e.k8s_namespace;
  call.owner = e.owner;
  call.executable_path = e.process.executable_path;
  call.executable_name = e.process.executable_name;
  const policy::ShadowVerdict v = policy::evaluate(cfg.policy, call);
  e.shadow = v.shadow;
  e.shadow_reason = v.reason;
}

void Agent::Impl::price(exporting::UsageEvent& e) const {
  if (auto cost = pricing::price_call(*pricer, e.call)) {
    e.cost_usd = cost->usd;
    e.pricing_source = std::move(cost->source);
  }
}

void Agent::Impl::update_metrics() {
  // Counters kept elsewhere (BPF maps, capture and attach stats) are cumulative: add what is new.
  auto add = [](prometheus::Counter& m, std::uint64_t now, std::uint64_t before) {
    if (now > before) m.Increment(static_cast<double>(now - before));
  };
  const auto c = probes->read_counters();
  add(metrics.ringbuf_drops, c.ringbuf_drops, last_counters.ringbuf_drops);
  add(metrics.uncopied_oversize, c.oversize_bytes, last_counters.oversize_bytes);
  add(metrics.uncopied_read_fault, c.read_fault_bytes, last_counters.read_fault_bytes);
  add(metrics.tls_calls_skipped, c.ignored_calls, last_counters.ignored_calls);
  add(metrics.go_tls_calls, c.go_calls, last_counters.go_calls);
  add(metrics.go_unmatched_returns, c.go_unmatched_rets, last_counters.go_unmatched_rets);
  last_counters = c;
  add(*plain_uncopied, c.plain_iov_lost, last_plain_iov_lost);
  last_plain_iov_lost = c.plain_iov_lost;
  const auto& s = table->stats();
  add(metrics.capture_gaps, s.gaps, last_capture.gaps);
  add(metrics.requests_missed, s.requests_missed, last_capture.requests_missed);
  add(metrics.buffer_evictions, s.evicted_connections, last_capture.evicted_connections);
  for (int v = 0; v < 5; ++v)
    add(metrics.classified(capture::to_string(static_cast<capture::Verdict>(v))), s.verdicts[v],
        last_capture.verdicts[v]);
  last_capture = s;
  add(metrics.cost_unpriced, pricer->unpriced(), last_unpriced);
  last_unpriced = pricer->unpriced();
  if (pods) {
    const auto ks = pods->stats();
    add(metrics.k8s_errors, ks.errors, last_k8s_errors);
    last_k8s_errors = ks.errors;
    metrics.k8s_pods.Set(static_cast<double>(ks.pods));
  }
  const auto& ns = netconns->stats();
  add(*tls_hellos, ns.hellos, last_netconn.hellos);
  add(*tls_hellos_unparsed, ns.hellos_unparsed, last_netconn.hellos_unparsed);
  add(*netconn_evicted, ns.evicted + ns.expired, last_netconn.evicted + last_netconn.expired);
  add(*ai_ended_socket, ns.seen_by_socket, last_netconn.seen_by_socket);
  add(*ai_ended_matched, ns.seen_in_plaintext - ns.seen_by_socket,
      last_netconn.seen_in_plaintext - last_netconn.seen_by_socket);
  add(*ai_ended_blind, ns.blind, last_netconn.blind);
  last_netconn = ns;
  const auto& ds = dns.stats();
  add(*dns_parsed, ds.answers - ds.unparsed, last_dns.answers - last_dns.unparsed);
  add(*dns_unparsed, ds.unparsed, last_dns.unparsed);
  add(*dns_evicted, ds.evicted, last_dns.evicted);
  last_dns = ds;
  add(metrics.attach_failures, attach->stats().attach_failures, last_attach_failures);
  last_attach_failures = attach->stats().attach_failures;
  const auto& as = attach->stats();
  add(metrics.go_binary("attached"), as.go_attached, last_go_attached);
  last_go_attached = as.go_attached;
  for (const auto& [reason, n] : as.go_refusals) {
    auto& before = last_go_refusals[reason];
    add(metrics.go_binary(reason), n, before);
    before = n;
  }
  metrics.attached_files.Set(static_cast<double>(attach->attached_files()));
  metrics.connections_tracked.Set(static_cast<double>(table->size()));
  metrics.buffer_bytes.Set(static_cast<double>(table->buffered_bytes()));
  if (exporter) update_export();
}

// Export counters into /metrics, and the agent's health into the next heartbeat: the collector's
// coverage report reads what this node could not see from it.
void Agent::Impl::update_export() {
  auto add = [](prometheus::Counter& m, std::uint64_t now, std::uint64_t before) {
    if (now > before) m.Increment(static_cast<double>(now - before));
  };
  const exporting::ExporterStats x = exporter->stats();
  add(metrics.export_events, x.events_sent, last_export.events_sent);
  add(metrics.export_failed_requests, x.requests_failed, last_export.requests_failed);
  add(metrics.spool_dropped_full, x.dropped_spool_full, last_export.dropped_spool_full);
  add(metrics.spool_dropped_rejected, x.rejected_events, last_export.rejected_events);
  add(metrics.spool_corrupt_records, x.spool.corrupt_records + x.spool.torn_tails,
      last_export.spool.corrupt_records + last_export.spool.torn_tails);
  add(metrics.export_heartbeats, x.heartbeats_sent, last_export.heartbeats_sent);
  add(metrics.export_gap_records, x.gap_records_sent, last_export.gap_records_sent);
  metrics.spool_pending_events.Set(static_cast<double>(x.spool.pending_records));
  metrics.spool_bytes.Set(static_cast<double>(x.spool.bytes));
  last_export = x;

  const auto& s = table->stats();
  const auto c = probes->read_counters();
  nlohmann::json hb = {
      {"shadowmeter.agent.start_time_unix_nano", start_unix_ns},
      {"shadowmeter.probes.attached_files", attach->attached_files()},
      {"shadowmeter.probes.attach_failures", attach->stats().attach_failures},
      {"shadowmeter.capture.connections_tracked", table->size()},
      {"shadowmeter.capture.exchanges", s.exchanges},
      {"shadowmeter.capture.gaps", s.gaps},
      {"shadowmeter.capture.ringbuf_drops", c.ringbuf_drops},
      {"shadowmeter.capture.uncopied_bytes", c.oversize_bytes + c.read_fault_bytes},
      {"shadowmeter.capture.parse_errors", parse_errors_total},
      {"shadowmeter.capture.buffer_evictions", s.evicted_connections},
      {"shadowmeter.events.ok", static_cast<std::uint64_t>(metrics.events_ok.Value())},
      {"shadowmeter.events.error", static_cast<std::uint64_t>(metrics.events_error.Value())},
      {"shadowmeter.cost.unpriced", pricer->unpriced()},
      {"shadowmeter.events.connection_only", connection_only_total},
      {"shadowmeter.netconn.tls_hellos", netconns->stats().hellos},
      {"shadowmeter.netconn.ai_connections", netconns->stats().ai_connections},
      {"shadowmeter.netconn.dns_answers", dns.stats().answers},
  };
  for (const char* src : {"response", "stream", "header", "estimated", "none"})
    hb[std::string("shadowmeter.events.usage_source.") + src] =
        static_cast<std::uint64_t>(metrics.usage_source(src).Value());
  for (int v = 0; v < 5; ++v)
    hb[std::string("shadowmeter.connections.") + capture::to_string(static_cast<capture::Verdict>(v))] =
        s.verdicts[v];
  exporter->set_heartbeat(std::move(hb));
}

void Agent::Impl::stop() {
  if (stopping) return;
  // Drain what the kernel already captured, then finish every exchange in flight.
  probes->consume();
  table->end_all(clock_ns(CLOCK_MONOTONIC));
  for (auto& b : netconns->take_all()) on_blind(std::move(b));
  flush_sinks();
  stopping = true;
  ready = false;
  signals.cancel();
  tick_timer.cancel();
  scan_timer.cancel();
  drain_timer.cancel();
  resolve_timer.cancel();
  if (ring_sd) ring_sd->cancel();
  if (http) http->stop();
  if (pods) pods->stop();
  if (exporter) {
    update_metrics();
    exporter->stop(std::chrono::milliseconds(2000));  // events not sent stay in the spool for the next run
  }
  io.stop();
}

Agent::Agent(config::AgentConfig cfg) : impl_(std::make_unique<Impl>(std::move(cfg))) { impl_->start(); }

Agent::~Agent() {
  if (!impl_) return;
  // Detach every probe before the maps they write to go away.
  impl_->attach.reset();
  impl_->attacher.reset();
}

int Agent::run() {
  impl_->io.run();
  impl_->update_metrics();
  const auto& s = impl_->table->stats();
  log::info("stopped: " + std::to_string(s.exchanges) + " AI exchanges, " + std::to_string(s.chunks) +
            " chunks, " + std::to_string(s.gaps) + " gaps, " + std::to_string(impl_->last_counters.ringbuf_drops) +
            " ring-buffer drops");
  return 0;
}

}  // namespace shadowmeter
