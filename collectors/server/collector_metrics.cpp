#include "server/collector_metrics.h"

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>

#include "common/utf8.h"

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

constexpr const char* kOther = "_other";

// A label value from an agent's attribute: valid UTF-8 (other bytes become '?', as the exposition
// format must be UTF-8), at most kMaxLabelBytes, never cut inside a character; `fallback` when empty.
std::string label_value(std::string_view v, const char* fallback) {
  std::string out;
  for (std::size_t i = 0; i < v.size();) {
    const std::size_t n = utf8::char_length(v, i);
    const std::size_t take = n == 0 ? 1 : n;
    if (out.size() + take > CollectorMetrics::kMaxLabelBytes) break;
    if (n == 0)
      out += '?';
    else
      out.append(v.substr(i, n));
    i += take;
  }
  return out.empty() ? std::string(fallback) : out;
}

// One ai_* family and the label sets it has handed out, bounded by kMaxLabelSets. The "_other" sets an
// overflow falls into are kept apart (a handful: only the enumerated labels vary in them).
class BoundedCounters {
 public:
  BoundedCounters(prometheus::Family<Counter>& family, std::vector<std::string> names,
                  std::vector<bool> enumerated, Counter& overflow)
      : family_(family), names_(std::move(names)), enumerated_(std::move(enumerated)), overflow_(overflow) {}

  Counter& at(std::vector<std::string> values) {
    std::string key = join(values);
    if (const auto it = sets_.find(key); it != sets_.end()) return *it->second;
    if (sets_.size() < CollectorMetrics::kMaxLabelSets) {
      Counter& c = family_.Add(labels(values));
      sets_.emplace(std::move(key), &c);
      return c;
    }
    overflow_.Increment();
    for (std::size_t i = 0; i < values.size(); ++i)
      if (!enumerated_[i]) values[i] = kOther;
    key = join(values);
    if (const auto it = others_.find(key); it != others_.end()) return *it->second;
    Counter& c = family_.Add(labels(values));
    others_.emplace(std::move(key), &c);
    return c;
  }

 private:
  // Length-prefixed values: unambiguous whatever bytes the values hold.
  static std::string join(const std::vector<std::string>& values) {
    std::string key;
    for (const auto& v : values) key += std::to_string(v.size()) + ':' + v;
    return key;
  }
  std::map<std::string, std::string> labels(const std::vector<std::string>& values) const {
    std::map<std::string, std::string> m;
    for (std::size_t i = 0; i < names_.size() && i < values.size(); ++i) m.emplace(names_[i], values[i]);
    return m;
  }

  prometheus::Family<Counter>& family_;
  std::vector<std::string> names_;
  std::vector<bool> enumerated_;  // per label: a bounded value set that is kept on overflow
  Counter& overflow_;
  std::unordered_map<std::string, Counter*> sets_;
  std::unordered_map<std::string, Counter*> others_;
};

}  // namespace

struct CollectorMetrics::UsageSeries {
  UsageSeries(BoundedCounters c, BoundedCounters t, BoundedCounters u, BoundedCounters v, BoundedCounters b)
      : calls(std::move(c)), tokens(std::move(t)), cost(std::move(u)), visibility(std::move(v)), blind(std::move(b)) {}
  BoundedCounters calls;
  BoundedCounters tokens;
  BoundedCounters cost;
  BoundedCounters visibility;
  BoundedCounters blind;
  std::mutex mu;
};

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
    case RejectReason::connection_limit:
      return "connection_limit";
    case RejectReason::bad_framing:
      return "bad_framing";
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
      ai_calls(
          prometheus::BuildCounter()
              .Name("shadowmeter_collector_ai_calls_total")
              .Help("AI API calls newly stored, by owner, provider, model and shadow flag (batches mixing "
                    "new and redelivered calls count only the new ones)")
              .Register(*r)),
      ai_tokens(prometheus::BuildCounter()
                    .Name("shadowmeter_collector_ai_tokens_total")
                    .Help("Tokens of newly stored calls by owner, provider, model and type (input and output "
                          "include their cache and reasoning parts, as the event schema says)")
                    .Register(*r)),
      ai_cost_usd(
          prometheus::BuildCounter()
              .Name("shadowmeter_collector_ai_cost_usd_total")
              .Help("Estimated list-price cost in USD of newly stored calls (agents' price tables; not "
                    "an invoice), by owner, provider and model")
              .Register(*r)),
      ai_calls_by_visibility(
          prometheus::BuildCounter()
              .Name("shadowmeter_collector_ai_calls_by_visibility_total")
              .Help("AI API calls newly stored, by visibility (plaintext) and usage source (response, "
                    "stream, header, estimated, none); blind connections are not calls and are counted in "
                    "blind_connections_total")
              .Register(*r)),
      blind_connections(prometheus::BuildCounter()
                            .Name("shadowmeter_collector_blind_connections_total")
                            .Help("Connections to AI hosts whose plaintext no agent could read (events with "
                                  "shadowmeter.visibility connection_only; one connection may carry any "
                                  "number of calls, or none), by provider and TLS library")
                            .Register(*r)),
      blind_connection_bytes(prometheus::BuildCounter()
                                 .Name("shadowmeter_collector_blind_connection_bytes_total")
                                 .Help("Bytes of those blind connections, by direction (sent, received)")
                                 .Register(*r)),
      metric_skipped_events(counter(
          *r, "shadowmeter_collector_metric_skipped_events_total",
          "Newly stored calls not counted in the ai_* metrics because the store did not say which calls of "
          "their batch were new (they are in the database and the reports)")),
      metric_label_overflow(prometheus::BuildCounter()
                                .Name("shadowmeter_collector_metric_label_overflow_total")
                                .Help("Events counted under _other labels because an ai_* family reached its "
                                      "limit of label sets")
                                .Register(*r)),
      registry_(std::move(r)) {
  const auto overflow = [this](const char* family) -> Counter& {
    return metric_label_overflow.Add({{"family", family}});
  };
  usage_ =
      std::make_unique<UsageSeries>(BoundedCounters(ai_calls, {"owner", "provider", "model", "shadow"},
                                                    {false, false, false, true}, overflow("ai_calls")),
                                    BoundedCounters(ai_tokens, {"owner", "provider", "model", "type"},
                                                    {false, false, false, true}, overflow("ai_tokens")),
                                    BoundedCounters(ai_cost_usd, {"owner", "provider", "model"},
                                                    {false, false, false}, overflow("ai_cost_usd")),
                                    BoundedCounters(ai_calls_by_visibility, {"visibility", "usage_source"},
                                                    {false, false}, overflow("ai_calls_by_visibility")),
                                    BoundedCounters(blind_connections, {"provider", "tls_library"},
                                                    {false, false}, overflow("blind_connections")));
  for (RejectReason reason : {RejectReason::unauthorized, RejectReason::too_large, RejectReason::bad_encoding,
                              RejectReason::bad_content_type, RejectReason::malformed,
                              RejectReason::backpressure, RejectReason::store_error,
                              RejectReason::connection_limit, RejectReason::bad_framing})
    rejected_requests.Add({{"reason", reject_reason_name(reason)}});
}

