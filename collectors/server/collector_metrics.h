// The collector's Prometheus metrics (prometheus-cpp), served as text on GET /metrics.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstddef>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "storage/store.h"

namespace shadowmeter::collector {

// Why a request was refused (the `reason` label of shadowmeter_collector_rejected_requests_total).
enum class RejectReason {
  unauthorized,
  too_large,
  bad_encoding,
  bad_content_type,
  malformed,
  backpressure,
  store_error,
  connection_limit,  // a new connection answered 503 because max_connections were busy
  bad_framing,       // Transfer-Encoding not ending in chunked (RFC 9112 section 6.3): 400 and closed
};

const char* reject_reason_name(RejectReason r);

class CollectorMetrics {
 public:
  // At most this many hosts get their own heartbeat gauge; later hosts are counted in
  // heartbeat_hosts_overflow instead (bounded memory whatever the senders claim to be).
  static constexpr std::size_t kMaxHeartbeatHosts = 10000;
  // Usage families (ai_*): at most this many label sets each; the label values of a new set beyond it
  // become "_other" (enumerated labels, such as the token type, keep their value) and
  // metric_label_overflow{family} counts the events so folded.
  static constexpr std::size_t kMaxLabelSets = 5000;
  // Label values are cut to this many bytes (at a UTF-8 character boundary).
  static constexpr std::size_t kMaxLabelBytes = 128;

  CollectorMetrics();
  ~CollectorMetrics();
  prometheus::Registry& registry() { return *registry_; }

  // Text exposition format of everything in the registry.
  std::string serialize() const;

  void rejected(RejectReason r);
  // A committed group: counts what was stored, and updates the per-host heartbeat gauges.
  void committed(const std::vector<const IngestBatch*>& batches, const std::vector<IngestResult>& results,
                 double seconds);
  void commit_failed(double seconds);
  void set_queue_events(std::size_t n);
  void set_store_stats(const StoreStats& s);

  // shadowmeter_collector_ingested_events_total: call events newly stored
  prometheus::Counter& ingested_events;
  // shadowmeter_collector_duplicate_events_total: call events already stored (redeliveries), not stored again
  prometheus::Counter& duplicate_events;
  // shadowmeter_collector_rejected_requests_total{reason}
  prometheus::Family<prometheus::Counter>& rejected_requests;
  // shadowmeter_collector_batch_commit_seconds: duration of one group commit (successful or not)
  prometheus::Histogram& batch_commit_seconds;
  // shadowmeter_collector_queue_events: events queued or being committed
  prometheus::Gauge& queue_events;
  // shadowmeter_collector_store_bytes, shadowmeter_collector_store_calls (refreshed periodically)
  prometheus::Gauge& store_bytes;
  prometheus::Gauge& store_calls;
  // shadowmeter_collector_agent_last_heartbeat_timestamp_seconds{host}
  prometheus::Family<prometheus::Gauge>& agent_last_heartbeat;
  // shadowmeter_collector_heartbeats_total: heartbeat records stored
  prometheus::Counter& heartbeats;
  // shadowmeter_collector_gap_dropped_events_total: events agents reported lost (sum of
  // shadowmeter.gap.dropped_events over newly stored gap records)
  prometheus::Counter& gap_dropped_events;
  // shadowmeter_collector_heartbeat_hosts_overflow_total: heartbeats from hosts beyond kMaxHeartbeatHosts
  prometheus::Counter& heartbeat_hosts_overflow;

  // Usage of newly stored calls, for budgets and anomaly alerts as ordinary Prometheus rules
  // (packaging/prometheus/shadowmeter-alerts.yaml). Labels: owner = shadowmeter.owner (else
  // "unallocated"), provider = gen_ai.provider.name, model = gen_ai.response.model else
  // gen_ai.request.model (else "unknown").
  // shadowmeter_collector_ai_calls_total{owner,provider,model,shadow} (shadow: true|false|unknown)
  prometheus::Family<prometheus::Counter>& ai_calls;
  // shadowmeter_collector_ai_tokens_total{owner,provider,model,type}
  // (type: input|output|cache_read|cache_write|reasoning)
  prometheus::Family<prometheus::Counter>& ai_tokens;
  // shadowmeter_collector_ai_cost_usd_total{owner,provider,model}: estimated list-price cost
  prometheus::Family<prometheus::Counter>& ai_cost_usd;
  // shadowmeter_collector_ai_calls_by_visibility_total{visibility,usage_source}
  prometheus::Family<prometheus::Counter>& ai_calls_by_visibility;
  // shadowmeter_collector_blind_connections_total{provider,tls_library}: connection_only events (one
  // connection each, never counted as calls), and their bytes by direction (sent|received)
  prometheus::Family<prometheus::Counter>& blind_connections;
  prometheus::Family<prometheus::Counter>& blind_connection_bytes;
  // shadowmeter_collector_metric_skipped_events_total: newly stored calls left out of the ai_* families
  // because their batch also held redelivered or invalid calls, so which of its calls were new is not
  // known (counting them all would count redeliveries twice; the store and the reports have them all).
  prometheus::Counter& metric_skipped_events;
  // shadowmeter_collector_metric_label_overflow_total{family}: events counted under "_other" labels
  prometheus::Family<prometheus::Counter>& metric_label_overflow;

 private:
  explicit CollectorMetrics(std::shared_ptr<prometheus::Registry> registry);
  void count_usage(const nlohmann::json& call);

  struct UsageSeries;  // the label-set bookkeeping of the ai_* families

  std::shared_ptr<prometheus::Registry> registry_;
  std::mutex hosts_mu_;
  std::set<std::string> hosts_;
  std::unique_ptr<UsageSeries> usage_;
};

}  // namespace shadowmeter::collector
