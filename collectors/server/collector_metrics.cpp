#include "server/collector_metrics.h"

#include <prometheus/text_serializer.h>

#include <algorithm>

namespace shadowmeter::collector {
namespace {

using prometheus::Counter;
using prometheus::Gauge;
using prometheus::Registry;

Counter& counter(Registry& r, const char* name, const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r).Add({});
}

Gauge& gauge(Registry& r, const char* name, const char* help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(r).Add({});
}

std::uint64_t uint_attr(const nlohmann::json& e, const char* key) {
  const auto it = e.find(key);
  if (it == e.end()) return 0;
  if (it->is_number_unsigned()) return it->get<std::uint64_t>();
  if (it->is_number_integer())
    return static_cast<std::uint64_t>(std::max<std::int64_t>(0, it->get<std::int64_t>()));
  return 0;
}

std::string str_attr(const nlohmann::json& e, const char* key) {
  const auto it = e.find(key);
  return it != e.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

const char* reject_reason_name(RejectReason r) {
  switch (r) {
    case RejectReason::unauthorized:
      return "unauthorized";
    case RejectReason::too_large:
      return "too_large";
    case RejectReason::bad_encoding:
      return "bad_encoding";
    case RejectReason::bad_content_type:
      return "bad_content_type";
    case RejectReason::malformed:
      return "malformed";
    case RejectReason::backpressure:
      return "backpressure";
    case RejectReason::store_error:
      return "store_error";
  }
  return "unknown";
}

CollectorMetrics::CollectorMetrics() : CollectorMetrics(std::make_shared<Registry>()) {}

CollectorMetrics::CollectorMetrics(std::shared_ptr<Registry> r)
    : ingested_events(
          counter(*r, "shadowmeter_collector_ingested_events_total", "Usage events (calls) newly stored")),
      duplicate_events(counter(*r, "shadowmeter_collector_duplicate_events_total",
                               "Usage events received again (same event id) and not stored twice")),
      rejected_requests(prometheus::BuildCounter()
                            .Name("shadowmeter_collector_rejected_requests_total")
                            .Help("Requests refused, by reason")
                            .Register(*r)),
      batch_commit_seconds(
          prometheus::BuildHistogram()
              .Name("shadowmeter_collector_batch_commit_seconds")
              .Help("Duration of one group commit to the store")
              .Register(*r)
              .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                               0.25, 0.5, 1, 2.5, 5, 10})),
      queue_events(gauge(*r, "shadowmeter_collector_queue_events", "Events queued or being committed")),
      store_bytes(gauge(*r, "shadowmeter_collector_store_bytes", "Size of the database on disk")),
      store_calls(gauge(*r, "shadowmeter_collector_store_calls", "Raw call rows in the database")),
      agent_last_heartbeat(prometheus::BuildGauge()
                               .Name("shadowmeter_collector_agent_last_heartbeat_timestamp_seconds")
                               .Help("Time of the newest heartbeat record stored for each agent host")
                               .Register(*r)),
      heartbeats(counter(*r, "shadowmeter_collector_heartbeats_total", "Heartbeat records stored")),
      gap_dropped_events(counter(*r, "shadowmeter_collector_gap_dropped_events_total",
                                 "Events agents reported lost (sum of dropped_events of new gap records)")),
      heartbeat_hosts_overflow(counter(*r, "shadowmeter_collector_heartbeat_hosts_overflow_total",
                                       "Heartbeats from hosts beyond the per-host gauge limit")),
      registry_(std::move(r)) {
  for (RejectReason reason : {RejectReason::unauthorized, RejectReason::too_large, RejectReason::bad_encoding,
                              RejectReason::bad_content_type, RejectReason::malformed,
                              RejectReason::backpressure, RejectReason::store_error})
    rejected_requests.Add({{"reason", reject_reason_name(reason)}});
}

std::string CollectorMetrics::serialize() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

void CollectorMetrics::rejected(RejectReason r) {
  rejected_requests.Add({{"reason", reject_reason_name(r)}}).Increment();
}

void CollectorMetrics::committed(const std::vector<const IngestBatch*>& batches,
                                 const std::vector<IngestResult>& results, double seconds) {
  batch_commit_seconds.Observe(seconds);
  for (std::size_t i = 0; i < batches.size() && i < results.size(); ++i) {
    const IngestBatch& b = *batches[i];
    const IngestResult& res = results[i];
    ingested_events.Increment(static_cast<double>(res.inserted));
    duplicate_events.Increment(static_cast<double>(res.duplicates));
    heartbeats.Increment(static_cast<double>(res.heartbeats));
    // The store counts new gap rows, not which ones: when only some were new, the first ones are
    // counted (exact in the usual case of one gap record per request).
    const std::size_t new_gaps = std::min<std::size_t>(static_cast<std::size_t>(res.gaps), b.gaps.size());
    for (std::size_t g = 0; g < new_gaps; ++g)
      gap_dropped_events.Increment(
          static_cast<double>(uint_attr(b.gaps[g], "shadowmeter.gap.dropped_events")));
    for (const auto& hb : b.heartbeats) {
      const std::string host = str_attr(hb, "host.name").substr(0, 255);  // a DNS name fits
      if (host.empty()) continue;
      {
        std::lock_guard lock(hosts_mu_);
        if (hosts_.count(host) == 0) {
          if (hosts_.size() >= kMaxHeartbeatHosts) {
            heartbeat_hosts_overflow.Increment();
            continue;
          }
          hosts_.insert(host);
        }
      }
      const std::uint64_t t = std::max(uint_attr(hb, "end_time_unix_nano"), uint_attr(hb, "time_unix_nano"));
      prometheus::Gauge& g = agent_last_heartbeat.Add({{"host", host}});
      const double secs = static_cast<double>(t) / 1e9;
      // A redelivered old heartbeat must not move the gauge back.
      if (secs > g.Value()) g.Set(secs);
    }
  }
}

void CollectorMetrics::commit_failed(double seconds) { batch_commit_seconds.Observe(seconds); }

void CollectorMetrics::set_queue_events(std::size_t n) { queue_events.Set(static_cast<double>(n)); }

void CollectorMetrics::set_store_stats(const StoreStats& s) {
  store_bytes.Set(static_cast<double>(s.bytes));
  store_calls.Set(static_cast<double>(s.calls));
}

}  // namespace shadowmeter::collector