CollectorMetrics::~CollectorMetrics() = default;

void CollectorMetrics::count_usage(const nlohmann::json& call) {
  if (str_attr(call, "shadowmeter.visibility") == "connection_only") {
    // One connection, not one call: counted apart, never in the ai_* call and token families.
    std::lock_guard lock(usage_->mu);
    usage_->blind
        .at({label_value(str_attr(call, "gen_ai.provider.name"), "unknown"),
             label_value(str_attr(call, "shadowmeter.tls.library"), "unknown")})
        .Increment();
    blind_connection_bytes.Add({{"direction", "sent"}})
        .Increment(static_cast<double>(uint_attr(call, "shadowmeter.connection.bytes_sent")));
    blind_connection_bytes.Add({{"direction", "received"}})
        .Increment(static_cast<double>(uint_attr(call, "shadowmeter.connection.bytes_received")));
    return;
  }
  const std::string owner = label_value(str_attr(call, "shadowmeter.owner"), "unallocated");
  const std::string provider = label_value(str_attr(call, "gen_ai.provider.name"), "unknown");
  std::string model = str_attr(call, "gen_ai.response.model");
  if (model.empty()) model = str_attr(call, "gen_ai.request.model");
  model = label_value(model, "unknown");
  const auto shadow_it = call.find("shadowmeter.shadow");
  const char* shadow = shadow_it != call.end() && shadow_it->is_boolean()
                           ? (shadow_it->get<bool>() ? "true" : "false")
                           : "unknown";

  std::lock_guard lock(usage_->mu);
  usage_->calls.at({owner, provider, model, shadow}).Increment();
  static constexpr std::pair<const char*, const char*> kTokens[] = {
      {"gen_ai.usage.input_tokens", "input"},
      {"gen_ai.usage.output_tokens", "output"},
      {"gen_ai.usage.cache_read.input_tokens", "cache_read"},
      {"gen_ai.usage.cache_write.input_tokens", "cache_write"},
      {"gen_ai.usage.cache_creation.input_tokens", "cache_write"},  // its name before 2026 (older agents)
      {"gen_ai.usage.reasoning.output_tokens", "reasoning"}};
  for (const auto& [attr, type] : kTokens) {
    const std::uint64_t n = uint_attr(call, attr);
    if (n > 0) usage_->tokens.at({owner, provider, model, type}).Increment(static_cast<double>(n));
  }
  const auto cost = call.find("shadowmeter.cost.usd");
  if (cost != call.end() && cost->is_number()) {
    const double usd = cost->get<double>();
    // A counter only goes up; a negative or non-finite cost is a broken sender, not a refund.
    if (std::isfinite(usd) && usd >= 0) usage_->cost.at({owner, provider, model}).Increment(usd);
  }
  usage_->visibility
      .at({label_value(str_attr(call, "shadowmeter.visibility"), "unknown"),
           label_value(str_attr(call, "shadowmeter.usage.source"), "unknown")})
      .Increment();
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
    // The store says which calls of the batch were new (IngestResult::new_calls): exactly those are
    // counted. A result without that list (only a store that does not fill it) falls back to counting a
    // batch whose calls were all new, and skipping (and counting) the new calls of a mixed one.
    if (res.new_calls.size() == res.inserted) {
      for (const std::size_t n : res.new_calls) {
        if (n < b.calls.size()) count_usage(b.calls[n]);
      }
    } else if (res.inserted == b.calls.size()) {
      for (const auto& call : b.calls) count_usage(call);
    } else {
      metric_skipped_events.Increment(static_cast<double>(res.inserted));
    }
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
