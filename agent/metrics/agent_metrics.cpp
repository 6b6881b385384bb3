#include "metrics/agent_metrics.h"

#include <prometheus/text_serializer.h>

namespace shadowmeter::metrics {
namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Registry;

// Families with several members are looked up more than once while the references are bound;
// Registry's default InsertBehavior::Merge hands back the same family for the same name and help.
Family<Counter>& events_family(Registry& r) {
  return prometheus::BuildCounter()
      .Name("shadowmeter_events_total")
      .Help("Usage events emitted, by outcome (error: the AI call failed or its capture was incomplete)")
      .Register(r);
}

Family<Counter>& bytes_family(Registry& r) {
  return prometheus::BuildCounter()
      .Name("shadowmeter_capture_bytes_total")
      .Help("TLS plaintext bytes received from the probes, by direction")
      .Register(r);
}

Counter& counter(Registry& r, const char* name, const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r).Add({});
}

Gauge& gauge(Registry& r, const char* name, const char* help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(r).Add({});
}

prometheus::Family<prometheus::Counter>& uncopied_family(Registry& r) {
  return prometheus::BuildCounter()
      .Name("shadowmeter_capture_uncopied_bytes_total")
      .Help("Payload bytes the BPF programs could not copy, by reason (each is also a gap in its stream)")
      .Register(r);
}

prometheus::Family<prometheus::Counter>& spool_dropped_family(Registry& r) {
  return prometheus::BuildCounter()
      .Name("shadowmeter_spool_dropped_events_total")
      .Help("Events lost before the collector stored them, by reason (spool_full, rejected); each is "
            "reported to the collector in a gap record")
      .Register(r);
}

}  // namespace

AgentMetrics::AgentMetrics() : AgentMetrics(std::make_shared<Registry>()) {}

AgentMetrics::AgentMetrics(std::shared_ptr<Registry> r)
    : events_ok(events_family(*r).Add({{"outcome", "ok"}})),
      events_error(events_family(*r).Add({{"outcome", "error"}})),
      bytes_egress(bytes_family(*r).Add({{"direction", "egress"}})),
      bytes_ingress(bytes_family(*r).Add({{"direction", "ingress"}})),
      ringbuf_drops(
          counter(*r, "shadowmeter_ringbuf_drops_total",
                  "Records the BPF programs could not reserve in the ring buffer (data lost in kernel)")),
      uncopied_read_fault(uncopied_family(*r).Add({{"reason", "read_fault"}})),
      uncopied_oversize(uncopied_family(*r).Add({{"reason", "oversize_call"}})),
      capture_gaps(
          counter(*r, "shadowmeter_capture_gaps_total",
                  "Gaps seen in user space in a connection's byte stream (chunks lost or overwritten)")),
      requests_missed(counter(*r, "shadowmeter_requests_missed_total",
                              "AI connections first read at a response: its request was sent before the probes "
                              "were in place (reason request_missed)")),
      parse_errors(prometheus::BuildCounter()
                       .Name("shadowmeter_parse_errors_total")
                       .Help("HTTP messages that could not be fully parsed, by reason")
                       .Register(*r)),
      connections_classified(
          prometheus::BuildCounter()
              .Name("shadowmeter_connections_classified_total")
              .Help("TLS connections classified, by class (ai, not_ai, server, http2, not_http)")
              .Register(*r)),
      attached_files(
          gauge(*r, "shadowmeter_attached_files", "Library and executable files the probes are attached to")),
      connections_tracked(
          gauge(*r, "shadowmeter_connections_tracked", "Connections with capture state right now")),
      attach_failures(
          counter(*r, "shadowmeter_attach_failures_total", "Files the probes failed to attach to")),
      go_binaries(prometheus::BuildCounter()
                      .Name("shadowmeter_go_binaries_total")
                      .Help("Go executables inspected by the Go TLS tap, by outcome (attached or the refusal reason)")
                      .Register(*r)),
      go_tls_calls(counter(*r, "shadowmeter_go_tls_calls_total", "Go crypto/tls Read/Write calls read by the Go tap")),
      tls_calls_skipped(counter(*r, "shadowmeter_tls_calls_skipped_total",
                                "TLS calls on connections classified not-AI, skipped in the kernel without a copy")),
      go_unmatched_returns(counter(*r, "shadowmeter_go_unmatched_returns_total",
                                   "Go crypto/tls returns seen without their entry (probes attached mid-call)")),
      buffer_bytes(gauge(*r, "shadowmeter_buffer_bytes", "Bytes held in per-connection buffers right now")),
      buffer_evictions(counter(*r, "shadowmeter_buffer_evictions_total",
                               "Connections dropped to stay under the total buffer budget")),
      cost_unpriced(counter(*r, "shadowmeter_cost_unpriced_total",
                            "AI calls with token counts whose model has no price in the price tables")),
      usage_sources(prometheus::BuildCounter()
                        .Name("shadowmeter_usage_source_total")
                        .Help("AI call events by where their token counts came from (estimated, none: not exact)")
                        .Register(*r)),
      k8s_pods(gauge(*r, "shadowmeter_k8s_pods", "Pods of this node known from the Kubernetes API")),
      k8s_errors(counter(*r, "shadowmeter_k8s_errors_total",
                         "Kubernetes API connection, TLS, HTTP and parse errors (metadata kept, retried)")),
      export_events(counter(*r, "shadowmeter_export_events_total", "Events acknowledged by the collector")),
      export_failed_requests(counter(*r, "shadowmeter_export_failed_requests_total",
                                     "Requests to the collector that failed (network, TLS, non-2xx); retried")),
      spool_dropped_full(spool_dropped_family(*r).Add({{"reason", "spool_full"}})),
      spool_dropped_rejected(spool_dropped_family(*r).Add({{"reason", "rejected"}})),
      spool_corrupt_records(counter(*r, "shadowmeter_spool_corrupt_records_total",
                                    "Spool records skipped at recovery or read (torn tail, bad checksum)")),
      spool_pending_events(gauge(*r, "shadowmeter_spool_pending_events",
                                 "Events in the on-disk spool not yet acknowledged by the collector")),
      spool_bytes(gauge(*r, "shadowmeter_spool_bytes", "Bytes of the on-disk spool")),
      export_heartbeats(counter(*r, "shadowmeter_export_heartbeats_total", "Heartbeats the collector received")),
      export_gap_records(counter(*r, "shadowmeter_export_gap_records_total",
                                 "Gap records (counts of lost events) the collector received")),
      registry_(std::move(r)) {
  // Series that exist from the start read as 0 instead of being absent, so rate() and alerts work
  // before the first occurrence.
  for (const char* reason :
       {"malformed", "truncated", "gap", "decode_error", "decode_limit", "body_limit", "json"})
    parse_error(reason);
  for (const char* cls : {"ai", "not_ai", "server", "http2", "not_http"}) classified(cls);
  for (const char* src : {"response", "stream", "header", "estimated", "none"}) usage_source(src);
  go_binary("attached");
}

prometheus::Counter& AgentMetrics::go_binary(const std::string& outcome) {
  return go_binaries.Add({{"outcome", outcome}});
}

std::string AgentMetrics::serialize() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

prometheus::Counter& AgentMetrics::parse_error(const std::string& reason) {
  return parse_errors.Add({{"reason", reason}});
}

prometheus::Counter& AgentMetrics::usage_source(const std::string& source) {
  return usage_sources.Add({{"source", source}});
}

prometheus::Counter& AgentMetrics::classified(const std::string& cls) {
  return connections_classified.Add({{"class", cls}});
}

}  // namespace shadowmeter::metrics
