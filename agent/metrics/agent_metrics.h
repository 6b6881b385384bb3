// The agent's Prometheus metrics (prometheus-cpp). One object owns the registry; the rest of the
// agent updates the counters through the typed members below.
#pragma once

#include <memory>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

namespace shadowmeter::metrics {

class AgentMetrics {
 public:
  AgentMetrics();
  prometheus::Registry& registry() { return *registry_; }
  std::shared_ptr<prometheus::Registry> registry_ptr() { return registry_; }

  // Text exposition format of everything in the registry.
  std::string serialize() const;

  // shadowmeter_events_total{outcome="ok|error"}
  prometheus::Counter& events_ok;
  prometheus::Counter& events_error;
  // shadowmeter_capture_bytes_total{direction="egress|ingress"}
  prometheus::Counter& bytes_egress;
  prometheus::Counter& bytes_ingress;
  // shadowmeter_ringbuf_drops_total: failed ring-buffer reservations in BPF (set from the per-CPU map)
  prometheus::Counter& ringbuf_drops;
  // shadowmeter_capture_uncopied_bytes_total{reason="read_fault|oversize_call"}: payload bytes the
  // BPF programs could not copy (user memory not resident; beyond the per-call record limit)
  prometheus::Counter& uncopied_read_fault;
  prometheus::Counter& uncopied_oversize;
  // shadowmeter_capture_gaps_total: gaps seen in user space (chunks lost or overwritten)
  prometheus::Counter& capture_gaps;
  // shadowmeter_requests_missed_total: AI connections read from a response whose request was sent
  // before the probes were in place (reported with shadowmeter.visibility.reason request_missed)
  prometheus::Counter& requests_missed;
  // shadowmeter_parse_errors_total{reason="malformed|truncated|gap|decode_error|decode_limit|body_limit|json"}
  prometheus::Family<prometheus::Counter>& parse_errors;
  // shadowmeter_connections_classified_total{class="ai|not_ai|server|http2|not_http"}
  prometheus::Family<prometheus::Counter>& connections_classified;
  // shadowmeter_attached_files, shadowmeter_connections_tracked, shadowmeter_attach_failures_total
  prometheus::Gauge& attached_files;
  prometheus::Gauge& connections_tracked;
  prometheus::Counter& attach_failures;
  // shadowmeter_go_binaries_total{outcome="attached|<refusal code>"}: Go executables the Go tap
  // inspected (once per file), attached or refused with the reason (unsupported_arch,
  // unsupported_version, no_pclntab, bad_pclntab, functions_not_found, returns_not_found, attach_failed)
  prometheus::Family<prometheus::Counter>& go_binaries;
  // shadowmeter_go_tls_calls_total: Go crypto/tls Read/Write calls read (returned with bytes);
  // shadowmeter_go_unmatched_returns_total: Go RET probes with no recorded entry (e.g. attached mid-call)
  prometheus::Counter& go_tls_calls;
  // shadowmeter_tls_calls_skipped_total: TLS calls (every tap) on connections classified not-AI,
  // skipped in the kernel without a copy
  prometheus::Counter& tls_calls_skipped;
  prometheus::Counter& go_unmatched_returns;
  // shadowmeter_buffer_bytes: bytes held in per-connection buffers right now
  prometheus::Gauge& buffer_bytes;
  // shadowmeter_buffer_evictions_total: connections dropped to stay under the total buffer budget
  prometheus::Counter& buffer_evictions;

  // shadowmeter_cost_unpriced_total: calls with token counts whose model has no price (no cost.usd)
  prometheus::Counter& cost_unpriced;
  // shadowmeter_usage_source_total{source="response|stream|header|estimated|none"}: events by where
  // their token counts came from
  prometheus::Family<prometheus::Counter>& usage_sources;

  // shadowmeter_k8s_pods (pods of this node known from the API), shadowmeter_k8s_errors_total
  prometheus::Gauge& k8s_pods;
  prometheus::Counter& k8s_errors;

  // Export to the collector (present only with --collector):
  // shadowmeter_export_events_total: events the collector acknowledged
  // shadowmeter_export_failed_requests_total: attempts that failed (network, TLS, non-2xx); retried
  // shadowmeter_spool_dropped_events_total{reason="spool_full|rejected"}: events lost, also sent to the
  //   collector as gap records
  // shadowmeter_spool_corrupt_records_total: records skipped at recovery (torn tail, bad checksum)
  // shadowmeter_spool_pending_events, shadowmeter_spool_bytes: waiting in the on-disk spool
  // shadowmeter_export_heartbeats_total, shadowmeter_export_gap_records_total
  prometheus::Counter& export_events;
  prometheus::Counter& export_failed_requests;
  prometheus::Counter& spool_dropped_full;
  prometheus::Counter& spool_dropped_rejected;
  prometheus::Counter& spool_corrupt_records;
  prometheus::Gauge& spool_pending_events;
  prometheus::Gauge& spool_bytes;
  prometheus::Counter& export_heartbeats;
  prometheus::Counter& export_gap_records;

  prometheus::Counter& parse_error(const std::string& reason);
  prometheus::Counter& usage_source(const std::string& source);
  prometheus::Counter& classified(const std::string& cls);
  prometheus::Counter& go_binary(const std::string& outcome);

 private:
  // The reference members are declared (and so initialised) before registry_, so the public
  // constructor creates the registry first and hands it to this one.
  explicit AgentMetrics(std::shared_ptr<prometheus::Registry> registry);

  std::shared_ptr<prometheus::Registry> registry_;
};

}  // namespace shadowmeter::metrics
